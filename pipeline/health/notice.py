"""The operator's emails about outlet health incidents: recorded with the incident, sent afterwards.

As subscriber digests (``pipeline.alert.digests``): each notice is claimed by compare-and-set on ``attempts``
before it is handed to the transport and marked sent after, so a notice goes out once; one that cannot
be sent stays pending and goes with the next cycle. Same transports: SMTP URL, Airflow connection (the
DAG passes its URL) or the outbox folder.
"""

from __future__ import annotations

import smtplib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime

from sqlalchemy import Engine, select, update

from pipeline.alert.digests import Transport, header_safe
from schemas.models import OperatorNotice, OutletIncident

MEASURE_NAMES = {
    "failed_extraction_share": "share of pages without a usable article (empty bodies, non-article pages)",
    "undated_share": "share of articles without a publication date",
    "blocked_share": "share of requests refused (401/403/429/451) or answered with a bot challenge",
    "listing_failure_share": "share of feed, sitemap and homepage requests that failed",
    "median_body_words": "median body length (words)",
    "silent-cycles": "cycles in a row without a new article (baseline: the usual gap)",
    "feed_silence_hours": "hours since the newest entry of the outlet's feeds (band floor: twice its usual gap)",
    "sitemap_silence_hours": "hours since the newest entry of the outlet's sitemaps (band floor: twice its usual gap)",
}


@dataclass(frozen=True)
class IncidentNotice:
    notice_id: int
    notice_key: str
    attempts: int
    event: str
    recipient: str
    outlet: str
    measure: str
    value: float
    baseline: float
    band_limit: float
    closing_value: float | None
    opened_at: datetime
    closed_at: datetime | None
    examples: tuple[str, ...] = field(default=())


def notice_message(notice: IncidentNotice, sender: str) -> EmailMessage:
    """The email: the outlet, the measure, its value against its baseline, and example URLs."""
    verb = "incident opened" if notice.event == "opened" else "resolved"
    message = EmailMessage()
    message["Subject"] = header_safe(f"[framewatch] outlet health: {notice.outlet}: {notice.measure} {verb}")
    message["From"] = sender
    message["To"] = notice.recipient
    message["Date"] = format_datetime(notice.closed_at or notice.opened_at)
    message["Message-ID"] = f"<{notice.notice_key}@framewatch>"
    message.set_content(notice_text(notice))
    return message


def notice_text(notice: IncidentNotice) -> str:
    lines = [
        f"Outlet: {notice.outlet}",
        f"Measure: {notice.measure} — {MEASURE_NAMES.get(notice.measure, notice.measure)}",
        f"Opened: {notice.opened_at.isoformat()} with value {notice.value:g}",
        f"Baseline (median of the outlet's recent in-band cycles): {notice.baseline:g}",
        f"Band limit crossed: {notice.band_limit:g}",
    ]
    if notice.event == "resolved":
        lines.append(f"Resolved: {notice.closed_at.isoformat() if notice.closed_at else '?'} with value "
                     f"{notice.closing_value:g}")  # fmt: skip
    else:
        lines.append(
            "Until it resolves, this outlet's silence in a story may be a crawler gap, not the outlet's."
        )
    if notice.examples:
        lines += ["", "Example URLs:", *(f"  {url}" for url in notice.examples)]
    return "\n".join(lines) + "\n"


def pending_notices(engine: Engine) -> list[IncidentNotice]:
    query = (
        select(
            OperatorNotice.id,
            OperatorNotice.notice_key,
            OperatorNotice.attempts,
            OperatorNotice.event,
            OperatorNotice.recipient,
            OutletIncident.outlet,
            OutletIncident.measure,
            OutletIncident.value,
            OutletIncident.baseline,
            OutletIncident.band_limit,
            OutletIncident.closing_value,
            OutletIncident.opened_at,
            OutletIncident.closed_at,
            OutletIncident.examples,
        )  # fmt: skip
        .join(OutletIncident, OutletIncident.id == OperatorNotice.incident_id)
        .where(OperatorNotice.status == "pending")
        .order_by(OperatorNotice.id)
    )
    with engine.connect() as connection:
        return [IncidentNotice(*row[:-1], tuple(row[-1] or ())) for row in connection.execute(query)]


def send_pending_notices(engine: Engine, transport: Transport, now: datetime | None = None) -> dict[str, int]:
    counts = {"sent": 0, "failed": 0, "skipped": 0}
    for notice in pending_notices(engine):
        if not _claim(engine, notice):
            counts["skipped"] += 1
            continue
        try:
            transport.deliver(notice_message(notice, transport.sender), notice.recipient, notice.notice_key)
        except (smtplib.SMTPException, OSError) as exc:
            _set(engine, notice.notice_id, last_error=f"{type(exc).__name__}: {exc}"[:2000])
            counts["failed"] += 1
            continue
        _set(engine, notice.notice_id, status="sent", sent_at=now or datetime.now(UTC), last_error=None)
        counts["sent"] += 1
    return counts


def _claim(engine: Engine, notice: IncidentNotice) -> bool:
    with engine.begin() as connection:
        claimed = connection.execute(
            update(OperatorNotice)
            .where(
                OperatorNotice.id == notice.notice_id,
                OperatorNotice.status == "pending",
                OperatorNotice.attempts == notice.attempts,
            )  # fmt: skip
            .values(attempts=notice.attempts + 1)
        )
    return claimed.rowcount == 1


def _set(engine: Engine, notice_id: int, **values) -> None:
    with engine.begin() as connection:
        connection.execute(update(OperatorNotice).where(OperatorNotice.id == notice_id).values(**values))
