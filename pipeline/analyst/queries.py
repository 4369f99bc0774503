"""The analyst interface: read-only queries over the analyst views, exports, and the analyst role.

Queries go through the views of migration 0003 (``v_story_coverage``, ``v_outlet_framing``,
``v_headline_changes``), the analysts' stable contract, declared below with their column types so that
both dialects return the same Python values. Every filter value is a bound parameter: a story slug
typed by a user never becomes SQL.
"""

from __future__ import annotations

import csv
import json
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from sqlalchemy import (
    JSON,
    Boolean,
    Connection,
    Engine,
    Float,
    Integer,
    Select,
    String,
    column,
    func,
    inspect,
    select,
    table,
    text,
)
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import aliased

from pipeline.analyst.compare import spreadsheet_safe
from pipeline.dedupe.translation import rendering_note
from pipeline.framing.lexicon import load_frames, word_tokens
from pipeline.framing.outlets import lede_of
from pipeline.framing.voice_review import ReviewedVoice, review_voice
from pipeline.health.store import incidents_during
from pipeline.text import fold
from schemas.database import make_engine
from schemas.framing_records import OutletComparison, TermCount
from schemas.models import (
    Article,
    ArticleFraming,
    ArticleLoadedTerm,
    ArticleVoice,
    CrawlRun,
    Outlet,
    OutletStoryTerm,
    Story,
    SyndicationCluster,
    SyndicationMember,
    TranslationLink,
    UtcDateTime,
)
from schemas.report_records import (
    ArticleRow,
    DistinctiveTermRow,
    FrameCell,
    HeadlineEdit,
    HeadlineRow,
    OutletHealthNote,
    OutletRow,
    OutletToneRow,
    QuotedVoice,
    ReportData,
    StoryDefinition,
    SyndicatedCopy,
    SyndicationGroup,
    TimelineBucket,
    TranslationPair,
    VoiceCount,
)
from schemas.timestamps import as_utc

ExportFormat = Literal["csv", "parquet"]
TOP_LOADED_TERMS = 5
QUOTED_VOICES_SHOWN = 100
# z above which a term counts as distinctive (two-sided 5%; Monroe, Colaresi & Quinn 2008).
DISTINCTIVE_Z = 1.96
# The report of a story with no coverage yet has no data time to show; the epoch says "no data".
NO_DATA_TIME = datetime(1970, 1, 1, tzinfo=UTC)


class UnknownStoryError(LookupError):
    """The story slug is not in the warehouse."""


class WarehouseUnavailable(RuntimeError):
    """The warehouse is missing, unreachable or not migrated; the message says which."""


class AnalystRoleError(ValueError):
    """The analyst role cannot be created as asked; the message says why."""


def frame_keys() -> tuple[str, ...]:
    # The codebook's keys are the 15 MFC dimensions in the order migration 0003 froze them.
    return tuple(load_frames().frames)


# --- The views, as typed selectables ---------------------------------------------------------------

STORY_COVERAGE = table(
    "v_story_coverage",
    column("story_slug", String), column("article_id", Integer), column("outlet_name", String),
    column("outlet_country", String), column("outlet_type", String), column("language", String),
    column("canonical_url", String), column("headline", String), column("dek", String),
    column("authors", JSON), column("published_at", UtcDateTime()), column("first_seen_at", UtcDateTime()),
    column("last_seen_at", UtcDateTime()), column("word_count", Integer), column("relevance_score", Float),
    column("syndication_cluster", Integer), column("is_original", Boolean), column("original_url", String),
    column("version_count", Integer), column("translation_of_article_id", Integer),
    column("translation_of_url", String), column("translation_of_headline", String),
    column("translation_of_outlet", String), column("translation_of_language", String),
    column("translation_score", Float),
)  # fmt: skip

HEADLINE_CHANGES = table(
    "v_headline_changes",
    column("story_slug", String), column("article_id", Integer), column("outlet_name", String), column("canonical_url", String),
    column("old_headline", String), column("new_headline", String), column("changed_at", UtcDateTime()),
)  # fmt: skip


def outlet_framing_view() -> Any:
    return table(
        "v_outlet_framing",
        column("story_slug", String), column("outlet_name", String), column("outlet_country", String),
        column("language", String), column("articles", Integer), column("original_share", Float),
        column("first_coverage_at", UtcDateTime()), column("mean_tone", Float), column("mean_certainty", Float),
        *(column(f"frame_{key}", Float) for key in frame_keys()),
        column("top_voices", String), column("distinctive_terms", String),
    )  # fmt: skip


def in_story(story_slug: str) -> Any:
    return STORY_COVERAGE.c.story_slug == story_slug


# --- Opening the warehouse read-only ----------------------------------------------------------------


def read_only_engine(url: str) -> Engine:
    """An engine on an existing, migrated warehouse; a missing file is never created."""
    parsed = make_url(url)
    database = parsed.database if parsed.drivername == "sqlite" else None
    if database not in (None, "", ":memory:") and not Path(database).exists():
        raise WarehouseUnavailable(
            f"no warehouse at {database}: run `framewatch db upgrade` or `framewatch run` first"
        )
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            views = set(inspect(connection).get_view_names())
    except OperationalError as exc:
        engine.dispose()
        raise WarehouseUnavailable(f"cannot reach the warehouse: {exc.orig}") from None
    if "v_story_coverage" not in views:
        engine.dispose()
        raise WarehouseUnavailable("the warehouse has no analyst views yet: run `framewatch db upgrade`")
    behind = migrations_behind(engine, url)
    if behind:
        engine.dispose()
        raise WarehouseUnavailable(
            f"the warehouse is at migration {behind[0]}, this framewatch reads {behind[1]}: "
            "run `framewatch db upgrade` (it only adds; nothing stored is lost)"
        )
    return engine


def migrations_behind(engine: Engine, url: str) -> tuple[str, str] | None:
    """(current, head) when the warehouse's schema is older than this code's migrations, else None."""
    # Alembic is imported when a command checks the schema, not at every CLI start-up.
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    from schemas.database import alembic_config

    head = ScriptDirectory.from_config(alembic_config(url)).get_current_head()
    with engine.connect() as connection:
        current = MigrationContext.configure(connection).get_current_revision()
    return (current or "none", head) if current != head and head is not None else None


def story_title(connection: Connection, story_slug: str) -> str:
    title = connection.execute(select(Story.title).where(Story.slug == story_slug)).scalar()
    if title is None:
        known = connection.execute(select(Story.slug).order_by(Story.slug)).scalars().all()
        raise UnknownStoryError(
            f"no story {story_slug!r} in the warehouse (stories: {', '.join(known) or 'none yet'})"
        )
    return title


# --- The per-outlet comparison -------------------------------------------------------------------------


def outlet_framing_rows(connection: Connection, story_slug: str) -> list[Any]:
    view = outlet_framing_view()
    return connection.execute(
        select(view).where(view.c.story_slug == story_slug).order_by(view.c.outlet_name)
    ).all()


def comparison(connection: Connection, story_slug: str) -> tuple[OutletComparison, ...]:
    """One ``OutletComparison`` per outlet of the story, alphabetical (empty for an unknown story)."""
    loaded = loaded_terms_by_outlet(connection, story_slug)
    kinds = voice_kinds_by_outlet(connection, story_slug)
    translated = translations_by_outlet(connection, story_slug)
    return tuple(
        OutletComparison(
            outlet=row.outlet_name,
            country=row.outlet_country,
            language=row.language,
            articles=row.articles,
            original_share=rounded(row.original_share),
            mean_tone=rounded(row.mean_tone),
            mean_certainty=rounded(row.mean_certainty),
            primary_frame=primary_frame_of(row),
            top_loaded_terms=tuple(loaded.get(row.outlet_name, ())),
            voice_kinds=tuple(kinds.get(row.outlet_name, ())),
            translations_of=tuple(translated.get(row.outlet_name, ())),
        )
        for row in outlet_framing_rows(connection, story_slug)
    )


def translations_by_outlet(connection: Connection, story_slug: str) -> dict[str, list[TermCount]]:
    """Per outlet, how many of its articles render another outlet's story in another language (a
    translation or a copy of one), by that outlet: most first."""
    c = STORY_COVERAGE.c
    rows = connection.execute(
        select(c.outlet_name, c.translation_of_outlet, func.count())
        .where(in_story(story_slug), c.translation_of_outlet.is_not(None))
        .group_by(c.outlet_name, c.translation_of_outlet)
        .order_by(c.outlet_name, func.count().desc(), c.translation_of_outlet)
    ).all()
    counts: dict[str, list[TermCount]] = {}
    for outlet, original_outlet, n in rows:
        counts.setdefault(outlet, []).append(TermCount(original_outlet, n))
    return counts


def rounded(value: float | None) -> float | None:
    return None if value is None else round(float(value), 4)


def primary_frame_of(row: Any) -> str | None:
    """The frame with the largest mean share (earliest in codebook order on a tie); None if all are 0."""
    shares = [(row._mapping[f"frame_{key}"] or 0.0, key) for key in frame_keys()]
    best_share = max(share for share, _ in shares)
    return next(key for share, key in shares if share == best_share) if best_share > 0 else None


def loaded_terms_by_outlet(connection: Connection, story_slug: str) -> dict[str, list[str]]:
    """Each outlet's most used loaded terms, most occurrences first."""
    total = func.sum(ArticleLoadedTerm.occurrences)
    rows = connection.execute(
        select(STORY_COVERAGE.c.outlet_name, ArticleLoadedTerm.term, total)
        .join_from(
            STORY_COVERAGE, ArticleLoadedTerm, ArticleLoadedTerm.article_id == STORY_COVERAGE.c.article_id
        )
        .where(in_story(story_slug))
        .group_by(STORY_COVERAGE.c.outlet_name, ArticleLoadedTerm.term)
    ).all()
    by_outlet: dict[str, list[tuple[int, str]]] = defaultdict(list)
    for outlet, term, count in rows:
        by_outlet[outlet].append((-int(count), term))
    return {
        outlet: [term for _, term in sorted(terms)[:TOP_LOADED_TERMS]] for outlet, terms in by_outlet.items()
    }


def reviewed_voices(connection: Connection, story_slug: str) -> list[tuple[str, ReviewedVoice]]:
    """(outlet, voice) for every voice in the story's coverage, as ``voice_review`` corrects it."""
    outlets = connection.execute(select(Outlet.name)).scalars().all()
    rows = connection.execute(
        select(
            STORY_COVERAGE.c.outlet_name, ArticleVoice.name, ArticleVoice.role, ArticleVoice.voice_kind,
            ArticleVoice.evidence,
        )
        .join_from(STORY_COVERAGE, ArticleVoice, ArticleVoice.article_id == STORY_COVERAGE.c.article_id)
        .where(in_story(story_slug))
        .order_by(ArticleVoice.article_id, ArticleVoice.ordinal)
    ).all()  # fmt: skip
    reviewed = [
        (outlet, review_voice(name, role, kind, evidence or "", outlets, own_outlet=outlet))
        for outlet, name, role, kind, evidence in rows
    ]
    return [(outlet, voice) for outlet, voice in reviewed if voice is not None]


def voice_counts(connection: Connection, story_slug: str) -> tuple[VoiceCount, ...]:
    """How often each kind of voice is quoted per outlet: outlet, then most quoted kind first."""
    counts = Counter((outlet, voice.voice_kind) for outlet, voice in reviewed_voices(connection, story_slug))
    ordered = sorted(counts.items(), key=lambda item: (item[0][0], -item[1], item[0][1]))
    return tuple(VoiceCount(outlet, kind, n) for (outlet, kind), n in ordered)


def voice_kinds_by_outlet(connection: Connection, story_slug: str) -> dict[str, list[TermCount]]:
    by_outlet: dict[str, list[TermCount]] = defaultdict(list)
    for voice in voice_counts(connection, story_slug):
        by_outlet[voice.outlet].append(TermCount(voice.voice_kind, voice.count))
    return by_outlet


# --- The report -----------------------------------------------------------------------------------------


def report_data(connection: Connection, story_slug: str, generated_at: datetime | None = None) -> ReportData:
    """Everything the HTML report shows, queried from the views.

    ``generated_at`` defaults to the newest fetch in the story's coverage, so rendering the same
    warehouse twice gives the same page.
    """
    title = story_title(connection, story_slug)
    coverage = coverage_rows(connection, story_slug)
    outlets = outlet_framing_rows(connection, story_slug)
    definition = story_definition(connection, story_slug)
    return ReportData(
        story_title=title,
        story_slug=story_slug,
        generated_at=generated_at or max((row.last_seen_at for row in coverage), default=NO_DATA_TIME),
        timeline=timeline(coverage),
        outlets=tuple(OutletRow(r.outlet_name, r.outlet_country, r.language, r.articles) for r in outlets),
        frames=frame_cells(outlets),
        tone=tuple(
            OutletToneRow(r.outlet_name, float(r.mean_tone), float(r.mean_certainty), r.articles, r.language)
            for r in outlets
            if r.mean_tone is not None and r.mean_certainty is not None
        ),
        voices=voice_counts(connection, story_slug),
        quoted=quoted_voices(connection, story_slug),
        syndication=syndication_groups(connection, story_slug),
        translations=translation_pairs(connection, story_slug),
        headline_edits=headline_edits(connection, story_slug),
        headlines=headline_rows(coverage),
        distinctive_terms=distinctive_term_rows(connection, story_slug),
        comparisons=comparison(connection, story_slug),
        definition=definition,
        articles=article_rows(connection, story_slug),
        discovered_outlets=discovered_outlets(connection),
        empty_reason=None if coverage else empty_coverage_reason(connection, story_slug),
        distinctive_threshold=DISTINCTIVE_Z,
        outlet_health=outlet_health_notes(connection, definition),
    )


def outlet_health_notes(connection: Connection, definition: StoryDefinition) -> tuple[OutletHealthNote, ...]:
    """The outlets unhealthy at some time in the story's window (``pipeline.health.store``)."""

    if definition.window_start is None or definition.window_end is None:
        return ()
    incidents = incidents_during(connection, definition.window_start, definition.window_end)
    return tuple(
        OutletHealthNote(i["outlet"], i["measure"], i["opened_at"], i["closed_at"]) for i in incidents
    )


def story_definition(connection: Connection, story_slug: str) -> StoryDefinition:
    """The story as its config defined it (stored with the story at each load)."""
    stored = connection.execute(select(Story.definition).where(Story.slug == story_slug)).scalar() or {}
    window = stored.get("window") or {}

    def by_language(key: str) -> tuple[tuple[str, tuple[str, ...]], ...]:
        terms = stored.get(key) or {}
        return tuple((language, tuple(words)) for language, words in sorted(terms.items()) if words)

    return StoryDefinition(
        summary=tuple(sorted((stored.get("summary") or {}).items())),
        window_start=parse_time(window.get("start")),
        window_end=parse_time(window.get("end")),
        key_terms=by_language("key_terms"),
        entities=by_language("entities"),
        negative_terms=by_language("negative_terms"),
    )


def parse_time(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    return as_utc(datetime.fromisoformat(value.replace("Z", "+00:00")))


def article_rows(connection: Connection, story_slug: str) -> tuple[ArticleRow, ...]:
    """Every relevant article with its outlet, its original (when a copy) and its framing measures."""
    original, original_outlet = aliased(Article), aliased(Outlet)
    c = STORY_COVERAGE.c
    rows = connection.execute(
        select(
            c.headline, c.canonical_url, c.outlet_name, c.language, c.published_at, c.first_seen_at,
            c.is_original, original_outlet.name, original.headline, ArticleFraming.tone,
            ArticleFraming.certainty, ArticleFraming.primary_frame,
        )
        .join_from(STORY_COVERAGE, ArticleFraming, ArticleFraming.article_id == c.article_id, isouter=True)
        .join(SyndicationCluster, SyndicationCluster.id == c.syndication_cluster, isouter=True)
        .join(original, original.id == SyndicationCluster.original_article_id, isouter=True)
        .join(original_outlet, original_outlet.id == original.outlet_id, isouter=True)
        .where(in_story(story_slug))
    ).all()  # fmt: skip
    ordered = sorted(
        rows, key=lambda r: (r.published_at is None, r.published_at or r.first_seen_at, r[2], r[1])
    )
    return tuple(
        ArticleRow(
            headline=r.headline or "(no headline)", url=http_link(r.canonical_url), outlet=r.outlet_name,
            language=r.language, published_at=r.published_at,
            copy_of_outlet=None if r.is_original else (r[7] or "unknown outlet"),
            copy_of_headline=None if r.is_original else r[8], tone=r.tone, certainty=r.certainty,
            primary_frame=r.primary_frame,
        )
        for r in ordered
    )  # fmt: skip


def http_link(url: str) -> str:
    """Only http(s) URLs become links: autoescaping does not stop a ``javascript:`` URL."""
    return url if urlsplit(url).scheme in ("http", "https") else ""


def discovered_outlets(connection: Connection) -> frozenset[str]:
    return frozenset(connection.execute(select(Outlet.name).where(Outlet.discovered.is_(True))).scalars())


def empty_coverage_reason(connection: Connection, story_slug: str) -> str:
    """Why a known story has no relevant article yet, and what to check."""
    definition = story_definition(connection, story_slug)
    window = (
        f"{definition.window_start:%Y-%m-%d} to {definition.window_end:%Y-%m-%d}"
        if definition.window_start and definition.window_end
        else "not recorded"
    )
    last = connection.execute(
        select(CrawlRun.id, CrawlRun.finished_at, CrawlRun.status, CrawlRun.counts)
        .where((CrawlRun.story_slug == story_slug) | CrawlRun.story_slug.is_(None))
        .order_by(CrawlRun.started_at.desc(), CrawlRun.id.desc())
        .limit(1)
    ).first()
    if last is None:
        cycle = "no cycle has run for it yet: run `framewatch run --story " + story_slug + "`"
    else:
        relevance = (last.counts or {}).get("relevance", {})
        fetched = (last.counts or {}).get("fetch", {}).get("ok", 0)
        finished = f"{last.finished_at:%Y-%m-%d %H:%M} UTC" if last.finished_at else "not finished"
        cycle = (
            f"the last cycle (run {last.id}, {last.status}, {finished}) fetched {fetched} pages; "
            f"relevance: {relevance.get('relevant', 0)} relevant, {relevance.get('not-relevant', 0)} not relevant, "
            f"{relevance.get('out-of-window', 0)} outside the window"
        )
    return (
        f"No article matches this story yet. Its window is {window}; {cycle}. Check the story's key terms "
        "and window in config/stories/, that its outlets are in config/outlets.yaml, and the run's outcome "
        "counts (table run_outcomes)."
    )


def coverage_rows(connection: Connection, story_slug: str) -> list[Any]:
    """The story's coverage with each article's body (for its lede)."""
    return connection.execute(
        select(STORY_COVERAGE, Article.body_text)
        .join_from(STORY_COVERAGE, Article, Article.id == STORY_COVERAGE.c.article_id)
        .where(in_story(story_slug))
        .order_by(STORY_COVERAGE.c.article_id)
    ).all()


def coverage_day(row: Any) -> date:
    return (row.published_at or row.first_seen_at).astimezone(UTC).date()


def timeline(coverage: Iterable[Any]) -> tuple[TimelineBucket, ...]:
    """Articles and distinct outlets per UTC day of publication (first sighting when undated)."""
    days: dict[date, list[str]] = defaultdict(list)
    for row in coverage:
        days[coverage_day(row)].append(row.outlet_name)
    return tuple(
        TimelineBucket(day, len(outlets), len(set(outlets))) for day, outlets in sorted(days.items())
    )


def frame_cells(outlets: Iterable[Any]) -> tuple[FrameCell, ...]:
    """Every outlet x frame dimension, so the heatmap is a full grid."""
    return tuple(
        FrameCell(row.outlet_name, key, float(row._mapping[f"frame_{key}"] or 0.0))
        for row in outlets
        for key in frame_keys()
    )


def quoted_voices(connection: Connection, story_slug: str) -> tuple[QuotedVoice, ...]:
    """Who is quoted, per outlet: the most quoted first."""
    counts = Counter(
        (outlet, voice.name, voice.role, voice.voice_kind)
        for outlet, voice in reviewed_voices(connection, story_slug)
    )
    ordered = sorted(
        counts.items(), key=lambda kv: (-kv[1], kv[0][0], kv[0][1] or "", kv[0][2] or "", kv[0][3])
    )
    return tuple(
        QuotedVoice(o, name, role, kind, n) for (o, name, role, kind), n in ordered[:QUOTED_VOICES_SHOWN]
    )


def syndication_groups(connection: Connection, story_slug: str) -> tuple[SyndicationGroup, ...]:
    """Each original with the story's copies of it (the original may be outside the story)."""
    original, original_outlet = aliased(Article), aliased(Outlet)
    rows = connection.execute(
        select(
            SyndicationCluster.id, original_outlet.name, original.headline, original.canonical_url,
            STORY_COVERAGE.c.outlet_name, STORY_COVERAGE.c.headline, STORY_COVERAGE.c.canonical_url,
            SyndicationMember.similarity,
        )
        .join_from(STORY_COVERAGE, SyndicationMember, SyndicationMember.article_id == STORY_COVERAGE.c.article_id)
        .join(SyndicationCluster, SyndicationCluster.id == SyndicationMember.cluster_id)
        .join(original, original.id == SyndicationCluster.original_article_id)
        .join(original_outlet, original_outlet.id == original.outlet_id)
        .where(in_story(story_slug), SyndicationMember.is_original.is_(False))
        .order_by(SyndicationCluster.id, STORY_COVERAGE.c.outlet_name, STORY_COVERAGE.c.canonical_url)
    ).all()  # fmt: skip
    groups: dict[int, tuple[tuple[str, str, str], list[SyndicatedCopy]]] = {}
    for cluster, o_outlet, o_headline, o_url, outlet, headline, url, similarity in rows:
        copies = groups.setdefault(cluster, ((o_outlet, o_headline or "", o_url), []))[1]
        copies.append(SyndicatedCopy(outlet, headline or "", url, float(similarity)))
    return tuple(SyndicationGroup(*head, tuple(copies)) for head, copies in groups.values())


def translation_pairs(connection: Connection, story_slug: str) -> tuple[TranslationPair, ...]:
    """The story's translations (the linked articles themselves, not their copies) with their originals
    (which may be outside the story), in the translations' publication order."""

    original, original_outlet = aliased(Article), aliased(Outlet)
    c = STORY_COVERAGE.c
    rows = connection.execute(
        select(
            original_outlet.name, TranslationLink.original_language, original.headline, original.canonical_url,
            c.outlet_name, c.language, c.headline, c.canonical_url, TranslationLink.score,
        )
        .join_from(STORY_COVERAGE, TranslationLink, TranslationLink.article_id == c.article_id)
        .join(original, original.id == TranslationLink.original_article_id)
        .join(original_outlet, original_outlet.id == original.outlet_id)
        .where(in_story(story_slug))
        .order_by(c.published_at, c.canonical_url)
    ).all()  # fmt: skip
    return tuple(
        TranslationPair(o_outlet, o_language, o_headline or "", o_url, outlet, language, headline or "", url,
                        float(score), rendering_note(language, o_outlet))
        for o_outlet, o_language, o_headline, o_url, outlet, language, headline, url, score in rows
    )  # fmt: skip


def headline_edits_query(story_slug: str) -> Select:
    return (
        select(HEADLINE_CHANGES)
        .where(HEADLINE_CHANGES.c.story_slug == story_slug)
        .order_by(HEADLINE_CHANGES.c.changed_at, HEADLINE_CHANGES.c.article_id)
    )


def headline_edits(connection: Connection, story_slug: str) -> tuple[HeadlineEdit, ...]:
    return tuple(
        HeadlineEdit(r.outlet_name, r.canonical_url, r.old_headline or "", r.new_headline or "", r.changed_at)
        for r in connection.execute(headline_edits_query(story_slug))
    )


def headline_rows(coverage: Iterable[Any]) -> tuple[HeadlineRow, ...]:
    """Headlines and ledes in publication order, undated last (as ``headlines_side_by_side``)."""
    ordered = sorted(
        coverage, key=lambda r: (r.published_at is None, r.published_at or NO_DATA_TIME, r.outlet_name)
    )
    return tuple(
        HeadlineRow(
            r.outlet_name, r.published_at, r.headline or "", lede_of(r.body_text or ""), r.canonical_url,
            r.language, not r.is_original,
        )
        for r in ordered
    )  # fmt: skip


def distinctive_term_rows(connection: Connection, story_slug: str) -> tuple[DistinctiveTermRow, ...]:
    """Each outlet's terms above the threshold the report states, its own name's words left out."""
    rows = connection.execute(
        select(Outlet.name, OutletStoryTerm.term, OutletStoryTerm.z_score, OutletStoryTerm.rank)
        .join(Outlet, Outlet.id == OutletStoryTerm.outlet_id)
        .join(Story, Story.id == OutletStoryTerm.story_id)
        .where(Story.slug == story_slug, OutletStoryTerm.z_score > DISTINCTIVE_Z)
        .order_by(Outlet.name, OutletStoryTerm.rank)
    ).all()
    return tuple(
        DistinctiveTermRow(outlet, term, float(z), rank)
        for outlet, term, z, rank in rows
        if not names_the_outlet(term, outlet)
    )


def names_the_outlet(term: str, outlet: str) -> bool:
    """True when every word of the term is a word of the outlet's name ("ledger", "liberty ledger")."""
    own = set(word_tokens(outlet)) | set(word_tokens(fold(outlet)))
    words = word_tokens(term)
    return bool(words) and all(word in own or fold(word) in own for word in words)


# --- Export -------------------------------------------------------------------------------------------


def export_queries(story_slug: str) -> dict[str, Select]:
    view = outlet_framing_view()
    return {
        "story_coverage": select(STORY_COVERAGE).where(in_story(story_slug)).order_by(STORY_COVERAGE.c.article_id),
        "outlet_framing": select(view).where(view.c.story_slug == story_slug).order_by(view.c.outlet_name),
        "headline_changes": headline_edits_query(story_slug),
        "voices": select(
            STORY_COVERAGE.c.story_slug, STORY_COVERAGE.c.outlet_name, STORY_COVERAGE.c.canonical_url,
            ArticleVoice.article_id, ArticleVoice.ordinal, ArticleVoice.voice_kind, ArticleVoice.name,
            ArticleVoice.role, ArticleVoice.evidence,
        )
        .join_from(STORY_COVERAGE, ArticleVoice, ArticleVoice.article_id == STORY_COVERAGE.c.article_id)
        .where(in_story(story_slug))
        .order_by(ArticleVoice.article_id, ArticleVoice.ordinal),
    }  # fmt: skip


def export_story(
    connection: Connection, story_slug: str, fmt: ExportFormat, out_dir: Path | str
) -> list[Path]:
    """Write the story's coverage, outlet framing, headline changes and voices, one file each.

    CSV cells that start like a formula get a leading ``'`` (as the comparison CSV); Parquet keeps
    every value exact and typed (timestamps in UTC, JSON columns as JSON text).
    """
    if fmt not in ("csv", "parquet"):
        raise ValueError(f"export format must be csv or parquet, not {fmt!r}")
    story_title(connection, story_slug)  # an unknown story is an error, not a set of empty files
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    prefix = re.sub(r"[^A-Za-z0-9-]+", "_", story_slug)
    written = []
    for name, query in export_queries(story_slug).items():
        result = connection.execute(query)
        columns, rows = list(result.keys()), result.all()
        path = out / f"{prefix}_{name}.{fmt}"
        if fmt == "csv":
            write_csv(path, columns, rows)
        else:
            write_parquet(path, columns, [c.type for c in query.selected_columns], rows)
        written.append(path)
    return written


def csv_cell(value: object) -> object:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, list | dict):
        return json.dumps(value, ensure_ascii=False)
    return spreadsheet_safe(value)


def write_csv(path: Path, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(columns)
        writer.writerows([csv_cell(value) for value in row] for row in rows)


def arrow_type(sql_type: Any) -> Any:
    import pyarrow as pa  # only exports need it: not imported at the CLI's start-up

    if isinstance(sql_type, UtcDateTime):
        return pa.timestamp("us", tz="UTC")
    if isinstance(sql_type, Boolean):
        return pa.bool_()
    if isinstance(sql_type, Integer):
        return pa.int64()
    if isinstance(sql_type, Float):
        return pa.float64()
    return pa.string()  # text, and JSON serialised as JSON text


def arrow_value(value: object) -> object:
    if isinstance(value, list | dict):
        return json.dumps(value, ensure_ascii=False)
    return value


def write_parquet(
    path: Path, columns: Sequence[str], types: Sequence[Any], rows: Sequence[Sequence[Any]]
) -> None:
    import pyarrow as pa  # as in arrow_type
    import pyarrow.parquet as pq

    arrays = [
        pa.array([arrow_value(row[index]) for row in rows], type=arrow_type(types[index]))
        for index in range(len(columns))
    ]
    pq.write_table(pa.Table.from_arrays(arrays, names=list(columns)), path)


# --- The analyst role (PostgreSQL) ------------------------------------------------------------------

# PostgreSQL's rules for an unquoted identifier, lower case only so the quoted name is the one people
# type; "pg_" is reserved for system roles.
ROLE_NAME = re.compile(r"^[a-z_][a-z0-9_$]{0,62}$")


def check_role_name(role: str) -> str:
    if not ROLE_NAME.fullmatch(role) or role.startswith("pg_") or role == "public":
        raise AnalystRoleError(
            f"invalid role name {role!r}: use 1-63 lower-case letters, digits, _ or $, starting with a "
            "letter or _, not 'public' nor starting with 'pg_'"
        )
    return role


def grant_analyst(connection: Connection, role: str, password: str | None = None) -> tuple[str, ...]:
    """Create (if missing) a role that can SELECT the analyst views ``v_*`` and nothing else.

    The role gets USAGE on the warehouse schema and SELECT on its views; any table privilege it had is
    revoked. A view runs with its owner's rights, so the role needs no access to the tables behind it.
    Without a password the role is NOLOGIN (to be granted to people's own roles); with one it can log
    in, and only the password's SCRAM hash, computed by libpq, is sent to the server. Run it again
    after a migration adds a view. Returns the views granted.
    """
    if connection.dialect.name != "postgresql":
        raise AnalystRoleError(
            f"grant-analyst needs PostgreSQL: {connection.dialect.name} has no roles "
            "(give analysts a copy of the SQLite file instead)"
        )
    check_role_name(role)
    ensure_role(connection, role, password)
    schema = connection.execute(text("SELECT current_schema()")).scalar_one()
    views = tuple(
        connection.execute(
            text(
                "SELECT viewname FROM pg_views WHERE schemaname = :schema AND viewname LIKE 'v\\_%' ORDER BY 1"
            ),
            {"schema": schema},
        ).scalars()
    )
    run_privileges(connection, role, schema, views)
    revoke_memberships(connection, role)
    check_no_table_access(connection, role, schema)
    return views


def revoke_memberships(connection: Connection, role: str) -> None:
    """An existing role may inherit wide rights from roles it belongs to: it leaves them (issue 20)."""
    from psycopg import sql  # PostgreSQL only: a SQLite warehouse never needs the driver

    granted = connection.execute(
        text(
            "SELECT g.rolname FROM pg_auth_members m JOIN pg_roles g ON g.oid = m.roleid "
            "JOIN pg_roles r ON r.oid = m.member WHERE r.rolname = :role ORDER BY 1"
        ),
        {"role": role},
    ).scalars()
    for group in list(granted):
        execute_composed(
            connection, sql.SQL("REVOKE {} FROM {}").format(sql.Identifier(group), sql.Identifier(role))
        )


TABLE_PRIVILEGES = ("SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE")


def check_no_table_access(connection: Connection, role: str, schema: str) -> None:
    """Refuse (the transaction rolls back) when the role can still touch a table after the revokes,
    through PUBLIC grants or ownership, rather than report that it reads only the views."""
    rows = connection.execute(
        text(
            "SELECT c.relname, p.privilege FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "CROSS JOIN unnest(CAST(:privileges AS text[])) AS p(privilege) "
            "WHERE n.nspname = :schema AND c.relkind IN ('r', 'p') "
            "AND has_table_privilege(:role, c.oid, p.privilege) ORDER BY 1, 2"
        ),
        {"privileges": list(TABLE_PRIVILEGES), "schema": schema, "role": role},
    ).all()
    if rows:
        held = ", ".join(f"{privilege} on {table}" for table, privilege in rows[:6])
        more = f" and {len(rows) - 6} more" if len(rows) > 6 else ""
        raise AnalystRoleError(
            f"role {role!r} still holds {held}{more} (granted to PUBLIC, or it owns them): "
            "nothing was changed; revoke those first or choose a new role name"
        )


def ensure_role(connection: Connection, role: str, password: str | None) -> None:
    from psycopg import sql  # PostgreSQL only: a SQLite warehouse never needs the driver

    existing = connection.execute(
        text("SELECT rolsuper OR rolname = current_user FROM pg_roles WHERE rolname = :role"), {"role": role}
    ).scalar()
    if existing:
        raise AnalystRoleError(
            f"refusing to make {role!r} an analyst role: it is a superuser or the current user"
        )
    if existing is None:
        execute_composed(connection, sql.SQL("CREATE ROLE {} NOLOGIN").format(sql.Identifier(role)))
    if password:
        driver = connection.connection.driver_connection
        hashed = driver.pgconn.encrypt_password(password.encode(), role.encode()).decode()
        execute_composed(
            connection,
            sql.SQL("ALTER ROLE {} WITH LOGIN PASSWORD {}").format(sql.Identifier(role), sql.Literal(hashed)),
        )


def run_privileges(connection: Connection, role: str, schema: str, views: Sequence[str]) -> None:
    from psycopg import sql  # PostgreSQL only: a SQLite warehouse never needs the driver

    who, where = sql.Identifier(role), sql.Identifier(schema)
    statements = [
        sql.SQL("REVOKE ALL ON ALL TABLES IN SCHEMA {} FROM {}").format(where, who),
        sql.SQL("REVOKE ALL ON ALL SEQUENCES IN SCHEMA {} FROM {}").format(where, who),
        sql.SQL("REVOKE CREATE ON SCHEMA {} FROM {}").format(where, who),
        sql.SQL("GRANT USAGE ON SCHEMA {} TO {}").format(where, who),
    ]
    if views:
        names = sql.SQL(", ").join(sql.Identifier(schema, view) for view in views)
        statements.append(sql.SQL("GRANT SELECT ON {} TO {}").format(names, who))
    for statement in statements:
        execute_composed(connection, statement)


def execute_composed(connection: Connection, statement: Any) -> None:
    """Run DDL composed by psycopg's ``sql`` module (identifiers and literals quoted by the driver;
    DDL takes no bound parameters) on the connection's own transaction."""
    with connection.connection.driver_connection.cursor() as cursor:
        cursor.execute(statement)
