"""Outlet health: feed and sitemap entries per outlet and cycle, and the age of the newest one

``outlet_health`` gains, per outlet and cycle, the entries its feeds and sitemaps listed, the newest
entry seen, the median gap between entries (the outlet's rhythm) and the newest entry's age at the
cycle's time (its silence, which ``pipeline.health.drift`` compares with that rhythm).
``v_outlet_health`` shows them; it is recreated (no other view reads it).

Revision ID: 0011
Revises: 0010
"""

import importlib
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import schemas.models

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

LISTING_COLUMNS = (
    ("feed_entries", sa.Integer(), False),
    ("sitemap_entries", sa.Integer(), False),
    ("newest_feed_entry_at", schemas.models.UtcDateTime(timezone=True), True),
    ("newest_sitemap_entry_at", schemas.models.UtcDateTime(timezone=True), True),
    ("feed_entry_gap_hours", sa.Float(), True),
    ("sitemap_entry_gap_hours", sa.Float(), True),
    ("feed_silence_hours", sa.Float(), True),
    ("sitemap_silence_hours", sa.Float(), True),
)

V_OUTLET_HEALTH = importlib.import_module(
    "schemas.migrations.versions.0007_outlet_health"
).V_OUTLET_HEALTH.replace(
    "    h.newest_article_age_hours AS newest_article_age_hours,\n",
    "    h.newest_article_age_hours AS newest_article_age_hours,\n"
    "    h.feed_entries AS feed_entries,\n"
    "    h.sitemap_entries AS sitemap_entries,\n"
    "    h.newest_feed_entry_at AS newest_feed_entry_at,\n"
    "    h.newest_sitemap_entry_at AS newest_sitemap_entry_at,\n"
    "    h.feed_entry_gap_hours AS feed_entry_gap_hours,\n"
    "    h.sitemap_entry_gap_hours AS sitemap_entry_gap_hours,\n"
    "    h.feed_silence_hours AS feed_silence_hours,\n"
    "    h.sitemap_silence_hours AS sitemap_silence_hours,\n",
)


def upgrade() -> None:
    op.execute("DROP VIEW IF EXISTS v_outlet_health")
    for name, type_, nullable in LISTING_COLUMNS:
        default = None if nullable else "0"  # existing rows read no listing entries
        op.add_column("outlet_health", sa.Column(name, type_, nullable=nullable, server_default=default))
    op.execute(V_OUTLET_HEALTH)


def downgrade() -> None:
    op.execute("DROP VIEW IF EXISTS v_outlet_health")
    # SQLite (3.35+) drops a column in place, as 0007's downgrade does.
    for name, _, _ in reversed(LISTING_COLUMNS):
        op.execute(f"ALTER TABLE outlet_health DROP COLUMN {name}")
    op.execute(importlib.import_module("schemas.migrations.versions.0007_outlet_health").V_OUTLET_HEALTH)
