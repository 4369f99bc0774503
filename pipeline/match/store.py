"""The matching stage's warehouse side: story definitions, decisions, backfill and re-match.

- ``sync_stories`` records every configured story with its definition fingerprint, and marks the
  stories whose files are gone as inactive (they stop matching and alerting; their rows stay).
- ``store_run_decisions`` stores the decisions the process stage made for the articles it loaded:
  every active story was matched against every new or changed article in the same pass.
- ``backfill_stories`` matches a new or edited story (its stored decisions were made under another
  fingerprint, or none) against every stored article inside its window, with no fetch, and replaces
  its decisions.

A (story, article) row exists only where the article held one of the story's entities and key terms
(``pipeline.match.stories``); every other pair is "not coverage" without a row.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, func, or_, select, tuple_, update

from pipeline.config import StoryConfig
from pipeline.load.warehouse import load_story, upsert_rows
from pipeline.match.encoder_evidence import defined_languages, story_crosses_languages
from pipeline.match.stories import compile_stories, definition_fingerprint, match_article
from schemas.database import make_engine
from schemas.models import AlertDigest, AlertItem, Article, Story, StoryArticle, StoryMatchRun
from schemas.records import NormalisedArticle, StoryRelevance

INGEST, BACKFILL = "ingest", "backfill"
# Stored articles read per round trip when a story is backfilled (bodies are the bulk of a row).
BACKFILL_CHUNK = 500


def sync_stories(connection: Connection, stories: Sequence[StoryConfig]) -> dict[str, int]:
    """Upsert the configured stories (active, with their fingerprints); deactivate the others.
    Returns slug -> story id of the configured ones."""
    ids = {story.slug: load_story(connection, story, definition_fingerprint(story)) for story in stories}
    connection.execute(update(Story).where(Story.slug.not_in(list(ids) or [""])).values(active=False))
    return ids


def active_story_ids(connection: Connection) -> dict[str, int]:
    return dict(connection.execute(select(Story.slug, Story.id).where(Story.active.is_(True))).all())


def decision_row(story_id: int, article_id: int, decision: StoryRelevance, scored_at: datetime) -> dict:
    return {
        "story_id": story_id,
        "article_id": article_id,
        "relevance_score": round(decision.score, 4),
        "is_relevant": decision.is_relevant,
        "evidence": json_safe(decision.evidence),
        "scored_at": scored_at,
    }


def json_safe(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [json_safe(v) for v in (sorted(value) if isinstance(value, set | frozenset) else value)]
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def replace_decisions(
    connection: Connection,
    story_ids: Mapping[str, int],
    article_ids: Sequence[int],
    rows: Sequence[dict[str, Any]],
) -> None:
    """Make ``rows`` the decisions of the stories ``story_ids`` about ``article_ids``: an article that
    no longer holds a story's terms (a new version) loses its row, the rest are upserted."""
    kept = {(row["story_id"], row["article_id"]) for row in rows}
    stale = [
        pair
        for pair in _existing_pairs(connection, list(story_ids.values()), article_ids)
        if pair not in kept
    ]
    for start in range(0, len(stale), 500):
        connection.execute(
            delete(StoryArticle).where(
                tuple_(StoryArticle.story_id, StoryArticle.article_id).in_(stale[start : start + 500])
            )
        )
    upsert_rows(connection, StoryArticle, rows, ["story_id", "article_id"],
                ["relevance_score", "is_relevant", "evidence", "scored_at"])  # fmt: skip


def _existing_pairs(connection: Connection, story_ids: list[int], article_ids: Sequence[int]) -> set:
    pairs: set[tuple[int, int]] = set()
    for start in range(0, len(article_ids), 1000):
        chunk = article_ids[start : start + 1000]
        pairs.update(
            connection.execute(
                select(StoryArticle.story_id, StoryArticle.article_id).where(
                    StoryArticle.story_id.in_(story_ids), StoryArticle.article_id.in_(chunk)
                )
            ).tuples()
        )
    return pairs


@dataclass(frozen=True)
class MatchSummary:
    """What matching did for one story in one run."""

    kind: str
    articles: int
    candidates: int
    relevant: int


def record_match_run(
    connection: Connection, story_id: int, run_id: int, fingerprint: str, summary: MatchSummary, at: datetime
) -> None:
    row = {"story_id": story_id, "run_id": run_id, "kind": summary.kind, "fingerprint": fingerprint,
           "articles": summary.articles, "candidates": summary.candidates, "relevant": summary.relevant,
           "matched_at": at}  # fmt: skip
    upsert_rows(connection, StoryMatchRun, [row], ["story_id", "run_id", "kind"],
                ["fingerprint", "articles", "candidates", "relevant", "matched_at"])  # fmt: skip


def store_run_decisions(
    connection: Connection,
    stories: Sequence[StoryConfig],
    decisions: Sequence[StoryRelevance],
    ids: Mapping[str, int],
    articles: Sequence[NormalisedArticle],
    run_id: int,
    matched_at: datetime,
) -> dict[str, MatchSummary]:
    """Store the decisions the process stage made for the articles it loaded (``ids``: url_hash ->
    article id), replacing the earlier decisions of these stories about these articles."""
    story_ids = {s.slug: i for s, i in zip(stories, _story_ids(connection, stories), strict=True)}
    fetched = {article.url_hash: article.fetched_at for article in articles}
    rows = [
        decision_row(story_ids[d.story_slug], ids[d.url_hash], d, fetched[d.url_hash])
        for d in decisions
        if d.story_slug in story_ids and d.url_hash in ids
    ]
    replace_decisions(connection, story_ids, sorted(set(ids.values())), rows)
    summaries = _summaries(INGEST, stories, decisions, len(ids))
    for story in stories:
        fingerprint = definition_fingerprint(story)
        record_match_run(
            connection, story_ids[story.slug], run_id, fingerprint, summaries[story.slug], matched_at
        )
    return summaries


def _story_ids(connection: Connection, stories: Sequence[StoryConfig]) -> list[int]:
    found = dict(
        connection.execute(
            select(Story.slug, Story.id).where(Story.slug.in_([s.slug for s in stories]))
        ).all()
    )
    missing = [s.slug for s in stories if s.slug not in found]
    if missing:
        raise LookupError(f"stories missing from the warehouse (start_run loads them): {', '.join(missing)}")
    return [found[s.slug] for s in stories]


def _summaries(
    kind: str, stories: Sequence[StoryConfig], decisions: Iterable[StoryRelevance], articles: int
) -> dict[str, MatchSummary]:
    candidates = {s.slug: 0 for s in stories}
    relevant = {s.slug: 0 for s in stories}
    for decision in decisions:
        if decision.story_slug in candidates:
            candidates[decision.story_slug] += 1
            relevant[decision.story_slug] += decision.is_relevant
    return {s.slug: MatchSummary(kind, articles, candidates[s.slug], relevant[s.slug]) for s in stories}


# --- Backfill and re-match ---------------------------------------------------------------------------


def stories_to_backfill(connection: Connection, stories: Sequence[StoryConfig]) -> list[StoryConfig]:
    """The configured stories whose stored decisions were not made under their current definition."""
    matched = dict(connection.execute(select(Story.slug, Story.matched_fingerprint)).all())
    return [story for story in stories if matched.get(story.slug) != definition_fingerprint(story)]


def backfill_stories(
    connection: Connection, stories: Sequence[StoryConfig], run_id: int, matched_at: datetime
) -> dict[str, MatchSummary]:
    """Match the new or edited stories against every stored article in their windows, with no fetch,
    in one pass over the store with all of them compiled together, and replace their decisions. The
    articles this run loaded are skipped for a story the process stage already matched them against
    under its current definition."""
    if not stories:
        return {}
    story_ids = dict(zip([s.slug for s in stories], _story_ids(connection, stories), strict=True))
    fingerprints = {story.slug: definition_fingerprint(story) for story in stories}
    skip_run = {
        story.slug: run_id
        if _matched_at_ingest(connection, story_ids[story.slug], run_id, fingerprints[story.slug])
        else None
        for story in stories
    }
    by_slug = {story.slug: story for story in stories}
    matcher = compile_stories(stories)
    rows: dict[str, list[dict]] = {slug: [] for slug in by_slug}
    tally = {slug: [0, 0, 0] for slug in by_slug}  # articles, candidates, relevant
    for article_id, last_run, article in _stored_articles(connection, stories):
        eligible = {
            slug
            for slug, story in by_slug.items()
            if story.window.contains(article.published_at) and not (last_run and last_run == skip_run[slug])
        }
        for slug in eligible:
            tally[slug][0] += 1
        for decision in match_article(matcher, article):
            if decision.story_slug in eligible:
                tally[decision.story_slug][1] += 1
                tally[decision.story_slug][2] += decision.is_relevant
                rows[decision.story_slug].append(
                    decision_row(story_ids[decision.story_slug], article_id, decision, article.fetched_at)
                )
    summaries = {}
    for slug, story_id in story_ids.items():
        summary = MatchSummary(BACKFILL, *tally[slug])
        _replace_story_decisions(connection, story_id, rows[slug], skip_run[slug])
        connection.execute(
            update(Story)
            .where(Story.id == story_id)
            .values(
                matched_fingerprint=fingerprints[slug],
                # the digest that follows summarises the backlog instead of listing it (pipeline.alert.digests)
                **({"rematched_run_id": run_id} if summary.articles else {}),
            )
        )
        record_match_run(connection, story_id, run_id, fingerprints[slug], summary, matched_at)
        summaries[slug] = summary
    return summaries


def _matched_at_ingest(connection: Connection, story_id: int, run_id: int, fingerprint: str) -> bool:
    used = connection.execute(
        select(StoryMatchRun.fingerprint).where(
            StoryMatchRun.story_id == story_id, StoryMatchRun.run_id == run_id, StoryMatchRun.kind == INGEST
        )
    ).scalar()
    return used == fingerprint


def _replace_story_decisions(
    connection: Connection, story_id: int, rows: Sequence[dict], skip_run: int | None
) -> None:
    """The story's decisions become ``rows``, but for those of the articles ``skip_run`` loaded (the
    process stage decided them under the same definition)."""
    kept_run = (StoryArticle.article_id.in_(select(Article.id).where(Article.last_run_id == skip_run))
                if skip_run is not None else None)  # fmt: skip
    stale = delete(StoryArticle).where(StoryArticle.story_id == story_id)
    connection.execute(stale.where(~kept_run) if kept_run is not None else stale)
    upsert_rows(connection, StoryArticle, rows, ["story_id", "article_id"],
                ["relevance_score", "is_relevant", "evidence", "scored_at"])  # fmt: skip


def _stored_articles(
    connection: Connection, stories: Sequence[StoryConfig]
) -> Iterator[tuple[int, int | None, NormalisedArticle]]:
    """(id, last run, article as matching reads it) of every stored article inside some story's window
    (undated ones too: nothing says they are outside), in id order, a chunk at a time."""
    window = or_(
        Article.published_at.is_(None),
        Article.published_at.between(
            min(s.window.start for s in stories), max(s.window.end for s in stories)
        ),
    )
    query = select(
        Article.id, Article.last_run_id, Article.url_hash, Article.headline, Article.dek, Article.body_text,
        Article.language, Article.published_at, Article.last_seen_at, Article.canonical_url, Article.content_hash,
    ).where(window)  # fmt: skip
    last_id = 0
    while True:
        chunk = connection.execute(
            query.where(Article.id > last_id).order_by(Article.id).limit(BACKFILL_CHUNK)
        ).all()
        if not chunk:
            return
        for row in chunk:
            yield row.id, row.last_run_id, stored_article(row)
        last_id = chunk[-1].id


def stored_article(row: Any) -> NormalisedArticle:
    """A stored article with the fields matching reads (the rest are not needed to decide)."""
    return NormalisedArticle(
        outlet="", canonical_url=row.canonical_url, url_hash=row.url_hash, aliases=(), headline=row.headline,
        dek=row.dek, authors=(), published_at=row.published_at, modified_at=None, language=row.language,
        section=None, body_text=row.body_text or "", word_count=0, content_hash=row.content_hash,
        fetched_at=row.last_seen_at,
    )  # fmt: skip


def matched_story_summaries(connection: Connection, run_id: int) -> dict[str, dict[str, Any]]:
    """slug -> {kind: {articles, candidates, relevant}} of the stories matched in the run."""
    rows = connection.execute(
        select(Story.slug, StoryMatchRun.kind, StoryMatchRun.articles, StoryMatchRun.candidates,
               StoryMatchRun.relevant)
        .join(Story, Story.id == StoryMatchRun.story_id)
        .where(StoryMatchRun.run_id == run_id)
    ).all()  # fmt: skip
    summaries: dict[str, dict[str, Any]] = {}
    for slug, kind, articles, candidates, relevant in rows:
        summaries.setdefault(slug, {})[kind] = {
            "articles": articles,
            "candidates": candidates,
            "relevant": relevant,
        }
    return summaries


def stories_with_unannounced_coverage(connection: Connection) -> list[str]:
    """Active stories holding a relevant article that no digest item announces yet (a cycle whose
    alert stage did not run, or a run reprocessed from its archive, leaves such articles behind)."""
    announced = (
        select(AlertItem.id)
        .where(AlertItem.article_id == StoryArticle.article_id, AlertItem.story_slug == Story.slug)
        .where(AlertItem.kind == "new-coverage")
    )
    query = (
        select(Story.slug)
        .join(StoryArticle, StoryArticle.story_id == Story.id)
        .where(Story.active.is_(True), StoryArticle.is_relevant.is_(True), ~announced.exists())
        .distinct()
    )
    return sorted(connection.execute(query).scalars())


def stories_with_new_coverage(connection: Connection, run_id: int) -> list[str]:
    """Active stories holding a relevant article that this run loaded, or re-matched in this run."""
    loaded = (
        select(Story.slug)
        .join(StoryArticle, StoryArticle.story_id == Story.id)
        .join(Article, Article.id == StoryArticle.article_id)
        .where(Story.active.is_(True), StoryArticle.is_relevant.is_(True), Article.last_run_id == run_id)
    )
    rematched = select(Story.slug).where(Story.active.is_(True), Story.rematched_run_id == run_id)
    return sorted(set(connection.execute(loaded).scalars()) | set(connection.execute(rematched).scalars()))


def story_overview(connection: Connection, configured: Sequence[StoryConfig]) -> list[dict[str, Any]]:
    """One row per story, configured or stored: whether it is active, its definition fingerprint now
    and the one its decisions were made under, its matched (relevant) articles, last match and last
    digest. A configured story not yet in the warehouse shows up as awaiting its first cycle."""
    stored = {row.slug: row for row in connection.execute(select(Story.__table__))}
    relevant = dict(
        connection.execute(
            select(StoryArticle.story_id, func.count())
            .where(StoryArticle.is_relevant.is_(True))
            .group_by(StoryArticle.story_id)
        ).all()
    )
    last_match = dict(
        connection.execute(
            select(StoryMatchRun.story_id, func.max(StoryMatchRun.matched_at)).group_by(
                StoryMatchRun.story_id
            )
        ).all()
    )
    last_digest = dict(
        connection.execute(
            select(AlertDigest.story_slug, func.max(AlertDigest.created_at)).group_by(AlertDigest.story_slug)
        ).all()
    )
    configured_by_slug = {story.slug: story for story in configured}
    crossing_ids = [
        stored[slug].id for slug, story in configured_by_slug.items()
        if slug in stored and story_crosses_languages(story)
    ]  # fmt: skip
    across_languages = _relevant_across_languages(connection, crossing_ids)
    rows = []
    for slug in sorted(set(stored) | set(configured_by_slug)):
        story, row = configured_by_slug.get(slug), stored.get(slug)
        fingerprint = definition_fingerprint(story) if story else (row.fingerprint if row else None)
        matched = row.matched_fingerprint if row else None
        rows.append(
            {
                "slug": slug,
                "title": story.title if story else row.title,
                "status": _story_status(story, row, fingerprint, matched),
                "fingerprint": fingerprint,
                "matched_fingerprint": matched,
                "matched_articles": relevant.get(row.id, 0) if row else 0,
                "defined_in": ", ".join(defined_languages(story.key_terms)) if story else "",
                "across_languages": across_languages.get(row.id, 0) if row else 0,
                "last_match": last_match.get(row.id) if row else None,
                "last_digest": last_digest.get(slug),
            }
        )
    return rows


def _relevant_across_languages(connection: Connection, story_ids: Sequence[int]) -> dict[int, int]:
    """Per story of ``story_ids`` (those defined in one language: no other has such decisions), its
    relevant articles the encoder matched across languages (``evidence.encoder``). Read in Python: JSON
    paths differ between SQLite and PostgreSQL; only those stories' relevant rows are read."""
    counts: dict[int, int] = {}
    if not story_ids:
        return counts
    rows = connection.execute(
        select(StoryArticle.story_id, StoryArticle.evidence).where(
            StoryArticle.is_relevant.is_(True), StoryArticle.story_id.in_(story_ids)
        )
    )
    for story_id, evidence in rows:
        if isinstance(evidence, dict) and "encoder" in evidence:
            counts[story_id] = counts.get(story_id, 0) + 1
    return counts


def _story_status(story: StoryConfig | None, row: Any, fingerprint: str | None, matched: str | None) -> str:
    if story is None:
        return "removed"
    if row is None or matched is None:
        return "new: backfilled at the next cycle"
    if matched != fingerprint:
        return "edited: re-matched at the next cycle"
    return "active"


def forget_matched_fingerprint(db_url: str, story_slug: str) -> None:
    """Make the story's stored decisions stale: the next match stage rebuilds them."""

    engine = make_engine(db_url)
    try:
        with engine.begin() as connection:
            connection.execute(update(Story).where(Story.slug == story_slug).values(matched_fingerprint=None))
    finally:
        engine.dispose()
