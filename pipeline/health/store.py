"""Outlet health in the warehouse: each cycle's measures per outlet (``outlet_health``).

The process stage calls ``record_outlet_health`` in the transaction that loads its batch: the
extraction outcomes per URL live only in that batch, and the measures must agree with what was loaded.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, func, select, update

from pipeline.config import Config
from pipeline.health.drift import BASELINE_CYCLES, Assessment, assess_outlet, incident_changes
from pipeline.health.measures import HealthContext, ListingHealth, OutletCycleHealth, measure_outlets
from pipeline.load.warehouse import upsert_rows
from pipeline.normalise.identity import text_hash
from schemas.models import Article, CrawlRun, OperatorNotice, Outlet, OutletHealth, OutletIncident
from schemas.records import NormalisedArticle, Outcome
from schemas.timestamps import as_utc

LISTING_COLUMNS = tuple(
    column for kind in ("feed", "sitemap") for column in (
        f"{kind}_entries", f"newest_{kind}_entry_at", f"{kind}_entry_gap_hours", f"{kind}_silence_hours",
    )
)  # fmt: skip
MEASURE_COLUMNS = (
    "measured_at", "requests", "fetch_classes", "listing_requests", "listing_ok", "pages", "articles",
    "new_articles", "extraction", "non_articles", "failed_extraction_share", "blocked_share",
    "undated_share", "unauthored_share", "other_language_share", "median_body_words",
    "newest_article_age_hours", "examples", *LISTING_COLUMNS,
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
    # A discovered outlet's pages carry its host; its row carries the name it is stored under.
    stored_names = _discovered_names(connection)
    context = HealthContext(
        measured_at=measured_at,
        hosts_by_outlet={outlet.name: (outlet.host,) for outlet in config.outlets},
        languages={outlet.name: outlet.language for outlet in config.outlets},
        new_articles=new_articles_by_outlet(connection, current_run),
        newest_published=newest_published_by_outlet(connection, measured_at),
        previous_listings=previous_listings(connection, measured_at, stored_names),
    )
    measures = measure_outlets(
        [outlet.name for outlet in config.outlets], fetch_events, outcomes, articles, context
    )
    measures = [replace(m, outlet=stored_names.get(m.outlet, m.outlet)) for m in measures]
    rows = [health_row(current_run, measured_at, measure) for measure in measures]
    upsert_rows(connection, OutletHealth, rows, ["run_id", "outlet"], list(MEASURE_COLUMNS))
    return measures


def _discovered_names(connection: Connection) -> dict[str, str]:
    """host -> stored name of the discovered outlets (named by their site name, keyed by host)."""
    rows = connection.execute(select(Outlet.homepage_host, Outlet.name).where(Outlet.discovered.is_(True)))
    return {host: name for host, name in rows}


def _by_name_and_host(rows: Iterable[tuple[str, str, bool, Any]]) -> dict[str, Any]:
    """name -> value, and host -> value for a discovered outlet (the key its pages carry)."""
    values: dict[str, Any] = {}
    for name, host, discovered, value in rows:
        values[name] = value
        if discovered:
            values[host] = value
    return values


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
        "breaches": [],  # the health stage's to say, after the drift assessment
        **listing_columns("feed", measure.feeds),
        **listing_columns("sitemap", measure.sitemaps),
    }


def listing_columns(kind: str, listing: ListingHealth) -> dict[str, Any]:
    return {
        f"{kind}_entries": listing.entries,
        f"newest_{kind}_entry_at": listing.newest,
        f"{kind}_entry_gap_hours": listing.gap_hours,
        f"{kind}_silence_hours": listing.silence_hours,
    }


def previous_listings(
    connection: Connection, measured_at: datetime, stored_names: Mapping[str, str]
) -> dict[str, dict[str, ListingHealth]]:
    """Each outlet's feeds and sitemaps as its latest cycle so far left them (keyed by its name, and
    by its host for a discovered outlet, the key its fetches carry). A re-run of a cycle starts from
    the cycle's own earlier row: its listings now answer 304 for what that attempt read."""
    h = OutletHealth
    latest = (
        select(h.outlet, func.max(h.measured_at).label("at"))
        .where(h.measured_at <= measured_at)
        .group_by(h.outlet)
        .subquery()
    )
    query = select(
        h.outlet, h.newest_feed_entry_at, h.feed_entry_gap_hours, h.newest_sitemap_entry_at, h.sitemap_entry_gap_hours
    ).join(latest, (latest.c.outlet == h.outlet) & (latest.c.at == h.measured_at))  # fmt: skip
    found = {
        outlet: {"feed": ListingHealth(newest=feed_at, gap_hours=feed_gap),
                 "sitemap": ListingHealth(newest=sitemap_at, gap_hours=sitemap_gap)}
        for outlet, feed_at, feed_gap, sitemap_at, sitemap_gap in connection.execute(query)
    }  # fmt: skip
    hosts = {name: host for host, name in stored_names.items()}
    return {**found, **{hosts[name]: listings for name, listings in found.items() if name in hosts}}


def new_articles_by_outlet(connection: Connection, current_run: int) -> dict[str, int]:
    rows = connection.execute(
        select(Outlet.name, Outlet.homepage_host, Outlet.discovered, func.count(Article.id))
        .join(Outlet, Outlet.id == Article.outlet_id)
        .where(Article.first_run_id == current_run)
        .group_by(Outlet.name, Outlet.homepage_host, Outlet.discovered)
    )
    return _by_name_and_host(rows)


def newest_published_by_outlet(connection: Connection, measured_at: datetime) -> dict[str, datetime]:
    """Each outlet's newest stored publication time no later than the cycle's time."""
    rows = connection.execute(
        select(Outlet.name, Outlet.homepage_host, Outlet.discovered, func.max(Article.published_at))
        .join(Outlet, Outlet.id == Article.outlet_id)
        .where(Article.published_at <= measured_at)
        .group_by(Outlet.name, Outlet.homepage_host, Outlet.discovered)
    )
    return {key: _aware(newest) for key, newest in _by_name_and_host(rows).items() if newest is not None}


def _aware(value: datetime | str) -> datetime:
    """``func.max`` drops the column's type on SQLite: the value comes back as stored text."""
    return as_utc(datetime.fromisoformat(value) if isinstance(value, str) else value)


# Drift and incidents --------------------------------------------------------------------------------

HISTORY_CYCLES = 3 * BASELINE_CYCLES  # enough past cycles for the baselines and the silence gaps
NOTICE_EVENTS = ("opened", "resolved")


@dataclass(frozen=True)
class HealthChanges:
    opened: tuple[tuple[str, str], ...] = ()  # (outlet, measure)
    closed: tuple[tuple[str, str], ...] = ()
    notices: int = 0


def assess_run(connection: Connection, current_run: int, operator: str | None) -> HealthChanges:
    """Compare this run's measures with each outlet's history, open and close incidents, and record the
    operator's notices in the same transaction (they are sent afterwards: ``send_pending_notices``)."""
    current = _health_rows(connection, OutletHealth.run_id == current_run)
    if not current:
        return HealthChanges()
    measured_at = current[0]["measured_at"]
    history = _history_by_outlet(connection, measured_at)
    opened: list[tuple[str, str]] = []
    closed: list[tuple[str, str]] = []
    notices = 0
    for row in current:
        assessments = assess_outlet(row, history.get(row["outlet"], []))
        _record_breaches(connection, row["id"], sorted(a.measure for a in assessments if a.breached))
        open_incidents = _open_incidents(connection, row["outlet"])
        changes = incident_changes(set(open_incidents), assessments)
        for assessment in changes.opened:
            incident = _open_incident(connection, row, assessment, current_run, measured_at)
            notices += _record_notice(connection, incident, "opened", operator, measured_at)
            opened.append((row["outlet"], assessment.measure))
        values = {a.measure: a.value for a in assessments}
        for measure in changes.closed:
            incident = open_incidents[measure]
            _close_incident(connection, incident, values[measure], current_run, measured_at)
            notices += _record_notice(connection, incident, "resolved", operator, measured_at)
            closed.append((row["outlet"], measure))
    return HealthChanges(tuple(opened), tuple(closed), notices)


def _health_rows(connection: Connection, *where: Any) -> list[dict[str, Any]]:
    query = (
        select(OutletHealth).where(*where).order_by(OutletHealth.measured_at.desc(), OutletHealth.id.desc())
    )
    return [dict(row) for row in connection.execute(query).mappings()]


def _history_by_outlet(connection: Connection, measured_at: datetime) -> dict[str, list[dict[str, Any]]]:
    """Each outlet's rows from the runs before this one (newest first), at most ``HISTORY_CYCLES`` runs."""
    earlier_runs = (
        select(CrawlRun.id)
        .where(CrawlRun.started_at < measured_at)
        .order_by(CrawlRun.started_at.desc())
        .limit(HISTORY_CYCLES)
    )
    grouped: dict[str, list[dict[str, Any]]] = {}
    for row in _health_rows(connection, OutletHealth.run_id.in_(earlier_runs.scalar_subquery())):
        grouped.setdefault(row["outlet"], []).append(row)
    return grouped


def _record_breaches(connection: Connection, row_id: int, breaches: list[str]) -> None:
    connection.execute(update(OutletHealth).where(OutletHealth.id == row_id).values(breaches=breaches))


def _open_incidents(connection: Connection, outlet: str) -> dict[str, int]:
    rows = connection.execute(
        select(OutletIncident.measure, OutletIncident.id).where(
            OutletIncident.outlet == outlet, OutletIncident.status == "open"
        )
    )
    return {measure: incident_id for measure, incident_id in rows}


def _open_incident(
    connection: Connection, row: Mapping[str, Any], assessment: Assessment, current_run: int, at: datetime
) -> int:
    values = {"outlet": row["outlet"], "measure": assessment.measure, "status": "open",
              "opened_run_id": current_run, "opened_at": at, "value": assessment.value,
              "baseline": assessment.baseline, "band_limit": assessment.limit,
              "examples": list(row.get("examples") or [])}  # fmt: skip
    upsert_rows(connection, OutletIncident, [values], ["outlet", "measure", "opened_run_id"], ["status"])
    return connection.execute(
        select(OutletIncident.id).where(
            OutletIncident.outlet == row["outlet"],
            OutletIncident.measure == assessment.measure,
            OutletIncident.opened_run_id == current_run,
        )
    ).scalar_one()


def _close_incident(
    connection: Connection, incident_id: int, value: float, current_run: int, at: datetime
) -> None:
    connection.execute(
        update(OutletIncident)
        .where(OutletIncident.id == incident_id)
        .values(status="closed", closed_run_id=current_run, closed_at=at, closing_value=value)
    )


def notice_key(incident_id: int, event: str) -> str:
    return text_hash(f"outlet-incident:{incident_id}:{event}")[:64]


def _record_notice(
    connection: Connection, incident_id: int, event: str, operator: str | None, at: datetime
) -> int:
    """One notice per incident and event, whatever happens after (the unique key keeps it one)."""
    if not operator:
        return 0
    row = {"incident_id": incident_id, "event": event, "recipient": operator,
           "notice_key": notice_key(incident_id, event), "status": "pending", "attempts": 0, "created_at": at}  # fmt: skip
    upsert_rows(connection, OperatorNotice, [row], ["incident_id", "event"], [])
    return 1


# Reading -------------------------------------------------------------------------------------------


def health_overview(connection: Connection) -> list[dict[str, Any]]:
    """Per outlet: its latest cycle's measures, its status and its open incidents (``framewatch health``)."""
    latest = (
        select(OutletHealth.outlet, func.max(OutletHealth.measured_at).label("measured_at"))
        .group_by(OutletHealth.outlet)
        .subquery()
    )
    rows = connection.execute(
        select(OutletHealth)
        .join(
            latest,
            (latest.c.outlet == OutletHealth.outlet) & (latest.c.measured_at == OutletHealth.measured_at),
        )
        .order_by(OutletHealth.outlet)
    ).mappings()
    incidents = _open_incidents_by_outlet(connection)
    return [_overview_row(dict(row), incidents.get(row["outlet"], [])) for row in rows]


def _overview_row(row: dict[str, Any], incidents: list[dict[str, Any]]) -> dict[str, Any]:
    shown = ("requests", "pages", "articles", "new_articles", "non_articles", "failed_extraction_share",
             "blocked_share", "undated_share", "median_body_words", "newest_article_age_hours",
             "feed_entries", "sitemap_entries", "feed_silence_hours", "sitemap_silence_hours")  # fmt: skip
    return {
        "outlet": row["outlet"],
        "status": "unhealthy" if incidents else "healthy",
        "measured_at": row["measured_at"].isoformat(),
        **{name: row[name] for name in shown},
        "fetch_classes": row["fetch_classes"],
        "extraction": row["extraction"],
        "open_incidents": incidents,
    }


def _open_incidents_by_outlet(connection: Connection) -> dict[str, list[dict[str, Any]]]:
    grouped: dict[str, list[dict[str, Any]]] = {}
    query = select(OutletIncident).where(OutletIncident.status == "open").order_by(OutletIncident.opened_at)
    for incident in connection.execute(query).mappings():
        grouped.setdefault(incident["outlet"], []).append({
            "measure": incident["measure"], "opened_at": incident["opened_at"].isoformat(),
            "value": incident["value"], "baseline": incident["baseline"], "examples": incident["examples"],
        })  # fmt: skip
    return grouped


def incidents_during(connection: Connection, start: datetime, end: datetime) -> list[dict[str, Any]]:
    """Incidents open at some time in [start, end]: the outlets whose silence then may be a crawler gap."""
    query = (
        select(
            OutletIncident.outlet, OutletIncident.measure, OutletIncident.opened_at, OutletIncident.closed_at
        )
        .where(OutletIncident.opened_at <= end)
        .where((OutletIncident.closed_at.is_(None)) | (OutletIncident.closed_at >= start))
        .order_by(OutletIncident.outlet, OutletIncident.opened_at)
    )
    return [dict(row) for row in connection.execute(query).mappings()]


def pending_notice_count(engine: Engine) -> int:
    with engine.connect() as connection:
        query = select(func.count(OperatorNotice.id)).where(OperatorNotice.status == "pending")
        return connection.execute(query).scalar_one()
