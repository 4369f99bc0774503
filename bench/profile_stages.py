"""Profiles behind the missed targets of ``make bench`` (``make bench-profile``), with the standard
library's cProfile so no extra dependency is needed.

- ``process``: crawl a replay world of ``--scale`` generated articles into a fresh SQLite warehouse
  (not profiled), then profile the process stage (extract → normalise → dedupe → relevance → load →
  syndication clusters);
- ``framing``: the same world crawled and processed (not profiled), then the framing stage profiled;
- ``load``: profile ``load_articles`` of ``--articles`` synthetic articles into a fresh PostgreSQL schema.

Prints the framewatch functions by cumulative time; the full profile is saved for snakeviz/pstats.

Usage: .venv/bin/python bench/profile_stages.py process|framing [--scale 1500] | load [--articles 10000]
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import load as load_bench  # noqa: E402
from bench.replay import STORY, write_bench_config  # noqa: E402
from demo.world import ReplayWorld  # noqa: E402
from pipeline import cycle  # noqa: E402

SHOWN_FUNCTIONS = 30


def profile_cycle_stage(stage: str, scale: int, workdir: Path) -> cProfile.Profile:
    """Crawl (and for ``framing`` also process) unprofiled, then profile the one stage."""
    db_url = f"sqlite:///{workdir / 'warehouse.sqlite'}"
    with ReplayWorld(base_port=None, scale=scale) as world:
        config_dir = write_bench_config(world, workdir / "config")
        cycle.start_run(config_dir, db_url, STORY, "profile")
        cycle.crawl_stage(config_dir, db_url, STORY, "profile")
    if stage == "framing":
        cycle.process_stage(config_dir, db_url, STORY, "profile")
    profile = cProfile.Profile()
    started = time.perf_counter()
    profile.runcall(getattr(cycle, f"{stage}_stage"), config_dir, db_url, STORY, "profile")
    print(f"{stage} stage: {time.perf_counter() - started:.2f} s under the profiler ({scale} generated articles)")
    return profile


def profile_load(articles: int, pg_url: str) -> cProfile.Profile:
    records = load_bench.synthetic_articles(articles)
    profile = cProfile.Profile()
    with load_bench.fresh_postgres_schema(pg_url) as (schema_url, _):
        profile.runcall(load_bench.timed_load_articles, schema_url, records)
    return profile


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("stage", choices=("process", "framing", "load"))
    parser.add_argument("--scale", type=int, default=1500, help="process, framing: generated articles in the world")
    parser.add_argument("--articles", type=int, default=10_000, help="load: synthetic articles")
    parser.add_argument("--pg-url", default=load_bench.DEFAULT_PG_URL)
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory:
        if options.stage in ("process", "framing"):
            profile = profile_cycle_stage(options.stage, options.scale, Path(directory))
        else:
            profile = profile_load(options.articles, options.pg_url)
    saved = Path(tempfile.gettempdir()) / f"framewatch-{options.stage}.prof"
    profile.dump_stats(saved)
    stats = pstats.Stats(profile).sort_stats("cumulative")
    stats.print_stats("main/(pipeline|bench)/|sqlalchemy/sql/crud|psycopg/_queries", SHOWN_FUNCTIONS)
    print(f"full profile: {saved}")


if __name__ == "__main__":
    main()
