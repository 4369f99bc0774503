"""initial warehouse

Revision ID: 0001
Revises:
Create Date: 2026-11-24 08:20:15.892117
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import schemas.models

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:

    op.create_table(
        "alert_digests",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("digest_key", sa.String(length=64), nullable=False),
        sa.Column("story_slug", sa.String(length=100), nullable=False),
        sa.Column("subscriber", sa.String(length=320), nullable=False),
        sa.Column("message_id", sa.String(length=300), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", schemas.models.UtcDateTime(timezone=True), nullable=False),
        sa.Column("sent_at", schemas.models.UtcDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alert_digests")),
        sa.UniqueConstraint("digest_key", name=op.f("uq_alert_digests_digest_key")),
        sa.UniqueConstraint("message_id", name=op.f("uq_alert_digests_message_id")),
    )
    op.create_table(
        "crawl_runs",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("run_key", sa.String(length=200), nullable=False),
        sa.Column("story_slug", sa.String(length=100), nullable=True),
        sa.Column("started_at", schemas.models.UtcDateTime(timezone=True), nullable=False),
        sa.Column("finished_at", schemas.models.UtcDateTime(timezone=True), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column(
            "warc_paths",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "counts",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_crawl_runs")),
        sa.UniqueConstraint("run_key", name=op.f("uq_crawl_runs_run_key")),
    )
    op.create_table(
        "http_cache",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("url_hash", sa.String(length=64), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("etag", sa.String(length=500), nullable=True),
        sa.Column("last_modified", sa.String(length=100), nullable=True),
        sa.Column("body_hash", sa.String(length=64), nullable=True),
        sa.Column("first_fetched_at", schemas.models.UtcDateTime(timezone=True), nullable=False),
        sa.Column("last_fetched_at", schemas.models.UtcDateTime(timezone=True), nullable=False),
        sa.Column("last_changed_at", schemas.models.UtcDateTime(timezone=True), nullable=False),
        sa.Column("next_check_at", schemas.models.UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_http_cache")),
        sa.UniqueConstraint("url_hash", name=op.f("uq_http_cache_url_hash")),
    )
    op.create_table(
        "outlets",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("homepage_host", sa.String(length=255), nullable=False),
        sa.Column("homepage", sa.String(length=2048), nullable=True),
        sa.Column("language", sa.String(length=8), nullable=True),
        sa.Column("country", sa.String(length=2), nullable=True),
        sa.Column("lean", sa.String(length=40), nullable=True),
        sa.Column("ownership", sa.String(length=200), nullable=True),
        sa.Column("outlet_type", sa.String(length=40), nullable=True),
        sa.Column("discovered", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outlets")),
        sa.UniqueConstraint("name", name=op.f("uq_outlets_name")),
    )
    with op.batch_alter_table("outlets", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_outlets_homepage_host"), ["homepage_host"], unique=False)

    op.create_table(
        "stories",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("slug", sa.String(length=100), nullable=False),
        sa.Column("title", sa.String(length=500), nullable=False),
        sa.Column(
            "definition",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stories")),
        sa.UniqueConstraint("slug", name=op.f("uq_stories_slug")),
    )
    op.create_table(
        "articles",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("outlet_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("canonical_url", sa.Text(), nullable=False),
        sa.Column("url_hash", sa.String(length=64), nullable=False),
        sa.Column("headline", sa.Text(), nullable=True),
        sa.Column("dek", sa.Text(), nullable=True),
        sa.Column(
            "authors",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("published_at", schemas.models.UtcDateTime(timezone=True), nullable=True),
        sa.Column("published_source", sa.String(length=40), nullable=True),
        sa.Column("modified_at", schemas.models.UtcDateTime(timezone=True), nullable=True),
        sa.Column("modified_source", sa.String(length=40), nullable=True),
        sa.Column("language", sa.String(length=8), nullable=True),
        sa.Column("section", sa.String(length=200), nullable=True),
        sa.Column("body_text", sa.Text(), nullable=False),
        sa.Column("word_count", sa.Integer(), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("lead_image", sa.Text(), nullable=True),
        sa.Column("body_confidence", sa.Float(), nullable=False),
        sa.Column(
            "sources",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("first_seen_at", schemas.models.UtcDateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", schemas.models.UtcDateTime(timezone=True), nullable=False),
        sa.Column("first_run_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.ForeignKeyConstraint(
            ["first_run_id"],
            ["crawl_runs.id"],
            name=op.f("fk_articles_first_run_id_crawl_runs"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(["outlet_id"], ["outlets.id"], name=op.f("fk_articles_outlet_id_outlets")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_articles")),
        sa.UniqueConstraint("url_hash", name=op.f("uq_articles_url_hash")),
    )
    with op.batch_alter_table("articles", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_articles_content_hash"), ["content_hash"], unique=False)
        batch_op.create_index(batch_op.f("ix_articles_outlet_id"), ["outlet_id"], unique=False)

    op.create_table(
        "fetch_log",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("run_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("outlet", sa.String(length=200), nullable=True),
        sa.Column("status", sa.Integer(), nullable=True),
        sa.Column("bytes", sa.BigInteger(), nullable=False),
        sa.Column("elapsed_ms", sa.Float(), nullable=True),
        sa.Column("outcome", sa.String(length=40), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("fetched_at", schemas.models.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id"], ["crawl_runs.id"], name=op.f("fk_fetch_log_run_id_crawl_runs"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fetch_log")),
    )
    with op.batch_alter_table("fetch_log", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_fetch_log_run_id"), ["run_id"], unique=False)

    op.create_table(
        "outlet_story_terms",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("story_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("outlet_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("term", sa.String(length=200), nullable=False),
        sa.Column("z_score", sa.Float(), nullable=False),
        sa.Column("rank", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["outlet_id"],
            ["outlets.id"],
            name=op.f("fk_outlet_story_terms_outlet_id_outlets"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["story_id"],
            ["stories.id"],
            name=op.f("fk_outlet_story_terms_story_id_stories"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outlet_story_terms")),
        sa.UniqueConstraint(
            "story_id", "outlet_id", "term", name=op.f("uq_outlet_story_terms_story_id_outlet_id_term")
        ),
    )
    op.create_table(
        "quarantine",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("run_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("stage", sa.String(length=30), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("url_hash", sa.String(length=64), nullable=False),
        sa.Column("error", sa.Text(), nullable=False),
        sa.Column("warc_record_id", sa.String(length=100), nullable=True),
        sa.Column("recorded_at", schemas.models.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id"], ["crawl_runs.id"], name=op.f("fk_quarantine_run_id_crawl_runs"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_quarantine")),
        sa.UniqueConstraint("run_id", "stage", "url_hash", name=op.f("uq_quarantine_run_id_stage_url_hash")),
    )
    op.create_table(
        "run_outcomes",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("run_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("stage", sa.String(length=30), nullable=False),
        sa.Column("outcome", sa.String(length=40), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id"], ["crawl_runs.id"], name=op.f("fk_run_outcomes_run_id_crawl_runs"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_run_outcomes")),
        sa.UniqueConstraint("run_id", "stage", "outcome", name=op.f("uq_run_outcomes_run_id_stage_outcome")),
    )
    op.create_table(
        "alert_items",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("subscriber", sa.String(length=320), nullable=False),
        sa.Column("story_slug", sa.String(length=100), nullable=False),
        sa.Column("article_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("digest_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.ForeignKeyConstraint(
            ["article_id"],
            ["articles.id"],
            name=op.f("fk_alert_items_article_id_articles"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["digest_id"],
            ["alert_digests.id"],
            name=op.f("fk_alert_items_digest_id_alert_digests"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alert_items")),
        sa.UniqueConstraint(
            "subscriber",
            "story_slug",
            "article_id",
            "kind",
            "content_hash",
            name=op.f("uq_alert_items_subscriber_story_slug_article_id_kind_content_hash"),
        ),
    )
    with op.batch_alter_table("alert_items", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_alert_items_digest_id"), ["digest_id"], unique=False)

    op.create_table(
        "article_framing",
        sa.Column("article_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("tone", sa.Float(), nullable=False),
        sa.Column("tone_method", sa.String(length=60), nullable=False),
        sa.Column("certainty", sa.Float(), nullable=False),
        sa.Column(
            "frame_shares",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("primary_frame", sa.String(length=60), nullable=True),
        sa.Column(
            "loaded_terms",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "evidence",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["article_id"],
            ["articles.id"],
            name=op.f("fk_article_framing_article_id_articles"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("article_id", name=op.f("pk_article_framing")),
    )
    op.create_table(
        "article_signatures",
        sa.Column("article_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("signature", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(
            ["article_id"],
            ["articles.id"],
            name=op.f("fk_article_signatures_article_id_articles"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("article_id", name=op.f("pk_article_signatures")),
    )
    op.create_table(
        "article_urls",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("url_hash", sa.String(length=64), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("article_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.ForeignKeyConstraint(
            ["article_id"],
            ["articles.id"],
            name=op.f("fk_article_urls_article_id_articles"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_article_urls")),
        sa.UniqueConstraint("url_hash", name=op.f("uq_article_urls_url_hash")),
    )
    with op.batch_alter_table("article_urls", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_article_urls_article_id"), ["article_id"], unique=False)

    op.create_table(
        "article_versions",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("article_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("headline", sa.Text(), nullable=True),
        sa.Column("body_hash", sa.String(length=64), nullable=False),
        sa.Column("body_text", sa.Text(), nullable=False),
        sa.Column("fetched_at", schemas.models.UtcDateTime(timezone=True), nullable=False),
        sa.Column("run_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.ForeignKeyConstraint(
            ["article_id"],
            ["articles.id"],
            name=op.f("fk_article_versions_article_id_articles"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["crawl_runs.id"],
            name=op.f("fk_article_versions_run_id_crawl_runs"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_article_versions")),
        sa.UniqueConstraint(
            "article_id", "content_hash", name=op.f("uq_article_versions_article_id_content_hash")
        ),
    )
    with op.batch_alter_table("article_versions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_article_versions_article_id"), ["article_id"], unique=False)

    op.create_table(
        "article_voices",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("article_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("ordinal", sa.Integer(), nullable=False),
        sa.Column("voice_kind", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=300), nullable=True),
        sa.Column("role", sa.String(length=300), nullable=True),
        sa.Column("evidence", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["article_id"],
            ["articles.id"],
            name=op.f("fk_article_voices_article_id_articles"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_article_voices")),
        sa.UniqueConstraint("article_id", "ordinal", name=op.f("uq_article_voices_article_id_ordinal")),
    )
    with op.batch_alter_table("article_voices", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_article_voices_article_id"), ["article_id"], unique=False)

    op.create_table(
        "lsh_buckets",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("band", sa.Integer(), nullable=False),
        sa.Column("bucket_key", sa.String(length=40), nullable=False),
        sa.Column("article_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.ForeignKeyConstraint(
            ["article_id"],
            ["articles.id"],
            name=op.f("fk_lsh_buckets_article_id_articles"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lsh_buckets")),
        sa.UniqueConstraint(
            "band", "bucket_key", "article_id", name=op.f("uq_lsh_buckets_band_bucket_key_article_id")
        ),
    )
    with op.batch_alter_table("lsh_buckets", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_lsh_buckets_article_id"), ["article_id"], unique=False)
        batch_op.create_index("ix_lsh_buckets_lookup", ["band", "bucket_key"], unique=False)

    op.create_table(
        "story_articles",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("story_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("article_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("relevance_score", sa.Float(), nullable=False),
        sa.Column("is_relevant", sa.Boolean(), nullable=False),
        sa.Column(
            "evidence",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("scored_at", schemas.models.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["article_id"],
            ["articles.id"],
            name=op.f("fk_story_articles_article_id_articles"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["story_id"], ["stories.id"], name=op.f("fk_story_articles_story_id_stories"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_story_articles")),
        sa.UniqueConstraint("story_id", "article_id", name=op.f("uq_story_articles_story_id_article_id")),
    )
    with op.batch_alter_table("story_articles", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_story_articles_article_id"), ["article_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_story_articles_story_id"), ["story_id"], unique=False)

    op.create_table(
        "syndication_clusters",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("cluster_key", sa.String(length=64), nullable=False),
        sa.Column("original_article_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column(
            "original_reason",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["original_article_id"],
            ["articles.id"],
            name=op.f("fk_syndication_clusters_original_article_id_articles"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_syndication_clusters")),
        sa.UniqueConstraint("cluster_key", name=op.f("uq_syndication_clusters_cluster_key")),
    )
    op.create_table(
        "syndication_members",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("cluster_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("article_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("similarity", sa.Float(), nullable=False),
        sa.Column("is_original", sa.Boolean(), nullable=False),
        sa.Column(
            "differences",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["article_id"],
            ["articles.id"],
            name=op.f("fk_syndication_members_article_id_articles"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["cluster_id"],
            ["syndication_clusters.id"],
            name=op.f("fk_syndication_members_cluster_id_syndication_clusters"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_syndication_members")),
        sa.UniqueConstraint("article_id", name=op.f("uq_syndication_members_article_id")),
    )
    with op.batch_alter_table("syndication_members", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_syndication_members_cluster_id"), ["cluster_id"], unique=False)


def downgrade() -> None:

    with op.batch_alter_table("syndication_members", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_syndication_members_cluster_id"))

    op.drop_table("syndication_members")
    op.drop_table("syndication_clusters")
    with op.batch_alter_table("story_articles", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_story_articles_story_id"))
        batch_op.drop_index(batch_op.f("ix_story_articles_article_id"))

    op.drop_table("story_articles")
    with op.batch_alter_table("lsh_buckets", schema=None) as batch_op:
        batch_op.drop_index("ix_lsh_buckets_lookup")
        batch_op.drop_index(batch_op.f("ix_lsh_buckets_article_id"))

    op.drop_table("lsh_buckets")
    with op.batch_alter_table("article_voices", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_article_voices_article_id"))

    op.drop_table("article_voices")
    with op.batch_alter_table("article_versions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_article_versions_article_id"))

    op.drop_table("article_versions")
    with op.batch_alter_table("article_urls", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_article_urls_article_id"))

    op.drop_table("article_urls")
    op.drop_table("article_signatures")
    op.drop_table("article_framing")
    with op.batch_alter_table("alert_items", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_alert_items_digest_id"))

    op.drop_table("alert_items")
    op.drop_table("run_outcomes")
    op.drop_table("quarantine")
    op.drop_table("outlet_story_terms")
    with op.batch_alter_table("fetch_log", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_fetch_log_run_id"))

    op.drop_table("fetch_log")
    with op.batch_alter_table("articles", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_articles_outlet_id"))
        batch_op.drop_index(batch_op.f("ix_articles_content_hash"))

    op.drop_table("articles")
    op.drop_table("stories")
    with op.batch_alter_table("outlets", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_outlets_homepage_host"))

    op.drop_table("outlets")
    op.drop_table("http_cache")
    op.drop_table("crawl_runs")
    op.drop_table("alert_digests")
