"""The persisted syndication index: MinHash signatures and LSH band keys kept in the warehouse.

A new article is matched against history with one indexed lookup on ``lsh_buckets`` (band, key),
then verified against the stored signatures of those few candidates: never all-pairs.
Copies of one text form a cluster; the cluster's likely original is re-decided from evidence
(pipeline.dedupe.likely_original) whenever a member joins.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlalchemy import Connection, bindparam, delete, select, tuple_

from pipeline.dedupe import (
    COPY_THRESHOLD,
    copy_differences,
    estimated_jaccard,
    estimated_jaccards,
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
    """Index the batch's signatures and attach each article to a copy cluster when one of its copies is known.

    The whole batch is indexed first with bulk statements, candidates are read with one lookup per
    chunk of articles, and articles are then matched in publication order (so a re-run finds the same
    clusters) against the earlier articles of other outlets. Returns how many articles joined or
    founded a cluster.
    """
    signatures = _refresh_signatures(connection, articles, ids)
    index = _BatchIndex.read(connection, signatures)
    joining: list[dict[str, Any]] = []
    touched: set[int] = set()
    for article in sorted(articles, key=_publication_order):
        article_id = ids[article.url_hash]
        if article_id not in signatures:
            continue
        index.matched_so_far.add(article_id)
        if article_id in index.cluster_of:
            touched.add(index.cluster_of[article_id])  # its text may have changed: re-checked below
            continue
        match = index.best_copy_candidate(article_id, signatures[article_id])
        if match is not None:
            cluster_id = _cluster_to_join(connection, match, index.cluster_of)
            index.cluster_of[article_id] = cluster_id
            joining.append(_member_row(cluster_id, article_id))
            touched.add(cluster_id)
    upsert_rows(connection, SyndicationMember, joining, ["article_id"])  # one statement for the batch
    # Once per cluster and batch, not per joining member: big wire clusters stay linear.
    for cluster_id in sorted(touched):
        _decide_original(connection, cluster_id)
    return len(joining)


def _publication_order(article: NormalisedArticle) -> tuple:
    return (article.published_at or article.fetched_at, article.url_hash)


CHUNK = 400  # articles per bulk lookup: 32 band keys each stay well inside parameter limits


def _chunks(values: Sequence[Any], size: int = CHUNK) -> Iterator[Sequence[Any]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


def _refresh_signatures(
    connection: Connection, articles: Sequence[NormalisedArticle], ids: Mapping[str, int]
) -> dict[int, Any]:
    """Each article's MinHash signature; new or changed ones are stored with their band keys."""
    signatures = {
        ids[a.url_hash]: minhash_signature(a.body_text) for a in articles if shingle_tokens(a.body_text)
    }
    stored: dict[int, bytes] = {}
    for chunk in _chunks(sorted(signatures)):
        stored.update(connection.execute(
            select(ArticleSignature.article_id, ArticleSignature.signature).where(ArticleSignature.article_id.in_(chunk))
        ).all())  # fmt: skip
    changed = sorted(
        i for i, signature in signatures.items() if stored.get(i) != signature_to_bytes(signature)
    )
    for chunk in _chunks(changed):
        # A changed text's old bucket rows would match copies of a text it no longer has.
        connection.execute(delete(LshBucket).where(LshBucket.article_id.in_(chunk)))
    upsert_rows(connection, ArticleSignature, [{"article_id": i, "signature": signature_to_bytes(signatures[i])}
                                               for i in changed], ["article_id"], ["signature"])  # fmt: skip
    buckets = [{"band": band, "bucket_key": key, "article_id": i} for i in changed
               for band, key in lsh_band_keys(signatures[i])]  # fmt: skip
    upsert_rows(connection, LshBucket, buckets, ["band", "bucket_key", "article_id"])
    return signatures


@dataclass
class _BatchIndex:
    """The part of the persisted index this batch can match against, read in bulk."""

    sharing: dict[int, set[int]]  # article -> articles sharing at least one band key with it
    signatures: dict[int, Any]
    outlet_of: dict[int, int]
    cluster_of: dict[int, int]
    # History plus the batch's articles already taken in publication order: an article is matched
    # only against these, so copies join the cluster their predecessors formed instead of founding
    # new ones with later copies.
    matched_so_far: set[int]

    @classmethod
    def read(cls, connection: Connection, batch: Mapping[int, Any]) -> _BatchIndex:
        keys_of = {article_id: lsh_band_keys(signature) for article_id, signature in batch.items()}
        holders = _bucket_holders(connection, {key for keys in keys_of.values() for key in keys})
        sharing = {a: {h for key in keys for h in holders.get(key, ())} - {a} for a, keys in keys_of.items()}
        everyone = sorted(set(batch) | {other for others in sharing.values() for other in others})
        history = set(everyone) - set(batch)
        return cls(sharing, _stored_signatures(connection, everyone), _outlets(connection, everyone),
                   _memberships(connection, everyone), history)  # fmt: skip

    def best_copy_candidate(self, article_id: int, signature: Any) -> tuple[int, float] | None:
        """The most similar article of another outlet whose text this one copies (or is copied by);
        among equally similar ones the earliest indexed (lowest id)."""
        outlet = self.outlet_of[article_id]
        others = sorted(
            other
            for other in self.sharing.get(article_id, ())
            if other in self.matched_so_far
            and other in self.signatures
            and self.outlet_of.get(other) != outlet  # one outlet repeating itself is a duplicate
        )
        if not others:
            return None
        similarities = estimated_jaccards(signature, [self.signatures[other] for other in others])
        best = int(np.argmax(similarities))  # the first maximum: the lowest id among ties
        if similarities[best] < COPY_THRESHOLD:
            return None
        return others[best], float(similarities[best])


def _bucket_holders(connection: Connection, keys: set[tuple[int, str]]) -> dict[tuple[int, str], list[int]]:
    holders: dict[tuple[int, str], list[int]] = {}
    for chunk in _chunks(sorted(keys), CHUNK * 8):
        rows = connection.execute(
            select(LshBucket.band, LshBucket.bucket_key, LshBucket.article_id).where(
                tuple_(LshBucket.band, LshBucket.bucket_key).in_(chunk)
            )
        )
        for band, key, article_id in rows:
            holders.setdefault((band, key), []).append(article_id)
    return holders


def _stored_signatures(connection: Connection, article_ids: Sequence[int]) -> dict[int, Any]:
    found: dict[int, Any] = {}
    for chunk in _chunks(article_ids):
        rows = connection.execute(
            select(ArticleSignature.article_id, ArticleSignature.signature).where(
                ArticleSignature.article_id.in_(chunk)
            )
        )
        found.update((article_id, signature_from_bytes(blob)) for article_id, blob in rows)
    return found


def _outlets(connection: Connection, article_ids: Sequence[int]) -> dict[int, int]:
    found: dict[int, int] = {}
    for chunk in _chunks(article_ids):
        found.update(
            connection.execute(select(Article.id, Article.outlet_id).where(Article.id.in_(chunk))).all()
        )
    return found


def _memberships(connection: Connection, article_ids: Sequence[int]) -> dict[int, int]:
    found: dict[int, int] = {}
    for chunk in _chunks(article_ids):
        found.update(connection.execute(
            select(SyndicationMember.article_id, SyndicationMember.cluster_id)
            .where(SyndicationMember.article_id.in_(chunk))
        ).all())  # fmt: skip
    return found


def _cluster_to_join(connection: Connection, match: tuple[int, float], cluster_of: dict[int, int]) -> int:
    """The cluster of the matched article, founded around it when it has none yet."""
    other_id, _similarity = match
    if other_id not in cluster_of:
        cluster_of[other_id] = _found_cluster(connection, other_id)
    return cluster_of[other_id]


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
