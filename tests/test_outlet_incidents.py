"""Drift against an outlet's own baseline, and incidents that open and close exactly once with one
email each to the operator (issue 16), on SQLite and PostgreSQL."""

from __future__ import annotations

import email
import email.policy
import json
import subprocess
import sys
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa

from pipeline.alert.digests import OutboxTransport
from pipeline.analyst.queries import outlet_health_notes
from pipeline.health.drift import SILENCE, assess, assess_outlet, incident_changes
from pipeline.health.measures import ListingHealth, OutletCycleHealth
from pipeline.health.notice import send_pending_notices
from pipeline.health.store import assess_run, health_row
from pipeline.load.warehouse import upsert_rows
from schemas.models import CrawlRun, OutletHealth
from schemas.report_records import StoryDefinition

START = datetime(2026, 1, 1, tzinfo=UTC)
OPERATOR = "ops@framewatch.example"


def healthy(outlet: str, cycle: int) -> OutletCycleHealth:
    """A steady outlet with a little noise: 20 pages, one or two failing, bodies around 600 words."""
    failed = 1 + cycle % 2
    return OutletCycleHealth(
        outlet=outlet, requests=25, fetch_classes={"ok": 25}, listing_requests=2, listing_ok=2, pages=20,
        articles=20 - failed, new_articles=3 + cycle % 3, extraction={"no-text": failed},
        undated_share=0.0, unauthored_share=1.0 if outlet == "never-bylines" else 0.1,
        other_language_share=0.0, median_body_words=600 + 20 * (cycle % 4),
        examples=(f"https://{outlet}.example/{cycle}/failed",),
    )  # fmt: skip


def broken_bodies(outlet: str, cycle: int) -> OutletCycleHealth:
    """The layout moved the body: 12 of 20 pages yield no article, the rest are short."""
    return replace(healthy(outlet, cycle), articles=8, extraction={"no-text": 12}, median_body_words=90)


def row(measure: OutletCycleHealth, cycle: int) -> dict:
    return {**health_row(cycle, START, measure), "breaches": []}


# Pure: bands and incident changes.


def test_a_steady_share_does_not_alarm_on_its_usual_noise() -> None:
    assert not assess("failed_extraction_share", 0.10, [0.05, 0.10, 0.05, 0.10, 0.05]).breached


def test_an_empty_body_share_jumping_from_0_to_60_percent_is_out_of_band() -> None:
    assessment = assess("failed_extraction_share", 0.6, [0.0] * 5)
    assert assessment.breached and assessment.baseline == 0.0


def test_an_outlet_that_never_has_authors_is_not_an_incident_but_a_collapse_of_bodies_is() -> None:
    history = [row(healthy("never-bylines", c), c) for c in range(6, 0, -1)]
    assert not [a for a in assess_outlet(row(healthy("never-bylines", 7), 7), history) if a.breached]
    breached = {
        a.measure for a in assess_outlet(row(broken_bodies("never-bylines", 7), 7), history) if a.breached
    }
    assert breached == {"failed_extraction_share", "median_body_words"}


def test_no_assessment_before_the_outlet_has_a_baseline() -> None:
    history = [row(healthy("new", 1), 1), row(healthy("new", 0), 0)]
    assert assess_outlet(row(broken_bodies("new", 2), 2), history) == []


def test_a_feed_silent_for_twice_its_usual_gap_is_out_of_band() -> None:
    productive = [row(healthy("o", c), c) for c in range(6, 0, -1)]  # new articles every cycle
    silent = [row(replace(healthy("o", c), new_articles=0), c) for c in (8, 7)]
    assessment = next(a for a in assess_outlet(silent[0], [silent[1], *productive]) if a.measure == SILENCE)
    assert assessment.breached and assessment.value == 2


def test_an_outlet_that_never_has_new_articles_is_never_silent() -> None:
    history = [row(replace(healthy("o", c), new_articles=0), c) for c in range(10, 0, -1)]
    assert all(
        a.measure != SILENCE
        for a in assess_outlet(row(replace(healthy("o", 11), new_articles=0), 11), history)
    )


def listing_row(cycle: int, silence_hours: float, gap_hours: float = 1 / 3) -> dict:
    """A steady outlet whose feed's newest entry is ``silence_hours`` old at the cycle's time."""
    feeds = ListingHealth(entries=40, newest=START, gap_hours=gap_hours, silence_hours=silence_hours)
    return row(replace(healthy("o", cycle), feeds=feeds), cycle)


def silence_of(current: dict, history: list[dict]):
    return next(a for a in assess_outlet(current, history) if a.measure == "feed_silence_hours")


def test_a_feed_silent_for_longer_than_twice_its_usual_rhythm_is_out_of_band() -> None:
    """Publishing every 20 minutes, read hourly: the newest entry is usually 5 to 15 minutes old."""
    history = [listing_row(c, 0.1 + 0.05 * (c % 3)) for c in range(8, 0, -1)]
    assert not silence_of(listing_row(9, 0.25), history).breached
    assert silence_of(listing_row(9, 1.25), history).breached  # one cycle without a new entry


def test_an_outlet_that_publishes_twice_a_day_is_not_silent_after_a_quiet_morning() -> None:
    history = [listing_row(c, 1.0 + 4 * (c % 3), gap_hours=12) for c in range(8, 0, -1)]
    assert not silence_of(listing_row(9, 14.0, gap_hours=12), history).breached
    assert silence_of(listing_row(9, 40.0, gap_hours=12), history).breached


def test_an_outlet_with_dated_listings_is_judged_by_them_not_by_cycles_without_new_articles() -> None:
    history = [listing_row(c, 0.2) for c in range(8, 0, -1)]
    quiet = row(replace(healthy("o", 9), new_articles=0, feeds=ListingHealth(40, START, 1 / 3, 0.2)), 9)
    earlier_quiet = {**history[0], "new_articles": 0}
    measures = {a.measure: a.breached for a in assess_outlet(quiet, [earlier_quiet, *history[1:]])}
    assert SILENCE not in measures and measures["feed_silence_hours"] is False


def test_an_open_incident_opens_once_and_closes_when_back_in_band() -> None:
    out = assess("failed_extraction_share", 0.6, [0.0] * 5)
    back = assess("failed_extraction_share", 0.05, [0.0] * 5)
    assert incident_changes(set(), [out]).opened == (out,)
    assert incident_changes({"failed_extraction_share"}, [out]) == incident_changes(set(), [])
    assert incident_changes({"failed_extraction_share"}, [back]).closed == ("failed_extraction_share",)


# Stored: incidents and notices through the warehouse.


def health_command_json(engine: sa.Engine) -> dict:
    """`framewatch health --format json`, run as a user would."""
    completed = subprocess.run(
        [sys.executable, "-m", "pipeline.cli", "health", "--format", "json",
         "--db", engine.url.render_as_string(hide_password=False)],
        capture_output=True, text=True, timeout=120, check=True,
    )  # fmt: skip
    return json.loads(completed.stdout)


class Cycles:
    def __init__(self, engine: sa.Engine, outbox: Path) -> None:
        self.engine, self.outbox, self.count = engine, outbox, 0

    def run(self, *measures: OutletCycleHealth) -> dict[str, int]:
        self.count += 1
        at = START + timedelta(hours=self.count)
        with self.engine.begin() as connection:
            upsert_rows(connection, CrawlRun, [{"run_key": f"c{self.count}", "started_at": at, "status": "finished",
                                                "counts": {}}], ["run_key"])  # fmt: skip
            run_id = connection.execute(
                sa.select(CrawlRun.id).where(CrawlRun.run_key == f"c{self.count}")
            ).scalar_one()
            upsert_rows(
                connection, OutletHealth, [health_row(run_id, at, m) for m in measures], ["run_id", "outlet"]
            )
            assess_run(connection, run_id, OPERATOR)
        return send_pending_notices(self.engine, OutboxTransport(self.outbox), at)

    def incidents(self) -> list[tuple]:
        with self.engine.connect() as connection:
            return [tuple(r) for r in connection.execute(sa.text(
                "SELECT outlet, measure, status FROM outlet_incidents ORDER BY id"))]  # fmt: skip

    def mails(self) -> list[str]:
        return sorted(
            email.message_from_bytes(p.read_bytes(), policy=email.policy.default)["Subject"]
            for p in self.outbox.glob("*.eml")
        )


def test_a_break_opens_one_incident_emailed_once_and_closes_on_recovery(warehouse, tmp_path) -> None:
    cycles = Cycles(warehouse, tmp_path / "outbox")
    for cycle in range(10):  # ten steady cycles: no false alarm
        assert cycles.run(healthy("steady", cycle), healthy("breaks", cycle))["sent"] == 0
    assert cycles.incidents() == []
    sent = cycles.run(healthy("steady", 10), broken_bodies("breaks", 10))
    assert sent["sent"] == 2  # the empty bodies and the short bodies: one incident, one email each
    for cycle in (11, 12):  # still broken: nothing new opens, nobody is mailed again
        assert cycles.run(healthy("steady", cycle), broken_bodies("breaks", cycle))["sent"] == 0
    with warehouse.connect() as connection:
        statuses = connection.execute(sa.text(
            "SELECT status FROM v_outlet_health WHERE outlet_name = 'breaks' ORDER BY measured_at")).scalars().all()  # fmt: skip
    assert statuses == ["healthy"] * 10 + ["unhealthy"] * 3
    shown = {row["outlet"]: row for row in health_command_json(warehouse)["outlets"]}
    assert (shown["steady"]["status"], shown["breaks"]["status"]) == ("healthy", "unhealthy")
    assert sorted(i["measure"] for i in shown["breaks"]["open_incidents"]) == [
        "failed_extraction_share", "median_body_words",
    ]  # fmt: skip
    with warehouse.connect() as connection:  # the report of a story whose window covers the break
        window = StoryDefinition(window_start=START, window_end=START + timedelta(days=1))
        noted = {(note.outlet, note.measure) for note in outlet_health_notes(connection, window)}
        earlier = StoryDefinition(
            window_start=START - timedelta(days=9), window_end=START - timedelta(days=8)
        )
        assert outlet_health_notes(connection, earlier) == ()
    assert noted == {("breaks", "failed_extraction_share"), ("breaks", "median_body_words")}
    assert cycles.run(healthy("steady", 13), healthy("breaks", 13))["sent"] == 2  # resolved, once each
    assert cycles.run(healthy("steady", 14), healthy("breaks", 14))["sent"] == 0
    assert cycles.incidents() == [
        ("breaks", "failed_extraction_share", "closed"), ("breaks", "median_body_words", "closed"),
    ]  # fmt: skip
    mails = cycles.mails()
    assert len(mails) == 4 and all("breaks" in subject for subject in mails)
    assert sum("opened" in s for s in mails) == sum("resolved" in s for s in mails) == 2
    body = next(tmp_path.joinpath("outbox").glob("*.eml")).read_text()
    assert "Baseline" in body and "https://breaks.example/" in body  # the evidence travels with it
