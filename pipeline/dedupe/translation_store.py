"""Translated copies in the warehouse: the batch's articles linked to earlier articles in another
language (``pipeline.dedupe.translation``), after syndication has put same-language copies in clusters.

History is what can be translated: articles of the window before the batch (``translation.WINDOW``),
read once per batch, so a run's cost is its new articles plus one window of history, never all pairs.
A copy in a cluster is neither linked nor a candidate: its cluster's original carries the link.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from sqlalchemy import Connection, and_, delete, select

from pipeline.dedupe.translation import WINDOW, AnchorIndex, TranslationCandidate, link_translations
from pipeline.load.warehouse import upsert_rows
from schemas.models import Article, SyndicationMember, TranslationLink
from schemas.records import NormalisedArticle

CHUNK = 500


def link_batch_translations(
    connection: Connection, articles: Sequence[NormalisedArticle], ids: Mapping[str, int]
) -> int:
    """Store the translation links of the batch's articles (replacing theirs: a re-run or an edited
    text decides again). Returns how many articles were linked."""
    dated = [(a, _moment(a)) for a in articles if a.url_hash in ids and a.language and a.body_text]
    if not dated:
        return 0
    batch_ids = sorted({ids[a.url_hash] for a, _ in dated})
    copies = _copies(connection, batch_ids)
    batch = [
        TranslationCandidate.of(str(ids[a.url_hash]), a.language, moment, a.body_text)
        for a, moment in dated
        if ids[a.url_hash] not in copies
    ]
    earliest = min(moment for _, moment in dated)
    # The batch with the stored articles of the window, decided together in publication order: an
    # original that arrives after its translation (a page recovered a cycle late) links the translation
    # already stored, so the links do not depend on the order pages were fetched in. Articles published
    # from the batch's earliest on are decided again; older ones keep their links (their originals may
    # lie before the window).
    candidates = [*batch, *_history(connection, earliest, set(batch_ids))]
    redecided = sorted(set(batch_ids) | {int(c.key) for c in candidates if c.published >= earliest})
    links = [
        link
        for link in link_translations(candidates, frozenset(), AnchorIndex())
        if int(link.translation) in redecided
    ]
    for start in range(0, len(redecided), CHUNK):
        chunk = redecided[start : start + CHUNK]
        connection.execute(delete(TranslationLink).where(TranslationLink.article_id.in_(chunk)))
    # A link belongs to a cluster's original: an article that has since become a copy (its original
    # arrived later) loses the link it got while it looked original.
    now_copies = select(SyndicationMember.article_id).where(SyndicationMember.is_original.is_(False))
    connection.execute(delete(TranslationLink).where(TranslationLink.article_id.in_(now_copies)))
    languages = {c.key: c.language for c in candidates}
    rows = [
        {
            "article_id": int(link.translation),
            "original_article_id": int(link.original),
            "kind": "translation",
            "original_language": languages[link.original],
            "score": link.evidence.score,
            "evidence": link.evidence.as_dict(),
        }
        for link in links
    ]
    upsert_rows(connection, TranslationLink, rows, ["article_id"])
    return len(rows)


def _moment(article: NormalisedArticle) -> datetime:
    return article.published_at or article.fetched_at


def _copies(connection: Connection, article_ids: Sequence[int]) -> set[int]:
    copies: set[int] = set()
    for start in range(0, len(article_ids), CHUNK):
        chunk = article_ids[start : start + CHUNK]
        copies.update(connection.scalars(
            select(SyndicationMember.article_id).where(
                SyndicationMember.article_id.in_(chunk), SyndicationMember.is_original.is_(False)
            )
        ))  # fmt: skip
    return copies


def _history(connection: Connection, since: datetime, batch_ids: set[int]) -> list[TranslationCandidate]:
    """Articles published in the window before the batch's earliest, other than the batch's and copies."""
    rows = connection.execute(
        select(Article.id, Article.language, Article.published_at, Article.body_text)
        .outerjoin(
            SyndicationMember,
            and_(SyndicationMember.article_id == Article.id, SyndicationMember.is_original.is_(False)),
        )
        .where(
            SyndicationMember.id.is_(None),
            Article.published_at >= since - WINDOW,
            Article.language.is_not(None),
        )
    )
    return [
        TranslationCandidate.of(str(row.id), row.language, row.published_at, row.body_text)
        for row in rows
        if row.id not in batch_ids and row.body_text
    ]
