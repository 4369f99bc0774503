"""The persisted syndication index: MinHash signatures and LSH band keys kept in the warehouse.

A new article is matched against history with one indexed lookup on ``lsh_buckets`` (band, key),
then verified against the stored signatures of those few candidates: never all-pairs.
Copies of one text form a cluster; the cluster's likely original is re-decided from evidence
(pipeline.dedupe.copies.likely_original) whenever a member joins.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlalchemy import Connection, bindparam, delete, select, tuple_

from pipeline.dedupe.copies import (
    COPY_THRESHOLD,
    NUM_PERM,
    Signature,
    copy_differences,
    estimated_jaccard,
    likely_original,
    lsh_band_keys,
    signature_from_bytes,
    signature_to_bytes,
    text_signature,
)
from pipeline.load.warehouse import COPY_MIN_ROWS, copy_into_temporary, insert_new_rows, upsert_rows
from pipeline.speedup.workers import map_in_order
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
    connection: Connection,
    articles: Sequence[NormalisedArticle],
    ids: Mapping[str, int],
    signatures: Mapping[str, bytes] | None = None,
) -> int:
    """Index the batch's signatures and attach each article to a copy cluster when one of its copies is known.

    The whole batch is indexed first with bulk statements, candidates are read with one lookup per
    chunk of articles, and articles are then matched in publication order (so a re-run finds the same
    clusters) against the earlier articles of other outlets. Returns how many articles joined or
    founded a cluster.

    ``signatures`` holds the articles' signatures as stored (``text_signature``, ``signature_to_bytes``)
    by url_hash when already computed (the process stage computes them in its workers; an article
    without one has no words); else they are computed here.
    """
    if signatures is None:
        signatures = _batch_signatures(articles)
    blobs = {ids[a.url_hash]: signatures[a.url_hash] for a in articles if a.url_hash in signatures}
    by_id = {article_id: signature_from_bytes(blob) for article_id, blob in blobs.items()}
    keys_of = {article_id: lsh_band_keys(signature) for article_id, signature in by_id.items()}
    _refresh_signatures(connection, blobs, keys_of)
    index = _BatchIndex.read(connection, by_id, keys_of)
    joining: list[dict[str, Any]] = []
    touched: set[int] = set()
    for article in sorted(articles, key=_publication_order):
        article_id = ids[article.url_hash]
        if article_id not in by_id:
            continue
        index.mark_matched(article_id)
        if article_id in index.cluster_of:
            touched.add(index.cluster_of[article_id])  # its text may have changed: re-checked below
            continue
        match = index.best_copy_candidate(article_id, by_id[article_id])
        if match is not None:
            cluster_id = _cluster_to_join(connection, match, index.cluster_of)
            index.cluster_of[article_id] = cluster_id
            joining.append(_member_row(cluster_id, article_id))
            touched.add(cluster_id)
    upsert_rows(connection, SyndicationMember, joining, ["article_id"])  # one statement for the batch
    # Once per cluster and batch, not per joining member: big wire clusters stay linear.
    _settle_clusters(connection, sorted(touched))
    return len(joining)


def _publication_order(article: NormalisedArticle) -> tuple:
    return (article.published_at or article.fetched_at, article.url_hash)


CHUNK = 400  # articles per bulk lookup: 32 band keys each stay well inside parameter limits


def _chunks(values: Sequence[Any], size: int = CHUNK) -> Iterator[Sequence[Any]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


def _batch_signatures(articles: Sequence[NormalisedArticle]) -> dict[str, bytes]:
    signed = ((a.url_hash, text_signature(a.body_text)) for a in articles)
    return {url: signature_to_bytes(signature) for url, signature in signed if signature is not None}


def _refresh_signatures(
    connection: Connection, blobs: Mapping[int, bytes], keys_of: Mapping[int, list[tuple[int, str]]]
) -> None:
    """Store the new or changed signatures (by article id, as stored) with their band keys."""
    stored: dict[int, bytes] = {}
    for chunk in _chunks(sorted(blobs)):
        stored.update(connection.execute(
            select(ArticleSignature.article_id, ArticleSignature.signature).where(ArticleSignature.article_id.in_(chunk))
        ).all())  # fmt: skip
    changed = sorted(i for i, blob in blobs.items() if stored.get(i) != blob)
    for chunk in _chunks(changed):
        # A changed text's old bucket rows would match copies of a text it no longer has.
        connection.execute(delete(LshBucket).where(LshBucket.article_id.in_(chunk)))
    upsert_rows(connection, ArticleSignature, [{"article_id": i, "signature": blobs[i]} for i in changed],
                ["article_id"], ["signature"])  # fmt: skip
    buckets = [
        {"band": band, "bucket_key": key, "article_id": i} for i in changed for band, key in keys_of[i]
    ]
    insert_new_rows(connection, LshBucket, buckets, ["band", "bucket_key", "article_id"])


class _BatchIndex:
    """The part of the persisted index this batch can match against, read in bulk.

    Every article involved (the batch and the history articles sharing a band key with it) has a row
    in numpy arrays, in id order, so an article's candidates are filtered and scored in one step.
    """

    def __init__(
        self,
        article_ids: np.ndarray,
        sharing: Mapping[int, np.ndarray],
        signatures: Mapping[int, Signature],
        outlet_of: Mapping[int, int],
        cluster_of: dict[int, int],
        matched: set[int],
    ):
        self.article_ids = article_ids  # sorted: a row's position is its id's rank
        # article -> rows of the articles sharing at least one band key with it, in id order
        self.sharing = sharing
        self.row_of = {int(article_id): row for row, article_id in enumerate(article_ids)}
        self.has_signature = np.array([int(a) in signatures for a in article_ids], dtype=bool)
        blank = np.zeros(NUM_PERM, dtype=np.uint32)
        self.signatures = np.stack([signatures.get(int(a), blank) for a in article_ids] or [blank])
        self.outlets = np.array([outlet_of.get(int(a), -1) for a in article_ids], dtype=np.int64)
        self.cluster_of = cluster_of
        # History plus the batch's articles already taken in publication order: an article is matched
        # only against these, so copies join the cluster their predecessors formed instead of founding
        # new ones with later copies.
        self.matched = np.array([int(a) in matched for a in article_ids], dtype=bool)

    @classmethod
    def read(
        cls,
        connection: Connection,
        batch: Mapping[int, Signature],
        keys_of: Mapping[int, list[tuple[int, str]]],
    ) -> _BatchIndex:
        holders = _bucket_holders(connection, {key for keys in keys_of.values() for key in keys})
        no_one = np.zeros(0, dtype=np.int64)
        shared = {
            a: np.unique(np.concatenate([holders.get(key, no_one) for key in keys] or [no_one]))
            for a, keys in keys_of.items()
        }
        everyone = np.unique(np.concatenate([np.fromiter(batch, dtype=np.int64), *shared.values()]))
        sharing = {a: np.searchsorted(everyone, others[others != a]) for a, others in shared.items()}
        history = sorted(set(everyone.tolist()) - set(batch))
        signatures = {**_stored_signatures(connection, history), **batch}
        ids = everyone.tolist()
        return cls(everyone, sharing, signatures, _outlets(connection, ids), _memberships(connection, ids),
                   set(history))  # fmt: skip

    def mark_matched(self, article_id: int) -> None:
        self.matched[self.row_of[article_id]] = True

    def best_copy_candidate(self, article_id: int, signature: Signature) -> tuple[int, float] | None:
        """The most similar article of another outlet whose text this one copies (or is copied by);
        among equally similar ones the earliest indexed (lowest id)."""
        rows = self.sharing.get(article_id)
        if rows is None or not rows.size:
            return None
        outlet = self.outlets[self.row_of[article_id]]
        # one outlet repeating itself is a duplicate, not a copy
        rows = rows[self.matched[rows] & self.has_signature[rows] & (self.outlets[rows] != outlet)]
        if not rows.size:
            return None
        similarities = np.count_nonzero(self.signatures[rows] == signature, axis=1) / NUM_PERM
        best = int(np.argmax(similarities))  # the first maximum: the lowest id among ties
        if similarities[best] < COPY_THRESHOLD:
            return None
        return int(self.article_ids[rows[best]]), float(similarities[best])


def _bucket_holders(connection: Connection, keys: set[tuple[int, str]]) -> dict[tuple[int, str], np.ndarray]:
    """The article ids in each of these buckets."""
    holders: dict[tuple[int, str], list[int]] = {}
    for band, key, article_id in _bucket_rows(connection, sorted(keys)):
        holders.setdefault((band, key), []).append(article_id)
    return {key: np.array(ids, dtype=np.int64) for key, ids in holders.items()}


def _bucket_rows(connection: Connection, keys: Sequence[tuple[int, str]]) -> Iterator[tuple[int, str, int]]:
    """(band, key, article id) of the articles in these buckets: on PostgreSQL a large batch's keys are
    COPYed into a temporary table and joined (one query); otherwise looked up in chunks."""
    bucket = LshBucket.__table__
    if connection.dialect.name == "postgresql" and len(keys) >= COPY_MIN_ROWS:
        wanted = copy_into_temporary(
            connection,
            "wanted_buckets",
            bucket,
            ["band", "bucket_key"],
            ({"band": b, "bucket_key": k} for b, k in keys),
        )
        yield from connection.execute(
            select(bucket.c.band, bucket.c.bucket_key, bucket.c.article_id).join(
                wanted, (wanted.c.band == bucket.c.band) & (wanted.c.bucket_key == bucket.c.bucket_key)
            )
        )
        return
    for chunk in _chunks(keys, CHUNK * 8):
        yield from connection.execute(
            select(bucket.c.band, bucket.c.bucket_key, bucket.c.article_id).where(
                tuple_(bucket.c.band, bucket.c.bucket_key).in_(chunk)
            )
        )


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


def _settle_clusters(connection: Connection, cluster_ids: Sequence[int]) -> None:
    """Decide each cluster's likely original, then describe its new or changed copies against it.

    A copy's differences are computed once per (original, original text, copy text): the stamp kept
    in ``differences["against"]`` says which, so a batch only reads the texts of new or changed members.
    The descriptions (difflib over paragraphs, pure) of every cluster are computed together, in worker
    processes for a large batch, and written in one statement.
    """
    stale: list[_StaleMember] = []
    for cluster_id in cluster_ids:
        stale += _decide_original(connection, cluster_id)
    if not stale:
        return
    involved = sorted({i for member in stale for i in (member.original_id, member.member_id)})
    texts, signatures = _texts(connection, involved), _stored_signatures(connection, involved)
    copies = [member for member in stale if not member.is_original]
    described = dict(zip(
        [member.member_id for member in copies],
        map_in_order(_described_copy, [(texts[m.original_id], texts[m.member_id]) for m in copies]),
        strict=True,
    ))  # fmt: skip
    updates = [
        {
            "member_id": member.member_id,
            "is_original": member.is_original,
            "similarity": 1.0 if member.is_original else round(
                estimated_jaccard(signatures[member.original_id], signatures[member.member_id]), 4
            ),
            "differences": {**described.get(member.member_id, {}), "against": member.stamp},
        }
        for member in stale
    ]  # fmt: skip
    member_table = SyndicationMember.__table__
    connection.execute(
        member_table.update()
        .where(member_table.c.article_id == bindparam("member_id"))
        .values(
            is_original=bindparam("is_original"),
            similarity=bindparam("similarity"),
            differences=bindparam("differences"),
        ),  # fmt: skip
        updates,
    )


@dataclass(frozen=True)
class _StaleMember:
    original_id: int
    member_id: int
    stamp: list[Any]

    @property
    def is_original(self) -> bool:
        return self.member_id == self.original_id


def _decide_original(connection: Connection, cluster_id: int) -> list[_StaleMember]:
    """Store the cluster's likely original; its members whose description is missing or out of date."""
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
    return [
        _StaleMember(original_id, member_id, stamp)
        for member_id, member in sorted(members.items())
        if current.get(member_id) != (stamp := _stamp(member_id == original_id, original, member))
    ]


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


HeadlineAndBody = tuple[str | None, str]


def _described_copy(texts: tuple[HeadlineAndBody, HeadlineAndBody]) -> dict[str, object]:
    """``copy_differences`` of (original, copy): a module-level function, so workers can run it."""
    (original_headline, original_body), (headline, body) = texts
    return copy_differences(original_body, body, original_headline, headline)


def _texts(connection: Connection, article_ids: Sequence[int]) -> dict[int, HeadlineAndBody]:
    texts: dict[int, HeadlineAndBody] = {}
    for chunk in _chunks(article_ids):
        rows = connection.execute(
            select(Article.id, Article.headline, Article.body_text).where(Article.id.in_(chunk))
        )
        texts.update((article_id, (headline, body)) for article_id, headline, body in rows)
    return texts


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
