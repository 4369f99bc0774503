"""How each outlet portrayed each actor of a story, and the words behind each outlet's figures.

Read-only queries for the report and ``compare``: tone toward actors from the analyst views of
migration 0012 (``v_outlet_actor_tone``, ``v_article_actor_tone``), with the sentences behind each
figure; and, for the descriptive measures (wording tone, certainty, frames), the cue words stored
with each article's measures (``article_framing.evidence``), summed per outlet.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import JSON, Boolean, Connection, Float, Integer, String, column, select, table

from pipeline.framing.actors import actors_of_definition
from schemas.framing_records import OutletActorTone, TermCount
from schemas.models import ArticleFraming, Story
from schemas.report_records import ActorPortrayal, OutletEvidence, PortrayalEvidence

# Sentences shown behind each figure: the most negative and the most positive, this many of each.
EVIDENCE_PER_SIDE = 2
EVIDENCE_WORDS = 5
TOP_CUES = 5

OUTLET_ACTOR_TONE = table(
    "v_outlet_actor_tone",
    column("story_slug", String), column("outlet_name", String), column("outlet_country", String),
    column("language", String), column("actor", String), column("articles", Integer),
    column("outlet_articles", Integer), column("mentions", Integer), column("mean_score", Float),
    column("min_score", Float), column("max_score", Float), column("negative", Integer),
    column("neutral", Integer), column("positive", Integer),
)  # fmt: skip

ARTICLE_ACTOR_TONE = table(
    "v_article_actor_tone",
    column("story_slug", String), column("article_id", Integer), column("outlet_name", String),
    column("outlet_country", String), column("language", String), column("canonical_url", String),
    column("headline", String), column("is_original", Boolean), column("actor", String),
    column("mentions", Integer), column("score", Float), column("negative", Integer),
    column("neutral", Integer), column("positive", Integer), column("evidence", JSON),
)  # fmt: skip


def story_actor_labels(connection: Connection, story_slug: str) -> tuple[str, ...]:
    """The story's actors in the order its configuration lists them (entities when it has none)."""
    stored = connection.execute(select(Story.definition).where(Story.slug == story_slug)).scalar()
    return tuple(actor.label for actor in actors_of_definition(stored or {}))


def in_actor_order(labels: Sequence[str]) -> Any:
    order = {label: position for position, label in enumerate(labels)}
    return lambda actor: (order.get(actor, len(order)), actor)


def outlet_actor_tones(connection: Connection, story_slug: str) -> tuple[OutletActorTone, ...]:
    """Each outlet's portrayal of each actor it named: outlets alphabetical, actors in story order."""
    view = OUTLET_ACTOR_TONE
    rows = connection.execute(select(view).where(view.c.story_slug == story_slug)).all()
    actor_key = in_actor_order(story_actor_labels(connection, story_slug))
    ordered = sorted(rows, key=lambda r: (r.outlet_name, actor_key(r.actor)))
    return tuple(
        OutletActorTone(
            r.outlet_name, r.actor, r.articles, r.mentions, round(float(r.mean_score), 4), r.negative,
            r.neutral, r.positive,
        )
        for r in ordered
    )  # fmt: skip


def actor_tones_by_outlet(connection: Connection, story_slug: str) -> dict[str, tuple[OutletActorTone, ...]]:
    by_outlet: dict[str, list[OutletActorTone]] = defaultdict(list)
    for tone in outlet_actor_tones(connection, story_slug):
        by_outlet[tone.outlet].append(tone)
    return {outlet: tuple(tones) for outlet, tones in by_outlet.items()}


def portrayals(connection: Connection, story_slug: str) -> tuple[ActorPortrayal, ...]:
    """Each outlet's portrayal of each actor with the sentences behind it: actors in story order,
    then language, then outlet."""
    view = OUTLET_ACTOR_TONE
    rows = connection.execute(select(view).where(view.c.story_slug == story_slug)).all()
    evidence = portrayal_evidence(connection, story_slug)
    actor_key = in_actor_order(story_actor_labels(connection, story_slug))
    ordered = sorted(rows, key=lambda r: (actor_key(r.actor), r.language or "", r.outlet_name))
    return tuple(
        ActorPortrayal(
            r.outlet_name, r.language, r.actor, r.articles, r.outlet_articles, r.mentions,
            round(float(r.mean_score), 4), r.negative, r.neutral, r.positive,
            evidence.get((r.outlet_name, r.actor), ()),
        )
        for r in ordered
    )  # fmt: skip


def portrayal_evidence(
    connection: Connection, story_slug: str
) -> dict[tuple[str, str], tuple[PortrayalEvidence, ...]]:
    """(outlet, actor) -> its most negative and most positive mentions, lowest score first."""
    view = ARTICLE_ACTOR_TONE
    rows = connection.execute(
        select(view.c.outlet_name, view.c.actor, view.c.headline, view.c.canonical_url, view.c.evidence)
        .where(view.c.story_slug == story_slug)
        .order_by(view.c.article_id)
    ).all()
    mentions: dict[tuple[str, str], list[PortrayalEvidence]] = defaultdict(list)
    for outlet, actor, headline, url, stored in rows:
        for mention in as_list(stored):
            mentions[(outlet, actor)].append(evidence_of(mention, headline or "", url or ""))
    return {key: extremes(found) for key, found in mentions.items()}


def as_list(stored: object) -> list[Any]:
    # A JSON column read through a plain view comes back as text on SQLite.
    return json.loads(stored) if isinstance(stored, str) else list(stored or [])


def evidence_of(mention: dict[str, Any], headline: str, url: str) -> PortrayalEvidence:
    return PortrayalEvidence(
        sentence=mention["sentence"],
        mention=mention["mention"],
        label=mention["label"],
        score=float(mention["score"]),
        words=tuple(word for word, _ in mention.get("words", ())[:EVIDENCE_WORDS]),
        headline=headline,
        url=url if urlsplit(url).scheme in ("http", "https") else "",
    )


def extremes(found: Iterable[PortrayalEvidence]) -> tuple[PortrayalEvidence, ...]:
    """The lowest- and highest-scoring distinct sentences, lowest first (a sentence once)."""
    distinct = {(e.sentence, e.mention): e for e in found}
    ranked = sorted(distinct.values(), key=lambda e: (e.score, e.sentence))
    if len(ranked) <= 2 * EVIDENCE_PER_SIDE:
        return tuple(ranked)
    return (*ranked[:EVIDENCE_PER_SIDE], *ranked[-EVIDENCE_PER_SIDE:])


# --- Evidence of the descriptive measures -------------------------------------------------------------


def outlet_evidence(
    connection: Connection, coverage: Iterable[Any], main_frames: Mapping[str, str | None]
) -> tuple[OutletEvidence, ...]:
    """Per outlet, the stored cue words of its articles summed: tone's lexicon words, certainty's
    hedges and assertions, and the terms of its main frame (``main_frames``: outlet -> frame key)."""
    outlet_of = {row.article_id: row.outlet_name for row in coverage}
    cues: dict[str, dict[str, Counter[str]]] = defaultdict(lambda: defaultdict(Counter))
    for article_id, stored in stored_evidence(connection, sorted(outlet_of)):
        found = cues[outlet_of[article_id]]
        document = stored if isinstance(stored, dict) else json.loads(stored or "{}")
        found["tone"].update(word for word, _ in document.get("tone_cues", ()))
        found["hedges"].update(document.get("hedges", {}))
        found["assertions"].update(document.get("assertions", {}))
        for frame, terms in (document.get("frame_terms") or {}).items():
            found["frame:" + frame].update(terms)
    return tuple(evidence_row(outlet, cues[outlet], main_frames.get(outlet)) for outlet in sorted(cues))


def stored_evidence(connection: Connection, article_ids: Sequence[int]) -> Iterable[tuple[int, Any]]:
    for start in range(0, len(article_ids), 500):
        chunk = article_ids[start : start + 500]
        yield from connection.execute(
            select(ArticleFraming.article_id, ArticleFraming.evidence).where(
                ArticleFraming.article_id.in_(chunk)
            )
        )


def evidence_row(outlet: str, found: dict[str, Counter[str]], main_frame: str | None) -> OutletEvidence:
    return OutletEvidence(
        outlet=outlet,
        tone_words=top(found["tone"]),
        hedges=top(found["hedges"]),
        assertions=top(found["assertions"]),
        frame_terms=top(found["frame:" + main_frame]) if main_frame else (),
    )


def top(counts: Counter[str]) -> tuple[TermCount, ...]:
    ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:TOP_CUES]
    return tuple(TermCount(term, n) for term, n in ranked)
