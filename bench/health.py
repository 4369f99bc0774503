"""What outlet health adds to a cycle (issue 16 target: at most 3% of its wall time), on the replay
world scaled to ``--scale`` generated articles.

One cycle (start → crawl → process → health → match → finish, no alerts or framing) into a fresh
SQLite warehouse, with every piece of health work timed where it runs:

- the page classifier and the date confidence inside ``process_page`` (in the worker processes too:
  the timer is shared memory inherited through fork), as CPU seconds, divided by the process stage's
  workers for their share of its wall time;
- the measures (``cycle._record_outlet_health``, in the process stage's loading transaction);
- the health stage (drift, incidents, notices);
- what the spider adds to each feed and sitemap it reads (``discovery.listing_freshness``: entries,
  newest entry, usual gap), timed again after the cycle over the dates of the listings it read (the
  crawl runs in its own process, where no timer reaches).

Prints one row per piece and the share of the cycle's wall time (``--json``: a JSON report last, for
``bench/all.py``).

Usage: .venv/bin/python -m bench.health [--scale 5000] [--json]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import sys
import tempfile
import time
from functools import wraps
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.replay import write_bench_config  # noqa: E402
from demo.world import ReplayWorld  # noqa: E402
from pipeline.run import (
    cycle,  # noqa: E402
    process,  # noqa: E402
)
from pipeline.speedup.workers import default_workers  # noqa: E402
from spiders import discovery  # noqa: E402

CLASSIFIER_SECONDS = multiprocessing.Value("d", 0.0)  # shared with forked workers
RECORD_SECONDS = [0.0]
TARGET_SHARE = 0.03


def timed_into(function, add):
    @wraps(function)
    def timed(*args, **kwargs):
        started = time.perf_counter()
        try:
            return function(*args, **kwargs)
        finally:
            add(time.perf_counter() - started)

    return timed


def _add_classifier(seconds: float) -> None:
    with CLASSIFIER_SECONDS.get_lock():
        CLASSIFIER_SECONDS.value += seconds


def _add_record(seconds: float) -> None:
    RECORD_SECONDS[0] += seconds


def instrument() -> None:
    process._non_article_kind = timed_into(process._non_article_kind, _add_classifier)
    process._with_date_confidence = timed_into(process._with_date_confidence, _add_classifier)
    cycle._record_outlet_health = timed_into(cycle._record_outlet_health, _add_record)


def run(scale: int) -> dict[str, float]:
    instrument()
    with tempfile.TemporaryDirectory() as scratch, ReplayWorld(base_port=None, scale=scale) as world:
        config = write_bench_config(world, Path(scratch) / "config")
        db_url = f"sqlite:///{Path(scratch) / 'bench.sqlite'}"
        key = "bench-health"
        stages = {
            "start": lambda: cycle.start_run(config, db_url, key),
            "crawl": lambda: cycle.crawl_stage(config, db_url, key),
            "process": lambda: cycle.process_stage(config, db_url, key),
            "health": lambda: cycle.health_stage(config, db_url, key),
            "match": lambda: cycle.match_stage(config, db_url, key),
            "finish": lambda: cycle.finish_run(config, db_url, key),
        }
        seconds = {}
        for name, stage in stages.items():
            started = time.perf_counter()
            result = stage()
            seconds[name] = time.perf_counter() - started
            if name == "process":
                seconds["articles"] = result["articles"]
        seconds["listing freshness"] = listing_freshness_seconds(config / "warc", world)
    return seconds


def listing_freshness_seconds(archive_dir: Path, world: ReplayWorld) -> float:
    """``listing_freshness`` over every feed and sitemap the crawl read, as many entries each as it
    counted, their dates from the world's own articles (the work the spider did, done again here)."""
    from pipeline.crawl.state import read_fetch_log

    dates = [a.published for slug in world.catalogue.outlets for a in world.catalogue.articles_of(slug, 1)]
    listings = [
        int(event["entries"])
        for log in archive_dir.rglob("fetch_log.jsonl")
        for event in read_fetch_log(log)
        if event.get("entries")
    ]
    started = time.perf_counter()
    for entries in listings:
        discovery.listing_freshness((dates * (entries // len(dates) + 1))[:entries], world.catalogue.now(1))
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=int, default=5000)
    parser.add_argument("--json", action="store_true", help="end with a JSON report (for bench/all.py)")
    options = parser.parse_args()
    seconds = run(options.scale)
    articles = seconds.pop("articles")
    listing = seconds.pop("listing freshness")  # in the crawl stage's time already: a piece, not a stage
    cycle_wall = sum(seconds.values())
    workers = default_workers()
    pieces = {
        f"classifier + date confidence ({CLASSIFIER_SECONDS.value:.2f} CPU s / {workers} workers)": (
            CLASSIFIER_SECONDS.value / workers
        ),
        "measures (process stage)": RECORD_SECONDS[0],
        "health stage": seconds["health"],
        "listing freshness (spider, re-timed)": listing,
    }
    print(
        f"cycle on the replay world +{options.scale} articles: {cycle_wall:.1f} s wall, {articles} articles loaded"
    )
    print("| piece | seconds | share of the cycle |")
    print("|---|---|---|")
    for name, value in pieces.items():
        print(f"| {name} | {value:.2f} | {100 * value / cycle_wall:.2f}% |")
    total = sum(pieces.values())
    verdict = "met" if total / cycle_wall <= TARGET_SHARE else "MISSED"
    print(
        f"| outlet health, total | {total:.2f} | {100 * total / cycle_wall:.2f}% (target <= 3%: {verdict}) |"
    )
    if options.json:
        report = {
            "cycle_seconds": cycle_wall,
            "articles": articles,
            "share": total / cycle_wall,
            "pieces": pieces,
        }
        print(json.dumps(report), flush=True)


if __name__ == "__main__":
    main()
