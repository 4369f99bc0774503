"""The persisted syndication index: copies across outlets cluster, rewrites do not, re-runs change nothing."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

import pipeline.dedupe.syndication
import pipeline.load.warehouse
from pipeline.config import OutletConfig
from pipeline.dedupe.syndication import index_and_cluster
from pipeline.load.warehouse import load_articles, load_outlets
from pipeline.normalise.canonical import content_hash, word_count
from pipeline.normalise.identity import url_hash
from schemas.models import Article, ArticleSignature, LshBucket, SyndicationCluster, SyndicationMember
from schemas.records import NormalisedArticle

WIRE_TEXT = "\n\n".join(
    f"Paragraph {n} of the wire report: officials said special operations units could be sent to Mexico "
    f"under covert authority while the Mexican government rejected any such plan, number {n}."
    for n in range(1, 9)
)
REWRITE = "\n\n".join(
    f"In our own words, part {n}: Washington is debating a military option against the cartels, and Mexico "
    f"City insists its sovereignty is not negotiable, according to analysts interviewed for item {n}."
    for n in range(1, 9)
)
OUTLETS = [
    OutletConfig(
        name="Wire", homepage="http://127.0.0.1:1/", language="en", country="US", outlet_type="wire"
    ),
    OutletConfig(name="Daily", homepage="http://127.0.0.1:2/", language="en", country="US"),
    OutletConfig(
        name="Border", homepage="http://127.0.0.1:3/", language="en", country="US", outlet_type="local"
    ),
    OutletConfig(name="Review", homepage="http://127.0.0.1:4/", language="en", country="GB"),
]
T0 = datetime(2025, 11, 24, 9, 0, tzinfo=UTC)


def article(outlet: str, port: int, body: str, headline: str, hours: int) -> NormalisedArticle:
    url = f"http://127.0.0.1:{port}/story"
    return NormalisedArticle(
        outlet=outlet, canonical_url=url, url_hash=url_hash(url), aliases=(url,), headline=headline, dek=None,
        authors=(), published_at=T0 + timedelta(hours=hours), modified_at=None, language="en", section=None,
        body_text=body, word_count=word_count(body), content_hash=content_hash(headline, body),
        fetched_at=T0 + timedelta(hours=hours, minutes=5),
    )  # fmt: skip


def batch() -> list[NormalisedArticle]:
    trimmed = "\n\n".join(WIRE_TEXT.split("\n\n")[:6])
    local = WIRE_TEXT + "\n\nLocal officials in our county said they were watching the border closely."
    return [
        article("Wire", 1, WIRE_TEXT, "US weighs cartel strikes", 0),
        article("Daily", 2, trimmed, "Strikes on cartels considered", 2),
        article("Border", 3, local, "What cartel strikes would mean here", 3),
        article("Review", 4, REWRITE, "Washington debates a military option", 1),
    ]


def load_and_cluster(engine: sa.Engine, articles: list[NormalisedArticle]) -> int:
    with engine.begin() as connection:
        load_outlets(connection, OUTLETS)
        ids = load_articles(connection, articles, run_id=None)
        return index_and_cluster(connection, articles, ids)


def members(engine: sa.Engine) -> dict[str, tuple]:
    with engine.connect() as connection:
        rows = connection.execute(
            sa.select(Article.canonical_url, SyndicationMember.is_original, SyndicationMember.differences,
                      SyndicationMember.cluster_id)
            .join(SyndicationMember, SyndicationMember.article_id == Article.id)
        )  # fmt: skip
        return {row[0]: tuple(row[1:]) for row in rows}


def test_copies_cluster_around_the_wire_original_and_the_rewrite_stays_out(warehouse: sa.Engine) -> None:
    assert load_and_cluster(warehouse, batch()) == 2
    found = members(warehouse)
    assert set(found) == {"http://127.0.0.1:1/story", "http://127.0.0.1:2/story", "http://127.0.0.1:3/story"}
    assert len({cluster for *_, cluster in found.values()}) == 1
    assert found["http://127.0.0.1:1/story"][0]  # the wire outlet's text is the original
    assert found["http://127.0.0.1:2/story"][1]["paragraphs_trimmed_at_end"]
    assert found["http://127.0.0.1:3/story"][1]["paragraphs_added"]


def test_clustering_the_same_batch_again_changes_nothing(warehouse: sa.Engine) -> None:
    load_and_cluster(warehouse, batch())
    before = members(warehouse)
    assert load_and_cluster(warehouse, batch()) == 0
    assert members(warehouse) == before
    with warehouse.connect() as connection:
        assert (
            connection.execute(sa.select(sa.func.count()).select_from(SyndicationCluster)).scalar_one() == 1
        )


def test_a_copy_whose_text_changes_is_described_again(warehouse: sa.Engine) -> None:
    load_and_cluster(warehouse, batch())
    daily = batch()[1]
    longer = replace(daily, body_text=WIRE_TEXT, word_count=word_count(WIRE_TEXT),
                     content_hash=content_hash(daily.headline, WIRE_TEXT), fetched_at=daily.fetched_at + timedelta(days=1))  # fmt: skip
    load_and_cluster(warehouse, [longer])
    assert not members(warehouse)["http://127.0.0.1:2/story"][1]["paragraphs_trimmed_at_end"]


def test_the_bulk_path_finds_the_same_clusters_and_inserts_each_bucket_row_once(
    warehouse: sa.Engine, monkeypatch
) -> None:
    # On PostgreSQL a large batch's band keys go through COPY (pipeline.load.warehouse.insert_new_rows) and its
    # candidates through a COPYed key table; forced here for a small batch. SQLite keeps one path.
    load_and_cluster(warehouse, batch())
    expected = members(warehouse)
    with warehouse.connect() as connection:
        buckets = connection.execute(
            sa.select(LshBucket.band, LshBucket.bucket_key, LshBucket.article_id)
        ).all()
    monkeypatch.setattr(pipeline.load.warehouse, "COPY_MIN_ROWS", 1)
    monkeypatch.setattr(pipeline.dedupe.syndication, "COPY_MIN_ROWS", 1)
    with warehouse.begin() as connection:
        for table in (SyndicationMember, SyndicationCluster, LshBucket, ArticleSignature):
            connection.execute(sa.delete(table))
    assert load_and_cluster(warehouse, batch()) == 2
    found = members(warehouse)  # cluster ids are surrogates (a sequence moves on): compared as groups
    assert {url: member[:2] for url, member in found.items()} == {url: m[:2] for url, m in expected.items()}
    assert len({cluster for *_, cluster in found.values()}) == 1
    rows = [{"band": band, "bucket_key": key, "article_id": article} for band, key, article in buckets]
    with warehouse.begin() as connection:
        pipeline.load.warehouse.insert_new_rows(
            connection, LshBucket, rows + rows[:5], ["band", "bucket_key", "article_id"]
        )
        stored = connection.execute(
            sa.select(LshBucket.band, LshBucket.bucket_key, LshBucket.article_id)
        ).all()
    assert sorted(stored) == sorted(buckets)  # rows already there are left alone, none twice
