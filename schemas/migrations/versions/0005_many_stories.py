"""many stories over one crawl: story fingerprints and match runs, articles' last run, backlog digests

Runs no longer belong to a story (crawl_runs.story_slug stays, for the runs made before). Stories gain
the fingerprint of their definition and of the decisions stored for them; every story starts with no
matched fingerprint, so the first cycle after the upgrade matches each one against every stored
article in its window: the coverage that another story's crawl had fetched is found at last.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-06 16:00:00
"""

import importlib.util
from collections.abc import Sequence
from pathlib import Path

import sqlalchemy as sa
from alembic import op

from schemas.models import UtcDateTime

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _analyst_views():
    """The views of 0003, unchanged: SQLite rebuilds a table to add a foreign key, and a view that
    names the table must be dropped first and created again after."""
    path = Path(__file__).with_name("0003_analyst_views.py")
    spec = importlib.util.spec_from_file_location("framewatch_migration_0003", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def upgrade() -> None:
    views = _analyst_views()
    views.downgrade()
    _add_columns_and_tables()
    views.upgrade()


def downgrade() -> None:
    views = _analyst_views()
    views.downgrade()
    _drop_columns_and_tables()
    views.upgrade()


def _add_columns_and_tables() -> None:
    _add_foreign_key_column("stories", "rematched_run_id", "fk_stories_rematched_run_id_crawl_runs")
    _add_foreign_key_column("articles", "last_run_id", "fk_articles_last_run_id_crawl_runs")
    with op.batch_alter_table("stories", schema=None) as batch_op:
        batch_op.add_column(sa.Column("fingerprint", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("matched_fingerprint", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("active", sa.Boolean(), server_default="1", nullable=False))
    with op.batch_alter_table("articles", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_articles_last_run_id"), ["last_run_id"], unique=False)
    with op.batch_alter_table("alert_digests", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("kind", sa.String(length=20), server_default="coverage", nullable=False)
        )
    with op.batch_alter_table("run_outcomes", schema=None) as batch_op:
        batch_op.add_column(sa.Column("scope", sa.String(length=100), server_default="", nullable=False))
        batch_op.drop_constraint("uq_run_outcomes_run_id_stage_outcome", type_="unique")
        batch_op.create_unique_constraint(
            batch_op.f("uq_run_outcomes_run_id_stage_scope_outcome"), ["run_id", "stage", "scope", "outcome"]
        )
    op.create_table(
        "story_match_runs",
        sa.Column("id", BigId, nullable=False),
        sa.Column("story_id", BigId, nullable=False),
        sa.Column("run_id", BigId, nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("fingerprint", sa.String(length=16), nullable=False),
        sa.Column("articles", sa.Integer(), nullable=False),
        sa.Column("candidates", sa.Integer(), nullable=False),
        sa.Column("relevant", sa.Integer(), nullable=False),
        sa.Column("matched_at", UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["crawl_runs.id"],
            name=op.f("fk_story_match_runs_run_id_crawl_runs"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["story_id"],
            ["stories.id"],
            name=op.f("fk_story_match_runs_story_id_stories"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_story_match_runs")),
        sa.UniqueConstraint(
            "story_id", "run_id", "kind", name=op.f("uq_story_match_runs_story_id_run_id_kind")
        ),
    )
    with op.batch_alter_table("story_match_runs", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_story_match_runs_story_id"), ["story_id"], unique=False)


def _add_foreign_key_column(table: str, column: str, constraint: str) -> None:
    """A nullable column referring to crawl_runs. On SQLite batch mode rebuilds the table to add the
    constraint: schemas.database.upgrade_database turns foreign keys off around migrations, or dropping
    the old ``articles`` would delete every row that cascades from it (versions, URLs, framing...)."""
    with op.batch_alter_table(table, schema=None) as batch_op:
        batch_op.add_column(sa.Column(column, BigId, nullable=True))
        batch_op.create_foreign_key(constraint, "crawl_runs", [column], ["id"], ondelete="SET NULL")


def _drop_columns_and_tables() -> None:
    op.drop_table("story_match_runs")
    with op.batch_alter_table("alert_digests", schema=None) as batch_op:
        batch_op.drop_column("kind")
    # Per-story counts fold into one row per stage and outcome again (the story is lost: a downgrade).
    op.execute(
        "DELETE FROM run_outcomes WHERE scope <> '' AND id NOT IN "
        "(SELECT MIN(id) FROM run_outcomes GROUP BY run_id, stage, outcome)"
    )
    with op.batch_alter_table("run_outcomes", schema=None) as batch_op:
        batch_op.drop_constraint("uq_run_outcomes_run_id_stage_scope_outcome", type_="unique")
        batch_op.create_unique_constraint(
            "uq_run_outcomes_run_id_stage_outcome", ["run_id", "stage", "outcome"]
        )
        batch_op.drop_column("scope")
    with op.batch_alter_table("articles", schema=None) as batch_op:
        batch_op.drop_constraint("fk_articles_last_run_id_crawl_runs", type_="foreignkey")
        batch_op.drop_index("ix_articles_last_run_id")
        batch_op.drop_column("last_run_id")
    with op.batch_alter_table("stories", schema=None) as batch_op:
        batch_op.drop_constraint("fk_stories_rematched_run_id_crawl_runs", type_="foreignkey")
        for column in ("rematched_run_id", "active", "matched_fingerprint", "fingerprint"):
            batch_op.drop_column(column)
