"""A run that does not finish never stays ``running`` (issue 20), on both dialects.

A run whose process was killed outright (SIGKILL, a lost machine) cannot mark itself: the next run
marks it failed when it starts. A run that finishes after all is marked finished by its own end.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa

from pipeline.run import cycle

CONFIG = Path(__file__).parents[1] / "config"
FIRST = datetime(2025, 11, 28, 12, 0, tzinfo=UTC)


def statuses(url: str) -> dict[str, tuple[str, str | None]]:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(sa.text("SELECT run_key, status, counts FROM crawl_runs")).all()
    finally:
        engine.dispose()
    return {key: (status, str(counts)) for key, status, counts in rows}


def test_a_run_left_running_by_a_killed_process_is_failed_by_the_next_run(warehouse_url: str) -> None:
    cycle.start_run(CONFIG, warehouse_url, "killed-outright", started_at=FIRST)  # then SIGKILL: no finish
    cycle.start_run(CONFIG, warehouse_url, "the-next-one", started_at=FIRST + timedelta(minutes=30))
    found = statuses(warehouse_url)
    assert found["killed-outright"][0] == "failed" and "abandoned" in found["killed-outright"][1]
    assert found["the-next-one"][0] == "running"
    # a run still alive after all ends as its own finish says
    cycle.finish_run(CONFIG, warehouse_url, "killed-outright")
    assert statuses(warehouse_url)["killed-outright"][0] == "finished"


def test_a_rerun_of_the_same_interval_is_not_abandoned_by_itself(warehouse_url: str) -> None:
    cycle.start_run(CONFIG, warehouse_url, "same-interval", started_at=FIRST)
    cycle.start_run(CONFIG, warehouse_url, "same-interval", started_at=FIRST)
    assert statuses(warehouse_url)["same-interval"][0] == "running"
