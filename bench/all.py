"""All benchmarks in one table (``make bench``): crawl throughput on the replay world, extraction,
dedupe and load, with peak memory and the targets each figure is held to.

On one replay world scaled to ``--scale`` generated articles (5,000 by default), in one run:

- framewatch end to end: ``run_cycle`` minus alerts (crawl → extract → dedupe → relevance → load →
  framing) into a fresh SQLite warehouse, then the same into a fresh PostgreSQL schema when reachable;
- a second, unchanged run on the SQLite warehouse (conditional GETs, re-check schedule);
- the ceiling: plain Scrapy fetching the article URLs framewatch fetched, same concurrency, bodies
  discarded (``bench/ceiling.py``);
- the peer: news-please 1.6.16, in its own virtualenv, fetching and extracting the same URL list
  (``bench/newsplease_fetch.py`` says how and why);
- extraction, dedupe and load figures from ``bench/figures.py`` and ``bench/load.py``;
- many stories: one cycle with 1 and with 100 stories, and matching's decisions per second
  (``bench/stories.py``);
- outlet health: its share of one cycle's wall time (``bench/health.py``).

Every part runs in its own process; its peak memory is that process tree's largest resident set.
Articles/s is article pages fetched (HTTP 200) per second of the part's wall time, start-up included.
Run files and logs are kept under bench/results/<time>/.

Usage: .venv/bin/python bench/all.py [--scale 5000] [--dedupe-articles 100000] [--skip-peer] [--crawl-only]
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.load import DEFAULT_PG_URL, fresh_postgres_schema, postgres_reachable  # noqa: E402
from bench.measure import PartResult, python_module, run_part  # noqa: E402
from bench.peer_venv import peer_python  # noqa: E402
from bench.replay import fetched_article_urls, write_bench_config  # noqa: E402
from demo.world import ReplayWorld  # noqa: E402

RESULTS_DIR = Path(__file__).resolve().parent / "results"
CEILING_SHARE_TARGET = 0.5  # end to end >= half the Scrapy ceiling
PEER_MULTIPLE_TARGET = 3.0  # end to end >= 3x news-please
SECOND_RUN_SHARE_TARGET = 0.10  # an unchanged second run <= 10% of the first's wall time


@dataclass(frozen=True)
class Row:
    part: str
    figure: str
    wall: str = ""
    memory: str = ""
    target: str = ""
    verdict: str = ""


def pages_per_second(result: PartResult) -> float:
    return result.report.get("article_pages", 0) / result.wall_seconds


def verdict(met: bool, value: str) -> str:
    return f"{value}: {'met' if met else 'MISSED'}"


# --- Crawl parts ---------------------------------------------------------------------------------


class CrawlBench:
    """The crawl parts against one running world; each ``run_*`` returns the part's result."""

    def __init__(self, world: ReplayWorld, run_dir: Path, concurrency: int):
        self.world = world
        self.run_dir = run_dir
        self.logs = run_dir / "logs"
        self.config = write_bench_config(world, run_dir / "config")
        self.concurrency = concurrency

    def run_framewatch(self, name: str, db_url: str) -> PartResult:
        command = python_module(
            "bench.framewatch_cycle", "--config", str(self.config), "--db", db_url, "--run-key", name
        )
        return run_part(name, command, self.logs)

    def article_url_file(self) -> Path:
        path = self.run_dir / "article-urls.txt"
        path.write_text("\n".join(fetched_article_urls(self.config / "warc")) + "\n", encoding="utf-8")
        return path

    def run_ceiling(self, urls: Path) -> PartResult:
        return run_part(
            "scrapy-ceiling",
            python_module("bench.ceiling", "--config", str(self.config), "--urls", str(urls)),
            self.logs,
        )

    def run_peer(self, urls: Path) -> PartResult:
        script = Path(__file__).resolve().parent / "newsplease_fetch.py"
        command = [
            str(peer_python()),
            str(script),
            "--urls",
            str(urls),
            "--concurrency",
            str(self.concurrency),
        ]
        return run_part("news-please", command, self.logs)


def crawl_rows(options: argparse.Namespace, run_dir: Path) -> list[Row]:
    with ReplayWorld(base_port=None, scale=options.scale, seed=options.seed) as world:
        bench = CrawlBench(world, run_dir, concurrency=8)
        first = bench.run_framewatch("framewatch-sqlite-1", f"sqlite:///{run_dir / 'warehouse.sqlite'}")
        second = bench.run_framewatch("framewatch-sqlite-2", f"sqlite:///{run_dir / 'warehouse.sqlite'}")
        urls = bench.article_url_file()
        ceiling = bench.run_ceiling(urls)
        peer = None if options.skip_peer else bench.run_peer(urls)
        postgres = run_postgres(bench, options.pg_url)
    rows = [
        end_to_end_row("framewatch end to end, SQLite", first, ceiling, peer),
        second_run_row(first, second),
    ]
    if isinstance(postgres, PartResult):
        rows.append(end_to_end_row("framewatch end to end, PostgreSQL", postgres, ceiling, peer))
    else:
        rows.append(Row("framewatch end to end, PostgreSQL", f"skipped: {postgres}"))
    rows.append(throughput_row("Scrapy ceiling (fetch, discard)", ceiling))
    rows.append(
        throughput_row("news-please 1.6.16 (from_html, own fetcher)", peer)
        if peer
        else Row("news-please", "skipped (--skip-peer)")
    )
    rows.append(
        Row(
            "replay world server (this process)",
            f"{options.scale} generated articles",
            memory=f"{own_peak_mb():.0f}",
        )
    )
    return rows


def run_postgres(bench: CrawlBench, pg_url: str) -> PartResult | str:
    unreachable = postgres_reachable(pg_url)
    if unreachable:
        return unreachable
    with fresh_postgres_schema(pg_url) as (schema_url, _):
        return bench.run_framewatch("framewatch-postgresql-1", schema_url)


def end_to_end_row(part: str, result: PartResult, ceiling: PartResult, peer: PartResult | None) -> Row:
    rate = pages_per_second(result)
    share, verdicts = rate / pages_per_second(ceiling), []
    verdicts.append(verdict(share >= CEILING_SHARE_TARGET, f"{share:.2f}x ceiling"))
    if peer:
        multiple = rate / pages_per_second(peer)
        verdicts.append(verdict(multiple >= PEER_MULTIPLE_TARGET, f"{multiple:.2f}x news-please"))
    stages = ", ".join(f"{name} {seconds:.1f}s" for name, seconds in result.report["stages"].items())
    return Row(
        part, f"{rate:.1f} articles/s ({result.report['article_pages']} pages; {stages})",
        f"{result.wall_seconds:.1f}", f"{result.peak_rss_mb:.0f}",
        f">= {CEILING_SHARE_TARGET}x ceiling, >= {PEER_MULTIPLE_TARGET:g}x news-please", "; ".join(verdicts),
    )  # fmt: skip


def second_run_row(first: PartResult, second: PartResult) -> Row:
    share = second.wall_seconds / first.wall_seconds
    fetches = second.report["counts"].get("fetch", {})
    return Row(
        "framewatch second unchanged run, SQLite", f"{share:.1%} of the first run's wall time (fetch outcomes {fetches})",
        f"{second.wall_seconds:.1f}", f"{second.peak_rss_mb:.0f}", f"<= {SECOND_RUN_SHARE_TARGET:.0%}",
        verdict(share <= SECOND_RUN_SHARE_TARGET, f"{share:.1%}"),
    )  # fmt: skip


def throughput_row(part: str, result: PartResult) -> Row:
    figure = f"{pages_per_second(result):.1f} articles/s ({result.report['article_pages']} pages)"
    return Row(part, figure, f"{result.wall_seconds:.1f}", f"{result.peak_rss_mb:.0f}")


def own_peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# --- Extraction, dedupe, load --------------------------------------------------------------------


def extraction_rows(logs: Path) -> list[Row]:
    result = run_part("extraction", python_module("bench.figures", "extraction"), logs)
    if "skipped" in result.report:
        return [Row("extraction", f"skipped: {result.report['skipped']}")]
    pages, rows = result.report["pages"], []
    for system in ("framewatch", "trafilatura"):
        figures = result.report[system]
        rows.append(Row(
            f"extraction: {system} (bare_extraction)" if system == "trafilatura" else f"extraction: {system}",
            f"body F1 {figures['f1']:.4f}; {figures['docs_per_s_wall']:.1f} docs/s wall, {figures['docs_per_s_cpu']:.1f} CPU ({pages} pages)",
            memory=f"{result.peak_rss_mb:.0f} (both)",
        ))  # fmt: skip
    return rows


def dedupe_rows(logs: Path, articles: int) -> list[Row]:
    result = run_part("dedupe", python_module("bench.figures", "dedupe", "--articles", str(articles)), logs)
    figures = result.report
    return [Row(
        f"dedupe: {figures['articles']} generated articles",
        f"{figures['articles_per_s']:.0f} articles/s (signatures + index {figures['dedupe_seconds']:.1f}s); "
        f"pairwise precision {figures['precision']:.4f}, recall {figures['recall']:.4f}",
        f"{result.wall_seconds:.1f}", f"{result.peak_rss_mb:.0f}",
        "precision, recall >= 0.95", verdict(min(figures["precision"], figures["recall"]) >= 0.95, "quality"),
    )]  # fmt: skip


def translation_rows(logs: Path, scale: int) -> list[Row]:
    """Translated copies (issue 17) on the replay world plus ``scale`` generated articles, and on the
    held-out sets (bench/heldout), with the method the pipeline runs."""
    result = run_part(
        "translation", python_module("bench.translation", "--scale", str(scale), "--json"), logs
    )
    figures = result.report
    met = figures["precision"] >= 0.95 and figures["recall"] >= 0.9 and figures["same_event_links"] == 0
    held_out = "; ".join(
        f"held-out {name.removeprefix('translations_')}: P {r['precision']:.3f}, R {r['recall']:.3f}, "
        f"{r['same_event_links']} same-event"
        for name, r in figures.get("held_out", {}).items()
    )
    return [Row(
        f"translated copies: {figures['articles']} articles (anchors + encoder)",
        f"precision {figures['precision']:.3f}, recall {figures['recall']:.3f}, "
        f"{figures['same_event_links']} same-event links; {figures['cpu_s']:.2f}s CPU; {held_out}",
        f"{result.wall_seconds:.1f}", f"{result.peak_rss_mb:.0f}",
        "P >= 0.95, R >= 0.9, 0 same-event links (replay world)", verdict(met, "quality"),
    )]  # fmt: skip


def cross_language_rows(logs: Path) -> list[Row]:
    """Stories across languages (issue 17): one-language definitions against the other language's
    coverage, on the replay world and the held-out stories (bench/cross_language.py)."""
    result = run_part("cross-language", python_module("bench.cross_language", "--report"), logs)
    rows = [
        r for r in result.report["rows"] if r["method"] == "terms + cross-language" and r["other_language"]
    ]
    figure = "; ".join(
        f"{r['set']} {r['definition']}-only: P {r['other_language']['precision']:.3f}, "
        f"R {r['other_language']['recall']:.3f}"
        for r in rows
    )
    return [Row(
        "stories across languages: other-language coverage of one-language definitions",
        figure, f"{result.wall_seconds:.1f}", f"{result.peak_rss_mb:.0f}",
        "relevance of two-language stories unchanged (P, R >= 0.95 on the world)",
        verdict(all(r["all"]["precision"] >= 0.95 and r["all"]["recall"] >= 0.95 for r in result.report["rows"]
                    if r["set"] == "world" and r["definition"] == "both"), "quality"),
    )]  # fmt: skip


def load_rows(logs: Path, pg_url: str) -> list[Row]:
    result = run_part("load", python_module("bench.load", "--pg-url", pg_url), logs)
    figures, memory = result.report, f"{result.peak_rss_mb:.0f}"
    sqlite = Row(
        "load: SQLite load_articles (reference)",
        f"{figures['sqlite_load_articles_per_s']:.0f} articles/s",
        memory=memory,
    )
    if "postgres_skipped" in figures:
        return [Row("load: PostgreSQL", f"skipped: {figures['postgres_skipped']}"), sqlite]
    ratio = figures["ratio"]
    return [
        Row(f"load: PostgreSQL load_articles, {figures['articles']} articles", f"{figures['load_articles_per_s']:.0f} articles/s",
            f"{result.wall_seconds:.1f}", memory, ">= 0.5x COPY", verdict(ratio >= 0.5, f"{ratio:.2f}x COPY")),
        Row("load: PostgreSQL raw COPY, same rows, plain tables", f"{figures['copy_per_s']:.0f} articles/s", memory=memory),
        sqlite,
    ]  # fmt: skip


def stories_rows(logs: Path, scale: int) -> list[Row]:
    """``bench/stories.py`` with 1 and 100 stories (``make bench-stories`` adds 10)."""
    result = run_part(
        "stories", python_module("bench.stories", "--scale", str(scale), "--counts", "1,100"), logs
    )
    figures = result.report
    ratio, rate = figures["wall_ratio"]["100"], figures["decisions_per_second"]["100"]
    return [
        Row("many stories: a cycle with 100 stories", f"{ratio:.2f}x the 1-story cycle's wall time "
            f"({figures['wall']['100']:.1f} s vs {figures['reference_wall']:.1f} s)", f"{result.wall_seconds:.1f}",
            f"{result.peak_rss_mb:.0f}", "<= 1.3x", verdict(ratio <= 1.3, f"{ratio:.2f}x")),
        Row("many stories: matching, 100 stories, one core", f"{rate:,.0f} article-story decisions/s", "", "",
            ">= 100,000/s", verdict(rate >= 100_000, f"{rate:,.0f}/s")),
    ]  # fmt: skip


def framing_rows(logs: Path, scale: int, seed: int) -> list[Row]:
    """The cost of tone toward actors; agreement with human labels is ``make bench-framing``'s (minutes)."""
    from bench.framing import COST_TARGET

    command = python_module("bench.framing", "--cost-only", "--scale", str(scale), "--seed", str(seed))
    result = run_part("framing-cost", command, logs)
    f = result.report
    return [
        Row(
            f"framing stage (measure and store), {f['stage_articles']} story articles, CPU of all its processes",
            f"{f['stage_before_cpu']:.1f} s without actors, {f['stage_with_actors_cpu']:.1f} s with tone toward "
            f"the story's actors ({f['actor_tone_rows']} article-actor rows)",
            f"{result.wall_seconds:.1f}", f"{result.peak_rss_mb:.0f}",
            f"<= {COST_TARGET}x the stage without actors",
            verdict(f["stage_ratio"] <= COST_TARGET, f"{f['stage_ratio']:.2f}x"),
        ),
        Row(
            f"framing measures + tone toward actors, {f['articles']} story articles (CPU, one process)",
            f"{f['framing_ms']:.2f} + {f['actor_tone_ms']:.2f} ms/article ({f['mentions_per_article']:.1f} mentions)",
            "", "", "", f"{f['ratio']:.2f}x",
        ),
        Row("framing measures against human labels", "make bench-framing (cross-validated, several minutes)"),
    ]  # fmt: skip


# --- The table -----------------------------------------------------------------------------------


def health_rows(logs: Path, scale: int) -> list[Row]:
    """Outlet health's share of a cycle (issue 16), every piece timed where it runs (``bench/health.py``)."""
    from bench.health import TARGET_SHARE

    result = run_part("health", python_module("bench.health", "--scale", str(scale), "--json"), logs)
    f = result.report
    pieces = ", ".join(f"{name} {seconds:.2f} s" for name, seconds in f["pieces"].items())
    return [Row(
        f"outlet health within a cycle, {f['articles']} articles loaded",
        f"{f['share']:.2%} of the cycle's {f['cycle_seconds']:.1f} s ({pieces})",
        f"{result.wall_seconds:.1f}", f"{result.peak_rss_mb:.0f}",
        f"<= {TARGET_SHARE:.0%}", verdict(f["share"] <= TARGET_SHARE, f"{f['share']:.2%}"),
    )]  # fmt: skip


def print_table(rows: list[Row], options: argparse.Namespace) -> None:
    print(
        f"\n## framewatch benchmarks: replay world +{options.scale} articles, {os.cpu_count()} CPUs, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC\n"
    )
    print("| part | figure | wall s | peak RSS MB | target | result |")
    print("|---|---|---|---|---|---|")
    for row in rows:
        print(f"| {row.part} | {row.figure} | {row.wall} | {row.memory} | {row.target} | {row.verdict} |")


def parse_arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--scale",
        type=int,
        default=5000,
        help="generated articles in the replay world (>= 5000 for the targets)",
    )
    parser.add_argument("--seed", type=int, default=20251124)
    parser.add_argument("--dedupe-articles", type=int, default=100_000)
    parser.add_argument("--pg-url", default=os.environ.get("FRAMEWATCH_TEST_PG_URL", DEFAULT_PG_URL))
    parser.add_argument("--skip-peer", action="store_true", help="do not install or run news-please")
    parser.add_argument(
        "--crawl-only",
        action="store_true",
        help="the crawl parts only (before/after runs of the end-to-end rows)",
    )
    return parser.parse_args()


def main() -> int:
    options = parse_arguments()
    run_dir = RESULTS_DIR / datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    rows = crawl_rows(options, run_dir)
    if not options.crawl_only:
        rows += extraction_rows(run_dir / "logs")
        rows += dedupe_rows(run_dir / "logs", options.dedupe_articles)
        rows += load_rows(run_dir / "logs", options.pg_url)
        rows += stories_rows(run_dir / "logs", options.scale)
        rows += framing_rows(run_dir / "logs", options.scale, options.seed)
        rows += translation_rows(run_dir / "logs", options.scale)
        rows += cross_language_rows(run_dir / "logs")
        rows += health_rows(run_dir / "logs", options.scale)
    print_table(rows, options)
    print(f"\nrun files and logs: {run_dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
