"""Typed records that flow between pipeline stages.

Every stage is a set of small pure functions from one of these records to the next; none of them
knows where it sits in the pipeline. Records are frozen: a stage that changes something returns a
new record (``dataclasses.replace``).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from datetime import datetime

# What no warehouse can store: NUL (PostgreSQL text and JSONB refuse it) and lone UTF-16 surrogates
# (not encodable as UTF-8, so neither a database driver nor a JSON file can take them).
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def storable_text(value: str) -> str:
    """``value`` without the characters no database can store (a character class: linear time)."""
    return _UNSTORABLE.sub("", value) if _UNSTORABLE.search(value) else value


def storable(value: object) -> object:
    """Text, and text inside tuples, lists and mappings, made storable; other values as they are."""
    if isinstance(value, str):
        return storable_text(value)
    if isinstance(value, tuple | list):
        return type(value)(storable(item) for item in value)
    if isinstance(value, Mapping):
        return {storable(k): storable(v) for k, v in value.items()}
    return value


def make_storable(record: object) -> None:
    """Clean every field of a frozen record in place (called from ``__post_init__``: the boundary where
    a record is built, whichever stage builds it)."""
    for item in fields(record):  # type: ignore[arg-type]
        value = getattr(record, item.name)
        cleaned = storable(value)
        if cleaned is not value and cleaned != value:
            object.__setattr__(record, item.name, cleaned)


@dataclass(frozen=True)
class FeedEntry:
    """One entry of an RSS/Atom/JSON feed or a news sitemap, as the discovery step saw it."""

    url: str
    title: str | None = None
    summary: str | None = None
    content: str | None = (
        None  # full text when the feed carries it (RSS content:encoded, JSON Feed content_text)
    )
    published: datetime | None = None  # UTC
    authors: tuple[str, ...] = ()
    guid: str | None = None
    language: str | None = None

    def __post_init__(self) -> None:
        make_storable(self)


@dataclass(frozen=True)
class FetchedPage:
    """An HTTP response exactly as fetched, handed on by a spider (nothing normalised yet)."""

    url: str  # final URL after redirects
    requested_url: str
    status: int
    headers: Mapping[str, str]  # lower-cased names
    body: bytes
    fetched_at: datetime  # UTC
    outlet: str  # outlet name from config/outlets.yaml (or a discovered outlet's host)
    discovered_via: str  # "feed" | "sitemap" | "homepage" | "query"
    feed_entry: FeedEntry | None = None
    warc_record_id: str | None = None


@dataclass(frozen=True)
class ExtractedArticle:
    """What the extraction stage read from one page.

    ``sources`` maps a field name (``headline``, ``authors``, ``published_at``...) to where its value
    came from: ``json-ld``, ``microdata``, ``meta``, ``opengraph``, ``time-element``, ``url``,
    ``visible-text``, ``feed``, ``trafilatura``, ``htmldate``, ``detector``, ``declared``.
    """

    url: str
    canonical_url: str | None = None
    amp_url: str | None = None
    headline: str | None = None
    dek: str | None = None
    # people only; or, when the article credits no person, the newsroom's collective byline exactly
    # as written ("The Editorial Board", "Consejo Editorial"): a group, never cut down to a "name"
    authors: tuple[str, ...] = ()
    # agencies and outlets credited as authors ("dpa", "Associated Press"): not people, so not ``authors``
    credited_organisations: tuple[str, ...] = ()
    published_at: datetime | None = None  # UTC, tz-aware
    modified_at: datetime | None = None  # UTC, tz-aware
    language: str | None = None  # ISO 639-1
    section: str | None = None
    body_paragraphs: tuple[str, ...] = ()
    body_confidence: float = 0.0  # 0..1, the extractor's confidence in the body
    lead_image: str | None = None
    sources: Mapping[str, str] = field(default_factory=dict)

    @property
    def body_text(self) -> str:
        return "\n\n".join(self.body_paragraphs)


@dataclass(frozen=True)
class NormalisedArticle:
    """An extracted article with its canonical identity and content fingerprints."""

    outlet: str
    canonical_url: str
    url_hash: str  # sha256 hex of canonical_url
    aliases: tuple[str, ...]  # every URL seen for it (requested, final, AMP, feed link), canonical included
    headline: str | None
    dek: str | None
    authors: tuple[str, ...]
    published_at: datetime | None
    modified_at: datetime | None
    language: str | None
    section: str | None
    body_text: str
    word_count: int
    content_hash: str  # hash of the normalised headline + body: trivial edits do not change it
    fetched_at: datetime
    lead_image: str | None = None
    body_confidence: float = 0.0
    sources: Mapping[str, str] = field(default_factory=dict)
    # Agencies and outlets the byline credits ("Associated Press"), kept apart from the people in authors.
    credited_organisations: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        make_storable(self)


@dataclass(frozen=True)
class SyndicationMatch:
    """A near-duplicate relation: ``copy_url_hash`` republishes ``original_url_hash``."""

    original_url_hash: str
    copy_url_hash: str
    similarity: float  # estimated Jaccard of word shingles
    differences: Mapping[str, object] = field(default_factory=dict)


@dataclass(frozen=True)
class StoryRelevance:
    story_slug: str
    url_hash: str
    score: float  # 0..1
    is_relevant: bool
    evidence: Mapping[str, object] = field(default_factory=dict)


@dataclass(frozen=True)
class Outcome:
    """A counted outcome of a stage for one item: nothing is dropped silently."""

    stage: str  # "fetch" | "extract" | "dedupe" | "relevance" | "load" | "alert"
    kind: str  # "ok" | "no-text" | "duplicate" | "not-relevant" | "out-of-window" | "blocked-by-robots" ...
    url: str | None = None
    detail: str | None = None


@dataclass(frozen=True)
class Quarantined:
    """A page the process stage could not turn into an article, with the error and its archive record."""

    url: str
    error: str
    warc_record_id: str | None


@dataclass(frozen=True)
class ProcessedBatch:
    """What the process stage made of a run's pages: loaded by the load stage, matched, indexed."""

    articles: tuple[NormalisedArticle, ...] = ()
    # Every (story, article) decision where the article held the story's entities and key terms.
    relevance: tuple[StoryRelevance, ...] = ()
    quarantined: tuple[Quarantined, ...] = ()
    outcomes: tuple[Outcome, ...] = ()
    counts: Counter = field(default_factory=Counter)
    # url_hash -> MinHash of the body as stored (``dedupe.text_signature``, ``signature_to_bytes``) for
    # the articles with words: computed in the workers beside relevance, not in the loading process.
    signatures: Mapping[str, bytes] = field(default_factory=dict)
