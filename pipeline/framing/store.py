"""The framing stage's warehouse side: measure a story's articles and store the measures.

``compute_story_framing`` frames every relevant article whose content changed since it was last
framed (``article_framing.content_hash`` is the version the measures were computed on), replaces that
article's detail rows, and recomputes the story's distinctive terms per outlet. It writes nothing
that depends on the clock, so running it twice leaves the warehouse as it was.
"""

from __future__ import annotations

import logging
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import Connection, delete, exists, select

from pipeline.framing.lexicon import check_language, measures_version
from pipeline.framing.measures import article_framing, full_text, warehouse_fields
from pipeline.framing.outlets import distinctive_terms_of_counts, ngram_counts
from pipeline.load.warehouse import upsert_rows
from pipeline.speedup.ahead import input_key, taken_or_computed
from pipeline.speedup.workers import (
    map_in_order,
)
from schemas.framing_records import ArticleFraming, DistinctiveTerm
from schemas.models import (
    Article,
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
    """Frame the story's new or changed relevant articles and refresh its distinctive terms.

    ``known`` holds measures computed earlier (``pipeline.speedup.ahead``) under ``measures_key`` of
    their inputs: an article whose key is there is not measured again.

    Returns outcome counts: ``framed``, ``unchanged`` (already framed on this content) and
    ``unsupported-language`` (framing is defined for English and Spanish only), plus
    ``distinctive-terms``, the number of outlet term rows the story now has.
    """
    story_id = story_id_of(connection, story_slug)
    pending = articles_to_frame(connection, story_id)
    outcomes = Counter({"framed": 0, "unchanged": pending.unchanged, "unsupported-language": 0})
    # One definition of what is measured (measure_inputs), whoever measures it and whenever.
    inputs_of = {a.article_id: measure_inputs(a.headline, a.body_text, a.language) for a in pending.articles}
    framable = [article for article in pending.articles if inputs_of[article.article_id]]
    framings = taken_or_computed(
        [inputs_of[a.article_id] for a in framable], measures_key, _framings(known or {}), _measure_all
    )
    unsupported = [
        article.article_id for article in pending.articles if inputs_of[article.article_id] is None
    ]
    # Measures of an earlier, framable version would no longer describe these articles.
    clear_article_framing(connection, unsupported)
    outcomes["unsupported-language"] += len(unsupported)
    store_articles_framing(connection, list(zip(framable, framings, strict=True)))
    outcomes["framed"] += len(framable)
    outcomes["distinctive-terms"] = store_outlet_story_terms(connection, story_id)
    return dict(outcomes)


def measure(text: MeasureInputs) -> ArticleFraming:
    """One article's framing measures from what ``measure_inputs`` gives (a picklable tuple, so that
    worker processes can run it)."""
    headline, body_text, language = text
    return article_framing(headline, body_text, language)


def _measure_all(inputs: list[MeasureInputs]) -> list[ArticleFraming]:
    """The measures are pure and CPU-bound: computed in worker processes."""
    return map_in_order(measure, inputs)


def _framings(known: Mapping[str, object]) -> dict[str, ArticleFraming]:
    return {key: framing for key, framing in known.items() if isinstance(framing, ArticleFraming)}


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
