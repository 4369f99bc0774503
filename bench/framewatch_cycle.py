"""One framewatch cycle without alerts, timed stage by stage: a part of ``bench/all.py``.

crawl (Scrapy, in its own process) → process (extract, normalise, dedupe, match every story, load) →
match (backfill) → framing of each story with new coverage, between ``start_run`` and ``finish_run``:
what ``run_cycle`` does, minus the alert stage.

Usage: python -m bench.framewatch_cycle --config DIR --db URL --run-key KEY
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from bench.measure import print_report
from pipeline.run import cycle


def timed_stages(config_dir: Path, db_url: str, run_key: str) -> dict[str, float]:
    arguments = (config_dir, db_url, run_key)
    follow_up: list[str] = []
    stages = {
        "start": lambda: cycle.start_run(*arguments),
        "crawl": lambda: cycle.crawl_stage(*arguments),
        "process": lambda: cycle.process_stage(*arguments),
        "match": lambda: follow_up.extend(cycle.match_stage(*arguments)["follow_up"]),
        "framing": lambda: [cycle.framing_stage(config_dir, db_url, slug, run_key) for slug in follow_up],
        "finish": lambda: cycle.finish_run(*arguments),
    }
    seconds = {}
    for name, stage in stages.items():
        started = time.perf_counter()
        stage()
        seconds[name] = round(time.perf_counter() - started, 3)
    return seconds


def article_pages(config_dir: Path, db_url: str, run_key: str) -> int:
    """Article pages this run fetched and archived (200s; 304s and skipped URLs are not pages)."""
    workdir = cycle.cycle_context(config_dir, db_url, run_key).workspace.directory
    return sum(len(path.read_text(encoding="utf-8").splitlines()) for path in workdir.rglob("manifest.jsonl"))


def loaded_articles(db_url: str, run_key: str) -> dict[str, dict[str, int]]:
    engine = cycle.make_engine(db_url)
    try:
        with engine.connect() as connection:
            return cycle.run_counts(connection, cycle.run_id(connection, run_key))
    finally:
        engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", type=Path, required=True)
    parser.add_argument("--db", required=True)
    parser.add_argument("--run-key", required=True)
    options = parser.parse_args()
    started = time.perf_counter()
    stages = timed_stages(options.config, options.db, options.run_key)
    wall = time.perf_counter() - started
    counts = loaded_articles(options.db, options.run_key)
    print_report({
        "seconds": round(wall, 3), "stages": stages,
        "article_pages": article_pages(options.config, options.db, options.run_key), "counts": counts,
    })  # fmt: skip


if __name__ == "__main__":
    main()
