"""Many stories over one crawl (``make bench-stories``, and a row of ``make bench``).

On the replay world scaled to ``--scale`` generated articles (5,000 by default), one cycle per story
count, each into a fresh SQLite warehouse, each in its own process (``bench.framewatch_cycle``: crawl,
process with matching, match/backfill, framing of the stories with coverage):

- 1 story: the cartel story alone, run first and again last (the reference is their mean, so drift of
  the machine's speed during the bench shows up as their difference);
- 10 and 100 stories: the world's four stories plus generated ones (``bench/story_bank.py``: 30-60 key
  terms per language drawn from news topics, entities the world's articles also name).

Then matching alone, in this process on one core: every stored article of the 1-story warehouse
decided against 1, 10 and 100 stories (article-story decisions per second of CPU time; stemming the
article's text once is included, since matching an article needs it).

Targets (issue "many stories"): the 100-story cycle takes at most 1.3x the 1-story cycle's wall time;
matching reaches 100,000 article-story decisions per second on one core.

Usage: .venv/bin/python bench/stories.py [--scale 5000] [--counts 1,10,100]
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.measure import PartResult, print_report, python_module, run_part  # noqa: E402
from bench.replay import write_bench_config  # noqa: E402
from bench.story_bank import generated_story  # noqa: E402
from demo.world import ReplayWorld  # noqa: E402
from demo.world.config import FIRST_STORY, demo_story_slugs  # noqa: E402

RESULTS_DIR = Path(__file__).resolve().parent / "results"
WALL_RATIO_TARGET = 1.3
DECISIONS_TARGET = 100_000


@dataclass(frozen=True)
class CycleFigures:
    stories: int
    wall: float
    cpu: float
    peak_mb: float
    stages: dict


def story_config(world: ReplayWorld, directory: Path, count: int) -> Path:
    """The bench config with ``count`` stories: the cartel story first, then the world's, then generated."""
    slugs = [FIRST_STORY, *[s for s in demo_story_slugs() if s != FIRST_STORY]][:count]
    config = write_bench_config(world, directory, stories=slugs)
    for number in range(count - len(slugs)):
        story = generated_story(number)
        document = story.model_dump(mode="json", exclude_defaults=False)
        (config / "stories" / f"{story.slug}.yaml").write_text(
            yaml.safe_dump(document, allow_unicode=True, sort_keys=False), encoding="utf-8"
        )
    return config


def children_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_cycle_part(world: ReplayWorld, run_dir: Path, count: int, label: str) -> CycleFigures:
    directory = run_dir / label
    config = story_config(world, directory / "config", count)
    before = children_cpu_seconds()
    result: PartResult = run_part(
        label,
        python_module(
            "bench.framewatch_cycle", "--config", str(config), "--db", f"sqlite:///{directory / 'warehouse.sqlite'}",
            "--run-key", label,
        ),
        run_dir / "logs",
    )  # fmt: skip
    cpu = children_cpu_seconds() - before
    return CycleFigures(count, result.wall_seconds, cpu, result.peak_rss_mb, result.report["stages"])


def matching_throughput(db_url: str, counts: list[int], config: Path) -> dict[int, tuple[int, float]]:
    """stories -> (decisions, CPU seconds) of matching every stored article on one core."""
    import sqlalchemy as sa

    from pipeline.config import load_config
    from pipeline.match.store import stored_article
    from pipeline.match.stories import compile_stories, match_article
    from schemas.database import make_engine
    from schemas.models import Article

    engine = make_engine(db_url)
    with engine.connect() as connection:
        rows = connection.execute(
            sa.select(Article.id, Article.url_hash, Article.headline, Article.dek, Article.body_text,
                      Article.language, Article.published_at, Article.last_seen_at, Article.canonical_url,
                      Article.content_hash)
        ).all()  # fmt: skip
    engine.dispose()
    articles = [stored_article(row) for row in rows]
    world_stories = list(load_config(config).stories)
    figures = {}
    for count in counts:
        stories = (world_stories + [generated_story(n) for n in range(count)])[:count]
        matcher = compile_stories(stories)
        started = time.process_time()
        for article in articles:
            match_article(matcher, article)
        figures[count] = (len(articles) * count, time.process_time() - started)
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=int, default=5000)
    parser.add_argument("--counts", default="1,10,100")
    parser.add_argument("--seed", type=int, default=20251124)
    options = parser.parse_args()
    counts = [int(c) for c in options.counts.split(",")]
    run_dir = RESULTS_DIR / f"stories-{datetime.now(UTC):%Y%m%dT%H%M%S}"
    cycles: list[CycleFigures] = []
    with ReplayWorld(base_port=None, scale=options.scale, seed=options.seed) as world:
        for count in [1, *[c for c in counts if c != 1], 1]:
            cycles.append(run_cycle_part(world, run_dir, count, f"stories-{count}-{len(cycles)}"))
    reference = [c for c in cycles if c.stories == 1]
    reference_wall = sum(c.wall for c in reference) / len(reference)
    matching = matching_throughput(
        f"sqlite:///{run_dir / 'stories-1-0' / 'warehouse.sqlite'}",
        counts,
        run_dir / "stories-1-0" / "config",
    )
    print_table(options, cycles, reference_wall, matching)
    print_report(
        {
            "reference_wall": reference_wall,
            "wall": {str(c.stories): c.wall for c in cycles if c.stories > 1},
            "wall_ratio": {str(c.stories): c.wall / reference_wall for c in cycles if c.stories > 1},
            "decisions_per_second": {str(count): d / s for count, (d, s) in matching.items()},
        }
    )
    return 0


def print_table(options, cycles: list[CycleFigures], reference_wall: float, matching: dict) -> None:
    print(
        f"\n## many stories: replay world +{options.scale} articles, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC\n"
    )
    print("| stories | cycle wall s | CPU s | peak RSS MB | stages s | wall vs 1 story | target |")
    print("|---|---|---|---|---|---|---|")
    for cycle in cycles:
        ratio = cycle.wall / reference_wall
        stages = ", ".join(f"{name} {seconds:.1f}" for name, seconds in cycle.stages.items())
        target = (
            f"<= {WALL_RATIO_TARGET}x: {'met' if ratio <= WALL_RATIO_TARGET else 'MISSED'}"
            if cycle.stories > 1
            else "reference"
        )
        print(
            f"| {cycle.stories} | {cycle.wall:.1f} | {cycle.cpu:.1f} | {cycle.peak_mb:.0f} | {stages} | {ratio:.2f}x | {target} |"
        )
    print("\n| stories | articles | decisions | CPU s (one core) | decisions/s | target |")
    print("|---|---|---|---|---|---|")
    for count, (decisions, seconds) in matching.items():
        rate = decisions / seconds
        # The target is the many-stories one: with one story, stemming the article is all the work.
        met = "met" if rate >= DECISIONS_TARGET else "MISSED"
        target = f">= {DECISIONS_TARGET:,}: {met}" if count == max(matching) else ""
        print(f"| {count} | {decisions // count} | {decisions} | {seconds:.2f} | {rate:,.0f} | {target} |")


if __name__ == "__main__":
    sys.exit(main())
