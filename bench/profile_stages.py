"""Profiles behind the missed targets of ``make bench`` (``make bench-profile``).

- ``cycle`` (py-spy, every process): one whole cycle as ``make bench`` times it (``bench.framewatch_cycle``)
  on a replay world of ``--scale`` generated articles, sampled by ``py-spy record --subprocesses``: the
  stage process, its worker pools and the Scrapy crawl process. Prints CPU seconds by activity, process
  and library (``bench/pyspy_summary.py``); the raw profile is kept for flame graphs.

- ``pages`` (no profiler): crawl a replay world of ``--scale`` generated articles, then run
  ``process_page`` over every archived page in this one process (the first ``WARM_UP_PAGES`` not
  timed), with wall clocks around its parts: milliseconds per page as they run, without a
  profiler's overhead or a sampler's scheduling skew.

The others use the standard library's cProfile, which sees the stage process only (not its workers):

- ``process``: crawl a replay world of ``--scale`` generated articles into a fresh SQLite warehouse
  (not profiled), then profile the process stage (extract → normalise → dedupe → relevance → load →
  syndication clusters);
- ``framing``: the same world crawled and processed (not profiled), then the framing stage profiled;
- ``load``: profile ``load_articles`` of ``--articles`` synthetic articles into a fresh PostgreSQL schema.

Prints the framewatch functions by cumulative time; the full profile is saved for snakeviz/pstats.

Usage: .venv/bin/python bench/profile_stages.py cycle|pages|process|framing [--scale 1500] [--postgresql] | load [--articles 10000]
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import load as load_bench  # noqa: E402
from bench import pyspy_summary  # noqa: E402
from bench.framewatch_cycle import article_pages  # noqa: E402
from bench.replay import STORY, write_bench_config  # noqa: E402
from demo.world import ReplayWorld  # noqa: E402
from pipeline.run import cycle  # noqa: E402

SHOWN_FUNCTIONS = 30


def profile_cycle_stage(stage: str, scale: int, workdir: Path, db_url: str) -> cProfile.Profile:
    """Crawl (and for ``framing`` also process) unprofiled, then profile the one stage."""
    with ReplayWorld(base_port=None, scale=scale) as world:
        config_dir = write_bench_config(world, workdir / "config")
        cycle.start_run(config_dir, db_url, "profile")
        cycle.crawl_stage(config_dir, db_url, "profile")
    if stage == "framing":
        cycle.process_stage(config_dir, db_url, "profile")
        cycle.match_stage(config_dir, db_url, "profile")
    arguments = (
        (config_dir, db_url, STORY, "profile") if stage == "framing" else (config_dir, db_url, "profile")
    )
    profile = cProfile.Profile()
    started = time.perf_counter()
    profile.runcall(getattr(cycle, f"{stage}_stage"), *arguments)
    print(
        f"{stage} stage: {time.perf_counter() - started:.2f} s under the profiler ({scale} generated articles)"
    )
    return profile


WARM_UP_PAGES = 100
# process_page's parts, by module: each is timed where the stage calls it (nested ones inside their caller).
TIMED_PARTS = {
    "pipeline.run.process": ("extract_article", "normalise_article"),
    "pipeline.extract.page": ("decode_html", "parse_tree", "read_structured_data", "choose_body", "choose_language",
                         "author_candidates", "htmldate_published", "published_candidates", "_keep_links"),
    "pipeline.extract.body": ("_trafilatura_paragraphs", "add_sibling_chunks", "clean_paragraphs"),
}  # fmt: skip


def time_page_parts(scale: int, workdir: Path) -> str:
    """Milliseconds per page of ``process_page`` and of its parts, in one process, no profiler."""
    import importlib

    from pipeline.crawl.archive import iter_fetched_pages
    from pipeline.extract.page import load_models
    from pipeline.run.process import process_page

    db_url = f"sqlite:///{workdir / 'warehouse.sqlite'}"
    with ReplayWorld(base_port=None, scale=scale) as world:
        config_dir = write_bench_config(world, workdir / "config")
        cycle.start_run(config_dir, db_url, "pages")
        cycle.crawl_stage(config_dir, db_url, "pages")
        context = cycle.cycle_context(config_dir, db_url, "pages")
        hosts = cycle.hosts_by_outlet(context)  # as the process stage passes them
    pages = [
        page
        for manifest in sorted(context.workspace.directory.rglob("manifest.jsonl"))
        for page in iter_fetched_pages(manifest)
    ]
    load_models()
    spent: dict[str, float] = {}
    for module_name, names in TIMED_PARTS.items():
        module = importlib.import_module(module_name)
        for name in names:
            setattr(module, name, _clocked(getattr(module, name), name, spent))
    # A few pages first load what is loaded once (compiled patterns, stemmers); the others are timed.
    # They are pages the warm-up did not see, so the URL caches hit no more often than in a cycle.
    for page in pages[:WARM_UP_PAGES]:
        process_page(page, hosts)
    timed = pages[WARM_UP_PAGES:]
    spent.clear()
    started = time.perf_counter()
    for page in timed:
        process_page(page, hosts)
    total = time.perf_counter() - started
    lines = [
        f"process_page over {len(timed)} archived pages, one process: {1000 * total / len(timed):.3f} ms per page"
    ]
    lines += [f"  {name:28s} {1000 * seconds / len(timed):.3f}" for name, seconds in
              sorted(spent.items(), key=lambda item: -item[1])]  # fmt: skip
    return "\n".join(lines)


def _clocked(function, name: str, spent: dict[str, float]):
    def clocked(*args, **kwargs):
        started = time.perf_counter()
        try:
            return function(*args, **kwargs)
        finally:
            spent[name] = spent.get(name, 0.0) + time.perf_counter() - started

    return clocked


PYSPY_RATE = 100  # samples per second and process


def profile_whole_cycle(scale: int, workdir: Path, raw_path: Path) -> str:
    """py-spy over ``bench.framewatch_cycle`` (and everything it starts); returns the summary tables."""
    py_spy = shutil.which("py-spy", path=str(Path(sys.executable).parent))
    if py_spy is None:
        raise SystemExit("py-spy is not installed in this environment: run `make setup`")
    db_url = f"sqlite:///{workdir / 'warehouse.sqlite'}"
    with ReplayWorld(base_port=None, scale=scale) as world:
        config_dir = write_bench_config(world, workdir / "config")
        cycle_command = [sys.executable, "-m", "bench.framewatch_cycle", "--config", str(config_dir),
                         "--db", db_url, "--run-key", "profile"]  # fmt: skip
        started = time.perf_counter()
        subprocess.run(
            [py_spy, "record", "--subprocesses", "--rate", str(PYSPY_RATE), "--format", "raw",
             "--output", str(raw_path), "--", *cycle_command],
            check=True, cwd=Path(__file__).resolve().parents[1], stdout=subprocess.DEVNULL,
        )  # fmt: skip
        wall = time.perf_counter() - started
    pages = article_pages(config_dir, db_url, "profile")
    with raw_path.open(encoding="utf-8") as raw:
        libraries = pyspy_summary.installed_libraries(Path(sysconfig.get_paths()["purelib"]))
        summary = pyspy_summary.summarise(pyspy_summary.parse_raw(raw), libraries)
    header = f"cycle under py-spy: {wall:.1f} s wall, {pages} article pages ({scale} generated articles)"
    return header + "\n" + pyspy_summary.render(summary, PYSPY_RATE, pages)


def profile_load(articles: int, pg_url: str) -> cProfile.Profile:
    records = load_bench.synthetic_articles(articles)
    profile = cProfile.Profile()
    with load_bench.fresh_postgres_schema(pg_url) as (schema_url, _):
        profile.runcall(load_bench.timed_load_articles, schema_url, records)
    return profile


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("stage", choices=("cycle", "pages", "process", "framing", "load"))
    parser.add_argument(
        "--scale", type=int, default=1500, help="cycle, pages, process, framing: generated articles"
    )
    parser.add_argument("--articles", type=int, default=10_000, help="load: synthetic articles")
    parser.add_argument("--pg-url", default=load_bench.DEFAULT_PG_URL)
    parser.add_argument(
        "--postgresql", action="store_true", help="process, framing: a fresh PostgreSQL schema, not SQLite"
    )
    options = parser.parse_args()
    if options.stage == "cycle":
        raw_path = Path(tempfile.gettempdir()) / "framewatch-cycle.pyspy.txt"
        with tempfile.TemporaryDirectory() as directory:
            print(profile_whole_cycle(options.scale, Path(directory), raw_path))
        print(f"raw profile (collapsed stacks, for flamegraph.pl or speedscope): {raw_path}")
        return
    if options.stage == "pages":
        with tempfile.TemporaryDirectory() as directory:
            print(time_page_parts(options.scale, Path(directory)))
        return
    with tempfile.TemporaryDirectory() as directory:
        if options.stage in ("process", "framing") and options.postgresql:
            with load_bench.fresh_postgres_schema(options.pg_url) as (schema_url, _):
                profile = profile_cycle_stage(options.stage, options.scale, Path(directory), schema_url)
        elif options.stage in ("process", "framing"):
            sqlite_url = f"sqlite:///{Path(directory) / 'warehouse.sqlite'}"
            profile = profile_cycle_stage(options.stage, options.scale, Path(directory), sqlite_url)
        else:
            profile = profile_load(options.articles, options.pg_url)
    saved = Path(tempfile.gettempdir()) / f"framewatch-{options.stage}.prof"
    profile.dump_stats(saved)
    stats = pstats.Stats(profile).sort_stats("cumulative")
    stats.print_stats("main/(pipeline|bench)/|sqlalchemy/sql/crud|psycopg/_queries", SHOWN_FUNCTIONS)
    print(f"full profile: {saved}")


if __name__ == "__main__":
    main()
