"""article_actor_tones, v_article_actor_tone and v_outlet_actor_tone: tone toward a story's actors

How each article portrays each actor of a story (issue 21: the story's ``actors``, or its entities),
one row per (story, article, actor) it names, with every mention as evidence. ``story_articles`` gains
``actor_tones_key``, what the stored tones were computed from (content, actors, code, model), so that
only a changed article or a changed actor list is measured again. Two analyst views, documented in
docs/warehouse.md: per article and actor, and per outlet and actor.

Revision ID: 0012
Revises: 0011
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
JsonDocument = sa.JSON().with_variant(sa.dialects.postgresql.JSONB(), "postgresql")

# Relevant articles only, as every analyst view: v_story_coverage holds them.
V_ARTICLE_ACTOR_TONE = """
CREATE VIEW v_article_actor_tone AS
SELECT
    c.story_slug AS story_slug,
    c.article_id AS article_id,
    c.outlet_name AS outlet_name,
    c.outlet_country AS outlet_country,
    c.language AS language,
    c.canonical_url AS canonical_url,
    c.headline AS headline,
    c.published_at AS published_at,
    c.is_original AS is_original,
    t.actor AS actor,
    t.mentions AS mentions,
    t.score AS score,
    t.negative AS negative,
    t.neutral AS neutral,
    t.positive AS positive,
    t.evidence AS evidence
FROM v_story_coverage c
JOIN stories s ON s.slug = c.story_slug
JOIN article_actor_tones t ON t.story_id = s.id AND t.article_id = c.article_id
"""

# Each article counts once in mean_score, however often it names the actor (docs/framing.md).
V_OUTLET_ACTOR_TONE = """
CREATE VIEW v_outlet_actor_tone AS
SELECT
    t.story_slug AS story_slug,
    t.outlet_name AS outlet_name,
    t.outlet_country AS outlet_country,
    MIN(t.language) AS language,
    t.actor AS actor,
    COUNT(*) AS articles,
    (SELECT COUNT(*) FROM v_story_coverage c
     WHERE c.story_slug = t.story_slug AND c.outlet_name = t.outlet_name) AS outlet_articles,
    SUM(t.mentions) AS mentions,
    AVG(t.score) AS mean_score,
    MIN(t.score) AS min_score,
    MAX(t.score) AS max_score,
    SUM(t.negative) AS negative,
    SUM(t.neutral) AS neutral,
    SUM(t.positive) AS positive
FROM v_article_actor_tone t
GROUP BY t.story_slug, t.outlet_name, t.outlet_country, t.actor
"""


def upgrade() -> None:
    op.create_table(
        "article_actor_tones",
        sa.Column("id", BigId, nullable=False),
        sa.Column("story_id", BigId, nullable=False),
        sa.Column("article_id", BigId, nullable=False),
        sa.Column("actor", sa.String(length=100), nullable=False),
        sa.Column("mentions", sa.Integer(), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("negative", sa.Integer(), nullable=False),
        sa.Column("neutral", sa.Integer(), nullable=False),
        sa.Column("positive", sa.Integer(), nullable=False),
        sa.Column("evidence", JsonDocument, nullable=False),
        sa.ForeignKeyConstraint(
            ["article_id"], ["articles.id"], name=op.f("fk_article_actor_tones_article_id_articles"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["story_id"], ["stories.id"], name=op.f("fk_article_actor_tones_story_id_stories"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_article_actor_tones")),
        sa.UniqueConstraint(
            "story_id", "article_id", "actor", name=op.f("uq_article_actor_tones_story_id_article_id_actor")
        ),
    )  # fmt: skip
    with op.batch_alter_table("article_actor_tones", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_article_actor_tones_article_id"), ["article_id"], unique=False)
    with op.batch_alter_table("story_articles", schema=None) as batch_op:
        batch_op.add_column(sa.Column("actor_tones_key", sa.String(length=16), nullable=True))
    op.execute(V_ARTICLE_ACTOR_TONE)
    op.execute(V_OUTLET_ACTOR_TONE)


def downgrade() -> None:
    op.execute("DROP VIEW IF EXISTS v_outlet_actor_tone")
    op.execute("DROP VIEW IF EXISTS v_article_actor_tone")
    # Not a batch operation: on SQLite it would copy story_articles and break the views that read it;
    # SQLite (3.35+) and PostgreSQL both drop a column in place.
    op.execute("ALTER TABLE story_articles DROP COLUMN actor_tones_key")
    op.drop_table("article_actor_tones")
