"""Process stage: from fetched pages to normalised articles matched to every story, every item counted.

Pure functions over records: no database, no network. A page that cannot be processed becomes a
``Quarantined`` result with its error, never an exception that stops the batch.
"""

from __future__ import annotations

from collections import Counter, deque
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import replace
from functools import partial
from itertools import chain, islice

from pipeline import encoder
from pipeline.dedupe.copies import signature_to_bytes, text_signature
from pipeline.extract.date_confidence import date_confidence
from pipeline.extract.page import extract_article, load_models
from pipeline.extract.page_kind import (
    SHORT_PAGE_WORDS,
    STUB_WORDS,
    PageReading,
    may_hold_a_wall,
    non_article_kind,
    visible_text,
)
from pipeline.match.encoder_evidence import story_crosses_languages
from pipeline.match.relevance import relevance_outcome
from pipeline.match.stories import StoryMatcher, match_article
from pipeline.normalise.canonical import FUTURE_DATE_SOURCE, normalise_article, url_aliases
from pipeline.speedup.ahead import input_key
from pipeline.speedup.workers import MIN_PAGES_FOR_WORKERS, Item, Result, default_workers, ordered_map
from schemas.records import (
    ExtractedArticle,
    FetchedPage,
    NormalisedArticle,
    Outcome,
    ProcessedBatch,
    Quarantined,
    StoryRelevance,
)

# Below this many words a page is a teaser, a gallery or an error page, not an article (page_kind reads
# the whole page then).
MIN_BODY_WORDS = STUB_WORDS
HTML_TYPES = ("text/html", "application/xhtml+xml", "")
BINARY_SIGNATURES = (b"%PDF-", b"\x89PNG", b"GIF8", b"\xff\xd8\xff", b"\x1f\x8b", b"PK\x03\x04", b"RIFF")


def process_page(
    page: FetchedPage, hosts_by_outlet: Mapping[str, Collection[str]]
) -> NormalisedArticle | Outcome:
    """Extract and normalise one page; an unusable page comes back as a named outcome.

    ``hosts_by_outlet`` maps an outlet name to its hosts: a page's canonical URL is trusted on its own
    outlet's hosts only, never on another outlet's (which would take over that outlet's article).
    """
    if page.status != 200:
        return Outcome("extract", "not-an-article", page.url, f"HTTP {page.status}")
    content_type = page.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type not in HTML_TYPES and not _looks_like_html(page.body):
        return Outcome("extract", "not-html", page.url, content_type)
    if _looks_binary(page.body):  # an image, PDF or archive served as text/html
        return Outcome("extract", "not-html", page.url, f"binary body served as {content_type or 'no type'}")
    extracted = extract_article(page.body, page.url, page.headers, page.feed_entry, page.outlet)
    feed_url = page.feed_entry.url if page.feed_entry else None
    article = normalise_article(
        extracted,
        page.outlet,
        hosts_by_outlet.get(page.outlet, ()),
        page.requested_url,
        page.url,
        page.fetched_at,
        feed_url,
    )
    article = _with_date_confidence(article, page)
    non_article = _non_article_kind(page, extracted, article.word_count)
    if non_article:
        return Outcome("extract", non_article, page.url, f"{article.word_count} words")
    if article.word_count < MIN_BODY_WORDS:
        return Outcome("extract", "no-text", page.url, f"{article.word_count} words")
    return article


def _with_date_confidence(article: NormalisedArticle, page: FetchedPage) -> NormalisedArticle:
    """The published time's confidence (``pipeline.extract.date_confidence``) beside its source in ``sources``."""
    feed_published = page.feed_entry.published if page.feed_entry else None
    confidence = date_confidence(article.published_at, article.sources.get("published_at"), feed_published)
    if confidence is None:
        return article
    return replace(article, sources={**article.sources, "published_confidence": confidence})


def _non_article_kind(page: FetchedPage, extracted: ExtractedArticle, word_count: int) -> str | None:
    """A consent, paywall, challenge, login or error page (``pipeline.extract.page_kind``); the whole page's
    text is read only when the body is too short to be stored anyway, or is a teaser on a page whose
    bytes hold a wall's words (parsing every short article's page would cost more than the rest)."""
    read_page = word_count < MIN_BODY_WORDS or (word_count < SHORT_PAGE_WORDS and may_hold_a_wall(page.body))
    reading = PageReading(
        extracted.headline or "", extracted.body_paragraphs, visible_text(page.body) if read_page else ""
    )
    return non_article_kind(reading)


def _looks_binary(body: bytes) -> bool:
    """NUL bytes never occur in text, and every common binary format (PNG, GIF, JPEG, gzip, zip) has
    one or a signature near its start (https://mimesniff.spec.whatwg.org/#binary-data-byte)."""
    head = body[:1024]
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):  # UTF-16 text has NULs; its BOM says so
        return False
    return b"\x00" in head or head.startswith(BINARY_SIGNATURES)


def _looks_like_html(body: bytes) -> bool:
    head = body[:1024].lstrip().lower()
    return head.startswith((b"<!doctype html", b"<html"))


def merge_outlet_duplicates(
    articles: Sequence[NormalisedArticle],
) -> tuple[list[NormalisedArticle], list[Outcome]]:
    """One outlet publishing one text at several canonical URLs: keep one article, the rest are aliases.

    Copies across outlets are syndication, not duplicates: they stay separate articles. The kept URL
    is the shortest (then the first in order), never the first fetched: fetch order within a run is
    the crawler's concurrency, and the same pages must give the same articles and clusters every time.
    """
    kept: dict[tuple[str, str], NormalisedArticle] = {}
    outcomes: list[Outcome] = []
    for article in sorted(articles, key=lambda a: (len(a.canonical_url), a.canonical_url, a.fetched_at)):
        key = (article.outlet, article.content_hash)
        first = kept.get(key)
        if first is None or first.url_hash == article.url_hash:
            kept[key] = article if first is None else _later_fetch(first, article)
            continue
        kept[key] = replace(
            first, aliases=url_aliases(first.canonical_url, (*first.aliases, *article.aliases))
        )
        outcomes.append(
            Outcome("dedupe", "duplicate", article.canonical_url, f"same text as {first.canonical_url}")
        )
    return list(kept.values()), outcomes


def _later_fetch(first: NormalisedArticle, second: NormalisedArticle) -> NormalisedArticle:
    later = max(first, second, key=lambda a: a.fetched_at)
    return replace(later, aliases=url_aliases(later.canonical_url, (*first.aliases, *second.aliases)))


ProcessResult = NormalisedArticle | Outcome | tuple[Quarantined, Outcome]


def process_page_or_quarantine(
    page: FetchedPage, hosts_by_outlet: Mapping[str, Collection[str]]
) -> ProcessResult:
    """``process_page``, with an error caught where it happens (in a worker process, too) so a
    broken page is quarantined with its error and the batch goes on."""
    try:
        return process_page(page, hosts_by_outlet)
    except Exception as exc:
        quarantined = Quarantined(page.url, f"{type(exc).__name__}: {exc}", page.warc_record_id)
        return quarantined, Outcome("extract", "quarantined", page.url, str(exc)[:200])


def process_pages(
    pages: Iterable[FetchedPage],
    hosts_by_outlet: Mapping[str, Collection[str]],
    matcher: StoryMatcher,
    workers: int | None = None,
    known: Mapping[str, ProcessResult] | None = None,
) -> ProcessedBatch:
    """Process every page, in ``workers`` processes (default: one per core, at most ``MAX_WORKERS``)
    when the batch has at least ``MIN_PAGES_FOR_WORKERS`` pages. Results are the same either way:
    pages are taken and results kept in input order.

    ``known`` holds results computed earlier (``pipeline.speedup``) under ``page_key``: a page whose
    key is there is not processed again."""
    pages = iter(pages)
    head = list(islice(pages, MIN_PAGES_FOR_WORKERS))
    workers = default_workers() if workers is None else workers
    items = _with_known_results(chain(head, pages), hosts_by_outlet, known or {})
    if workers <= 1 or len(head) < MIN_PAGES_FOR_WORKERS:
        return _batch(map, items, hosts_by_outlet, matcher)
    # The platform's start method: everything sent to a worker is a module-level function or a record,
    # so fork (Linux before 3.14) and forkserver/spawn (later, macOS) give the same results.
    load_models()
    if any(story_crosses_languages(story) for story in matcher.stories):
        encoder.load()  # matching reads leads with it (pipeline.match.encoder_evidence): shared by the forks
    with ProcessPoolExecutor(max_workers=workers) as pool:
        return _batch(partial(ordered_map, pool), items, hosts_by_outlet, matcher)


def page_key(page: FetchedPage, hosts_by_outlet: Mapping[str, Collection[str]]) -> str:
    """Every input of ``process_page_or_quarantine`` for this page (the page, its own outlet's
    hosts), and the code, hashed: the key its result is looked up under when computed ahead."""
    return input_key((page, tuple(hosts_by_outlet.get(page.outlet, ()))))


PageOrResult = tuple[FetchedPage | None, ProcessResult | None]
_PENDING = object()  # the slot of a page sent to be processed


def _with_known_results(
    pages: Iterable[FetchedPage],
    hosts_by_outlet: Mapping[str, Collection[str]],
    known: Mapping[str, ProcessResult],
) -> Iterator[PageOrResult]:
    """(page, None) to process, or (None, result) when the result is known."""
    for page in pages:
        result = known.get(page_key(page, hosts_by_outlet)) if known else None
        yield (None, result) if result is not None else (page, None)


def results_in_input_order(
    items: Iterable[PageOrResult],
    process: Callable[[Iterable[FetchedPage]], Iterable[ProcessResult]],
) -> Iterator[ProcessResult]:
    """Each item's result, in input order: known results as they are, the other pages through
    ``process`` (which keeps its input's order), so a known result never travels to a worker."""
    slots: deque = deque()  # known results and _PENDING, in input order, as far as items were read

    def pages_to_process() -> Iterator[FetchedPage]:
        for page, result in items:
            slots.append(_PENDING if result is None else result)
            if result is None:
                yield page

    computed = iter(process(pages_to_process()))
    done: deque = deque()  # results of pending slots not reached yet
    while True:
        while slots and (slots[0] is not _PENDING or done):
            slot = slots.popleft()
            yield done.popleft() if slot is _PENDING else slot
        try:
            done.append(next(computed))  # reads on in ``items``: may append known results to slots
        except StopIteration:  # every page is processed: what is left is known
            if any(slot is _PENDING for slot in slots):
                raise RuntimeError("a page sent to be processed came back without a result") from None
            yield from slots
            return


def _batch(
    mapper: Callable[[Callable[[Item], Result], Iterable[Item]], Iterator[Result]],
    items: Iterable[PageOrResult],
    hosts_by_outlet: Mapping[str, Collection[str]],
    matcher: StoryMatcher,
) -> ProcessedBatch:
    process = partial(mapper, partial(process_page_or_quarantine, hosts_by_outlet=hosts_by_outlet))
    articles, outcomes, quarantined = _sorted_results(results_in_input_order(items, process))
    unique, duplicates = merge_outlet_duplicates(articles)
    scored = list(mapper(partial(match_and_sign, matcher), unique))
    relevance = tuple(decision for decisions, _ in scored for decision in decisions)
    signatures = {a.url_hash: sig for a, (_, sig) in zip(unique, scored, strict=True) if sig is not None}
    outcomes += duplicates + [
        relevance_outcome(decision, article.canonical_url)
        for (decisions, _), article in zip(scored, unique, strict=True)
        for decision in decisions
    ]
    outcomes += [
        Outcome("extract", "future-date-ignored", a.canonical_url)
        for a in unique
        if a.sources.get("published_at") == FUTURE_DATE_SOURCE
    ]
    counts = Counter(f"{o.stage}:{o.kind}" for o in outcomes)
    return ProcessedBatch(tuple(unique), relevance, tuple(quarantined), tuple(outcomes), counts, signatures)


def match_and_sign(
    matcher: StoryMatcher, article: NormalisedArticle
) -> tuple[tuple[StoryRelevance, ...], bytes | None]:
    """The article's decisions for every story (``pipeline.match.stories``) and its body's stored MinHash: both
    pure, one trip to a worker."""
    signature = text_signature(article.body_text)
    return match_article(matcher, article), None if signature is None else signature_to_bytes(signature)


def _sorted_results(
    results: Iterable[NormalisedArticle | Outcome | tuple[Quarantined, Outcome]],
) -> tuple[list[NormalisedArticle], list[Outcome], list[Quarantined]]:
    articles: list[NormalisedArticle] = []
    outcomes: list[Outcome] = []
    quarantined: list[Quarantined] = []
    for result in results:
        if isinstance(result, NormalisedArticle):
            articles.append(result)
        elif isinstance(result, Outcome):
            outcomes.append(result)
        else:
            quarantined.append(result[0])
            outcomes.append(result[1])
    return articles, outcomes, quarantined
