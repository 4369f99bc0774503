"""Outlet health in the warehouse: each cycle's measures per outlet (``outlet_health``).

The process stage calls ``record_outlet_health`` in the transaction that loads its batch: the
extraction outcomes per URL live only in that batch, and the measures must agree with what was loaded.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, select

from pipeline.config import Config
from pipeline.health import HealthContext, OutletCycleHealth, measure_outlets
from pipeline.load import upsert_rows
from schemas.models import Article, Outlet, OutletHealth
from schemas.records import NormalisedArticle, Outcome

MEASURE_COLUMNS = (
    "measured_at", "requests", "fetch_classes", "listing_requests", "listing_ok", "pages", "articles",
    "new_articles", "extraction", "non_articles", "failed_extraction_share", "blocked_share",
    "undated_share", "unauthored_share", "other_language_share", "median_body_words",
    "newest_article_age_hours", "examples",
)  # fmt: skip


def record_outlet_health(
    connection: Connection,
    current_run: int,
    measured_at: datetime,
    config: Config,
    fetch_events: Iterable[Mapping[str, object]],
    outcomes: Iterable[Outcome],
    articles: Sequence[NormalisedArticle],
) -> list[OutletCycleHealth]:
    """Measure every outlet for this run and upsert the rows (a re-run writes the same rows)."""
    context = HealthContext(
        measured_at=measured_at,
        hosts_by_outlet={outlet.name: (outlet.host,) for outlet in config.outlets},
        languages={outlet.name: outlet.language for outlet in config.outlets},
        new_articles=new_articles_by_outlet(connection, current_run),
        newest_published=newest_published_by_outlet(connection, measured_at),
    )
    measures = measure_outlets(
        [outlet.name for outlet in config.outlets], fetch_events, outcomes, articles, context
    )
    rows = [health_row(current_run, measured_at, measure) for measure in measures]
    upsert_rows(connection, OutletHealth, rows, ["run_id", "outlet"], list(MEASURE_COLUMNS))
    return measures


def health_row(current_run: int, measured_at: datetime, measure: OutletCycleHealth) -> dict[str, Any]:
    return {
        "run_id": current_run,
        "outlet": measure.outlet[:200],
        "measured_at": measured_at,
        "requests": measure.requests,
        "fetch_classes": dict(measure.fetch_classes),
        "listing_requests": measure.listing_requests,
        "listing_ok": measure.listing_ok,
        "pages": measure.pages,
        "articles": measure.articles,
        "new_articles": measure.new_articles,
        "extraction": dict(measure.extraction),
        "non_articles": measure.non_articles,
        "failed_extraction_share": measure.failed_extraction_share,
        "blocked_share": measure.blocked_share,
        "undated_share": measure.undated_share,
        "unauthored_share": measure.unauthored_share,
        "other_language_share": measure.other_language_share,
        "median_body_words": measure.median_body_words,
        "newest_article_age_hours": measure.newest_article_age_hours,
        "examples": list(measure.examples),
    }


def new_articles_by_outlet(connection: Connection, current_run: int) -> dict[str, int]:
    rows = connection.execute(
        select(Outlet.name, func.count(Article.id))
        .join(Outlet, Outlet.id == Article.outlet_id)
        .where(Article.first_run_id == current_run)
        .group_by(Outlet.name)
    )
    return {name: count for name, count in rows}


def newest_published_by_outlet(connection: Connection, measured_at: datetime) -> dict[str, datetime]:
    """Each outlet's newest stored publication time no later than the cycle's time."""
    rows = connection.execute(
        select(Outlet.name, func.max(Article.published_at))
        .join(Outlet, Outlet.id == Article.outlet_id)
        .where(Article.published_at <= measured_at)
        .group_by(Outlet.name)
    )
    return {name: _aware(newest) for name, newest in rows if newest is not None}


def _aware(value: datetime | str) -> datetime:
    """``func.max`` drops the column's type on SQLite: the value comes back as stored text."""
    from datetime import UTC

    parsed = datetime.fromisoformat(value) if isinstance(value, str) else value
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
