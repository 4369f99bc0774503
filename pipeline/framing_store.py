"""The framing stage's warehouse side: measure a story's articles and store the measures.

``compute_story_framing`` frames every relevant article whose content changed since it was last
framed (``article_framing.content_hash`` is the version the measures were computed on), replaces that
article's detail rows, and recomputes the story's distinctive terms per outlet. It writes nothing
that depends on the clock, so running it twice leaves the warehouse as it was.
"""

from __future__ import annotations

import logging
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, bindparam, delete, exists, select

from pipeline.ahead import input_key, load_keyed, save_keyed
from pipeline.framing import article_framing, full_text, warehouse_fields
from pipeline.framing_actors import actor_tones_key, actors_of_definition, tone_model_digest
from pipeline.framing_lexicon import check_language, measures_version
from pipeline.framing_model import actor_tones, load_tone_model
from pipeline.framing_outlets import distinctive_terms_of_counts, ngram_counts
from pipeline.framing_tone import sentence_tone
from pipeline.load import upsert_rows
from pipeline.workers import MIN_PAGES_FOR_WORKERS, default_workers, map_in_order, mapped_in_background
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

logger = logging.getLogger(__name__)

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


def compute_story_framing(
    connection: Connection, story_slug: str, measured_ahead: Mapping[str, object] | None = None
) -> dict[str, int]:
    """Frame the story's new or changed relevant articles, measure their tone toward the story's
    actors, and refresh the story's distinctive terms.

    ``measured_ahead`` holds measures the process stage computed while it loaded (``measuring_ahead``),
    under ``measures_key`` of their inputs (and ``tones_key`` of their inputs and the story's actors):
    an article whose key is there is not measured again.

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
    # One definition of what is measured, shared with the process stage's measuring ahead.
    inputs_of = {i: measure_inputs(a.headline, a.body_text, a.language) for i, a in texts.items()}
    to_frame = [a.article_id for a in pending.articles]
    framable = [i for i in to_frame if inputs_of[i]]
    unsupported = [i for i in to_frame if inputs_of[i] is None]
    framings, tones = _measured(
        {i: inputs_of[i] for i in framable}, {i: inputs_of[i] for i in portray}, actors, measured_ahead or {}
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


def _measure(text: tuple[str, str, str]) -> ArticleFraming:
    headline, body_text, language = text
    return article_framing(headline, body_text, language)


MeasureInputs = tuple[str, str, str]  # headline, body text, framing language: all a measure reads
# What one article needs measured: its framing measures (None: not needed, or measured ahead), and
# its tone toward the story's actors (None: not needed).
MeasureJob = tuple[MeasureInputs | None, tuple[MeasureInputs, tuple[StoryActor, ...]] | None]


def _measure_job(job: MeasureJob) -> tuple[ArticleFraming | None, tuple[ActorTone, ...] | None]:
    """One article's measures; both measures share the article's sentence tones (and nothing else)."""
    sentence_tone.cache_clear()
    framing_inputs, tone_inputs = job
    framing = _measure(framing_inputs) if framing_inputs else None
    if tone_inputs is None:
        return framing, None
    (headline, body_text, language), actors = tone_inputs
    return framing, actor_tones(headline, body_text, language, actors)


def _measured(
    to_frame: Mapping[int, MeasureInputs],
    to_portray: Mapping[int, MeasureInputs | None],
    actors: Sequence[StoryActor],
    measured_ahead: Mapping[str, object],
) -> tuple[dict[int, ArticleFraming], dict[int, tuple[ActorTone, ...]]]:
    """Each article's framing measures and tone toward the actors: taken from ``measured_ahead`` when
    their inputs, actors and the code are the same, everything else computed in worker processes, one
    job per article for both measures (they share the article's sentence tones)."""
    framings = ahead_of(to_frame, measured_ahead, measures_key, ArticleFraming)
    portrayable = {i: text for i, text in to_portray.items() if text is not None and actors}
    tones = ahead_of(portrayable, measured_ahead, lambda text: tones_key(text, actors), tuple)
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


def ahead_of(
    wanted: Mapping[int, MeasureInputs], measured_ahead: Mapping[str, object], key_of: Any, kind: type
) -> dict[int, Any]:
    """The results of ``kind`` that ``measured_ahead`` holds for these articles, by article id."""
    if not measured_ahead:
        return {}
    found = {i: measured_ahead.get(key_of(text)) for i, text in wanted.items()}
    return {i: value for i, value in found.items() if isinstance(value, kind)}


def measures_key(text: MeasureInputs) -> str:
    """Every input of one article's measures, with the code and codebooks that compute them, hashed."""
    return input_key(text, measures_version())


def measure_inputs(headline: str | None, body_text: str, language: str | None) -> MeasureInputs | None:
    """What the framing stage will measure for this article as the warehouse stores it; None when
    framing is undefined for its language."""
    code = framing_language(language)
    return None if code is None else (headline or "", body_text, code)


# One article's work computed ahead: its measure inputs, and the actor lists of the stories it is
# relevant to (its tone toward each list's actors is measured with its framing, sharing its sentences).
AheadJob = tuple[MeasureInputs, tuple[tuple[StoryActor, ...], ...]]


@contextmanager
def measuring_ahead(jobs: Sequence[AheadJob], path: Path) -> Iterator[None]:
    """Measure these articles in worker processes while the caller's block runs, then save the
    measures to ``path`` for the framing stage (``load_measured_ahead``): each article's framing
    measures, and its tone toward the actors of each story it is relevant to.

    The process stage loads and indexes its batch on one core; the others would idle meanwhile, so
    they measure, one worker each, and the loading keeps its core. Without a spare core, or for a
    batch too small for workers, the framing stage measures as before. A failure here is logged and
    costs nothing but time: the framing stage measures whatever it does not find."""
    spare_cores = default_workers() - 1
    if spare_cores < 1 or len(jobs) < MIN_PAGES_FOR_WORKERS:
        yield
        return
    if any(actor_lists for _, actor_lists in jobs):
        load_tone_model()  # once here: forked workers inherit it
    with mapped_in_background(_measure_ahead, jobs, workers=spare_cores) as measured:
        yield
        try:
            save_measured_ahead(path, jobs, measured())
        except Exception:
            logger.exception("framing measures computed ahead are not saved; the framing stage computes them")


def _measure_ahead(job: AheadJob) -> tuple[ArticleFraming, tuple[tuple[ActorTone, ...], ...]]:
    text, actor_lists = job
    framing, _ = _measure_job((text, None))
    tones = tuple(actor_tones(*text, actors) for actors in actor_lists)  # the sentence tones are shared
    return framing, tones


def save_measured_ahead(
    path: Path,
    jobs: Sequence[AheadJob],
    results: Sequence[tuple[ArticleFraming, tuple[tuple[ActorTone, ...], ...]]],
) -> None:
    saved: dict[str, object] = {}
    for (text, actor_lists), (framing, tones) in zip(jobs, results, strict=True):
        saved[measures_key(text)] = framing
        saved.update((tones_key(text, actors), tone) for actors, tone in zip(actor_lists, tones, strict=True))
    save_keyed(path, saved)


def tones_key(text: MeasureInputs, actors: Sequence[StoryActor]) -> str:
    """Every input of one article's tone toward these actors, with the code and model, hashed."""
    return input_key((text, tuple(actors)), measures_version(), tone_model_digest())


def load_measured_ahead(path: Path) -> dict[str, object]:
    """Measures saved by ``save_measured_ahead``; a missing or unreadable file gives none (they are
    computed again). Every story's framing of a run reads the same file: it is read once per process
    while it stays the same file (its size and modification time)."""
    try:
        stat = path.stat()
    except OSError:
        return {}
    return dict(_measured_ahead_file(path, stat.st_mtime_ns, stat.st_size))


@lru_cache(maxsize=2)
def _measured_ahead_file(path: Path, _mtime_ns: int, _size: int) -> dict[str, object]:
    """Framing measures and tones toward actors (tuples of ``ActorTone``); anything else is ignored."""
    return {key: value for key, value in load_keyed(path).items() if is_measure(value)}


def is_measure(value: object) -> bool:
    return isinstance(value, ArticleFraming) or (
        isinstance(value, tuple) and all(isinstance(tone, ActorTone) for tone in value)
    )


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
