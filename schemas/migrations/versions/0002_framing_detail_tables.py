"""framing detail tables

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24 08:24:20.235866
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:

    op.create_table(
        "article_frames",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("article_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("frame", sa.String(length=60), nullable=False),
        sa.Column("share", sa.Float(), nullable=False),
        sa.Column(
            "matched_terms",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["article_id"],
            ["articles.id"],
            name=op.f("fk_article_frames_article_id_articles"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_article_frames")),
        sa.UniqueConstraint("article_id", "frame", name=op.f("uq_article_frames_article_id_frame")),
    )
    with op.batch_alter_table("article_frames", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_article_frames_article_id"), ["article_id"], unique=False)

    op.create_table(
        "article_loaded_terms",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("article_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("term", sa.String(length=200), nullable=False),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column("occurrences", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["article_id"],
            ["articles.id"],
            name=op.f("fk_article_loaded_terms_article_id_articles"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_article_loaded_terms")),
        sa.UniqueConstraint("article_id", "term", name=op.f("uq_article_loaded_terms_article_id_term")),
    )
    with op.batch_alter_table("article_loaded_terms", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_article_loaded_terms_article_id"), ["article_id"], unique=False)


def downgrade() -> None:

    with op.batch_alter_table("article_loaded_terms", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_article_loaded_terms_article_id"))

    op.drop_table("article_loaded_terms")
    with op.batch_alter_table("article_frames", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_article_frames_article_id"))

    op.drop_table("article_frames")
