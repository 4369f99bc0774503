"""Outlet health (issue 16): measures per outlet and cycle, incidents, operator notices, v_outlet_health

``outlet_health`` holds what the crawl and the process stage saw of each outlet in each cycle;
``outlet_incidents`` the measures that left their band (opened once, closed once); ``operator_notices``
the emails owed to the operator about them (record-then-send). ``v_outlet_health`` is the analysts'
view, documented in docs/warehouse.md. ``articles.published_confidence`` labels how far a published
time can be trusted (``pipeline.extract.date_confidence``); ``v_story_coverage`` gains it and
``published_source`` as its last columns (PostgreSQL's CREATE OR REPLACE VIEW may only append columns;
``v_outlet_framing`` reads the view and is left as it is).

Revision ID: 0007
Revises: 0006
"""

import importlib
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
        sa.Column("breaches", JSON, nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id"], ["crawl_runs.id"], name=op.f("fk_outlet_health_run_id_crawl_runs"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outlet_health")),
        sa.UniqueConstraint("run_id", "outlet", name=op.f("uq_outlet_health_run_id_outlet")),
    )
    op.create_index(op.f("ix_outlet_health_run_id"), "outlet_health", ["run_id"])
    op.create_index(op.f("ix_outlet_health_outlet"), "outlet_health", ["outlet"])
    _create_incidents()
    _create_notices()
    op.execute(V_OUTLET_HEALTH)
    op.add_column("articles", sa.Column("published_confidence", sa.String(length=20), nullable=True))
    _replace_story_coverage(_views_0003().V_STORY_COVERAGE.replace(
        "    (SELECT COUNT(*) FROM article_versions v WHERE v.article_id = a.id) AS version_count\n",
        "    (SELECT COUNT(*) FROM article_versions v WHERE v.article_id = a.id) AS version_count,\n"
        "    a.published_source AS published_source,\n"
        "    a.published_confidence AS published_confidence\n",
    ))  # fmt: skip


def _views_0003():
    return importlib.import_module("schemas.migrations.versions.0003_analyst_views")


def _replace_story_coverage(create_view: str) -> None:
    """SQLite resolves a view's views when queried: drop and create. PostgreSQL keeps dependants
    (v_outlet_framing) bound: replace, which may only append columns."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute(create_view.replace("CREATE VIEW", "CREATE OR REPLACE VIEW", 1))
        return
    op.execute("DROP VIEW IF EXISTS v_story_coverage")
    op.execute(create_view)


def _create_incidents() -> None:
    op.create_table(
        "outlet_incidents",
        sa.Column("id", ID, nullable=False),
        sa.Column("outlet", sa.String(length=200), nullable=False),
        sa.Column("measure", sa.String(length=60), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("opened_run_id", ID, nullable=False),
        sa.Column("opened_at", schemas.models.UtcDateTime(timezone=True), nullable=False),
        sa.Column("closed_run_id", ID, nullable=True),
        sa.Column("closed_at", schemas.models.UtcDateTime(timezone=True), nullable=True),
        sa.Column("value", sa.Float(), nullable=False),
        sa.Column("baseline", sa.Float(), nullable=False),
        sa.Column("band_limit", sa.Float(), nullable=False),
        sa.Column("closing_value", sa.Float(), nullable=True),
        sa.Column("examples", JSON, nullable=False),
        sa.ForeignKeyConstraint(["opened_run_id"], ["crawl_runs.id"],
                                name=op.f("fk_outlet_incidents_opened_run_id_crawl_runs"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["closed_run_id"], ["crawl_runs.id"],
                                name=op.f("fk_outlet_incidents_closed_run_id_crawl_runs"), ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outlet_incidents")),
        sa.UniqueConstraint("outlet", "measure", "opened_run_id",
                            name=op.f("uq_outlet_incidents_outlet_measure_opened_run_id")),
    )  # fmt: skip
    op.create_index(op.f("ix_outlet_incidents_outlet"), "outlet_incidents", ["outlet"])


def _create_notices() -> None:
    op.create_table(
        "operator_notices",
        sa.Column("id", ID, nullable=False),
        sa.Column("incident_id", ID, nullable=False),
        sa.Column("event", sa.String(length=20), nullable=False),
        sa.Column("recipient", sa.String(length=320), nullable=False),
        sa.Column("notice_key", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", schemas.models.UtcDateTime(timezone=True), nullable=False),
        sa.Column("sent_at", schemas.models.UtcDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["incident_id"], ["outlet_incidents.id"],
                                name=op.f("fk_operator_notices_incident_id_outlet_incidents"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_operator_notices")),
        sa.UniqueConstraint("incident_id", "event", name=op.f("uq_operator_notices_incident_id_event")),
        sa.UniqueConstraint("notice_key", name=op.f("uq_operator_notices_notice_key")),
    )  # fmt: skip


# One row per outlet and cycle; an outlet is unhealthy in a cycle when an incident was open at its time.
V_OUTLET_HEALTH = """
CREATE VIEW v_outlet_health AS
SELECT
    h.outlet AS outlet_name,
    r.run_key AS run_key,
    h.run_id AS run_id,
    h.measured_at AS measured_at,
    h.requests AS requests,
    h.fetch_classes AS fetch_classes,
    h.listing_requests AS listing_requests,
    h.listing_ok AS listing_ok,
    h.pages AS pages,
    h.articles AS articles,
    h.new_articles AS new_articles,
    h.extraction AS extraction,
    h.non_articles AS non_articles,
    h.failed_extraction_share AS failed_extraction_share,
    h.blocked_share AS blocked_share,
    h.undated_share AS undated_share,
    h.unauthored_share AS unauthored_share,
    h.other_language_share AS other_language_share,
    h.median_body_words AS median_body_words,
    h.newest_article_age_hours AS newest_article_age_hours,
    (SELECT COUNT(*) FROM outlet_incidents i
      WHERE i.outlet = h.outlet AND i.opened_at <= h.measured_at
        AND (i.closed_at IS NULL OR i.closed_at > h.measured_at)) AS open_incidents,
    CASE WHEN EXISTS (SELECT 1 FROM outlet_incidents i
      WHERE i.outlet = h.outlet AND i.opened_at <= h.measured_at
        AND (i.closed_at IS NULL OR i.closed_at > h.measured_at))
    THEN 'unhealthy' ELSE 'healthy' END AS status
FROM outlet_health h
JOIN crawl_runs r ON r.id = h.run_id
"""


def downgrade() -> None:
    views = _views_0003()
    if op.get_bind().dialect.name == "postgresql":  # columns cannot be taken out of a replaced view
        op.execute("DROP VIEW IF EXISTS v_story_coverage CASCADE")
        op.execute(views.V_STORY_COVERAGE)
        op.execute(views.v_outlet_framing("postgresql"))
    else:
        op.execute("DROP VIEW IF EXISTS v_story_coverage")
        op.execute(views.V_STORY_COVERAGE)
    # SQLite (3.35+) drops a column in place; a batch rebuild would trip over the views on articles.
    op.execute("ALTER TABLE articles DROP COLUMN published_confidence")
    op.execute("DROP VIEW IF EXISTS v_outlet_health")
    op.drop_table("operator_notices")
    op.drop_index(op.f("ix_outlet_incidents_outlet"), table_name="outlet_incidents")
    op.drop_table("outlet_incidents")
    op.drop_index(op.f("ix_outlet_health_outlet"), table_name="outlet_health")
    op.drop_index(op.f("ix_outlet_health_run_id"), table_name="outlet_health")
    op.drop_table("outlet_health")
