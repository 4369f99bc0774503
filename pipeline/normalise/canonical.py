"""Normalise stage: canonical identity (URL, aliases) and content fingerprints of an article.

Pure functions over ``ExtractedArticle`` → ``NormalisedArticle``. URL cleaning leans on
url-normalize (RFC 3986 normalisation), courlan's tracker list and w3lib's ``canonicalize_url``
(query sorting, fragment removal); this module only chains them and adds the news-specific parts.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from collections.abc import Collection, Iterable, Mapping
from datetime import datetime, timedelta
from functools import lru_cache
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

from courlan.clean import TRACKERS_RE
from url_normalize import url_normalize
from w3lib.url import canonicalize_url

from pipeline.normalise import identity
from pipeline.text import visible_line
from schemas.records import ExtractedArticle, NormalisedArticle


class InvalidUrl(ValueError):
    """A URL that cannot identify an article (not http(s), no host, unparsable)."""


# Trackers news sites add that courlan's list (AdGuard/ClearURLs-derived) does not catch.
EXTRA_TRACKING_PARAMS = frozenset({"ocid", "cmpid", "cmp", "smid", "smtyp", "icid", "ito", "taid"})
INDEX_PAGE = re.compile(r"/(?:index|default)\.(?:html?|php|aspx?|jsp)$", re.IGNORECASE)
AMP_PATH_MARKER = re.compile(r"(?:/amp/?$|\.amp(?=(?:\.html?)?$)|/amp/(?=.))", re.IGNORECASE)
# One page's URLs (requested, final, canonical, og:url, AMP, feed link) are normalised about 20 times
# and the outlet hosts for every page: the URL functions below are pure, so their results are cached.
# Bounded: what repeats is one page's URLs and the outlets' hosts, so a small LRU holds it.
URL_CACHE_SIZE = 4096


# --- URLs -------------------------------------------------------------------------------------


def canonical_url(url: str) -> str:
    """The one spelling of ``url`` used as the article's identity.

    Lower-cased scheme and host, no credentials, no default port, dot segments resolved, no fragment, no tracking
    parameters, no trailing index page, query sorted. Raises ``InvalidUrl`` for anything that is not
    an absolute http(s) URL.
    """
    try:
        return _canonical(url)
    except InvalidUrl:
        raise
    except (ValueError, UnicodeError) as error:  # bad port, bad IPv6 literal, undecodable escapes
        raise InvalidUrl(f"unparsable URL {url!r}: {error}") from error


def _canonical(url: str) -> str:
    return _canonical_of_normalised(_rfc3986_normalised(url))


@lru_cache(maxsize=URL_CACHE_SIZE)
def _canonical_of_normalised(normalised: str) -> str:
    parts = urlsplit(normalised)
    query = urlencode(_without_trackers(parse_qsl(parts.query, keep_blank_values=True)))
    path = INDEX_PAGE.sub("/", parts.path) or "/"
    # user:password@ is dropped: a link carrying credentials must not put them into the warehouse.
    cleaned = urlunsplit((parts.scheme, parts.netloc.rpartition("@")[2], path, query, ""))
    # w3lib sorts the query and settles percent-encoding; a second RFC pass keeps the result a
    # fixed point (w3lib and url-normalize disagree on a few escapes).
    return _rfc3986_normalised(canonicalize_url(cleaned, keep_fragments=False))


def _rfc3986_normalised(url: str) -> str:
    if not isinstance(url, str) or not url.strip():
        raise InvalidUrl(f"empty URL: {url!r}")
    return _rfc3986_normalised_text(url)


@lru_cache(maxsize=URL_CACHE_SIZE)
def _rfc3986_normalised_text(url: str) -> str:
    text = url.strip()
    if not re.match(r"(?i)^https?://", text):
        raise InvalidUrl(f"not an absolute http(s) URL: {url!r}")
    normalised = url_normalize(text)
    parts = urlsplit(normalised or "")
    if not parts.hostname or re.search(r"[\s%<>\"{}|\\^`]", parts.hostname):
        raise InvalidUrl(f"URL without a valid host: {url!r}")
    _ = parts.port  # raises ValueError for a port that is not a number in 0-65535
    return normalised


def _without_trackers(pairs: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    return [(name, value) for name, value in pairs if not is_tracking_param(name)]


def is_tracking_param(name: str) -> bool:
    lowered = name.lower()
    return lowered in EXTRA_TRACKING_PARAMS or bool(TRACKERS_RE.search(lowered))


def canonical_url_hash(url: str) -> str:
    """The article's key in the warehouse: ``identity.url_hash`` of its canonical URL (an alias, a cache
    entry or a fetch is keyed by ``identity.url_hash`` of the address exactly as given)."""
    return identity.url_hash(canonical_url(url))


def outlet_netloc(url: str) -> str:
    """``host:port`` of a URL after normalisation, without a leading ``www.``.

    The port matters: the replay world serves every outlet on its own port of 127.0.0.1. The
    ``www.`` prefix does not: outlets serve (or redirect) both and mark either as canonical.
    """
    netloc = urlsplit(_rfc3986_normalised(url)).netloc.rsplit("@", 1)[-1]
    return netloc.removeprefix("www.")


def is_inside_outlet(url: str, page_url: str, outlet_hosts: Collection[str] = ()) -> bool:
    """True when ``url`` is served by the same outlet as ``page_url`` (or one of ``outlet_hosts``)."""
    try:
        netloc = outlet_netloc(url)
    except InvalidUrl:
        return False
    allowed = {_host_key(host) for host in outlet_hosts} | {outlet_netloc(page_url)}
    return netloc in allowed


def _inside(declared: str, page_url: str, outlet_hosts: Collection[str]) -> bool:
    """A URL the page declares for itself (canonical, AMP) that stays inside its outlet: only those
    become aliases, since an alias on another outlet's host would claim that outlet's article."""
    return is_inside_outlet(urljoin(page_url, declared.strip()), page_url, outlet_hosts)


def _host_key(host: str) -> str:
    """Accept outlet hosts written as ``host[:port]`` or as full URLs."""
    return outlet_netloc(host if "://" in host else f"http://{host}")


def is_amp_url(url: str) -> bool:
    parts = urlsplit(url)
    query_names = {name.lower() for name, _ in parse_qsl(parts.query, keep_blank_values=True)}
    return (
        bool(AMP_PATH_MARKER.search(parts.path))
        or bool(query_names & {"amp", "outputtype"})
        or (parts.hostname or "").startswith("amp.")
    )


def choose_canonical(
    page_url: str,
    extracted_canonical: str | None = None,
    og_url: str | None = None,
    amp_url: str | None = None,
    outlet_hosts: Collection[str] = (),
) -> str:
    """The canonical URL of the article served at ``page_url``.

    rel=canonical, then og:url (absolute or relative to the page), are trusted only when they stay
    inside the outlet: a canonical
    pointing at another site (a syndication partner, a CMS default) would merge two outlets' copies.
    An AMP page (``page_url`` marked as AMP, or equal to the page's own ``amp_url``) takes its
    canonical the same way; failing that, its AMP markers are stripped.
    """
    for declared in (extracted_canonical, og_url):
        candidate = urljoin(page_url, declared.strip()) if declared else None  # relative hrefs occur
        if candidate and is_inside_outlet(candidate, page_url, outlet_hosts):
            return canonical_url(candidate)
    page = canonical_url(page_url)
    is_amp_page = is_amp_url(page) or (amp_url is not None and _same_url(amp_url, page))
    return _strip_amp_markers(page) if is_amp_page else page


def _same_url(left: str, right: str) -> bool:
    try:
        return canonical_url(left) == canonical_url(right)
    except InvalidUrl:
        return False


def _strip_amp_markers(url: str) -> str:
    parts = urlsplit(url)
    path = AMP_PATH_MARKER.sub(lambda match: "/" if match.group(0).startswith("/amp/") else "", parts.path)
    query = [
        (k, v)
        for k, v in parse_qsl(parts.query, keep_blank_values=True)
        if k.lower() not in {"amp", "outputtype"}
    ]
    host = parts.netloc.removeprefix("amp.")
    return canonical_url(urlunsplit((parts.scheme, host, path or "/", urlencode(query), "")))


def url_aliases(canonical: str, seen_urls: Iterable[str | None]) -> tuple[str, ...]:
    """Every valid URL seen for the article in canonical spelling, the canonical one first."""
    aliases = {canonical}
    for url in filter(None, seen_urls):
        try:
            aliases.add(canonical_url(url))
        except InvalidUrl:
            continue  # an unusable alias (javascript:, relative junk) identifies nothing
    return (canonical, *sorted(aliases - {canonical}))


# --- Text fingerprints -------------------------------------------------------------------------

# These patterns run on NFKC-normalised, case-folded text, hence lower case and no IGNORECASE
# (which is several times slower on Unicode text).
_TIME_UNITS = (
    r"(?:seconds?|secs?|minutes?|mins?|hours?|hrs?|days?|weeks?|months?|"
    r"segundos?|minutos?|horas?|d[ií]as?|semanas?|mes(?:es)?)"
)
_RELATIVE_TIME = re.compile(rf"\b(?:hace\s+)?(?:\d+|an?|one|un[ao]?)\s+{_TIME_UNITS}(?:\s+ago)?\b")
_CLOCK_TIME = re.compile(
    r"\b\d{1,2}:\d{2}(?::\d{2})?(?:\s*(?:[ap]\.?\s?m\b\.?|hrs?\b\.?|h\b))?"
    r"(?:\s*\b(?:[ecmp][sd]t|et|ct|pt|gmt|utc|cet)\b)?"
)
_STAMP_WORDS = (
    r"(?:updated|last updated|published|posted|actualizado|actualizada|"
    r"[uú]ltima actualizaci[oó]n|publicado|publicada)\b"
)
_COUNTER = re.compile(
    r"\b\d[\d.,]*\s*[km]?\s+(?:shares?|comments?|views?|likes?|reactions?|comentarios?|"
    r"compartid[oa]s?|vistas?|visitas?|reacciones|me gusta|lecturas?)\b"
)
_BOILERPLATE_LINE = re.compile(
    r"^\W*(?:advertisement|ad|sponsored|publicidad|anuncio|contenido patrocinado|"
    r"story continues below(?: advertisement)?|la nota contin[uú]a abajo|"
    r"(?:sign up|subscribe) (?:for|to) (?:our|the)\b.*newsletter.*|"
    r"suscr[ií]bete (?:a|al) (?:nuestro|nuestra)\b.*(?:bolet[ií]n|newsletter).*|"
    r"(?:read more|read also|related|lee también|lea también|te puede interesar|relacionad[oa]s?)\b.*)\W*$",
    re.MULTILINE,
)
_STAMP_LINE = re.compile(rf"^\W*{_STAMP_WORDS}.*$", re.MULTILINE)
_WORD = re.compile(r"\w+")
# Pairs for str.replace: a dict-based str.translate was the slowest step on long bodies.
_PUNCTUATION_VARIANTS = (
    ("‘", "'"),
    ("’", "'"),
    ("‚", "'"),
    ("“", '"'),
    ("”", '"'),
    ("„", '"'),
    ("«", '"'),
    ("»", '"'),
    ("–", "-"),
    ("—", "-"),
    ("‐", "-"),
    ("\u00a0", " "),
)


def normalise_for_hash(text: str | None) -> str:
    """``text`` reduced to what an editor changes on purpose.

    Whitespace, case, quote/dash variants, punctuation, relative timestamps ("Updated 5 minutes
    ago", "Actualizado hace 3 horas"), clock times, social counters ("1,234 shares",
    "12 comentarios") and ad/newsletter lines are dropped, so re-rendering the same article gives
    the same string.
    """
    if not text:
        return ""
    for variant, plain in _PUNCTUATION_VARIANTS:
        text = text.replace(variant, plain)
    text = unicodedata.normalize("NFKC", text).casefold()
    text = _BOILERPLATE_LINE.sub("", text)
    for volatile in (_RELATIVE_TIME, _CLOCK_TIME, _COUNTER):
        text = volatile.sub(" ", text)
    text = _STAMP_LINE.sub(_without_short_stamp_line, text)
    return " ".join(_WORD.findall(text))


def _without_short_stamp_line(line: re.Match[str]) -> str:
    """Drop a stamp line ("Updated Nov. 24, 2025") left after its times were removed; keep prose."""
    return "" if len(_WORD.findall(line.group(0))) <= 12 else line.group(0)


def word_count(text: str) -> int:
    return len(_WORD.findall(text))


def content_hash(headline: str | None, body_text: str) -> str:
    """sha256 hex of the normalised headline and body."""
    normalised = normalise_for_hash(headline) + "\n" + normalise_for_hash(body_text)
    return identity.text_hash(normalised)


# --- Text fields -------------------------------------------------------------------------------


# A headline, dek or byline is one line of the text the page shows: angle brackets a reader sees
# are kept as text (the report and the email escape them), control characters go, and CR/LF, which
# would otherwise reach email headers and CSV exports, collapse into single spaces.
def plain_text_field(value: str | None) -> str | None:
    """One line of visible text: control characters removed, whitespace collapsed; no tag stripping."""
    return visible_line(value)


# --- Records -----------------------------------------------------------------------------------


def normalise_article(
    extracted: ExtractedArticle,
    outlet: str,
    outlet_hosts: Collection[str],
    requested_url: str,
    final_url: str,
    fetched_at: datetime,
    feed_url: str | None = None,
) -> NormalisedArticle:
    """The article's identity (canonical URL, hash, aliases) and fingerprints.

    The extractor reports og:url in ``canonical_url`` with ``sources["canonical_url"] ==
    "opengraph"`` when the page has no rel=canonical; both pass the same same-outlet check.
    """
    declared = extracted.canonical_url
    from_og = extracted.sources.get("canonical_url") == "opengraph"
    canonical = choose_canonical(
        final_url,
        extracted_canonical=None if from_og else declared,
        og_url=declared if from_og else None,
        amp_url=extracted.amp_url,
        outlet_hosts=outlet_hosts,
    )
    declared_urls = [u for u in (declared, extracted.amp_url) if u and _inside(u, final_url, outlet_hosts)]
    seen = (requested_url, final_url, extracted.url, *declared_urls, feed_url)
    body = extracted.body_text
    published_at, sources = plausible_published_at(extracted.published_at, extracted.sources, fetched_at)
    headline = plain_text_field(extracted.headline)
    return NormalisedArticle(
        outlet=outlet,
        canonical_url=canonical,
        url_hash=identity.url_hash(canonical),  # canonical_url_hash, the URL already canonical
        aliases=url_aliases(canonical, seen),
        headline=headline,
        dek=plain_text_field(extracted.dek),
        authors=tuple(name for name in map(plain_text_field, extracted.authors) if name),
        credited_organisations=tuple(
            name for name in map(plain_text_field, extracted.credited_organisations) if name
        ),
        published_at=published_at,
        modified_at=extracted.modified_at,
        language=extracted.language,
        section=extracted.section,
        body_text=body,
        word_count=word_count(body),
        content_hash=content_hash(headline, body),
        fetched_at=fetched_at,
        lead_image=extracted.lead_image,
        body_confidence=extracted.body_confidence,
        sources=sources,
    )


# A page's clock may run ahead of ours by a time zone; beyond a day, the date is wrong, not early.
FUTURE_DATE_TOLERANCE = timedelta(days=1)
FUTURE_DATE_SOURCE = "ignored-future"


def plausible_published_at(
    published_at: datetime | None, sources: Mapping[str, str], fetched_at: datetime
) -> tuple[datetime | None, Mapping[str, str]]:
    """The publication time, unless it lies more than a day after the fetch (then None, and the
    ``published_at`` source says ``ignored-future`` so the dropped value is accounted for)."""
    if published_at is None or published_at <= fetched_at + FUTURE_DATE_TOLERANCE:
        return published_at, sources
    return None, {**sources, "published_at": FUTURE_DATE_SOURCE}


# --- Versions ----------------------------------------------------------------------------------


def is_material_change(old_hash: str, new_hash: str) -> bool:
    """Content hashes already ignore trivial edits, so any difference is material."""
    return old_hash != new_hash


def paragraphs(text: str) -> list[str]:
    """Non-empty paragraphs of a body (blank-line separated, or one per line when there are none)."""
    blocks = re.split(r"\n\s*\n", text) if re.search(r"\n\s*\n", text) else text.splitlines()
    return [block.strip() for block in blocks if block.strip()]


def version_delta(old: NormalisedArticle, new: NormalisedArticle) -> dict[str, object]:
    """What changed between two fetched versions of the same article, ignoring trivial edits."""
    old_paragraphs, new_paragraphs = paragraphs(old.body_text), paragraphs(new.body_text)
    matcher = difflib.SequenceMatcher(
        a=[normalise_for_hash(p) for p in old_paragraphs],
        b=[normalise_for_hash(p) for p in new_paragraphs],
        autojunk=False,
    )
    removed: list[str] = []
    added: list[str] = []
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag != "equal":
            removed.extend(p for p in old_paragraphs[i1:i2] if normalise_for_hash(p))
            added.extend(p for p in new_paragraphs[j1:j2] if normalise_for_hash(p))
    return {
        "material": is_material_change(old.content_hash, new.content_hash),
        "headline_changed": normalise_for_hash(old.headline) != normalise_for_hash(new.headline),
        "old_headline": old.headline,
        "new_headline": new.headline,
        "paragraphs_added": added,
        "paragraphs_removed": removed,
        "word_count_change": new.word_count - old.word_count,
    }
