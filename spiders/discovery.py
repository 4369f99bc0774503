"""Discovery: from homepages, feeds, sitemaps and a query API to the article URLs worth fetching.

Pure functions over bytes and plain values; the spiders in ``spiders/`` fetch and call these. XML is
parsed without entity expansion or network access, and documents that declare entities are refused
outright (``unsafe-xml``): feeds and sitemaps come from outside the trust boundary.
"""

from __future__ import annotations

import calendar
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from html import unescape
from statistics import median
from urllib.parse import parse_qsl, quote, urlencode, urljoin, urlsplit, urlunsplit

import feedparser
from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring as defused_fromstring
from lxml import etree
from parsel import Selector
from scrapy.utils.sitemap import sitemap_urls_from_robots as _scrapy_sitemap_urls_from_robots

from pipeline.config import StoryConfig, StoryWindow
from pipeline.text import visible_line
from schemas.records import FeedEntry
from schemas.timestamps import as_utc

FEED_TYPES = (
    "application/rss+xml",
    "application/atom+xml",
    "application/rdf+xml",
    "application/feed+json",
    "application/json",
    "application/xml",
    "text/xml",
)
TRACKING_PARAMS = frozenset({"fbclid", "gclid", "dclid", "msclkid", "mc_cid", "mc_eid", "igshid", "ocid"})
SITEMAP_NS = "{http://www.sitemaps.org/schemas/sitemap/0.9}"
NEWS_NS = "{http://www.google.com/schemas/sitemap-news/0.9}"
GDELT_LANGUAGES = {"english": "en", "spanish": "es", "french": "fr", "portuguese": "pt", "german": "de"}
GDELT_SOURCE_LANGUAGE = {"en": "english", "es": "spanish"}
GDELT_COUNTRIES = {
    "united states": "US",
    "mexico": "MX",
    "united kingdom": "GB",
    "spain": "ES",
    "canada": "CA",
    "france": "FR",
    "colombia": "CO",
    "venezuela": "VE",
}
QUERY_TERMS_PER_LANGUAGE = 12
# feedparser flags these but reads the feed fine: a charset or media type that differs from the declared one.
BENIGN_FEED_WARNINGS = (feedparser.CharacterEncodingOverride, feedparser.NonXMLContentType)


@dataclass(frozen=True)
class ParsedDocument:
    """Entries read from a feed or sitemap; ``error`` names why the document was (partly) unreadable."""

    entries: tuple[FeedEntry, ...] = ()
    child_sitemaps: tuple[str, ...] = ()
    error: str | None = None  # an outcome kind: malformed-feed, malformed-sitemap, unsafe-xml
    detail: str | None = None
    # Entries with no link that could be read (feedparser drops an unparsable one to ""): counted, so a
    # feed's entries never vanish without a trace.
    entries_without_link: int = 0


@dataclass(frozen=True)
class ListingFreshness:
    """What one feed or sitemap listed: its entries, the newest entry's date and the usual gap between
    entries (the outlet's publishing rhythm as the listing shows it)."""

    entries: int
    newest: datetime | None = None
    gap_hours: float | None = None


def listing_freshness(published: Iterable[datetime | None], now: datetime) -> ListingFreshness:
    """Count the entries and read their dates; a date after ``now`` (the cycle's time) is an outlet's
    error, not its newest entry, and counts only as an entry."""
    dates = list(published)
    dated = sorted(d for d in dates if d is not None and d <= now)
    gaps = [
        (later - earlier).total_seconds() / 3600 for earlier, later in zip(dated, dated[1:], strict=False)
    ]
    return ListingFreshness(len(dates), dated[-1] if dated else None, median(gaps) if gaps else None)


@dataclass(frozen=True)
class QueryHit:
    """One article the query API listed, with what it says about the article's outlet."""

    url: str
    title: str | None
    seen_at: datetime | None
    domain: str
    language: str | None
    country: str | None
    entry: FeedEntry = field(repr=False, default=None)  # type: ignore[assignment]


# URLs -------------------------------------------------------------------------------------------


def crawl_url(link: str, base_url: str | None = None) -> str:
    """The URL to request for a link: absolute, fragment dropped, click-tracking parameters and
    credentials (``user:password@``, never sent on to an outlet nor stored) removed.

    Removing ``utm_*``/``fbclid`` here saves fetching one article twice under two spellings; the
    normaliser still keeps the original link as an alias (it travels in ``FeedEntry.url``).
    """
    parts = urlsplit(urljoin(base_url or "", link.strip()))
    query = [
        (k, v)
        for k, v in parse_qsl(parts.query, keep_blank_values=True)
        if not k.lower().startswith("utm_") and k.lower() not in TRACKING_PARAMS
    ]
    netloc = parts.netloc.rpartition("@")[2]
    return urlunsplit((parts.scheme, netloc, parts.path or "/", urlencode(query), ""))


def absolute_link(base_url: str, link: str) -> str:
    """``link`` made absolute; one that cannot be parsed ("http://[::1") is kept as written, so the crawl
    records it as ``invalid-url`` instead of losing the rest of the feed to the error."""
    try:
        return urljoin(base_url, link)
    except ValueError:
        return link


def same_site(url: str, site_url: str) -> bool:
    try:
        return urlsplit(url).netloc.lower() == urlsplit(site_url).netloc.lower()
    except ValueError:  # an unparsable URL is no site's
        return False


def looks_like_article(url: str) -> bool:
    """Homepage links that are probably articles: a slug-like last path segment (two hyphens or more)."""
    segment = urlsplit(url).path.rstrip("/").rsplit("/", 1)[-1]
    return segment.count("-") >= 2


# HTML: autodiscovery and homepage links -------------------------------------------------------------


def feed_urls_from_html(html: str, base_url: str) -> list[str]:
    """Feeds a page advertises with ``<link rel="alternate" type="application/rss+xml" ...>``."""
    links = Selector(text=html).xpath(
        "//link[contains(concat(' ', normalize-space(@rel), ' '), ' alternate ')]"
    )
    urls = [
        urljoin(base_url, link.attrib["href"])
        for link in links
        if link.attrib.get("href") and link.attrib.get("type", "").split(";")[0].strip().lower() in FEED_TYPES
    ]
    return list(dict.fromkeys(urls))


def article_links_from_html(html: str, base_url: str) -> list[str]:
    """Same-site links on a homepage that look like articles (the fallback when no feed or sitemap)."""
    hrefs = Selector(text=html).xpath("//a/@href").getall()
    urls = (crawl_url(href, base_url) for href in hrefs)
    return list(dict.fromkeys(u for u in urls if same_site(u, base_url) and looks_like_article(u)))


# Feeds ---------------------------------------------------------------------------------------------


def declares_entities(body: bytes) -> bool:
    """True when an XML document declares entities or external references (billion laughs, XXE)."""
    try:
        defused_fromstring(body, forbid_dtd=False, forbid_entities=True, forbid_external=True)
    except DefusedXmlException:
        return True
    except Exception:  # any well-formedness error is the parser's business, not a safety issue
        return False
    return False


def parse_feed(body: bytes, url: str, content_type: str | None = None) -> ParsedDocument:
    """Entries of an RSS 0.9x/1.0/2.0, Atom or JSON Feed document."""
    if _is_json(body, content_type):
        return parse_json_feed(body, url)
    if declares_entities(body):
        return ParsedDocument(error="unsafe-xml", detail="feed declares XML entities")
    headers = {"content-location": url, "content-type": content_type or "application/xml"}
    parsed = feedparser.parse(body, response_headers=headers)
    entries = tuple(
        e for e in (_entry_from_feedparser(item, parsed.feed, url) for item in parsed.entries) if e
    )
    without_link = len(parsed.entries) - len(entries)
    if parsed.bozo and not isinstance(parsed.bozo_exception, BENIGN_FEED_WARNINGS):
        detail = str(parsed.bozo_exception)[:300]
        return ParsedDocument(
            entries, error="malformed-feed", detail=detail, entries_without_link=without_link
        )
    if not parsed.version and not entries:
        return ParsedDocument(error="malformed-feed", detail="not a feed")
    return ParsedDocument(entries, entries_without_link=without_link)


def _is_json(body: bytes, content_type: str | None) -> bool:
    return "json" in (content_type or "").lower() or body.lstrip()[:1] == b"{"


def _entry_from_feedparser(item, feed, base_url: str) -> FeedEntry | None:
    link = item.get("link") or (item.get("id") if str(item.get("id", "")).startswith("http") else None)
    if not link:
        return None
    content = item.get("content") or []
    return FeedEntry(
        url=absolute_link(base_url, link),
        title=item.get("title") or None,
        summary=item.get("summary") or None,
        content=content[0].get("value") if content else None,
        published=_feed_entry_date(item),
        authors=tuple(a["name"] for a in item.get("authors", []) if a.get("name")),
        guid=item.get("id") or None,
        language=_language_code(item.get("language") or feed.get("language")),
    )


def _feed_entry_date(item) -> datetime | None:
    """The entry's date, kept only when its text is a real RFC 822 or ISO 8601 date.

    feedparser rolls impossible dates over ("2025-13-45" becomes 2026-01-01), which would drop an
    in-window article as out of window; an entry whose date does not hold up counts as undated.
    """
    for text_key, parsed_key in (("published", "published_parsed"), ("updated", "updated_parsed")):
        if item.get(parsed_key):
            return _struct_to_utc(item[parsed_key]) if _is_real_date(item.get(text_key)) else None
    return None


def _is_real_date(text: object) -> bool:
    if not isinstance(text, str):
        return False
    try:
        parsedate_to_datetime(text)
        return True
    except (TypeError, ValueError, IndexError):
        return parse_datetime(text) is not None


def _struct_to_utc(value) -> datetime | None:
    return datetime.fromtimestamp(calendar.timegm(value), UTC) if value else None


def _language_code(value: str | None) -> str | None:
    return value.strip().lower()[:2] if value and value.strip() else None


def parse_json_feed(body: bytes, url: str) -> ParsedDocument:
    """Entries of a JSON Feed 1.0/1.1 document (https://jsonfeed.org/version/1.1)."""
    try:
        document = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        return ParsedDocument(error="malformed-feed", detail=f"invalid JSON: {exc}"[:300])
    if not isinstance(document, dict) or not isinstance(document.get("items"), list):
        return ParsedDocument(error="malformed-feed", detail="JSON Feed without an items list")
    language = _language_code(document.get("language"))
    entries = tuple(e for e in (_json_feed_entry(i, url, language) for i in document["items"]) if e)
    return ParsedDocument(entries, entries_without_link=len(document["items"]) - len(entries))


def _json_feed_entry(item: object, base_url: str, feed_language: str | None) -> FeedEntry | None:
    if not isinstance(item, dict) or not isinstance(item.get("url"), str):
        return None
    authors = item.get("authors") or ([item["author"]] if isinstance(item.get("author"), dict) else [])
    return FeedEntry(
        url=absolute_link(base_url, item["url"]),
        title=item.get("title"),
        summary=item.get("summary"),
        content=item.get("content_text") or item.get("content_html"),
        published=parse_datetime(item.get("date_published") or item.get("date_modified")),
        authors=tuple(a["name"] for a in authors if isinstance(a, dict) and a.get("name")),
        guid=str(item["id"]) if item.get("id") is not None else None,
        language=_language_code(item.get("language")) or feed_language,
    )


def parse_datetime(value: object) -> datetime | None:
    """An ISO 8601 / W3C datetime as UTC; a date alone means its midnight UTC; None when unreadable."""
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return as_utc(moment)


# Sitemaps ---------------------------------------------------------------------------------------------


def sitemap_urls_from_robots(robots_txt: bytes, base_url: str) -> list[str]:
    """``Sitemap:`` lines of a robots.txt, made absolute (the spider gets the same from Scrapy's parser)."""
    return list(dict.fromkeys(_scrapy_sitemap_urls_from_robots(robots_txt, base_url=base_url)))


def _safe_xml_parser() -> etree.XMLParser:
    # resolve_entities=False and huge_tree=False are the point: no expansion, lxml's size limits stay on.
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        huge_tree=False,
        recover=True,
        remove_comments=True,
        remove_pis=True,
        load_dtd=False,
    )


def parse_sitemap(body: bytes) -> ParsedDocument:
    """A sitemap index (child sitemaps) or urlset, with Google News ``news:`` dates and titles."""
    if declares_entities(body):
        return ParsedDocument(error="unsafe-xml", detail="sitemap declares XML entities")
    parser = _safe_xml_parser()
    try:
        root = etree.fromstring(body, parser=parser)
    except etree.XMLSyntaxError as exc:
        return ParsedDocument(error="malformed-sitemap", detail=str(exc)[:300])
    if root is None:
        return ParsedDocument(error="malformed-sitemap", detail="empty document")
    # The recovering parser reads what it can of a truncated document; the damage is still named.
    damage = (
        {"error": "malformed-sitemap", "detail": str(parser.error_log[0])[:300]} if parser.error_log else {}
    )
    tag = etree.QName(root).localname
    if tag == "sitemapindex":
        return ParsedDocument(child_sitemaps=tuple(_locs(root, "sitemap")), **damage)
    if tag != "urlset":
        return ParsedDocument(error="malformed-sitemap", detail=f"unexpected root element <{tag}>")
    return ParsedDocument(
        entries=tuple(_sitemap_entry(url) for url in root if _local(url) == "url" and _loc(url)), **damage
    )


def _local(element) -> str:
    return etree.QName(element).localname if isinstance(element.tag, str) else ""


def _loc(element) -> str | None:
    loc = next((child for child in element if _local(child) == "loc"), None)
    return loc.text.strip() if loc is not None and loc.text and loc.text.strip() else None


def _locs(root, child_tag: str) -> Iterator[str]:
    return (loc for loc in (_loc(child) for child in root if _local(child) == child_tag) if loc)


def _sitemap_entry(url_element) -> FeedEntry:
    news = url_element.find(f"{NEWS_NS}news")
    lastmod = url_element.findtext(f"{SITEMAP_NS}lastmod")
    if news is None:
        return FeedEntry(url=_loc(url_element), published=parse_datetime(lastmod))
    return FeedEntry(
        url=_loc(url_element),
        title=news.findtext(f"{NEWS_NS}title"),
        published=parse_datetime(news.findtext(f"{NEWS_NS}publication_date")) or parse_datetime(lastmod),
        language=_language_code(news.findtext(f"{NEWS_NS}publication/{NEWS_NS}language")),
    )


# The stories' time windows ---------------------------------------------------------------------------------


def in_any_window(published: datetime | None, windows: Iterable[StoryWindow]) -> bool:
    """An entry is followed when some story's window holds its date; undated entries are (we cannot
    tell), and entries dated outside every window are not: one crawl serves every story."""
    return published is None or any(window.contains(published) for window in windows)


# Query discovery (GDELT DOC 2.0 ArtList JSON) -------------------------------------------------------------


def query_expression(terms: Iterable[str], language: str) -> str:
    """A GDELT query: the story's key terms ORed (phrases quoted), restricted to one source language."""
    quoted = [f'"{t}"' if " " in t else t for t in list(terms)[:QUERY_TERMS_PER_LANGUAGE]]
    expression = "(" + " OR ".join(quoted) + ")" if len(quoted) > 1 else "".join(quoted)
    source = GDELT_SOURCE_LANGUAGE.get(language)
    return f"{expression} sourcelang:{source}" if source else expression


def query_api_urls(api: str, story: StoryConfig) -> list[str]:
    """One ArtList request per story language, bounded by the story window (not by "now")."""
    window = {
        "startdatetime": f"{story.window.start:%Y%m%d%H%M%S}",
        "enddatetime": f"{story.window.end:%Y%m%d%H%M%S}",
    }
    urls = []
    for language, terms in (("en", story.key_terms.en), ("es", story.key_terms.es)):
        if terms:
            params = {
                "query": query_expression(terms, language),
                "mode": "ArtList",
                "format": "json",
                "maxrecords": "250",
                **window,
            }
            urls.append(f"{api}?{urlencode(params, quote_via=quote)}")
    return urls


def parse_query_hits(body: bytes) -> tuple[list[QueryHit], str | None]:
    """The ``articles`` of an ArtList JSON answer, and an error kind when the answer is unusable."""
    try:
        document = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        return [], f"malformed-query-response: {exc}"[:300]
    articles = document.get("articles", []) if isinstance(document, dict) else None
    if not isinstance(articles, list):
        return [], "malformed-query-response: no articles list"
    return [hit for hit in (_query_hit(a) for a in articles) if hit], None


def _query_hit(article: object) -> QueryHit | None:
    if not isinstance(article, dict) or not str(article.get("url", "")).startswith(("http://", "https://")):
        return None
    seen_at = parse_gdelt_seendate(article.get("seendate"))
    language = GDELT_LANGUAGES.get(str(article.get("language", "")).lower())
    entry = FeedEntry(
        url=article["url"], title=article.get("title") or None, published=seen_at, language=language
    )
    return QueryHit(
        url=article["url"],
        title=entry.title,
        seen_at=seen_at,
        domain=str(article.get("domain") or urlsplit(article["url"]).netloc).lower(),
        language=language,
        country=GDELT_COUNTRIES.get(str(article.get("sourcecountry", "")).lower()),
        entry=entry,
    )


def site_name(html: bytes) -> str | None:
    """The outlet's own name on one of its pages: og:site_name, else the JSON-LD publisher's name,
    else application-name. An outlet found by query discovery is named by it, not by its host."""
    selector = Selector(text=html.decode("utf-8", "replace"))
    og = selector.xpath("//meta[@property='og:site_name']/@content").get()
    app = selector.xpath("//meta[@name='application-name']/@content").get()
    blocks = selector.xpath("//script[@type='application/ld+json']/text()").getall()
    # attribute values come decoded from the parser; JSON-LD strings are HTML-escaped by the CMS
    publisher = _jsonld_publisher(blocks)
    for name in (og, unescape(publisher) if publisher else None, app):
        line = visible_line(name)
        if line:
            return line
    return None


def _jsonld_publisher(blocks: list[str]) -> str | None:
    objects = [node for block in blocks for node in _jsonld_nodes(_loads_or_none(block))]
    by_id = {node["@id"]: node for node in objects if isinstance(node.get("@id"), str)}
    for node in objects:
        publisher = node.get("publisher")
        publisher = publisher[0] if isinstance(publisher, list) and publisher else publisher
        if isinstance(publisher, dict):
            publisher = by_id.get(publisher.get("@id"), publisher) if "name" not in publisher else publisher
            if isinstance(publisher.get("name"), str):
                return publisher["name"]
    return None


def _loads_or_none(text: str) -> object:
    try:
        return json.loads(text)
    except ValueError:
        return None


def _jsonld_nodes(value: object) -> Iterator[dict]:
    if isinstance(value, dict):
        yield value
        yield from _jsonld_nodes(value.get("@graph"))
    elif isinstance(value, list):
        for item in value:
            yield from _jsonld_nodes(item)


def parse_gdelt_seendate(value: object) -> datetime | None:
    """GDELT's ``20251124T103000Z`` as a UTC datetime."""
    try:
        return datetime.strptime(str(value), "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    except ValueError:
        return None


def discovered_outlet(hit: QueryHit) -> dict[str, object]:
    """A row for ``outlets`` (``discovered=True``) describing the outlet behind a query hit."""
    parts = urlsplit(hit.url)
    return {
        "name": parts.netloc.lower(),
        "homepage": f"{parts.scheme}://{parts.netloc}/",
        "homepage_host": parts.netloc.lower(),
        "language": hit.language,
        "country": hit.country,
        "discovered": True,
    }
