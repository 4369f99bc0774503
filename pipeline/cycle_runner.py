"""Running a whole cycle from the terminal, with a progress display and a summary at the end.

Airflow runs the same stages from pipeline.cycle one task at a time; this module strings them
together for `framewatch run`, `framewatch reprocess` and `make demo`.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table
from sqlalchemy import select

from pipeline import cycle
from schemas.database import make_engine
from schemas.models import CrawlRun

console = Console(stderr=True)


def run_cycle(
    config_dir: str | Path, db_url: str, story_slug: str, run_key: str | None = None, as_of: datetime | None = None
) -> dict[str, Any]:
    """All stages of one cycle; ``as_of`` is the cycle's logical time (default: now)."""
    as_of = as_of or datetime.now(UTC)
    run_key = run_key or f"cli:{story_slug}:{as_of.strftime('%Y%m%dT%H%M%S.%fZ')}"
    stages = [
        ("crawl", lambda: cycle.crawl_stage(config_dir, db_url, story_slug, run_key, as_of=as_of)),
        ("process", lambda: cycle.process_stage(config_dir, db_url, story_slug, run_key)),
        ("framing", lambda: cycle.framing_stage(config_dir, db_url, story_slug, run_key)),
        ("alert", lambda: cycle.alert_stage(config_dir, db_url, story_slug, run_key)),
    ]
    cycle.start_run(config_dir, db_url, story_slug, run_key, started_at=as_of)
    results = _run_stages(stages, story_slug)
    summary = cycle.finish_run(config_dir, db_url, story_slug, run_key, finished_at=datetime.now(UTC))
    print_summary(story_slug, summary)
    return {"run_key": run_key, **summary, "stages": results}


def _run_stages(stages, story_slug: str) -> dict[str, Any]:
    results: dict[str, Any] = {}
    with console.status(f"[bold]{story_slug}[/bold]") as status:
        for name, stage in stages:
            status.update(f"[bold]{story_slug}[/bold]: {name}…")
            results[name] = stage()
            console.log(f"{name}: done")
    return results


def reprocess_run(config_dir: str | Path, db_url: str, run_id: int) -> dict[str, Any]:
    engine = make_engine(db_url)
    try:
        with engine.connect() as connection:
            row = connection.execute(
                select(CrawlRun.run_key, CrawlRun.story_slug).where(CrawlRun.id == run_id)
            ).first()
    finally:
        engine.dispose()
    if row is None:
        raise LookupError(f"no crawl run with id {run_id}")
    result = cycle.process_stage(config_dir, db_url, row.story_slug, row.run_key)
    cycle.framing_stage(config_dir, db_url, row.story_slug, row.run_key)
    console.log(f"run {run_id} reprocessed from its archive: {result['articles']} articles")
    return result


def print_summary(story_slug: str, summary: dict[str, Any]) -> None:
    table = Table(title=f"run {summary['run_id']} — {story_slug}: outcomes")
    table.add_column("stage")
    table.add_column("outcome")
    table.add_column("count", justify="right")
    for stage, outcomes in sorted(summary["counts"].items()):
        for outcome, count in sorted(outcomes.items()):
            table.add_row(stage, outcome, str(count))
    Console().print(table)
