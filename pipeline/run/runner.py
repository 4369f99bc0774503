"""Running a whole cycle from the terminal, with a progress display and a summary at the end.

Airflow runs the same stages from pipeline.run.cycle one task at a time; this module strings them
together for `framewatch run`, `framewatch reprocess` and `make demo`: the ingestion once for every
story, then framing and alerts for each story with new coverage, then any digest still pending.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table
from sqlalchemy import select

from pipeline.config import load_config
from pipeline.match.store import forget_matched_fingerprint
from pipeline.run import cycle
from pipeline.run.status import mark_run_failed
from schemas.database import make_engine
from schemas.models import CrawlRun

console = Console(stderr=True)


def cli_run_key(as_of: datetime) -> str:
    return f"cli:{as_of.strftime('%Y%m%dT%H%M%S.%fZ')}"


def run_cycle(
    config_dir: str | Path, db_url: str, run_key: str | None = None, as_of: datetime | None = None
) -> dict[str, Any]:
    """All stages of one cycle for every configured story; ``as_of`` is the cycle's logical time."""
    as_of = as_of or datetime.now(UTC)
    run_key = run_key or cli_run_key(as_of)
    cycle.start_run(config_dir, db_url, run_key, started_at=as_of)
    try:
        ingestion = _run_stages(
            [
                ("crawl", lambda: cycle.crawl_stage(config_dir, db_url, run_key, as_of=as_of)),
                ("process", lambda: cycle.process_stage(config_dir, db_url, run_key)),
                ("health", lambda: cycle.health_stage(config_dir, db_url, run_key)),
                ("match", lambda: cycle.match_stage(config_dir, db_url, run_key)),
            ],
            "ingestion",
        )
        follow_up = ingestion["match"]["follow_up"]
        stories = {slug: follow_up_story(config_dir, db_url, slug, run_key) for slug in follow_up}
        pending = cycle.send_pending_stage(config_dir, db_url, run_key, attempted=list(stories))
    except (
        BaseException
    ) as error:  # a failed stage, or SIGTERM (pipeline.run.termination): never left running
        mark_run_failed(db_url, run_key, error)
        raise
    summary = cycle.finish_run(config_dir, db_url, run_key, finished_at=datetime.now(UTC))
    print_summary(summary)
    return {"run_key": run_key, **summary, "stages": {**ingestion, "stories": stories, "pending": pending}}


def follow_up_story(config_dir: str | Path, db_url: str, story_slug: str, run_key: str) -> dict[str, Any]:
    """Framing and alerts of one story with new coverage (Airflow maps the same over the stories)."""
    return _run_stages(
        [
            ("framing", lambda: cycle.framing_stage(config_dir, db_url, story_slug, run_key)),
            ("alert", lambda: cycle.alert_stage(config_dir, db_url, story_slug, run_key)),
        ],
        story_slug,
    )


def _run_stages(stages: list[tuple[str, Callable[[], Any]]], label: str) -> dict[str, Any]:
    results: dict[str, Any] = {}
    with console.status(f"[bold]{label}[/bold]") as status:
        for name, stage in stages:
            status.update(f"[bold]{label}[/bold]: {name}…")
            results[name] = stage()
            console.log(f"{label}: {name} done")
    return results


def rematch_story(config_dir: str | Path, db_url: str, story_slug: str) -> dict[str, Any]:
    """Forget the fingerprint the story's decisions were made under and run the cycle without the
    crawl: its decisions are rebuilt from the stored articles, then framing and alerts follow."""

    load_config(config_dir).story(story_slug)  # an unknown or invalid story is refused before anything
    as_of = datetime.now(UTC)
    run_key = f"rematch:{story_slug}:{as_of.strftime('%Y%m%dT%H%M%S.%fZ')}"
    cycle.start_run(config_dir, db_url, run_key, started_at=as_of)
    forget_matched_fingerprint(db_url, story_slug)
    matched = cycle.match_stage(config_dir, db_url, run_key)
    stories = {slug: follow_up_story(config_dir, db_url, slug, run_key) for slug in matched["follow_up"]}
    summary = cycle.finish_run(config_dir, db_url, run_key, finished_at=datetime.now(UTC))
    return {"run_key": run_key, **summary, "match": matched, "stories": stories}


def reprocess_run(config_dir: str | Path, db_url: str, run_id: int) -> dict[str, Any]:
    """A run's warehouse rows rebuilt from its raw archive (WARC), matched against today's stories."""
    engine = make_engine(db_url)
    try:
        with engine.connect() as connection:
            run_key = connection.execute(select(CrawlRun.run_key).where(CrawlRun.id == run_id)).scalar()
    finally:
        engine.dispose()
    if run_key is None:
        raise LookupError(f"no crawl run with id {run_id}")
    result = cycle.process_stage(config_dir, db_url, run_key)
    matched = cycle.match_stage(config_dir, db_url, run_key)
    for slug in matched["follow_up"]:
        cycle.framing_stage(config_dir, db_url, slug, run_key)
    console.log(f"run {run_id} reprocessed from its archive: {result['articles']} articles")
    return result


def print_summary(summary: dict[str, Any]) -> None:
    table = Table(title=f"run {summary['run_id']}: outcomes")
    table.add_column("stage")
    table.add_column("outcome")
    table.add_column("count", justify="right")
    for stage, outcomes in sorted(summary["counts"].items()):
        if stage == "stories":
            continue
        for outcome, count in sorted(outcomes.items()):
            table.add_row(stage, outcome, str(count))
    Console().print(table)
