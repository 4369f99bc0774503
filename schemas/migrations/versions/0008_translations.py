"""translation_links, and v_story_coverage shows them

An article that translates an earlier article in another language (issue 17) is linked to it in
``translation_links``. v_story_coverage gains the link's columns (``translation_of_*``,
``translation_score``) and counts a translation as not original reporting (``is_original`` false), so
v_outlet_framing's ``original_share`` no longer counts it; both views are recreated (the second reads
the first).

Revision ID: 0008
Revises: 0007
"""

import importlib.util
from collections.abc import Sequence
from pathlib import Path

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
JsonDocument = sa.JSON().with_variant(sa.dialects.postgresql.JSONB(), "postgresql")

# (1=1) is TRUE on PostgreSQL and 1 on SQLite, as in 0003.
V_STORY_COVERAGE = """
CREATE VIEW v_story_coverage AS
SELECT
    s.slug AS story_slug,
    a.id AS article_id,
    o.name AS outlet_name,
    o.country AS outlet_country,
    o.outlet_type AS outlet_type,
    a.language AS language,
    a.canonical_url AS canonical_url,
    a.headline AS headline,
    a.dek AS dek,
    a.authors AS authors,
    a.published_at AS published_at,
    a.first_seen_at AS first_seen_at,
    a.last_seen_at AS last_seen_at,
    a.word_count AS word_count,
    sa.relevance_score AS relevance_score,
    sm.cluster_id AS syndication_cluster,
    CASE WHEN tl.id IS NOT NULL THEN (1=0) WHEN sm.id IS NULL THEN (1=1) ELSE sm.is_original END AS is_original,
    orig.canonical_url AS original_url,
    (SELECT COUNT(*) FROM article_versions v WHERE v.article_id = a.id) AS version_count,
    a.published_source AS published_source,
    a.published_confidence AS published_confidence,
    tl.original_article_id AS translation_of_article_id,
    tra.canonical_url AS translation_of_url,
    tra.headline AS translation_of_headline,
    tro.name AS translation_of_outlet,
    tl.original_language AS translation_of_language,
    tl.score AS translation_score
FROM story_articles sa
JOIN stories s ON s.id = sa.story_id
JOIN articles a ON a.id = sa.article_id
JOIN outlets o ON o.id = a.outlet_id
LEFT JOIN syndication_members sm ON sm.article_id = a.id
LEFT JOIN syndication_clusters sc ON sc.id = sm.cluster_id
LEFT JOIN articles orig ON orig.id = sc.original_article_id
LEFT JOIN translation_links tl ON tl.article_id = COALESCE(sc.original_article_id, a.id)
LEFT JOIN articles tra ON tra.id = tl.original_article_id
LEFT JOIN outlets tro ON tro.id = tra.outlet_id
WHERE sa.is_relevant = (1=1)
"""


def _analyst_views():
    path = Path(__file__).with_name("0003_analyst_views.py")
    spec = importlib.util.spec_from_file_location("framewatch_migration_0003", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def story_coverage_of_0007(view_0003: str) -> str:
    """v_story_coverage as 0007 (outlet health) left it: 0003's, with the publication time's source
    and confidence appended."""
    return view_0003.replace(
        "    (SELECT COUNT(*) FROM article_versions v WHERE v.article_id = a.id) AS version_count\n",
        "    (SELECT COUNT(*) FROM article_versions v WHERE v.article_id = a.id) AS version_count,\n"
        "    a.published_source AS published_source,\n"
        "    a.published_confidence AS published_confidence\n",
    )


def upgrade() -> None:
    views = _analyst_views()
    op.execute("DROP VIEW IF EXISTS v_outlet_framing")
    op.execute("DROP VIEW IF EXISTS v_story_coverage")
    op.create_table(
        "translation_links",
        sa.Column("id", BigId, nullable=False),
        sa.Column("article_id", BigId, nullable=False),
        sa.Column("original_article_id", BigId, nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("original_language", sa.String(length=8), nullable=True),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("evidence", JsonDocument, nullable=False),
        sa.ForeignKeyConstraint(
            ["article_id"],
            ["articles.id"],
            name=op.f("fk_translation_links_article_id_articles"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["original_article_id"],
            ["articles.id"],
            name=op.f("fk_translation_links_original_article_id_articles"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_translation_links")),
        sa.UniqueConstraint("article_id", name=op.f("uq_translation_links_article_id")),
    )
    with op.batch_alter_table("translation_links", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_translation_links_original_article_id"), ["original_article_id"], unique=False
        )
    op.execute(V_STORY_COVERAGE)
    op.execute(views.v_outlet_framing(op.get_bind().dialect.name))


def downgrade() -> None:
    views = _analyst_views()
    op.execute("DROP VIEW IF EXISTS v_outlet_framing")
    op.execute("DROP VIEW IF EXISTS v_story_coverage")
    op.drop_table("translation_links")
    op.execute(story_coverage_of_0007(views.V_STORY_COVERAGE))
    op.execute(views.v_outlet_framing(op.get_bind().dialect.name))
