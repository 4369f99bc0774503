"""The warehouse: SQLAlchemy 2.0 typed models.

Analyst-facing columns are documented in docs/warehouse.md. Natural keys (``url_hash``,
``content_hash``, ``slug``...) carry unique constraints so that every load is an upsert and a batch
loaded twice changes nothing.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from schemas.timestamps import as_utc

# Stable constraint names, so Alembic migrations name things the same way on every dialect.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

JsonDocument = JSON().with_variant(JSONB(), "postgresql")
# SQLite cannot autoincrement a BIGINT primary key; PostgreSQL gets BIGINT, SQLite INTEGER.
BigId = BigInteger().with_variant(Integer(), "sqlite")


class UtcDateTime(TypeDecorator[datetime]):
    """A timestamp stored as UTC and always returned tz-aware (SQLite keeps no zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: the warehouse stores UTC-aware times only")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return as_utc(value)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: UtcDateTime(), dict[str, Any]: JsonDocument, list[Any]: JsonDocument}


class Outlet(Base):
    __tablename__ = "outlets"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    homepage_host: Mapped[str] = mapped_column(String(255), index=True)
    homepage: Mapped[str | None] = mapped_column(String(2048))
    language: Mapped[str | None] = mapped_column(String(8))
    country: Mapped[str | None] = mapped_column(String(2))
    lean: Mapped[str | None] = mapped_column(String(40))
    ownership: Mapped[str | None] = mapped_column(String(200))
    outlet_type: Mapped[str | None] = mapped_column(String(40))
    # True for outlets found by query discovery rather than listed in config/outlets.yaml.
    discovered: Mapped[bool] = mapped_column(Boolean, default=False)


class Story(Base):
    """A story as configured in config/stories/<slug>.yaml: a standing query over every article."""

    __tablename__ = "stories"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    slug: Mapped[str] = mapped_column(String(100), unique=True)
    title: Mapped[str] = mapped_column(String(500))
    definition: Mapped[dict[str, Any]] = mapped_column(JsonDocument)
    # Hash of what its decisions depend on (pipeline.match.stories.definition_fingerprint) as configured now,
    # and the one its stored decisions were made under: they differ for a new or edited story, which
    # the next cycle matches against every stored article in its window (backfill, re-match).
    fingerprint: Mapped[str | None] = mapped_column(String(16))
    matched_fingerprint: Mapped[str | None] = mapped_column(String(16))
    # False once its file is gone from config/stories/: it stops matching and alerting; rows stay.
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default="1")
    # The run whose match stage last rebuilt its decisions from the stored articles (its backlog).
    rematched_run_id: Mapped[int | None] = mapped_column(ForeignKey("crawl_runs.id", ondelete="SET NULL"))


class CrawlRun(Base):
    __tablename__ = "crawl_runs"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    # A stable key (e.g. the Airflow run id or "cli-<timestamp>") so a retried task reuses its run.
    run_key: Mapped[str] = mapped_column(String(200), unique=True)
    # Runs crawl for every story at once; warehouses from before that kept the one story a run was for.
    story_slug: Mapped[str | None] = mapped_column(String(100))
    started_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]
    status: Mapped[str] = mapped_column(String(20), default="running")
    # Outcome counts per stage, e.g. {"fetch": {"ok": 40, "not-modified": 12}, "relevance": {...}}.
    counts: Mapped[dict[str, Any]] = mapped_column(JsonDocument, default=dict)


class CrawlShard(Base):
    """Where one crawl process of a run left its files (``pipeline.crawl.workspace``): one row per run
    and shard, replaced when the shard is retried."""

    __tablename__ = "crawl_shards"
    __table_args__ = (UniqueConstraint("run_id", "shard"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("crawl_runs.id", ondelete="CASCADE"))
    # "all" for a crawl of every outlet, else "shard-" and a hash of the outlets it was asked for.
    shard: Mapped[str] = mapped_column(String(40))
    # The shard's working directory: every file named in ShardWorkspace is found in it.
    directory: Mapped[str] = mapped_column(Text)
    # The outlets it was asked for (empty: all configured ones).
    outlets: Mapped[list[Any]] = mapped_column(JsonDocument, default=list)
    # Whether it archived any page (a WARC file exists); a crawl that fetched no article writes none.
    has_warc: Mapped[bool] = mapped_column(Boolean, default=False)


class FetchLog(Base):
    __tablename__ = "fetch_log"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("crawl_runs.id", ondelete="CASCADE"), index=True)
    url: Mapped[str] = mapped_column(Text)
    outlet: Mapped[str | None] = mapped_column(String(200))
    status: Mapped[int | None] = mapped_column(Integer)
    bytes: Mapped[int] = mapped_column(BigInteger, default=0)
    elapsed_ms: Mapped[float | None] = mapped_column(Float)
    outcome: Mapped[str] = mapped_column(String(40))  # ok, not-modified, http-error, blocked-by-robots...
    error: Mapped[str | None] = mapped_column(Text)
    fetched_at: Mapped[datetime]


class HttpCacheEntry(Base):
    """Conditional-GET state remembered across runs, and the decaying re-check schedule."""

    __tablename__ = "http_cache"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    url_hash: Mapped[str] = mapped_column(String(64), unique=True)
    url: Mapped[str] = mapped_column(Text)
    etag: Mapped[str | None] = mapped_column(String(500))
    last_modified: Mapped[str | None] = mapped_column(String(100))
    body_hash: Mapped[str | None] = mapped_column(String(64))
    first_fetched_at: Mapped[datetime]
    last_fetched_at: Mapped[datetime]
    last_changed_at: Mapped[datetime]
    next_check_at: Mapped[datetime]


class Article(Base):
    __tablename__ = "articles"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    outlet_id: Mapped[int] = mapped_column(ForeignKey("outlets.id"), index=True)
    canonical_url: Mapped[str] = mapped_column(Text)
    url_hash: Mapped[str] = mapped_column(String(64), unique=True)
    headline: Mapped[str | None] = mapped_column(Text)
    dek: Mapped[str | None] = mapped_column(Text)
    authors: Mapped[list[Any]] = mapped_column(JsonDocument, default=list)
    # Agencies and outlets credited in the byline, not people ("Associated Press"; migration 0010).
    credited_organisations: Mapped[list[Any]] = mapped_column(JsonDocument, default=list, server_default="[]")
    published_at: Mapped[datetime | None]
    published_source: Mapped[str | None] = mapped_column(String(40))
    # How far published_at can be trusted (``pipeline.extract.date_confidence``): corroborated, machine-readable,
    # conflicting, url-only, text-only (migration 0007).
    published_confidence: Mapped[str | None] = mapped_column(String(20))
    modified_at: Mapped[datetime | None]
    modified_source: Mapped[str | None] = mapped_column(String(40))
    language: Mapped[str | None] = mapped_column(String(8))
    section: Mapped[str | None] = mapped_column(String(200))
    body_text: Mapped[str] = mapped_column(Text, default="")
    word_count: Mapped[int] = mapped_column(Integer, default=0)
    content_hash: Mapped[str] = mapped_column(String(64), index=True)
    lead_image: Mapped[str | None] = mapped_column(Text)
    body_confidence: Mapped[float] = mapped_column(Float, default=0.0)
    # Where every other value came from: {"headline": "json-ld", "authors": "visible-text", ...}.
    sources: Mapped[dict[str, Any]] = mapped_column(JsonDocument, default=dict)
    first_seen_at: Mapped[datetime]
    last_seen_at: Mapped[datetime]
    first_run_id: Mapped[int | None] = mapped_column(ForeignKey("crawl_runs.id", ondelete="SET NULL"))
    # The run that last loaded it: that run's process stage matched it against the stories of the day.
    last_run_id: Mapped[int | None] = mapped_column(
        ForeignKey("crawl_runs.id", ondelete="SET NULL"), index=True
    )


class ArticleVersion(Base):
    __tablename__ = "article_versions"
    __table_args__ = (UniqueConstraint("article_id", "content_hash"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    article_id: Mapped[int] = mapped_column(ForeignKey("articles.id", ondelete="CASCADE"), index=True)
    content_hash: Mapped[str] = mapped_column(String(64))
    headline: Mapped[str | None] = mapped_column(Text)
    body_hash: Mapped[str] = mapped_column(String(64))
    body_text: Mapped[str] = mapped_column(Text, default="")
    fetched_at: Mapped[datetime]
    run_id: Mapped[int | None] = mapped_column(ForeignKey("crawl_runs.id", ondelete="SET NULL"))


class ArticleUrl(Base):
    __tablename__ = "article_urls"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    url_hash: Mapped[str] = mapped_column(String(64), unique=True)
    url: Mapped[str] = mapped_column(Text)
    article_id: Mapped[int] = mapped_column(ForeignKey("articles.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(20))  # canonical, amp, feed, redirect, alias


class StoryArticle(Base):
    __tablename__ = "story_articles"
    __table_args__ = (UniqueConstraint("story_id", "article_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    story_id: Mapped[int] = mapped_column(ForeignKey("stories.id", ondelete="CASCADE"), index=True)
    article_id: Mapped[int] = mapped_column(ForeignKey("articles.id", ondelete="CASCADE"), index=True)
    relevance_score: Mapped[float] = mapped_column(Float)
    is_relevant: Mapped[bool] = mapped_column(Boolean)
    evidence: Mapped[dict[str, Any]] = mapped_column(JsonDocument, default=dict)
    scored_at: Mapped[datetime]
    # What the stored tones toward the story's actors (``article_actor_tones``) were computed from:
    # content, actors' names, code and model (``pipeline.framing.actors.actor_tones_key``); NULL until
    # measured. An article naming no actor has this key and no tone row.
    actor_tones_key: Mapped[str | None] = mapped_column(String(16))


class StoryMatchRun(Base):
    """One story matched in one run: against the run's new or changed articles (``ingest``), or against
    every stored article in its window (``backfill``, for a new or edited story)."""

    __tablename__ = "story_match_runs"
    __table_args__ = (UniqueConstraint("story_id", "run_id", "kind"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    story_id: Mapped[int] = mapped_column(ForeignKey("stories.id", ondelete="CASCADE"), index=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("crawl_runs.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(20))  # ingest, backfill
    fingerprint: Mapped[str] = mapped_column(String(16))
    articles: Mapped[int] = mapped_column(Integer)  # articles decided
    candidates: Mapped[int] = mapped_column(Integer)  # of which held a story entity and two key terms
    relevant: Mapped[int] = mapped_column(Integer)
    matched_at: Mapped[datetime]


class SyndicationCluster(Base):
    __tablename__ = "syndication_clusters"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    # The url_hash of the first article the cluster was founded on: a stable natural key.
    cluster_key: Mapped[str] = mapped_column(String(64), unique=True)
    original_article_id: Mapped[int | None] = mapped_column(ForeignKey("articles.id", ondelete="SET NULL"))
    original_reason: Mapped[dict[str, Any]] = mapped_column(JsonDocument, default=dict)


class SyndicationMember(Base):
    __tablename__ = "syndication_members"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    cluster_id: Mapped[int] = mapped_column(
        ForeignKey("syndication_clusters.id", ondelete="CASCADE"), index=True
    )
    article_id: Mapped[int] = mapped_column(ForeignKey("articles.id", ondelete="CASCADE"), unique=True)
    similarity: Mapped[float] = mapped_column(Float)
    is_original: Mapped[bool] = mapped_column(Boolean, default=False)
    differences: Mapped[dict[str, Any]] = mapped_column(JsonDocument, default=dict)


class TranslationLink(Base):
    """An article that translates or closely adapts an earlier article in another language (issue 17).

    The translated article is the original of its own copy cluster or alone (its copies reach the link
    through their cluster); ``evidence`` holds the aligned anchors and passages
    (``pipeline.dedupe.translation.TranslationEvidence.as_dict``)."""

    __tablename__ = "translation_links"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    article_id: Mapped[int] = mapped_column(ForeignKey("articles.id", ondelete="CASCADE"), unique=True)
    original_article_id: Mapped[int] = mapped_column(
        ForeignKey("articles.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(20), default="translation")
    original_language: Mapped[str | None] = mapped_column(String(8))
    score: Mapped[float] = mapped_column(Float)
    evidence: Mapped[dict[str, Any]] = mapped_column(JsonDocument, default=dict)


class LshBucket(Base):
    """The persisted MinHash-LSH index: one row per (band, bucket key) of each article's signature."""

    __tablename__ = "lsh_buckets"
    __table_args__ = (
        UniqueConstraint("band", "bucket_key", "article_id"),
        Index("ix_lsh_buckets_lookup", "band", "bucket_key"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    band: Mapped[int] = mapped_column(Integer)
    bucket_key: Mapped[str] = mapped_column(String(40))
    article_id: Mapped[int] = mapped_column(ForeignKey("articles.id", ondelete="CASCADE"), index=True)


class ArticleSignature(Base):
    __tablename__ = "article_signatures"

    article_id: Mapped[int] = mapped_column(ForeignKey("articles.id", ondelete="CASCADE"), primary_key=True)
    signature: Mapped[bytes] = mapped_column(LargeBinary)


class ArticleFraming(Base):
    __tablename__ = "article_framing"

    article_id: Mapped[int] = mapped_column(ForeignKey("articles.id", ondelete="CASCADE"), primary_key=True)
    content_hash: Mapped[str] = mapped_column(String(64))  # the version the measures were computed on
    # Fingerprint of the codebooks and method the measures came from: a changed codebook re-frames.
    measures_version: Mapped[str | None] = mapped_column(String(20))
    tone: Mapped[float] = mapped_column(Float)
    tone_method: Mapped[str] = mapped_column(String(60))
    certainty: Mapped[float] = mapped_column(Float)
    frame_shares: Mapped[dict[str, Any]] = mapped_column(JsonDocument, default=dict)
    primary_frame: Mapped[str | None] = mapped_column(String(60))
    loaded_terms: Mapped[dict[str, Any]] = mapped_column(JsonDocument, default=dict)
    evidence: Mapped[dict[str, Any]] = mapped_column(JsonDocument, default=dict)


class ArticleVoice(Base):
    __tablename__ = "article_voices"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    article_id: Mapped[int] = mapped_column(ForeignKey("articles.id", ondelete="CASCADE"), index=True)
    ordinal: Mapped[int] = mapped_column(Integer)
    # The framing module's names (pipeline/framing/sources.py): us_government, mexican_government, anonymous,
    # expert, other_media, named_person, other.
    voice_kind: Mapped[str] = mapped_column(String(40))
    name: Mapped[str | None] = mapped_column(String(300))
    role: Mapped[str | None] = mapped_column(String(300))
    evidence: Mapped[str] = mapped_column(Text)
    __table_args__ = (UniqueConstraint("article_id", "ordinal"),)


class ArticleFrame(Base):
    """One row per article and frame dimension with a non-zero share (portable SQL aggregation)."""

    __tablename__ = "article_frames"
    __table_args__ = (UniqueConstraint("article_id", "frame"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    article_id: Mapped[int] = mapped_column(ForeignKey("articles.id", ondelete="CASCADE"), index=True)
    frame: Mapped[str] = mapped_column(String(60))
    share: Mapped[float] = mapped_column(Float)
    matched_terms: Mapped[list[Any]] = mapped_column(JsonDocument, default=list)


class ArticleLoadedTerm(Base):
    __tablename__ = "article_loaded_terms"
    __table_args__ = (UniqueConstraint("article_id", "term"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    article_id: Mapped[int] = mapped_column(ForeignKey("articles.id", ondelete="CASCADE"), index=True)
    term: Mapped[str] = mapped_column(String(200))
    language: Mapped[str] = mapped_column(String(8))
    occurrences: Mapped[int] = mapped_column(Integer)


class ArticleActorTone(Base):
    """How one article portrays one of a story's actors (tone toward actors, docs/framing.md): one row
    per (story, article, actor) the article names, with every mention as evidence."""

    __tablename__ = "article_actor_tones"
    __table_args__ = (UniqueConstraint("story_id", "article_id", "actor"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    story_id: Mapped[int] = mapped_column(ForeignKey("stories.id", ondelete="CASCADE"))
    article_id: Mapped[int] = mapped_column(ForeignKey("articles.id", ondelete="CASCADE"), index=True)
    actor: Mapped[str] = mapped_column(String(100))  # the actor's label in the story's configuration
    mentions: Mapped[int] = mapped_column(Integer)
    score: Mapped[float] = mapped_column(Float)  # mean over mentions of P(positive) - P(negative), -1..+1
    negative: Mapped[int] = mapped_column(Integer)  # mentions the model labels negative
    neutral: Mapped[int] = mapped_column(Integer)
    positive: Mapped[int] = mapped_column(Integer)
    # Each mention: sentence, the name matched, label, score, probabilities and deciding words.
    evidence: Mapped[list[Any]] = mapped_column(JsonDocument, default=list)


class OutletStoryTerm(Base):
    """Distinctive terms of an outlet's coverage of a story (Fightin' Words log-odds z-scores)."""

    __tablename__ = "outlet_story_terms"
    __table_args__ = (UniqueConstraint("story_id", "outlet_id", "term"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    story_id: Mapped[int] = mapped_column(ForeignKey("stories.id", ondelete="CASCADE"))
    outlet_id: Mapped[int] = mapped_column(ForeignKey("outlets.id", ondelete="CASCADE"))
    term: Mapped[str] = mapped_column(String(200))
    z_score: Mapped[float] = mapped_column(Float)
    rank: Mapped[int] = mapped_column(Integer)


class AlertDigest(Base):
    """One email to one subscriber; recorded before it is sent (see README, "Alerts exactly once")."""

    __tablename__ = "alert_digests"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    digest_key: Mapped[str] = mapped_column(String(64), unique=True)
    story_slug: Mapped[str] = mapped_column(String(100))
    subscriber: Mapped[str] = mapped_column(String(320))
    # coverage: the items as a list; backlog: a new or re-matched story's first digest, one summary
    kind: Mapped[str] = mapped_column(String(20), default="coverage", server_default="coverage")
    message_id: Mapped[str] = mapped_column(String(300), unique=True)
    status: Mapped[str] = mapped_column(String(20))  # pending, sent
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]


class AlertItem(Base):
    """A piece of new coverage owed to a subscriber; belongs to the digest that carries it."""

    __tablename__ = "alert_items"
    __table_args__ = (UniqueConstraint("subscriber", "story_slug", "article_id", "kind", "content_hash"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    subscriber: Mapped[str] = mapped_column(String(320))
    story_slug: Mapped[str] = mapped_column(String(100))
    article_id: Mapped[int] = mapped_column(ForeignKey("articles.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(30))  # new-coverage, headline-change
    content_hash: Mapped[str] = mapped_column(String(64))
    digest_id: Mapped[int | None] = mapped_column(
        ForeignKey("alert_digests.id", ondelete="SET NULL"), index=True
    )


class RunOutcome(Base):
    """Per run, stage and outcome kind: how many items ended that way (nothing dropped silently)."""

    __tablename__ = "run_outcomes"
    __table_args__ = (UniqueConstraint("run_id", "stage", "scope", "outcome"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("crawl_runs.id", ondelete="CASCADE"))
    stage: Mapped[str] = mapped_column(String(30))
    # The story a per-story stage (framing, alert) counted for; empty for the run's ingestion stages.
    scope: Mapped[str] = mapped_column(String(100), default="", server_default="")
    outcome: Mapped[str] = mapped_column(String(40))
    count: Mapped[int] = mapped_column(Integer)


class Quarantine(Base):
    """An item that could not be processed, kept with its error for inspection."""

    __tablename__ = "quarantine"
    __table_args__ = (UniqueConstraint("run_id", "stage", "url_hash"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("crawl_runs.id", ondelete="CASCADE"))
    stage: Mapped[str] = mapped_column(String(30))
    url: Mapped[str] = mapped_column(Text)
    url_hash: Mapped[str] = mapped_column(String(64))
    error: Mapped[str] = mapped_column(Text)
    warc_record_id: Mapped[str | None] = mapped_column(String(100))
    recorded_at: Mapped[datetime]


class OutletHealth(Base):
    """One outlet's measures for one cycle (issue 16; ``pipeline.health.measures``), documented in
    docs/warehouse.md under ``v_outlet_health``."""

    __tablename__ = "outlet_health"
    __table_args__ = (UniqueConstraint("run_id", "outlet"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("crawl_runs.id", ondelete="CASCADE"), index=True)
    outlet: Mapped[str] = mapped_column(String(200), index=True)
    measured_at: Mapped[datetime]
    requests: Mapped[int] = mapped_column(Integer, default=0)
    # Requests by outcome class: {"ok": .., "not-modified": .., "client-error": .., "blocked": ..}.
    fetch_classes: Mapped[dict[str, Any]] = mapped_column(JsonDocument, default=dict)
    listing_requests: Mapped[int] = mapped_column(Integer, default=0)
    listing_ok: Mapped[int] = mapped_column(Integer, default=0)
    pages: Mapped[int] = mapped_column(Integer, default=0)
    articles: Mapped[int] = mapped_column(Integer, default=0)
    new_articles: Mapped[int] = mapped_column(Integer, default=0)
    # Failed extractions by outcome: {"no-text": .., "quarantined": .., "consent-page": ..}.
    extraction: Mapped[dict[str, Any]] = mapped_column(JsonDocument, default=dict)
    non_articles: Mapped[int] = mapped_column(Integer, default=0)
    failed_extraction_share: Mapped[float | None] = mapped_column(Float)
    blocked_share: Mapped[float | None] = mapped_column(Float)
    undated_share: Mapped[float | None] = mapped_column(Float)
    unauthored_share: Mapped[float | None] = mapped_column(Float)
    other_language_share: Mapped[float | None] = mapped_column(Float)
    median_body_words: Mapped[float | None] = mapped_column(Float)
    newest_article_age_hours: Mapped[float | None] = mapped_column(Float)
    examples: Mapped[list[Any]] = mapped_column(JsonDocument, default=list)
    # The measures out of their band this cycle (``pipeline.health.drift``): left out of later baselines.
    breaches: Mapped[list[Any]] = mapped_column(JsonDocument, default=list)
    # Feeds and sitemaps (``pipeline.health.ListingHealth``): entries read this cycle, the newest entry
    # seen (carried over from the last cycle when a listing answered 304), the median gap between
    # entries, and the newest entry's age at the cycle's time.
    feed_entries: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    sitemap_entries: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    newest_feed_entry_at: Mapped[datetime | None]
    newest_sitemap_entry_at: Mapped[datetime | None]
    feed_entry_gap_hours: Mapped[float | None] = mapped_column(Float)
    sitemap_entry_gap_hours: Mapped[float | None] = mapped_column(Float)
    feed_silence_hours: Mapped[float | None] = mapped_column(Float)
    sitemap_silence_hours: Mapped[float | None] = mapped_column(Float)


class OutletIncident(Base):
    """A measure of an outlet out of its band (``pipeline.health.drift``): opened once, closed once."""

    __tablename__ = "outlet_incidents"
    __table_args__ = (UniqueConstraint("outlet", "measure", "opened_run_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    outlet: Mapped[str] = mapped_column(String(200), index=True)
    measure: Mapped[str] = mapped_column(String(60))
    status: Mapped[str] = mapped_column(String(20))  # open, closed
    opened_run_id: Mapped[int] = mapped_column(ForeignKey("crawl_runs.id", ondelete="CASCADE"))
    opened_at: Mapped[datetime]
    closed_run_id: Mapped[int | None] = mapped_column(ForeignKey("crawl_runs.id", ondelete="SET NULL"))
    closed_at: Mapped[datetime | None]
    value: Mapped[float] = mapped_column(Float)  # when opened
    baseline: Mapped[float] = mapped_column(Float)  # the baseline's median
    band_limit: Mapped[float] = mapped_column(Float)  # the band's edge that was crossed
    closing_value: Mapped[float | None] = mapped_column(Float)
    examples: Mapped[list[Any]] = mapped_column(JsonDocument, default=list)  # URLs, as evidence


class OperatorNotice(Base):
    """One email to the operator about an incident's opening or resolution; recorded in the transaction
    that changes the incident, sent afterwards (record-then-send, as ``alert_digests``)."""

    __tablename__ = "operator_notices"
    __table_args__ = (UniqueConstraint("incident_id", "event"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("outlet_incidents.id", ondelete="CASCADE"))
    event: Mapped[str] = mapped_column(String(20))  # opened, resolved
    recipient: Mapped[str] = mapped_column(String(320))
    notice_key: Mapped[str] = mapped_column(String(64), unique=True)
    status: Mapped[str] = mapped_column(String(20))  # pending, sent
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]
