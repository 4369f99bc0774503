"""The framing stage's warehouse side: measure a story's articles and store the measures.

``compute_story_framing`` frames every relevant article whose content changed since it was last
framed (``article_framing.content_hash`` is the version the measures were computed on), replaces that
article's detail rows, and recomputes the story's distinctive terms per outlet. It writes nothing
that depends on the clock, so running it twice leaves the warehouse as it was.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import Connection, bindparam, delete, exists, select

from pipeline.framing.actors import actor_tones_key, actors_of_definition, tone_model_digest
from pipeline.framing.lexicon import check_language, measures_version
from pipeline.framing.measures import article_framing, full_text, warehouse_fields
from pipeline.framing.outlets import distinctive_terms_of_counts, ngram_counts
from pipeline.framing.tone import sentence_tone
from pipeline.framing.tone_model import actor_tones, load_tone_model
from pipeline.load.warehouse import upsert_rows
from pipeline.speedup.ahead import input_key
from pipeline.speedup.workers import map_in_order
from schemas.framing_records import ActorTone, ArticleFraming, DistinctiveTerm, MentionTone, StoryActor
from schemas.models import (
    Article,
    ArticleActorTone,
    ArticleFrame,
    ArticleLoadedTerm,
    ArticleVoice,
    OutletStoryTerm,
    Story,
    StoryArticle,
    SyndicationMember,
)
from schemas.models import ArticleFraming as ArticleFramingRow

DISTINCTIVE_TERMS_PER_OUTLET = 20
# Column widths of the detail tables (schemas/models.py): longer values are cut, never refused.
NAME_WIDTH = 300
TERM_WIDTH = 200
LABEL_WIDTH = 100


@dataclass(frozen=True)
class StoryArticleText:
    article_id: int
    outlet_id: int
    language: str | None
    headline: str
    body_text: str
    content_hash: str


MeasureInputs = tuple[str, str, str]  # headline, body text, framing language: all a measure reads


def compute_story_framing(
    connection: Connection, story_slug: str, known: Mapping[str, object] | None = None
) -> dict[str, int]:
    """Frame the story's new or changed relevant articles, measure their tone toward the story's
    actors, and refresh the story's distinctive terms.

    ``known`` holds measures computed earlier (``pipeline.speedup.ahead``) under ``measures_key`` of
    their inputs: an article whose key is there is not measured again (its tone toward the story's
    actors neither, when ``known`` holds it for these actors: ``MeasuredArticle``).

    Returns outcome counts: ``framed``, ``unchanged`` (already framed on this content) and
    ``unsupported-language`` (framing is defined for English and Spanish only); ``portrayed``, the
    articles whose tone toward the story's actors was measured (new content, or new actors), and
    ``actor-tones``, the (article, actor) rows that gave; and ``distinctive-terms``, the number of
    outlet term rows the story now has.
    """
    story_id, actors = story_actors_of(connection, story_slug)
    pending = articles_to_frame(connection, story_id)
    portray = articles_to_portray(connection, story_id, actors)
    texts = {a.article_id: a for a in pending.articles}
    texts.update((a.article_id, a) for a in article_texts(connection, sorted(set(portray) - set(texts))))
    outcomes = Counter({"framed": 0, "unchanged": pending.unchanged, "unsupported-language": 0})
    # One definition of what is measured (measure_inputs), whoever measures it and whenever.
    inputs_of = {i: measure_inputs(a.headline, a.body_text, a.language) for i, a in texts.items()}
    to_frame = [a.article_id for a in pending.articles]
    framable = [i for i in to_frame if inputs_of[i]]
    unsupported = [i for i in to_frame if inputs_of[i] is None]
    framings, tones = _measured(
        {i: inputs_of[i] for i in framable}, {i: inputs_of[i] for i in portray}, actors, known or {}
    )
    # Measures of an earlier, framable version would no longer describe these articles.
    clear_article_framing(connection, unsupported)
    outcomes["unsupported-language"] += len(unsupported)
    store_articles_framing(connection, [(texts[i], framings[i]) for i in framable])
    outcomes["framed"] += len(framable)
    outcomes["portrayed"] = len(portray)
    outcomes["actor-tones"] = store_actor_tones(connection, story_id, tones, portray)
    outcomes["distinctive-terms"] = store_outlet_story_terms(connection, story_id)
    return dict(outcomes)


def measure(text: MeasureInputs) -> ArticleFraming:
    """One article's framing measures from what ``measure_inputs`` gives (a picklable tuple, so that
    worker processes can run it)."""
    headline, body_text, language = text
    return article_framing(headline, body_text, language)


# What one article needs measured: its framing measures (None: not needed, or known already), and
# its tone toward the story's actors (None: not needed).
MeasureJob = tuple[MeasureInputs | None, tuple[MeasureInputs, tuple[StoryActor, ...]] | None]


def _measure_job(job: MeasureJob) -> tuple[ArticleFraming | None, tuple[ActorTone, ...] | None]:
    """One article's measures; both measures share the article's sentence tones (and nothing else)."""
    sentence_tone.cache_clear()
    framing_inputs, tone_inputs = job
    framing = measure(framing_inputs) if framing_inputs else None
    if tone_inputs is None:
        return framing, None
    (headline, body_text, language), actors = tone_inputs
    return framing, actor_tones(headline, body_text, language, actors)


def _measured(
    to_frame: Mapping[int, MeasureInputs],
    to_portray: Mapping[int, MeasureInputs | None],
    actors: Sequence[StoryActor],
    known: Mapping[str, object],
) -> tuple[dict[int, ArticleFraming], dict[int, tuple[ActorTone, ...]]]:
    """Each article's framing measures and tone toward the actors: taken from ``known`` when their
    inputs, actors and the code are the same, everything else computed in worker processes, one job per
    article for both measures (they share the article's sentence tones)."""
    framings = {i: f for i, f in ((i, known_framing(known, text)) for i, text in to_frame.items()) if f}
    portrayable = {i: text for i, text in to_portray.items() if text is not None and actors}
    digest = actors_digest(actors)
    tones = {
        i: t
        for i, t in ((i, known_tones(known, text, digest)) for i, text in portrayable.items())
        if t is not None
    }
    ids = sorted((set(to_frame) - set(framings)) | (set(portrayable) - set(tones)))
    jobs = [
        (
            to_frame[i] if i in to_frame and i not in framings else None,
            (portrayable[i], tuple(actors)) if i in portrayable and i not in tones else None,
        )
        for i in ids
    ]
    if any(tone_job for _, tone_job in jobs):
        load_tone_model()  # once here: forked workers inherit it rather than each loading it
    for i, (framing, actor_tone) in zip(ids, map_in_order(_measure_job, jobs), strict=True):
        if framing is not None:
            framings[i] = framing
        if actor_tone is not None:
            tones[i] = actor_tone
    return framings, tones


@dataclass(frozen=True)
class MeasuredArticle:
    """One article's framing measures and its tone toward the actors of each story it is relevant to
    (by ``actors_digest``), computed together ahead of the framing stage: they share its sentences."""

    framing: ArticleFraming
    tones: Mapping[str, tuple[ActorTone, ...]]


# One article's work computed ahead: its measure inputs, and the actor lists of the stories it is
# relevant to.
AheadJob = tuple[MeasureInputs, tuple[tuple[StoryActor, ...], ...]]


def measure_ahead(job: AheadJob) -> MeasuredArticle:
    """What the framing stage will need of one article, computed ahead (``pipeline.speedup.ahead``)."""
    text, actor_lists = job
    framing, _ = _measure_job((text, None))
    return MeasuredArticle(
        framing, {actors_digest(actors): actor_tones(*text, actors) for actors in actor_lists}
    )


def ahead_key(job: AheadJob) -> str:
    """A job's result is found by its measure inputs' key, as the framing stage looks it up."""
    return measures_key(job[0])


def actors_digest(actors: Sequence[StoryActor]) -> str:
    """The actors' labels and names and the trained model, hashed (the code is in ``measures_key``)."""
    return input_key(tuple(actors), tone_model_digest())


def known_framing(known: Mapping[str, object], text: MeasureInputs) -> ArticleFraming | None:
    found = known.get(measures_key(text)) if known else None
    if isinstance(found, MeasuredArticle):
        return found.framing
    return found if isinstance(found, ArticleFraming) else None


def known_tones(
    known: Mapping[str, object], text: MeasureInputs, digest: str
) -> tuple[ActorTone, ...] | None:
    found = known.get(measures_key(text)) if known else None
    return found.tones.get(digest) if isinstance(found, MeasuredArticle) else None


def measures_key(text: MeasureInputs) -> str:
    """Every input of one article's measures, with the code and codebooks that compute them, hashed."""
    return input_key(text, measures_version())


def measure_inputs(headline: str | None, body_text: str, language: str | None) -> MeasureInputs | None:
    """What the framing stage will measure for this article as the warehouse stores it; None when
    framing is undefined for its language."""
    code = framing_language(language)
    return None if code is None else (headline or "", body_text, code)


def framing_language(language: str | None) -> str | None:
    """The framing language of an article ("en-US" reads as "en"); None when framing is undefined."""
    try:
        return check_language(language or "")
    except ValueError:
        return None


def story_actors_of(connection: Connection, story_slug: str) -> tuple[int, tuple[StoryActor, ...]]:
    """The story's id and its actors, as its definition was stored at its last load."""
    row = connection.execute(select(Story.id, Story.definition).where(Story.slug == story_slug)).first()
    if row is None:
        raise LookupError(f"no story {story_slug!r} in the warehouse")
    return row.id, actors_of_definition(row.definition or {})


def articles_to_portray(
    connection: Connection, story_id: int, actors: Sequence[StoryActor]
) -> dict[int, str]:
    """Relevant articles whose stored tones toward the actors were not computed from their current
    content, these actors, code and model: article id -> the key they will be stored under."""
    rows = connection.execute(
        select(StoryArticle.article_id, Article.content_hash, StoryArticle.actor_tones_key)
        .join(Article, Article.id == StoryArticle.article_id)
        .where(StoryArticle.story_id == story_id, StoryArticle.is_relevant.is_(True))
    ).all()
    wanted = (
        (row.article_id, row.actor_tones_key, actor_tones_key(row.content_hash, actors)) for row in rows
    )
    return {article_id: key for article_id, stored, key in wanted if stored != key}


def story_id_of(connection: Connection, story_slug: str) -> int:
    story_id = connection.execute(select(Story.id).where(Story.slug == story_slug)).scalar()
    if story_id is None:
        raise LookupError(f"no story {story_slug!r} in the warehouse")
    return story_id


@dataclass(frozen=True)
class PendingArticles:
    articles: tuple[StoryArticleText, ...]
    unchanged: int


def articles_to_frame(connection: Connection, story_id: int) -> PendingArticles:
    """Relevant articles whose current content has not been framed yet (new, edited or never framed)."""
    rows = connection.execute(framing_state().where(StoryArticle.story_id == story_id)).all()
    stale = sorted(row.article_id for row in rows if not framed_now(row))
    return PendingArticles(tuple(article_texts(connection, stale)), len(rows) - len(stale))


def stories_needing_framing(connection: Connection) -> list[str]:
    """Active stories holding a relevant article whose current content was not framed by the current
    measures (new coverage, an edit, or a changed codebook)."""
    rows = connection.execute(framing_state().where(Story.active.is_(True))).all()
    return sorted({row.slug for row in rows if not framed_now(row)})


def framing_state() -> Any:
    """Each relevant (story, article): the article's content hash and the hash and measures version
    its stored framing was computed on (NULL when never framed)."""
    return (
        select(
            Story.slug,
            Article.id.label("article_id"),
            Article.content_hash.label("current"),
            ArticleFramingRow.content_hash.label("framed"),
            ArticleFramingRow.measures_version.label("measured_by"),
        )
        .join(StoryArticle, StoryArticle.story_id == Story.id)
        .join(Article, Article.id == StoryArticle.article_id)
        .outerjoin(ArticleFramingRow, ArticleFramingRow.article_id == Article.id)
        .where(StoryArticle.is_relevant.is_(True))
    )


def framed_now(row: Any) -> bool:
    """The article's current content was framed by the current measures."""
    return (row.current, measures_version()) == (row.framed, row.measured_by)


def select_texts() -> Any:
    return select(
        Article.id,
        Article.outlet_id,
        Article.language,
        Article.headline,
        Article.body_text,
        Article.content_hash,
    ).order_by(Article.id)


def text_of(row: Any) -> StoryArticleText:
    return StoryArticleText(row[0], row[1], row[2], row[3] or "", row[4] or "", row[5])


def article_texts(connection: Connection, article_ids: Sequence[int]) -> Iterable[StoryArticleText]:
    for start in range(0, len(article_ids), 500):
        chunk = article_ids[start : start + 500]
        yield from map(text_of, connection.execute(select_texts().where(Article.id.in_(chunk))))


def store_articles_framing(
    connection: Connection, framed: Sequence[tuple[StoryArticleText, ArticleFraming]]
) -> None:
    """Upsert each article's measures and replace its frame, loaded-term and voice rows: one statement
    per table for the whole batch."""
    rows = [
        {
            "article_id": article.article_id,
            "content_hash": article.content_hash,
            "measures_version": measures_version(),
            **warehouse_fields(framing),
        }
        for article, framing in framed
    ]
    if not rows:
        return
    upsert_rows(
        connection, ArticleFramingRow, rows, ["article_id"], [c for c in rows[0] if c != "article_id"]
    )
    clear_article_framing(connection, [article.article_id for article, _ in framed], keep_measures=True)
    for model, rows_of in (
        (ArticleFrame, frame_rows),
        (ArticleLoadedTerm, loaded_term_rows),
        (ArticleVoice, voice_rows),
    ):
        insert_rows(
            connection,
            model,
            [row for article, framing in framed for row in rows_of(article.article_id, framing)],
        )


CLEAR_CHUNK = 500  # article ids per DELETE


def clear_article_framing(
    connection: Connection, article_ids: Sequence[int], keep_measures: bool = False
) -> None:
    details = (ArticleFrame, ArticleLoadedTerm, ArticleVoice)
    for start in range(0, len(article_ids), CLEAR_CHUNK):
        chunk = article_ids[start : start + CLEAR_CHUNK]
        for model in details if keep_measures else (*details, ArticleFramingRow):
            connection.execute(delete(model).where(model.article_id.in_(chunk)))


def insert_rows(connection: Connection, model: Any, rows: list[dict[str, Any]]) -> None:
    if rows:
        connection.execute(model.__table__.insert(), rows)


def frame_rows(article_id: int, framing: ArticleFraming) -> list[dict[str, Any]]:
    """Only dimensions with a non-zero share: a missing row reads as 0 in ``v_outlet_framing``."""
    return [
        {
            "article_id": article_id,
            "frame": frame.frame,
            "share": frame.share,
            "matched_terms": [{"term": tc.term, "count": tc.count} for tc in frame.terms],
        }
        for frame in framing.frames
        if frame.share > 0
    ]


def loaded_term_rows(article_id: int, framing: ArticleFraming) -> list[dict[str, Any]]:
    return [
        {
            "article_id": article_id,
            "term": tc.term[:TERM_WIDTH],
            "language": framing.language,
            "occurrences": tc.count,
        }
        for tc in framing.loaded_terms
    ]


def voice_rows(article_id: int, framing: ArticleFraming) -> list[dict[str, Any]]:
    """One row per attribution, in the order they appear in the article (``ordinal`` from 1)."""
    return [
        {
            "article_id": article_id,
            "ordinal": ordinal,
            "voice_kind": voice.voice_kind,
            "name": voice.name[:NAME_WIDTH] if voice.name else None,
            "role": voice.role[:NAME_WIDTH] if voice.role else None,
            "evidence": voice.evidence,
        }
        for ordinal, voice in enumerate(framing.voices, start=1)
    ]


# --- Tone toward actors -------------------------------------------------------------------------------


def store_actor_tones(
    connection: Connection,
    story_id: int,
    tones: Mapping[int, Sequence[ActorTone]],
    keys: Mapping[int, str],
) -> int:
    """Replace the (story, article) tone rows of the articles in ``keys`` and record what they were
    computed from; returns the rows written."""
    ids = sorted(keys)
    for start in range(0, len(ids), CLEAR_CHUNK):
        chunk = ids[start : start + CLEAR_CHUNK]
        connection.execute(
            delete(ArticleActorTone).where(
                ArticleActorTone.story_id == story_id, ArticleActorTone.article_id.in_(chunk)
            )
        )
    rows = [actor_tone_row(story_id, i, tone) for i in ids for tone in tones.get(i, ())]
    insert_rows(connection, ArticleActorTone, rows)
    if ids:
        connection.execute(
            StoryArticle.__table__.update()
            .where(
                StoryArticle.story_id == bindparam("b_story"),
                StoryArticle.article_id == bindparam("b_article"),
            )
            .values(actor_tones_key=bindparam("b_key")),
            [{"b_story": story_id, "b_article": i, "b_key": keys[i]} for i in ids],
        )
    return len(rows)


def actor_tone_row(story_id: int, article_id: int, tone: ActorTone) -> dict[str, Any]:
    return {
        "story_id": story_id,
        "article_id": article_id,
        "actor": tone.actor[:LABEL_WIDTH],
        "mentions": tone.mentions,
        "score": tone.score,
        "negative": tone.negative,
        "neutral": tone.neutral,
        "positive": tone.positive,
        "evidence": [mention_evidence(m) for m in tone.evidence],
    }


def mention_evidence(mention: MentionTone) -> dict[str, Any]:
    """One mention as stored: what an analyst needs to check the figure against the text."""
    return {
        "sentence": mention.sentence,
        "mention": mention.mention,
        "label": mention.label,
        "score": mention.score,
        "probabilities": list(mention.probabilities),
        "words": [[cue.word, cue.valence] for cue in mention.evidence],
    }


# --- Distinctive terms per outlet ----------------------------------------------------------------


def original_texts(connection: Connection, story_id: int) -> list[StoryArticleText]:
    """The story's relevant English and Spanish articles that are not syndicated copies.

    Copies are left out because a republished wire story would make the outlet look like the wire
    (docs/framing.md, "Fightin' Words", limits).
    """
    is_copy = exists().where(
        SyndicationMember.article_id == Article.id, SyndicationMember.is_original.is_(False)
    )
    rows = connection.execute(
        select_texts()
        .join(StoryArticle, StoryArticle.article_id == Article.id)
        .where(StoryArticle.story_id == story_id, StoryArticle.is_relevant.is_(True), ~is_copy)
    )
    texts = [replace(text, language=framing_language(text.language)) for text in map(text_of, rows)]
    return [text for text in texts if text.language is not None]


def distinctive_terms_by_outlet(articles: Sequence[StoryArticleText]) -> dict[int, list[DistinctiveTerm]]:
    """Each outlet against the other outlets writing in the same language; an outlet alone in its
    language has nothing to be compared with and gets no terms. Each outlet's texts are counted once:
    the rest of the coverage is the language's total less the outlet's own counts."""
    texts: dict[str, dict[int, list[str]]] = defaultdict(lambda: defaultdict(list))
    for article in articles:
        texts[article.language][article.outlet_id].append(full_text(article.headline, article.body_text))
    by_outlet: dict[int, list[DistinctiveTerm]] = defaultdict(list)
    for language, outlets in sorted(texts.items()):
        counts = {
            outlet_id: ngram_counts(outlet_texts, language) for outlet_id, outlet_texts in outlets.items()
        }
        total = sum(counts.values(), Counter())
        for outlet_id in sorted(outlets):
            if len(outlets) > 1:
                rest = total - counts[outlet_id]
                by_outlet[outlet_id].extend(distinctive_terms_of_counts(counts[outlet_id], rest, top_n=None))
    return {outlet_id: top_distinctive(terms) for outlet_id, terms in by_outlet.items()}


def top_distinctive(terms: Iterable[DistinctiveTerm]) -> list[DistinctiveTerm]:
    """The outlet's most distinctive terms (positive z only), one row per term across languages."""
    best: dict[str, DistinctiveTerm] = {}
    for term in sorted(terms, key=lambda t: (-t.z_score, t.term)):
        if term.z_score > 0 and len(term.term) <= TERM_WIDTH:
            best.setdefault(term.term, term)
    return list(best.values())[:DISTINCTIVE_TERMS_PER_OUTLET]


def store_outlet_story_terms(connection: Connection, story_id: int) -> int:
    """Replace the story's distinctive-term rows; rows that did not change are left as they are."""
    wanted = outlet_term_rows(story_id, distinctive_terms_by_outlet(original_texts(connection, story_id)))
    existing = connection.execute(
        select(OutletStoryTerm.id, OutletStoryTerm.outlet_id, OutletStoryTerm.term).where(
            OutletStoryTerm.story_id == story_id
        )
    ).all()
    gone = [row_id for row_id, outlet_id, term in existing if (outlet_id, term) not in wanted]
    for start in range(0, len(gone), 500):
        connection.execute(delete(OutletStoryTerm).where(OutletStoryTerm.id.in_(gone[start : start + 500])))
    rows = list(wanted.values())
    upsert_rows(connection, OutletStoryTerm, rows, ["story_id", "outlet_id", "term"], ["z_score", "rank"])
    return len(rows)


def outlet_term_rows(
    story_id: int, terms_by_outlet: Mapping[int, Sequence[DistinctiveTerm]]
) -> dict[tuple[int, str], dict[str, Any]]:
    return {
        (outlet_id, term.term): {
            "story_id": story_id,
            "outlet_id": outlet_id,
            "term": term.term,
            "z_score": term.z_score,
            "rank": rank,
        }
        for outlet_id, terms in terms_by_outlet.items()
        for rank, term in enumerate(terms, start=1)
    }
