"""outlet_health: per outlet and cycle, what the crawl and the process stage saw (issue 16)

Revision ID: 0007
Revises: 0006
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import schemas.models

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def _counts(*names: str) -> list[sa.Column]:
    return [sa.Column(name, sa.Integer(), nullable=False) for name in names]


def _shares(*names: str) -> list[sa.Column]:
    return [sa.Column(name, sa.Float(), nullable=True) for name in names]


def upgrade() -> None:
    op.create_table(
        "outlet_health",
        sa.Column("id", ID, nullable=False),
        sa.Column("run_id", ID, nullable=False),
        sa.Column("outlet", sa.String(length=200), nullable=False),
        sa.Column("measured_at", schemas.models.UtcDateTime(timezone=True), nullable=False),
        *_counts("requests"),
        sa.Column("fetch_classes", JSON, nullable=False),
        *_counts("listing_requests", "listing_ok", "pages", "articles", "new_articles"),
        sa.Column("extraction", JSON, nullable=False),
        *_counts("non_articles"),
        *_shares(
            "failed_extraction_share",
            "blocked_share",
            "undated_share",
            "unauthored_share",
            "other_language_share",
            "median_body_words",
            "newest_article_age_hours",
        ),  # fmt: skip
        sa.Column("examples", JSON, nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id"], ["crawl_runs.id"], name=op.f("fk_outlet_health_run_id_crawl_runs"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outlet_health")),
        sa.UniqueConstraint("run_id", "outlet", name=op.f("uq_outlet_health_run_id_outlet")),
    )
    op.create_index(op.f("ix_outlet_health_run_id"), "outlet_health", ["run_id"])
    op.create_index(op.f("ix_outlet_health_outlet"), "outlet_health", ["outlet"])


def downgrade() -> None:
    op.drop_index(op.f("ix_outlet_health_outlet"), table_name="outlet_health")
    op.drop_index(op.f("ix_outlet_health_run_id"), table_name="outlet_health")
    op.drop_table("outlet_health")
