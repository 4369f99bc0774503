"""Extraction stage: one fetched HTML page -> an ``ExtractedArticle``.

Each library does what it is best at: w3lib decodes the bytes, extruct reads JSON-LD, microdata
and OpenGraph, trafilatura finds the body, htmldate and dateparser read dates, py3langid detects the
language. Every field gathers candidates from several sources and keeps the one with the most
agreeing evidence; ``ExtractedArticle.sources`` records where each kept value came from.
"""

from __future__ import annotations

import functools
import gzip
import json
import re
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from html import unescape
from pathlib import Path

import htmldate
import lxml.etree
import lxml.html
from extruct.jsonld import JsonLdExtractor
from extruct.opengraph import OpenGraphExtractor
from extruct.w3cmicrodata import MicrodataExtractor
from py3langid.langid import MODEL_FILE, LanguageIdentifier
from w3lib.encoding import html_to_unicode

from pipeline.extract.body import choose_body
from pipeline.extract.fields import (
    ParseFailure,
    byline_organisations,
    collective_bylines,
    date_from_url,
    is_organisation_credit,
    parse_byline,
    parse_datetime,
    parse_iso_datetime,
    parse_url,
)
from pipeline.text import visible_line
from schemas.records import ExtractedArticle, FeedEntry


@dataclass(frozen=True)
class Candidate:
    value: object
    source: str  # one of the ``ExtractedArticle.sources`` vocabulary


# ---------------------------------------------------------------- decoding


def decode_html(html: bytes, headers: Mapping[str, str] | None = None) -> tuple[str, str]:
    """(text, encoding): BOM, then bytes that are valid multi-byte UTF-8, then the HTTP header,
    the <meta> charset and sniffing (WHATWG order, via w3lib).

    Valid UTF-8 outranks a declared legacy charset because legacy text with accented letters almost
    never forms valid UTF-8 by chance, while pages re-saved as UTF-8 keep their stale declaration.
    """
    has_bom = html.startswith(_BYTE_ORDER_MARKS)
    if not has_bom and _is_multibyte_utf8(html):
        return html.decode("utf-8"), "utf-8"
    content_type = _header(headers, "content-type")
    encoding, text = html_to_unicode(content_type, html, auto_detect_fun=_sniff_encoding)
    # a byte order mark outranks everything (WHATWG), so only a BOM-less page can be caught lying
    if not has_bom and encoding.replace("-", "").lower() == "utf8" and not html.isascii():
        # Declared UTF-8 but not valid UTF-8 (checked above): the declaration lies, and the bytes are
        # the web's legacy default, as for an undeclared page (WHATWG's fallback).
        return html.decode("cp1252", "replace"), "cp1252"
    return text, encoding


_BYTE_ORDER_MARKS = (b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff")


def _is_multibyte_utf8(html: bytes) -> bool:
    if html.isascii():
        return False
    try:
        html.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _sniff_encoding(html: bytes) -> str:
    # Undeclared pages are UTF-8 when they decode as such; otherwise the web's legacy default.
    try:
        html.decode("utf-8")
    except UnicodeDecodeError:
        return "cp1252"
    return "utf-8"


def _header(headers: Mapping[str, str] | None, name: str) -> str | None:
    for key, value in (headers or {}).items():
        if key.lower() == name:
            return value
    return None


_EMPTY_DOCUMENT = b"<html><head></head><body></body></html>"


def parse_tree(text: str) -> lxml.html.HtmlElement:
    """The page's tree; an empty or unparseable page becomes an empty document (no fields, no error)."""
    parser = lxml.html.HTMLParser(encoding="utf-8", remove_comments=True)
    try:
        return lxml.html.document_fromstring(
            text.encode("utf-8", "surrogatepass") or _EMPTY_DOCUMENT, parser=parser
        )
    except lxml.etree.ParserError:
        return lxml.html.document_fromstring(_EMPTY_DOCUMENT, parser=parser)


# ---------------------------------------------------------------- structured data


@dataclass(frozen=True)
class StructuredData:
    articles: tuple[Mapping, ...]  # JSON-LD objects of an article-like @type, best first
    microdata: tuple[Mapping, ...]  # microdata ``properties`` of article-like items
    opengraph: Mapping[str, str]
    meta: Mapping[str, str]  # <meta name|property|itemprop> -> content, first occurrence
    nodes_by_id: Mapping[str, Mapping] = field(
        default_factory=dict
    )  # JSON-LD @graph nodes, for @id references
    author_meta: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # every value of author tags
    # the outlet's names as the caller knows them (its configured name): evidence beside the page's own
    configured_outlets: tuple[str, ...] = ()


_ARTICLE_TYPES = re.compile(r"(Article|BlogPosting|Report|Posting|LiveBlog)$", re.IGNORECASE)


def read_structured_data(tree: lxml.html.HtmlElement, url: str) -> StructuredData:
    jsonld = _safe(JsonLdExtractor().extract_items, tree, url)
    # Microdata parsing walks every item on the page (breadcrumbs, ratings...); only an article
    # item is used, so pages without one skip it.
    microdata = _safe(MicrodataExtractor().extract_items, tree, url) if _has_article_item(tree) else []
    return StructuredData(
        articles=tuple(_article_objects(jsonld)),
        microdata=tuple(_microdata_articles(microdata)),
        opengraph=_opengraph(_safe(OpenGraphExtractor().extract_items, tree, url)),
        meta=_meta_tags(tree),
        author_meta=_author_meta_tags(tree),
        nodes_by_id={
            obj["@id"]: obj for obj in _walk(jsonld) if isinstance(obj.get("@id"), str) and len(obj) > 1
        },
    )


def _has_article_item(tree: lxml.html.HtmlElement) -> bool:
    item_types = (kind for value in tree.xpath("//*[@itemscope]/@itemtype") for kind in value.split())
    return any(_ARTICLE_TYPES.search(kind.rsplit("/", 1)[-1]) for kind in item_types)


def _safe(extractor, tree, url) -> list:
    # One malformed block (broken JSON, odd microdata) must not cost the page its other metadata.
    try:
        return list(extractor(tree, url))
    except Exception:  # noqa: BLE001 - extruct raises anything its parsers raise
        return []


def _walk(node: object) -> Iterator[Mapping]:
    if isinstance(node, Mapping):
        yield node
        for child in node.values():
            yield from _walk(child)
    elif isinstance(node, list):
        for child in node:
            yield from _walk(child)


def _types(obj: Mapping) -> list[str]:
    kind = obj.get("@type") or obj.get("type") or []
    return [str(k).rsplit("/", 1)[-1] for k in (kind if isinstance(kind, list) else [kind])]


def _article_objects(items: list) -> list[Mapping]:
    articles = [obj for obj in _walk(items) if any(_ARTICLE_TYPES.search(t) for t in _types(obj))]
    # The object carrying a headline and a date is the page's own article, not a related teaser.
    return sorted(articles, key=lambda obj: -(bool(obj.get("headline")) + bool(obj.get("datePublished"))))


def _microdata_articles(items: list) -> list[Mapping]:
    return [
        item.get("properties", {})
        for item in _walk(items)
        if "properties" in item and any(_ARTICLE_TYPES.search(t) for t in _types(item))
    ]


def _opengraph(items: list) -> dict[str, str]:
    tags: dict[str, str] = {}
    for item in items:
        for key, value in item.get("properties", []):
            tags.setdefault(key, value)
    return tags


def _meta_tags(tree: lxml.html.HtmlElement) -> dict[str, str]:
    tags: dict[str, str] = {}
    for meta in tree.iter("meta"):
        key = meta.get("name") or meta.get("property") or meta.get("itemprop") or meta.get("http-equiv")
        content = meta.get("content")
        if key and content and content.strip():
            tags.setdefault(key.strip().lower(), content.strip())
    return tags


def _author_meta_tags(tree: lxml.html.HtmlElement) -> dict[str, tuple[str, ...]]:
    tags: dict[str, tuple[str, ...]] = {}
    for meta in tree.iter("meta"):
        key = (meta.get("name") or meta.get("property") or "").strip().lower()
        content = (meta.get("content") or "").strip()
        if key in _AUTHOR_META and content:
            tags[key] = (*tags.get(key, ()), content)
    return tags


def _first_text(value: object, entities: bool = True) -> str | None:
    """A structured value as text: strings as they are, lists by their first item, objects by name.

    JSON-LD sits in a <script>, where the HTML parser decodes nothing, and CMSs write its strings
    HTML-escaped ("AT&amp;T"): decoding them once gives the text the page shows. Microdata values
    come from the page's elements, already decoded, so they pass ``entities=False``: a second
    decoding would turn a shown "&lt;" into "<".
    """
    if isinstance(value, list):
        return next((text for text in (_first_text(v, entities) for v in value) if text), None)
    if isinstance(value, Mapping):
        named = value.get("name") or value.get("@value") or value.get("url") or value.get("@id")
        return _first_text(named, entities)
    if value is None:
        return None
    return visible_line(unescape(str(value)) if entities else str(value))


# ---------------------------------------------------------------- deciding between candidates


def _normalise(text: str) -> str:
    return " ".join(re.findall(r"\w+", text.casefold()))


def choose_by_agreement(candidates: Iterable[Candidate], key=_normalise) -> Candidate | None:
    """The value the most distinct sources agree on; ties go to the earlier (more specific) source.

    Sources vote once each: a page's <title> and twitter:title are both ``meta`` and usually one
    SEO field copied twice, so they are not two independent witnesses.
    """
    kept = [c for c in candidates if c.value]
    if not kept:
        return None
    voters: dict[str, set[str]] = {}
    for candidate in kept:
        voters.setdefault(key(candidate.value), set()).add(candidate.source)
    return max(kept, key=lambda c: (len(voters[key(c.value)]), -kept.index(c)))


# ---------------------------------------------------------------- headline


_TITLE_SEPARATORS = re.compile(r"\s+[|–—·•:»-]\s+")


def headline_candidates(data: StructuredData, tree: lxml.html.HtmlElement) -> list[Candidate]:
    candidates = [Candidate(_first_text(obj.get("headline")), "json-ld") for obj in data.articles[:1]]
    candidates += [
        Candidate(_first_text(props.get("headline"), entities=False), "microdata")
        for props in data.microdata[:1]
    ]
    candidates.append(Candidate(data.opengraph.get("og:title"), "opengraph"))
    candidates.append(Candidate(data.meta.get("twitter:title"), "meta"))
    candidates += [Candidate(_element_text(h1), "visible-text") for h1 in tree.xpath("//h1")[:2]]
    candidates.append(Candidate(visible_line(tree.findtext(".//title")), "meta"))
    lines = [Candidate(visible_line(str(c.value)), c.source) for c in candidates if c.value]
    return [c for c in lines if c.value]


def choose_headline(candidates: list[Candidate], outlets: tuple[str, ...] = ()) -> Candidate | None:
    """Site names ride on titles ("Headline | Outlet"): a candidate that another one extends wins.

    Sources agree on a headline whatever markup its copies carry; the value kept is the one the
    reader sees, the page's visible headline, when it is among them: a CMS that leaves a <script>
    unescaped in its headline shows the words around it, and the metadata copies carry it as text.
    """
    stripped = [Candidate(_strip_site_name(c.value, candidates, outlets), c.source) for c in candidates]
    chosen = choose_by_agreement(stripped, key=_markup_blind)
    if chosen is None or not _TAG.search(chosen.value):
        return chosen
    shown = [
        c
        for c in stripped
        if c.source == "visible-text" and _markup_blind(c.value) == _markup_blind(chosen.value)
    ]
    return shown[0] if shown else chosen


_SCRIPT_OR_STYLE = re.compile(r"<(script|style)\b[^>]*>.*?</\1\s*>", re.IGNORECASE | re.DOTALL)
_TAG = re.compile(r"</?[A-Za-z][^<>]*>")


def _markup_blind(text: str) -> str:
    """The agreement key of a headline: its words, with whatever markup a copy carries left out."""
    return _normalise(_TAG.sub(" ", _SCRIPT_OR_STYLE.sub(" ", text)))


def _strip_site_name(title: str, candidates: list[Candidate], outlets: tuple[str, ...] = ()) -> str:
    shorter = [c.value for c in candidates if len(c.value) < len(title) and title.startswith(c.value)]
    if shorter:
        head = max(shorter, key=len)
        # "Headline：Outlet" when another source gives just "Headline"; a tail without a word
        # ("Headline...") is part of the headline, not a site name.
        if not title[len(head)].isalnum() and re.search(r"\w", title[len(head) :]):
            return head
    parts = _TITLE_SEPARATORS.split(title)
    if len(parts) == 1:
        return title
    others = {_normalise(c.value) for c in candidates if c.value != title}
    for cut in range(len(parts) - 1, 0, -1):
        for piece in (" ".join(parts[:cut]), " ".join(parts[-cut:])):
            if _normalise(piece) in others:
                return title[: len(piece)] if title.startswith(piece) else title[-len(piece) :]
    return _strip_outlet_part(title, parts, outlets)


MAX_SECTION_WORDS = 3


def _strip_outlet_part(title: str, parts: list[str], outlets: tuple[str, ...]) -> str:
    """'Headline | Politics | Outlet News' or 'Outlet - Headline', the outlet known from the page.

    Only an end part that names the outlet goes, with a short section name next to a suffix.
    """
    if not outlets:
        return title
    separators = _TITLE_SEPARATORS.findall(title)
    if _names_any_outlet(parts[-1], outlets):
        keep = len(parts) - 1
        if keep > 1 and len(parts[keep - 1].split()) <= MAX_SECTION_WORDS:
            keep -= 1  # "| Politics News |": the section between headline and outlet
        return _join_parts(parts[:keep], separators)
    if _names_any_outlet(parts[0], outlets):
        return _join_parts(parts[1:], separators[1:])
    return title


def _names_any_outlet(part: str, outlets: tuple[str, ...]) -> bool:
    return any(re.search(rf"(?<!\w){re.escape(outlet)}(?!\w)", part, re.IGNORECASE) for outlet in outlets)


def _join_parts(parts: list[str], separators: list[str]) -> str:
    joined = parts[0]
    for separator, part in zip(separators, parts[1:], strict=False):
        joined += separator + part
    return joined


def _element_text(element) -> str | None:
    return visible_line("".join(_shown_text(element)))


_NOT_SHOWN = ("script", "style", "noscript", "template")


def _shown_text(element) -> Iterator[str]:
    """The element's text as a reader sees it: script and style contents are not shown."""
    if element.tag in _NOT_SHOWN:
        return
    if element.text and isinstance(element.tag, str):
        yield element.text
    for child in element:
        yield from _shown_text(child)
        if child.tail:
            yield child.tail


# ---------------------------------------------------------------- authors


_OUTSIDE_BYLINES = (
    "not(ancestor-or-self::*[contains(@class, 'comment')]) "
    "and not(ancestor-or-self::figure) and not(ancestor-or-self::figcaption)"
)
# Compiled once; testing @class before its contents keeps the scan of large pages cheap.
_BYLINE_XPATH = lxml.etree.XPath(
    "//*[@class][contains(@class, 'byline') or contains(@class, 'author') or contains(@class, 'autor')]"
    f"[{_OUTSIDE_BYLINES}] | //*[@rel='author' or @itemprop='author'][{_OUTSIDE_BYLINES}]"
)
_AUTHOR_META = (
    "author",
    "article:author",
    "article:byline",
    "byl",
    "dc.creator",
    "parsely-author",
    "sailthru.author",
    "cxenseparse:author",
    "twitter:creator:name",
)
MAX_BYLINE_ELEMENTS = 4


def author_candidates(data: StructuredData, tree: lxml.html.HtmlElement) -> list[tuple[tuple[str, ...], str]]:
    """Each source's list of person names, in the order its source is usually reliable."""
    outlets = outlet_names(data)
    found = [
        (_structured_people(obj.get("author"), outlets, data.nodes_by_id), "json-ld")
        for obj in data.articles[:1]
    ]
    found += [
        (_structured_people(props.get("author"), outlets, {}), "microdata") for props in data.microdata[:1]
    ]
    found.append((_byline_people(data.opengraph.get("article:author"), outlets), "opengraph"))
    found += [(_meta_people(data.author_meta.get(name, ()), outlets), "meta") for name in _AUTHOR_META]
    found.append((_byline_people(labelled_byline(data.meta), outlets), "meta"))
    found.append((_visible_bylines(tree, outlets), "visible-text"))
    return [(names, source) for names, source in found if names]


# Publishing tools describe the author in "label: value" card tags for link previews
# (twitter:label1 "Written by", twitter:data1 "Jane Doe"), in the site's language.
_WRITTEN_BY_LABEL = re.compile(
    r"^(?:written by|author|by|von|geschrieben von|autor(?:in)?|escrito por|por|par|auteur|door)$",
    re.IGNORECASE,
)


def labelled_byline(meta: Mapping[str, str]) -> str | None:
    if meta.get("twitter:misc:written by"):
        return meta["twitter:misc:written by"]
    for key, label in meta.items():
        if key.startswith("twitter:label") and _WRITTEN_BY_LABEL.match(label.strip()):
            return meta.get("twitter:data" + key.removeprefix("twitter:label"))
    return None


def outlet_names(data: StructuredData) -> tuple[str, ...]:
    """The outlet's own names, so a byline naming the outlet is not taken for a person."""
    publishers = [_first_text(obj.get("publisher")) for obj in data.articles]
    publishers += [_first_text(props.get("publisher"), entities=False) for props in data.microdata]
    names = [
        *data.configured_outlets,
        data.opengraph.get("og:site_name"),
        data.meta.get("application-name"),
        *publishers,
    ]
    return tuple(dict.fromkeys(name for name in names if name))


def _structured_people(
    value: object, outlets: tuple[str, ...], nodes_by_id: Mapping[str, Mapping]
) -> tuple[str, ...]:
    people: list[str] = []
    for entry in _author_entries(value, nodes_by_id):
        if not _is_organisation(entry):
            people.extend(_byline_people(_entry_name(entry), outlets))
    return tuple(dict.fromkeys(people))


_ORGANISATION_TYPES = ("Organization", "NewsMediaOrganization", "Corporation", "NewsAgency")


def _author_entries(value: object, nodes_by_id: Mapping[str, Mapping]) -> Iterator[object]:
    for entry in value if isinstance(value, list) else [value]:
        if isinstance(entry, Mapping) and set(entry) == {"@id"}:
            entry = nodes_by_id.get(entry["@id"], entry)  # {"@id": ...} points into the @graph
        yield entry


def _is_organisation(entry: object) -> bool:
    return isinstance(entry, Mapping) and any(t in _ORGANISATION_TYPES for t in _types(entry))


def _entry_name(entry: object) -> str | None:
    if isinstance(entry, Mapping):  # a JSON-LD object, or a microdata item with its properties
        return _first_text(_person_name(entry.get("properties", entry)))
    return _first_text(entry)


def credited_organisations(
    data: StructuredData, people: tuple[str, ...] = ()
) -> tuple[tuple[str, ...], str | None]:
    """Agencies and outlets the article's structured author field credits ("dpa", "BBC News").

    Structured data only: a meta author tag often names the site's owner rather than crediting
    anyone, and visible bylines run into teasers for other articles. Beside a named person the
    outlet's own name credits no one (the outlet publishes every article), so it is left out then.
    """
    outlets = outlet_names(data)
    own_names = {name.casefold() for name in outlets} if people else set()
    fields = [(obj.get("author"), "json-ld") for obj in data.articles[:1]]
    fields += [(props.get("author"), "microdata") for props in data.microdata[:1]]
    for value, source in fields:
        credits = [
            credit
            for entry in _author_entries(value, data.nodes_by_id)
            for credit in _entry_credits(entry, outlets)
            if credit.casefold() not in own_names
        ]
        if credits:
            return tuple(dict.fromkeys(credits)), source
    return (), None


def credited_collectives(
    data: StructuredData, tree: lxml.html.HtmlElement
) -> tuple[tuple[str, ...], str | None]:
    """The newsroom credited as a group, as written ("The Editorial Board"), from the first source
    that names one: the structured author field, the author tags, then the visible byline."""
    found = [
        ([_entry_name(e) for e in _author_entries(obj.get("author"), data.nodes_by_id)], "json-ld")
        for obj in data.articles[:1]
    ]
    found += [
        ([_entry_name(e) for e in _author_entries(p.get("author"), {})], "microdata")
        for p in data.microdata[:1]
    ]
    found.append(([data.opengraph.get("article:author"), *data.author_meta.get("author", ())], "meta"))
    bylines = _innermost(_BYLINE_XPATH(tree))[:MAX_BYLINE_ELEMENTS]
    found.append(([text for text in map(_element_text, bylines) if text and len(text) < 200], "visible-text"))
    for texts, source in found:
        collectives = tuple(dict.fromkeys(c for text in texts for c in collective_bylines(text)))
        if collectives:
            return collectives, source
    return (), None


def _entry_credits(entry: object, outlets: tuple[str, ...]) -> tuple[str, ...]:
    name = _entry_name(entry)
    if _is_organisation(entry):
        return (name,) if name and is_organisation_credit(name) else ()
    return byline_organisations(name, outlets)


def _person_name(person: Mapping) -> object:
    if person.get("name"):
        return person["name"]
    parts = [_first_text(person.get(key)) for key in ("givenName", "familyName")]
    return " ".join(part for part in parts if part) or None


def _meta_people(values: tuple[str, ...], outlets: tuple[str, ...]) -> tuple[str, ...]:
    # a page may repeat a tag: <meta name="author"> for the site, then again for the reporter
    return tuple(dict.fromkeys(name for value in values for name in _byline_people(value, outlets)))


def _byline_people(text: str | None, outlets: tuple[str, ...] = ()) -> tuple[str, ...]:
    parsed = parse_byline(text, outlets)
    return () if isinstance(parsed, ParseFailure) else parsed


def _visible_bylines(tree: lxml.html.HtmlElement, outlets: tuple[str, ...]) -> tuple[str, ...]:
    """Names in the first run of byline elements: innermost elements, so each holds one byline."""
    elements = _BYLINE_XPATH(tree)
    people: list[str] = []
    for element in _innermost(elements)[:MAX_BYLINE_ELEMENTS]:
        text = _element_text(element)
        names = _byline_people(text, outlets) if text and len(text) < 200 else ()
        if not names and people:
            break  # the byline block ended; later matches are teasers for other articles
        people.extend(names)
    return tuple(dict.fromkeys(people))


MAX_SIGNATURE_WORDS = 8


def signature_people(
    paragraphs: tuple[str, ...], outlets: tuple[str, ...]
) -> list[tuple[tuple[str, ...], str]]:
    """Some outlets sign a story with a paragraph holding only the names, first or last in the body.

    The last resort when a page has no byline: the paragraph must be names and nothing else, so a
    credit line ("With reports from ...") or a heading does not pass.
    """
    for paragraph in paragraphs[:1] + paragraphs[-1:]:
        if len(paragraph.split()) > MAX_SIGNATURE_WORDS:
            continue
        names = _byline_people(paragraph, outlets)
        if names and _words(paragraph) == _words(" ".join(names)):
            return [(names, "visible-text")]
    return []


def _words(text: str) -> set[str]:
    return set(re.findall(r"\w+", text.casefold()))


def _innermost(elements: list) -> list:
    matched = set(elements)
    parents = {ancestor for el in elements for ancestor in el.iterancestors() if ancestor in matched}
    return [el for el in elements if el not in parents]


def choose_authors(found: list[tuple[tuple[str, ...], str]]) -> tuple[tuple[str, ...], str | None]:
    """The source whose names other sources confirm most; a fuller list that contains it wins over it."""
    if not found:
        return (), None
    keyed = [({_normalise(name) for name in names}, names, source) for names, source in found]
    # a name counts as confirmed when a second kind of source gives it (two meta tags are one source)
    witnesses: dict[str, set[str]] = {}
    for keys, _, source in keyed:
        for key in keys:
            witnesses.setdefault(key, set()).add(source)
    best = max(keyed, key=lambda item: (sum(len(witnesses[k]) > 1 for k in item[0]), -keyed.index(item)))
    # A fuller list from structured data adds co-authors; visible text would add teaser bylines.
    supersets = [item for item in keyed if item[0] > best[0] and item[2] != "visible-text"]
    chosen = max(supersets, key=lambda item: len(item[0])) if supersets else best
    return chosen[1], chosen[2]


# ---------------------------------------------------------------- dates


_PUBLISHED_META = (
    "article:published_time",
    "og:article:published_time",
    "datepublished",
    "pubdate",
    "publishdate",
    "publish-date",
    "date",
    "dc.date",
    "dc.date.issued",
    "dcterms.created",
    "parsely-pub-date",
    "sailthru.date",
    "article.published",
    "cxenseparse:recs:publishtime",
)
_MODIFIED_META = (
    "article:modified_time",
    "og:updated_time",
    "datemodified",
    "dcterms.modified",
    "last-modified",
    "article.updated",
)


def published_candidates(data: StructuredData, tree, url: str, languages) -> list[Candidate]:
    found = [
        Candidate(obj.get("datePublished") or obj.get("dateCreated"), "json-ld") for obj in data.articles[:1]
    ]
    found += [Candidate(_first_text(props.get("datePublished")), "microdata") for props in data.microdata[:1]]
    found.append(Candidate(data.opengraph.get("article:published_time"), "opengraph"))
    found += [Candidate(data.meta.get(name), "meta") for name in _PUBLISHED_META]
    found += [
        Candidate(time.get("datetime") or _element_text(time), "time-element")
        for time in tree.xpath("//time")[:2]
    ]
    found.append(Candidate(date_from_url(url), "url"))
    return _parsed_dates(found, languages)


ENOUGH_MACHINE_DATES = 2


def _parsed_dates(found: list[Candidate], languages) -> list[Candidate]:
    """Machine-readable dates first; free-text parsing (slow) only when they are too few to agree."""
    raw = [
        Candidate(c.value if isinstance(c.value, datetime) else _first_text(c.value), c.source)
        for c in found
        if c.value
    ]
    iso = [
        Candidate(c.value if isinstance(c.value, datetime) else parse_iso_datetime(c.value), c.source)
        for c in raw
    ]
    if len({c.source for c in iso if not isinstance(c.value, ParseFailure)}) < ENOUGH_MACHINE_DATES:
        iso = [
            c
            if not isinstance(c.value, ParseFailure)
            else Candidate(parse_datetime(r.value, languages), c.source)
            for c, r in zip(iso, raw, strict=True)
        ]
    return [c for c in iso if not isinstance(c.value, ParseFailure)]


def choose_date(candidates: list[Candidate], fallback: datetime | None) -> Candidate | None:
    """The day most sources agree on; within that day, the value carrying a time of day."""
    if not candidates:
        return Candidate(fallback, "htmldate") if fallback else None
    days = Counter(c.value.date() for c in candidates)
    if fallback is not None:
        days[fallback.date()] += 1  # htmldate's own weighing of the page's dates is one more vote
    best_day = max(days, key=lambda day: (days[day], -_first_index(candidates, day)))
    on_day = [c for c in candidates if c.value.date() == best_day]
    if not on_day:
        return Candidate(fallback, "htmldate")
    return next((c for c in on_day if c.value.time() != datetime.min.time()), on_day[0])


def day_is_settled(candidates: list[Candidate]) -> bool:
    """True when the leading day has two more votes than any other: htmldate's one vote in
    ``choose_date`` could not change it, so htmldate (a walk over the page) need not run."""
    counts = sorted(Counter(c.value.date() for c in candidates).values(), reverse=True) + [0, 0]
    return counts[0] - counts[1] >= 2


def _first_index(candidates: list[Candidate], day) -> int:
    return next((i for i, c in enumerate(candidates) if c.value.date() == day), len(candidates))


def htmldate_published(tree, url: str) -> datetime | None:
    try:
        found = htmldate.find_date(
            tree, extensive_search=False, original_date=True, outputformat="%Y-%m-%dT%H:%M:%S%z", url=url
        )
    except Exception:  # noqa: BLE001 - htmldate's heuristics raise on odd markup; the date is optional
        return None
    parsed = parse_datetime(found)
    return None if isinstance(parsed, ParseFailure) else parsed


def modified_candidates(data: StructuredData, languages) -> list[Candidate]:
    found = [Candidate(obj.get("dateModified"), "json-ld") for obj in data.articles[:1]]
    found.append(Candidate(data.opengraph.get("article:modified_time"), "opengraph"))
    found += [Candidate(data.meta.get(name), "meta") for name in _MODIFIED_META]
    return _parsed_dates(found, languages)


# ---------------------------------------------------------------- language


_MIN_DETECTION_CHARS = 200  # below this a detector guesses; the page's declaration is better evidence
_SURE_DETECTION = 0.9  # the detector's probability above which a conflicting declaration is ignored
_PLAUSIBLE_DECLARATION = 0.05  # a declared language the detector gives at least this much stays
# The detector's cost grows with the text; a thousand characters (several sentences) decide as
# well as the whole body on the benchmark pages, at half the cost of two thousand.
DETECTION_SAMPLE_CHARS = 1000


@functools.cache
def _language_identifier() -> LanguageIdentifier:
    return LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)


# A free-text date in each language of the monitored coverage: dateparser sets itself up (~0.07 s)
# and loads each language's locale (~0.01 s) on first use.
_WARM_UP_DATES = (
    ("November 24, 2025 10:32 AM EST", "en"),
    ("24 de noviembre de 2025", "es"),
    ("24 de novembro de 2025", "pt"),
)


def load_models() -> None:
    """Load what extraction otherwise loads on first use (py3langid's model: ~0.6 s of CPU; dateparser's
    set-up and locales). Called before a worker pool is forked, so the workers share one copy instead
    of each loading its own, and by the ``extract`` command before its first page."""
    _language_identifier()
    for text, language in _WARM_UP_DATES:
        parse_datetime(text, (language,))


def declared_language(tree, data: StructuredData) -> str | None:
    declared = (
        tree.get("lang")
        or tree.get("xml:lang")
        or data.meta.get("content-language")
        or data.opengraph.get("og:locale")
        or _first_text(_first(data.articles, "inLanguage"))
    )
    match = re.match(r"^\s*([a-zA-Z]{2})(?:[-_]|$)", declared or "")
    return match[1].lower() if match else None


def choose_language(body_text: str, declared: str | None) -> tuple[str | None, str | None]:
    """The detected language, unless the detector is unsure and the page's declaration is plausible."""
    if len(body_text) < _MIN_DETECTION_CHARS:
        return (declared, "declared") if declared else (None, None)
    identifier = _language_identifier()
    sample = body_text[:DETECTION_SAMPLE_CHARS]
    detected, probability = identifier.classify(sample)
    unsure = declared and declared != detected and probability < _SURE_DETECTION
    if unsure and dict(identifier.rank(sample)).get(declared, 0.0) >= _PLAUSIBLE_DECLARATION:
        return declared, "declared"
    return detected, "detector"


def _first(objects: tuple[Mapping, ...], key: str) -> object:
    return next((obj.get(key) for obj in objects if obj.get(key)), None)


# ---------------------------------------------------------------- the stage


def extract_article(
    html: bytes,
    url: str,
    headers: Mapping[str, str] | None = None,
    feed_entry: FeedEntry | None = None,
    outlet: str | None = None,
) -> ExtractedArticle:
    """Everything the extraction stage can read from one page; missing fields stay empty.

    ``outlet`` is the outlet's name as configured, when known: a byline naming it credits no person.
    """
    text, _encoding = decode_html(html, headers)
    tree = parse_tree(text)
    data = replace(read_structured_data(tree, url), configured_outlets=(outlet,) if outlet else ())
    sources: dict[str, str] = {}
    fields: dict[str, object] = {}

    headline = choose_headline(
        headline_candidates(data, tree) + _feed_candidates(feed_entry, "title"), outlet_names(data)
    )
    _keep(fields, sources, "headline", headline)
    dek = choose_by_agreement(_dek_candidates(data))
    body = choose_body(
        tree,
        url,
        data.articles,
        feed_entry.content if feed_entry else None,
        headline.value if headline else None,
        dek.value if dek else None,
    )
    fields["body_paragraphs"], fields["body_confidence"] = body.paragraphs, body.confidence
    if body.paragraphs:
        sources["body_paragraphs"] = body.source

    declared = declared_language(tree, data) or (feed_entry.language if feed_entry else None)
    language, language_source = choose_language("\n".join(body.paragraphs), declared)
    if language:
        fields["language"], sources["language"] = language, language_source
    languages = (language,) if language else None

    found_authors = author_candidates(data, tree) + _feed_authors(feed_entry)
    if not found_authors:
        found_authors = signature_people(body.paragraphs, outlet_names(data))
    authors, author_source = choose_authors(found_authors)
    if not authors:  # a group byline alone ("The Editorial Board") is kept as written
        authors, author_source = credited_collectives(data, tree)
    if authors:
        fields["authors"], sources["authors"] = authors, author_source
    organisations, organisations_source = credited_organisations(data, authors)
    if organisations:
        fields["credited_organisations"] = organisations
        sources["credited_organisations"] = organisations_source
    dates = published_candidates(data, tree, url, languages) + _feed_dates(feed_entry)
    published = choose_date(dates, None if day_is_settled(dates) else htmldate_published(tree, url))
    _keep(fields, sources, "published_at", published)
    _keep(fields, sources, "modified_at", choose_by_agreement(modified_candidates(data, languages), key=str))
    _keep_links(fields, sources, data, tree, url)
    _keep(fields, sources, "dek", dek)
    _keep(fields, sources, "section", choose_by_agreement(_section_candidates(data)))
    return ExtractedArticle(url=url, sources=sources, **fields)


def _keep(fields: dict, sources: dict, name: str, chosen: Candidate | None) -> None:
    if chosen is not None and chosen.value:
        fields[name], sources[name] = chosen.value, chosen.source


def _feed_candidates(entry: FeedEntry | None, attribute: str) -> list[Candidate]:
    value = getattr(entry, attribute, None) if entry else None
    return [Candidate(visible_line(value), "feed")] if visible_line(value) else []


def _feed_authors(entry: FeedEntry | None) -> list[tuple[tuple[str, ...], str]]:
    if not entry or not entry.authors:
        return []
    people = tuple(name for author in entry.authors for name in _byline_people(author))
    return [(people, "feed")] if people else []


def _feed_dates(entry: FeedEntry | None) -> list[Candidate]:
    if not entry or not entry.published:
        return []
    return [Candidate(parse_datetime(entry.published.isoformat()), "feed")]


def _dek_candidates(data: StructuredData) -> list[Candidate]:
    found = [Candidate(_first_text(obj.get("description")), "json-ld") for obj in data.articles[:1]]
    found.append(Candidate(visible_line(data.opengraph.get("og:description")), "opengraph"))
    found.append(Candidate(visible_line(data.meta.get("description")), "meta"))
    return found


def _section_candidates(data: StructuredData) -> list[Candidate]:
    found = [Candidate(_first_text(obj.get("articleSection")), "json-ld") for obj in data.articles[:1]]
    found.append(Candidate(data.opengraph.get("article:section") or data.meta.get("article:section"), "meta"))
    return found


def _keep_links(fields: dict, sources: dict, data: StructuredData, tree, url: str) -> None:
    canonical = [
        Candidate(_link(tree, "canonical"), "meta"),
        Candidate(data.opengraph.get("og:url"), "opengraph"),
    ]
    image = [
        Candidate(data.opengraph.get("og:image"), "opengraph"),
        Candidate(_first_text(_first(data.articles, "image")), "json-ld"),
        Candidate(data.meta.get("twitter:image"), "meta"),
    ]
    for name, candidates in (
        ("canonical_url", canonical),
        ("amp_url", [Candidate(_link(tree, "amphtml"), "meta")]),
        ("lead_image", image),
    ):
        resolved = [Candidate(parse_url(c.value, url), c.source) for c in candidates if c.value]
        _keep(fields, sources, name, choose_by_agreement([c for c in resolved if c.value], key=str))


def _link(tree, rel: str) -> str | None:
    hrefs = tree.xpath(f"//link[@rel='{rel}']/@href")
    return hrefs[0] if hrefs else None


# ---------------------------------------------------------------- CLI command body


PAGE_SUFFIXES = (".html", ".htm", ".html.gz", ".htm.gz")


class ExtractInputError(ValueError):
    """A page file or URL map the ``extract`` command cannot read; nothing is written."""


def page_id(path: Path) -> str:
    return path.name.split(".", 1)[0]


def read_page(path: Path) -> bytes:
    raw = path.read_bytes()
    return gzip.decompress(raw) if path.name.endswith(".gz") else raw


def extract_command(paths: Iterable[Path], out: Path, urls: Path | None = None) -> dict[str, dict]:
    """Extract every page and write ``{id: {articleBody, title, authors, published, language}}``.

    Inputs are checked before anything is extracted, so a bad argument costs no partial output.
    """
    pages = _checked_pages([Path(p) for p in paths])
    url_map = _read_url_map(Path(urls)) if urls else {}
    load_models()
    results = {
        page_id(path): summary_record(extract_article(body, url_map.get(page_id(path), "")))
        for path, body in pages
    }
    Path(out).write_text(json.dumps(results, ensure_ascii=False, indent=1), encoding="utf-8")
    return results


def _checked_pages(paths: list[Path]) -> list[tuple[Path, bytes]]:
    if not paths:
        raise ExtractInputError("no page files given")
    pages = []
    for path in paths:
        if not path.name.lower().endswith(PAGE_SUFFIXES):
            raise ExtractInputError(f"{path}: not an .html or .html.gz file")
        try:
            pages.append((path, read_page(path)))
        except (OSError, EOFError, gzip.BadGzipFile) as exc:
            raise ExtractInputError(f"{path}: cannot read page ({exc})") from exc
    duplicates = [pid for pid, n in Counter(page_id(p) for p in paths).items() if n > 1]
    if duplicates:
        raise ExtractInputError(f"several files share the page id {duplicates[0]!r}")
    return pages


def _read_url_map(path: Path) -> dict[str, str]:
    try:
        url_map = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ExtractInputError(f"{path}: cannot read URL map ({exc})") from exc
    if not isinstance(url_map, dict) or not all(isinstance(v, str) for v in url_map.values()):
        raise ExtractInputError(f"{path}: URL map must be a JSON object of id -> URL string")
    return url_map


def summary_record(article: ExtractedArticle) -> dict:
    return {
        "articleBody": article.body_text,
        "title": article.headline or "",
        "authors": list(article.authors),
        "published": article.published_at.isoformat() if article.published_at else None,
        "language": article.language or "",
    }
