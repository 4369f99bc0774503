"""The persisted syndication index: MinHash signatures and LSH band keys kept in the warehouse.

A new article is matched against history with one indexed lookup on ``lsh_buckets`` (band, key),
then verified against the stored signatures of those few candidates: never all-pairs.
Copies of one text form a cluster; the cluster's likely original is re-decided from evidence
(pipeline.dedupe.likely_original) whenever a member joins.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, bindparam, delete, select, tuple_

from pipeline.dedupe import (
    COPY_THRESHOLD,
    copy_differences,
    estimated_jaccard,
    likely_original,
    lsh_band_keys,
    minhash_signature,
    shingle_tokens,
    signature_from_bytes,
    signature_to_bytes,
)
from pipeline.load import upsert_rows
from schemas.models import (
    Article,
    ArticleSignature,
    LshBucket,
    Outlet,
    SyndicationCluster,
    SyndicationMember,
)
from schemas.records import NormalisedArticle


def index_and_cluster(
    connection: Connection, articles: Sequence[NormalisedArticle], ids: Mapping[str, int]
) -> int:
    """Index each article's signature and attach it to a copy cluster when history holds its copy.

    Articles are taken in publication order so a re-run finds the same clusters. Returns how many
    articles joined or founded a cluster.
    """
    joined = 0
    touched: set[int] = set()
    for article in sorted(articles, key=_publication_order):
        article_id = ids[article.url_hash]
        signature = _refresh_signature(connection, article_id, article.body_text)
        if signature is None:
            continue
        cluster_id = _cluster_of(connection, article_id)
        if cluster_id is not None:
            touched.add(cluster_id)  # its text may have changed: its differences are re-checked below
            continue
        match = _best_copy_candidate(connection, article_id, signature)
        if match is not None:
            touched.add(_join_cluster(connection, article_id, match))
            joined += 1
    # Once per cluster and batch, not per joining member: big wire clusters stay linear.
    for cluster_id in sorted(touched):
        _decide_original(connection, cluster_id)
    return joined


def _publication_order(article: NormalisedArticle) -> tuple:
    return (article.published_at or article.fetched_at, article.url_hash)


def _refresh_signature(connection: Connection, article_id: int, body_text: str):
    if not shingle_tokens(body_text):
        return None
    signature = minhash_signature(body_text)
    stored = connection.execute(
        select(ArticleSignature.signature).where(ArticleSignature.article_id == article_id)
    ).scalar()
    if stored == signature_to_bytes(signature):
        return signature
    # The text changed (or is new): its old bucket rows would match copies of a text it no longer has.
    connection.execute(delete(LshBucket).where(LshBucket.article_id == article_id))
    upsert_rows(connection, ArticleSignature, [{"article_id": article_id, "signature": signature_to_bytes(signature)}],
                ["article_id"], ["signature"])  # fmt: skip
    rows = [
        {"band": band, "bucket_key": key, "article_id": article_id} for band, key in lsh_band_keys(signature)
    ]
    upsert_rows(connection, LshBucket, rows, ["band", "bucket_key", "article_id"])
    return signature


def _cluster_of(connection: Connection, article_id: int) -> int | None:
    return connection.execute(
        select(SyndicationMember.cluster_id).where(SyndicationMember.article_id == article_id)
    ).scalar()


def _best_copy_candidate(connection: Connection, article_id: int, signature) -> tuple[int, float] | None:
    """The most similar earlier article of another outlet whose text this one copies (or is copied by)."""
    keys = lsh_band_keys(signature)
    outlet_id = select(Article.outlet_id).where(Article.id == article_id).scalar_subquery()
    rows = connection.execute(
        select(ArticleSignature.article_id, ArticleSignature.signature)
        .join(Article, Article.id == ArticleSignature.article_id)
        .where(
            ArticleSignature.article_id.in_(
                select(LshBucket.article_id).where(tuple_(LshBucket.band, LshBucket.bucket_key).in_(keys))
            ),
            ArticleSignature.article_id != article_id,
            Article.outlet_id != outlet_id,  # one outlet repeating itself is a duplicate, not syndication
        )
    ).all()
    scored = [(estimated_jaccard(signature, signature_from_bytes(blob)), other) for other, blob in rows]
    verified = [(similarity, other) for similarity, other in scored if similarity >= COPY_THRESHOLD]
    if not verified:
        return None
    similarity, other = max(verified, key=lambda pair: (pair[0], -pair[1]))
    return other, similarity


def _join_cluster(connection: Connection, article_id: int, match: tuple[int, float]) -> int:
    other_id, _similarity = match
    cluster_id = _cluster_of(connection, other_id)
    if cluster_id is None:
        cluster_id = _found_cluster(connection, other_id)
    upsert_rows(connection, SyndicationMember, [_member_row(cluster_id, article_id)], ["article_id"])
    return cluster_id


def _found_cluster(connection: Connection, founder_id: int) -> int:
    key = connection.execute(select(Article.url_hash).where(Article.id == founder_id)).scalar_one()
    upsert_rows(
        connection,
        SyndicationCluster,
        [{"cluster_key": key, "original_article_id": founder_id}],
        ["cluster_key"],
    )
    cluster_id = connection.execute(
        select(SyndicationCluster.id).where(SyndicationCluster.cluster_key == key)
    ).scalar_one()
    upsert_rows(connection, SyndicationMember, [_member_row(cluster_id, founder_id)], ["article_id"])
    return cluster_id


def _member_row(cluster_id: int, article_id: int) -> dict[str, Any]:
    return {"cluster_id": cluster_id, "article_id": article_id, "similarity": 1.0, "is_original": False}


def _decide_original(connection: Connection, cluster_id: int) -> None:
    """Choose the cluster's likely original and describe each copy against it.

    A copy's differences are computed once per (original, original text, copy text): the stamp kept
    in ``differences["against"]`` says which, so a batch only reads the texts of new or changed members.
    """
    members = _cluster_articles(connection, cluster_id)
    wire_outlets = _wire_outlet_names(connection, [m.outlet for m in members.values()])
    original, reason = likely_original(list(members.values()), wire_outlets)
    original_id = next(i for i, m in members.items() if m is original)
    connection.execute(
        SyndicationCluster.__table__.update()
        .where(SyndicationCluster.id == cluster_id)
        .values(original_article_id=original_id, original_reason={"reason": reason})
    )
    current = _member_states(connection, cluster_id)
    stale = {
        member_id: stamp
        for member_id, member in members.items()
        if current.get(member_id) != (stamp := _stamp(member_id == original_id, original, member))
    }
    if stale:
        _describe_members(connection, original_id, stale)


def _stamp(is_original: bool, original: NormalisedArticle, member: NormalisedArticle) -> list[Any]:
    # Content hashes, not ids: surrogate ids differ between warehouses holding the same rows.
    return [original.content_hash, member.content_hash, is_original]


def _member_states(connection: Connection, cluster_id: int) -> dict[int, Any]:
    rows = connection.execute(
        select(SyndicationMember.article_id, SyndicationMember.differences).where(
            SyndicationMember.cluster_id == cluster_id
        )
    )
    return {article_id: (differences or {}).get("against") for article_id, differences in rows}


def _describe_members(connection: Connection, original_id: int, stale: Mapping[int, list[Any]]) -> None:
    texts = _texts(connection, [original_id, *stale])
    signatures = _signatures(connection, [original_id, *stale])
    original_headline, original_body = texts[original_id]
    updates = []
    for member_id, stamp in sorted(stale.items()):
        is_original = member_id == original_id
        headline, body = texts[member_id]
        differences = (
            {} if is_original else copy_differences(original_body, body, original_headline, headline)
        )
        similarity = 1.0 if is_original else estimated_jaccard(signatures[original_id], signatures[member_id])
        updates.append({"member_id": member_id, "is_original": is_original, "similarity": round(similarity, 4),
                        "differences": {**differences, "against": stamp}})  # fmt: skip
    member = SyndicationMember.__table__
    connection.execute(
        member.update()
        .where(member.c.article_id == bindparam("member_id"))
        .values(
            is_original=bindparam("is_original"),
            similarity=bindparam("similarity"),
            differences=bindparam("differences"),
        ),  # fmt: skip
        updates,
    )


def _texts(connection: Connection, article_ids: Sequence[int]) -> dict[int, tuple[str | None, str]]:
    rows = connection.execute(
        select(Article.id, Article.headline, Article.body_text).where(Article.id.in_(article_ids))
    )
    return {article_id: (headline, body) for article_id, headline, body in rows}


def _signatures(connection: Connection, article_ids: Sequence[int]) -> dict[int, Any]:
    rows = connection.execute(
        select(ArticleSignature.article_id, ArticleSignature.signature).where(
            ArticleSignature.article_id.in_(article_ids)
        )
    )
    return {article_id: signature_from_bytes(blob) for article_id, blob in rows}


def _wire_outlet_names(connection: Connection, names: list[str]) -> set[str]:
    return set(
        connection.execute(
            select(Outlet.name).where(Outlet.name.in_(names), Outlet.outlet_type == "wire")
        ).scalars()
    )


_RECORD_COLUMNS = (
    Article.id, Outlet.name, Article.canonical_url, Article.url_hash, Article.headline, Article.dek,
    Article.authors, Article.published_at, Article.modified_at, Article.language, Article.section,
    Article.word_count, Article.content_hash, Article.last_seen_at,
)  # fmt: skip


def _cluster_articles(connection: Connection, cluster_id: int) -> dict[int, NormalisedArticle]:
    rows = connection.execute(
        select(*_RECORD_COLUMNS)
        .join(SyndicationMember, SyndicationMember.article_id == Article.id)
        .join(Outlet, Outlet.id == Article.outlet_id)
        .where(SyndicationMember.cluster_id == cluster_id)
        .order_by(Article.id)
    ).all()
    return {row[0]: _as_record(row) for row in rows}


def _as_record(row: Any) -> NormalisedArticle:
    (_, outlet, canonical_url, url_hash, headline, dek, authors, published_at, modified_at, language, section,
     word_count, content_hash, last_seen_at) = row  # fmt: skip
    return NormalisedArticle(
        outlet=outlet, canonical_url=canonical_url, url_hash=url_hash, aliases=(), headline=headline, dek=dek,
        authors=tuple(authors or ()), published_at=published_at, modified_at=modified_at, language=language,
        section=section, body_text="", word_count=word_count, content_hash=content_hash,
        fetched_at=last_seen_at,
    )  # fmt: skip
