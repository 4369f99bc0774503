"""Process stage: from fetched pages to normalised, story-scored articles, every item counted.

Pure functions over records: no database, no network. A page that cannot be processed becomes a
``Quarantined`` result with its error, never an exception that stops the batch.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field, replace

from pipeline.config import StoryConfig
from pipeline.extract import extract_article
from pipeline.normalise import normalise_article, url_aliases
from pipeline.relevance import score_story_relevance
from schemas.records import FetchedPage, NormalisedArticle, Outcome, StoryRelevance

# Below this many words a page is a teaser, a gallery or an error page, not an article.
MIN_BODY_WORDS = 40
HTML_TYPES = ("text/html", "application/xhtml+xml", "")


@dataclass(frozen=True)
class Quarantined:
    url: str
    error: str
    warc_record_id: str | None


@dataclass(frozen=True)
class ProcessedBatch:
    articles: tuple[NormalisedArticle, ...] = ()
    relevance: tuple[StoryRelevance, ...] = ()
    quarantined: tuple[Quarantined, ...] = ()
    outcomes: tuple[Outcome, ...] = ()
    counts: Counter = field(default_factory=Counter)


def process_page(page: FetchedPage, outlet_hosts: Collection[str]) -> NormalisedArticle | Outcome:
    """Extract and normalise one page; an unusable page comes back as a named outcome."""
    if page.status != 200:
        return Outcome("extract", "not-an-article", page.url, f"HTTP {page.status}")
    content_type = page.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type not in HTML_TYPES and not _looks_like_html(page.body):
        return Outcome("extract", "not-html", page.url, content_type)
    extracted = extract_article(page.body, page.url, page.headers, page.feed_entry)
    feed_url = page.feed_entry.url if page.feed_entry else None
    article = normalise_article(
        extracted, page.outlet, outlet_hosts, page.requested_url, page.url, page.fetched_at, feed_url
    )
    if article.word_count < MIN_BODY_WORDS:
        return Outcome("extract", "no-text", page.url, f"{article.word_count} words")
    return article


def _looks_like_html(body: bytes) -> bool:
    head = body[:1024].lstrip().lower()
    return head.startswith((b"<!doctype html", b"<html"))


def merge_outlet_duplicates(
    articles: Sequence[NormalisedArticle],
) -> tuple[list[NormalisedArticle], list[Outcome]]:
    """One outlet publishing one text at several canonical URLs: keep one article, the rest are aliases.

    Copies across outlets are syndication, not duplicates: they stay separate articles.
    """
    kept: dict[tuple[str, str], NormalisedArticle] = {}
    outcomes: list[Outcome] = []
    for article in sorted(articles, key=lambda a: (a.fetched_at, len(a.canonical_url), a.canonical_url)):
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


def process_pages(
    pages: Iterable[FetchedPage], outlet_hosts: Collection[str], story: StoryConfig
) -> ProcessedBatch:
    articles: list[NormalisedArticle] = []
    outcomes: list[Outcome] = []
    quarantined: list[Quarantined] = []
    for page in pages:
        try:
            result = process_page(page, outlet_hosts)
        except Exception as exc:  # a broken page is quarantined with its error; the batch goes on
            quarantined.append(Quarantined(page.url, f"{type(exc).__name__}: {exc}", page.warc_record_id))
            outcomes.append(Outcome("extract", "quarantined", page.url, str(exc)[:200]))
            continue
        (articles if isinstance(result, NormalisedArticle) else outcomes).append(result)
    unique, duplicates = merge_outlet_duplicates(articles)
    relevance = tuple(score_story_relevance(story, article) for article in unique)
    outcomes += duplicates + [
        _relevance_outcome(score, article) for score, article in zip(relevance, unique, strict=True)
    ]
    counts = Counter(f"{o.stage}:{o.kind}" for o in outcomes)
    return ProcessedBatch(tuple(unique), relevance, tuple(quarantined), tuple(outcomes), counts)


def _relevance_outcome(score: StoryRelevance, article: NormalisedArticle) -> Outcome:
    if score.is_relevant:
        return Outcome("relevance", "relevant", article.canonical_url)
    kind = "out-of-window" if score.evidence.get("reason") == "out-of-window" else "not-relevant"
    return Outcome("relevance", kind, article.canonical_url)
