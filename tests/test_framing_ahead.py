"""Framing measured ahead: the process stage measures its relevant articles on the cores its loading
leaves idle, saves them beside the run's archive, and the framing stage stores them instead of measuring
again; without the file it measures them itself, to the same rows."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from demo.world import ReplayWorld
from demo.world.config import write_demo_config
from pipeline.framing.measures import article_framing, warehouse_fields
from pipeline.run import cycle
from pipeline.speedup import workers
from pipeline.speedup.ahead import results_ahead, save_keyed
from schemas.database import make_engine

STORY = "mexico-cartel-intervention"
AS_OF = datetime(2025, 11, 28, 12, 0, tzinfo=UTC)

pytestmark = pytest.mark.skipif(
    workers.default_workers() < 2, reason="measuring ahead needs a core beside the loading one"
)


@pytest.fixture
def processed(tmp_path, monkeypatch, empty_database_url):
    """A cycle up to its process stage, on each dialect; any batch is measured ahead (the world is
    small). The keys must match the articles as each database gives them back."""
    monkeypatch.setattr(workers, "MIN_PAGES_FOR_WORKERS", 1)
    db_url = empty_database_url
    with ReplayWorld(base_port=None) as world:
        config_dir = write_demo_config(world, tmp_path / "config", tmp_path / "warc", tmp_path / "outbox")
        cycle.start_run(config_dir, db_url, "ahead", started_at=AS_OF)
        cycle.crawl_stage(config_dir, db_url, "ahead", as_of=AS_OF)
    cycle.process_stage(config_dir, db_url, "ahead")
    cycle.match_stage(config_dir, db_url, "ahead")
    path = cycle.cycle_context(config_dir, db_url, "ahead").workspace.framing_measured_ahead
    return (config_dir, db_url, STORY, "ahead"), path


def stored_tones(db_url: str) -> dict[int, float]:
    engine = make_engine(db_url)
    try:
        with engine.connect() as connection:
            return dict(connection.execute(sa.text("SELECT article_id, tone FROM article_framing")).all())
    finally:
        engine.dispose()


def test_the_framing_stage_stores_what_the_process_stage_measured_ahead(processed) -> None:
    arguments, path = processed
    measured = results_ahead([path])
    assert measured, "the process stage saved no measures"
    # Put one recognisable measure under every saved key: the stored rows show they were taken.
    marker = article_framing("Marker headline", "Officials reportedly weighed strikes. " * 20, "en")
    save_measured_ahead_as(path, measured, marker)
    counts = cycle.framing_stage(*arguments)["counts"]
    tones = stored_tones(arguments[1])
    taken = [tone for tone in tones.values() if tone == warehouse_fields(marker)["tone"]]
    assert len(taken) == counts["framed"] > 0  # every article framed this run was measured ahead
    # Every story's framing reads the file; the run's end removes it, once the warehouse holds them all.
    cycle.finish_run(arguments[0], arguments[1], arguments[3])
    assert not path.exists(), "the measures stay on disk after the run that stored them finished"


def save_measured_ahead_as(path, measured: dict, framing) -> None:
    """Rewrite the file with ``framing`` under each of its keys (the keys stay the process stage's)."""
    save_keyed(path, dict.fromkeys(measured, framing))


def test_without_the_file_the_framing_stage_measures_the_same_rows(processed) -> None:
    arguments, path = processed
    assert results_ahead([path])
    cycle.framing_stage(*arguments)
    with_file = stored_tones(arguments[1])
    cycle.finish_run(arguments[0], arguments[1], arguments[3])
    assert with_file and not path.exists()
    # The stored measures made stale and the file gone: the framing stage measures everything itself.
    engine = make_engine(arguments[1])
    try:
        with engine.begin() as connection:
            connection.execute(sa.text("UPDATE article_framing SET measures_version = 'older'"))
    finally:
        engine.dispose()
    assert cycle.framing_stage(*arguments)["counts"]["framed"] == len(with_file)
    assert stored_tones(arguments[1]) == with_file
