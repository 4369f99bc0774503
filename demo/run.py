"""`make demo`: the main job end to end on the embedded default.

1. Start the replay world (fictional outlets on 127.0.0.1) in its first state.
2. Write a config for the running world (config/demo with the world's actual ports) under data/demo/,
   with two stories: the cartel story and the Venezuela boat strikes.
3. Run a full cycle into the SQLite warehouse data/demo.sqlite: the outlets are crawled once for both
   stories → process (every article matched against every story) → framing → alerts (alert emails go
   to the outbox folder data/demo/outbox as .eml files).
4. Add a third story (the US-Mexico steel tariffs, defined in English only) to the config, switch the
   world to its second state (an edited headline, an added paragraph, a follow-up) and run the next
   cycle: an incremental crawl, new versions, the new story backfilled from the stored articles (no
   re-crawl, one summary digest; its Spanish coverage matched across languages by the multilingual
   encoder: the "across languages" column of the stories table), and alerts for the new coverage only.
5. Write each story's HTML report and print its outlets side by side.
6. Outlet health at work: four more cycles an hour apart while every outlet publishes every 20 minutes
   (the world's publishing clock); in the last, the world's state 3 breaks four outlets (a moved
   layout, a silent feed, a bot challenge, a consent wall). Print `framewatch health` (each outlet's
   status and open incidents) and the operator's emails about the incidents.

Run it again and nothing is duplicated: the warehouse is upserted and every alert goes out once.
"""

from __future__ import annotations

import shutil
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from rich.console import Console

from demo.world import ReplayWorld
from demo.world.config import add_demo_story, write_demo_config

ROOT = Path(__file__).resolve().parents[1]
DEMO_DIR = ROOT / "data" / "demo"
DEMO_DATABASE = ROOT / "data" / "demo.sqlite"
FIRST_STORIES = ("mexico-cartel-intervention", "venezuela-boat-strikes")
ADDED_STORY = "us-mexico-steel-tariffs"
DEMO_BASE_PORT = 18100
HEALTH_CYCLES = 4  # three steady cycles give each outlet its baseline; the fourth breaks four outlets

# Ten columns of framing side by side need room: never narrower than 150 columns, even in a log file.
console = Console(width=max(Console().width, 150))


def demo_config(world: ReplayWorld) -> Path:
    """config/demo with the outlets and query API of the running world (its ports may differ)."""
    config_dir = DEMO_DIR / "config"
    shutil.rmtree(config_dir, ignore_errors=True)
    config = write_demo_config(
        world, config_dir, archive_dir=DEMO_DIR / "warc", outbox=DEMO_DIR / "outbox", stories=FIRST_STORIES
    )
    _link_reports_in_digests(config)
    return config


def _link_reports_in_digests(config_dir: Path) -> None:
    """Digests link each story's report where the demo writes it (alerts.report_url)."""
    import yaml

    path = config_dir / "framewatch.yaml"
    settings = yaml.safe_load(path.read_text(encoding="utf-8"))
    settings["alerts"]["report_url"] = (
        (DEMO_DIR / "report-{slug}.html").as_uri().replace("%7Bslug%7D", "{slug}")
    )
    path.write_text(yaml.safe_dump(settings, sort_keys=False), encoding="utf-8")


def start_world() -> ReplayWorld:
    """The world on its usual ports when they are free, else on free ones."""
    try:
        return ReplayWorld(base_port=DEMO_BASE_PORT).start()
    except OSError:
        return ReplayWorld(base_port=None).start()


def main() -> int:
    from pipeline.run.cycle import report_stage
    from pipeline.run.runner import run_cycle
    from schemas.database import upgrade_database

    url = f"sqlite:///{DEMO_DATABASE}"
    upgrade_database(url)
    console.print(f"[bold]warehouse[/bold] {DEMO_DATABASE}")
    world = start_world()
    try:
        console.print(
            f"[bold]replay world[/bold] {len(world.outlets)} outlets on 127.0.0.1, query API {world.gdelt_url}"
        )
        config_dir = demo_config(world)
        console.rule(f"cycle 1: the world as first published; stories {', '.join(FIRST_STORIES)}")
        # Cycle 1 a day back, so that cycle 2 is now and the health cycles' newly published articles are
        # hours ahead of the clock at most (a date more than a day ahead of its fetch is refused).
        first = datetime.now(UTC) - timedelta(days=1)
        run_cycle(config_dir, url, as_of=first)
        add_demo_story(config_dir, ADDED_STORY)
        world.set_state(2)
        console.rule(
            f"cycle 2: a day later (edits and a follow-up); story {ADDED_STORY} added (defined in English only)"
        )
        # The cycle's logical time is a day on, so the re-check schedule finds the articles due again.
        second = run_cycle(config_dir, url, as_of=first + timedelta(days=1))
        watch_outlets_break(world, config_dir, url, first + timedelta(days=1))
    finally:
        world.stop()
    print_backfill(second)
    print_stories(config_dir, url)
    print_health(url)
    for slug in (*FIRST_STORIES, ADDED_STORY):
        console.rule(f"{slug}: outlets side by side")
        print_comparison(url, slug)
        report = report_stage(config_dir, url, slug, DEMO_DIR / f"report-{slug}.html")
        console.print(f"[bold]report[/bold] {report}")
    console.print(f"[bold]alert emails[/bold] {DEMO_DIR / 'outbox'}")
    console.print(
        f"[bold]query it[/bold] sqlite3 {DEMO_DATABASE} 'select outlet_name, headline from v_story_coverage'"
    )
    print_next_steps()
    return 0


def watch_outlets_break(world: ReplayWorld, config_dir: Path, url: str, after: datetime) -> None:
    """Outlet health at work: hourly cycles while every outlet publishes every 20 minutes (the world's
    publishing clock), then the world's state 3, in which four outlets break. Each outlet is judged
    against its own last cycles once it has three; the breaks open incidents, and the operator's
    emails land in the outbox beside the digests."""
    from pipeline.run.runner import run_cycle

    for hour in range(1, HEALTH_CYCLES + 1):
        breaking = hour == HEALTH_CYCLES
        if breaking:
            world.set_state(3)
        at = after + timedelta(hours=hour)
        world.set_clock(at)
        console.rule(
            "cycle {}: an hour on{}".format(
                hour + 2,
                ": four outlets break (demo/world/content/breaks.yaml)"
                if breaking
                else ", outlets publishing",
            )
        )
        run_cycle(config_dir, url, as_of=at)
    world.set_state(2)


def print_backfill(second_cycle: dict) -> None:
    matched = second_cycle["stages"]["match"]
    for slug in matched["backfilled"]:
        backfill = matched["stories"][slug]["backfill"]
        console.print(
            f"[bold]backfill[/bold] {slug}: {backfill['articles']} stored articles matched without a fetch, "
            f"{backfill['relevant']} are its coverage (its subscribers got one summary digest)"
        )


def print_stories(config_dir: Path, url: str) -> None:
    from pipeline.analyst.story_listing import as_rich_table
    from pipeline.config import load_config
    from pipeline.match.store import story_overview
    from schemas.database import make_engine

    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            console.print(as_rich_table(story_overview(connection, load_config(config_dir).stories)))
    finally:
        engine.dispose()


def print_health(url: str) -> None:
    """Outlet health as the operator sees it after the break, and the emails the operator was sent."""
    import sqlalchemy as sa

    from pipeline.health.listing import as_rich_table
    from pipeline.health.store import health_overview
    from schemas.database import make_engine

    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            console.print(as_rich_table(health_overview(connection)))
            mailed = connection.execute(
                sa.text(
                    "SELECT i.outlet, i.measure, n.event FROM operator_notices n "
                    "JOIN outlet_incidents i ON i.id = n.incident_id WHERE n.status = 'sent' ORDER BY n.id"
                )
            ).all()
    finally:
        engine.dispose()
    for outlet, measure, event in mailed:
        console.print(f"[bold]operator emailed[/bold] {outlet}: {measure} {event} ({DEMO_DIR / 'outbox'})")
    console.print(
        "The silent feed (The Coronado Border Sentinel) needs more than three cycles of its new rhythm to be "
        "judged: tests/test_outlet_breaks.py detects it in its first silent cycle after ten steady ones."
    )


def print_next_steps() -> None:
    """How to get the `framewatch` command on the PATH, and the first query to try (README, "Analyst
    quick start")."""
    venv = ROOT / ".venv"
    console.print(
        f"[bold]framewatch command[/bold] source {venv / 'bin' / 'activate'}   (or call {venv / 'bin' / 'framewatch'})"
    )
    console.print(
        f"[bold]then try[/bold] framewatch compare --story {FIRST_STORIES[0]} --db sqlite:///{DEMO_DATABASE}"
    )


def print_comparison(url: str, slug: str) -> None:
    from pipeline.analyst.compare import as_rich_table
    from pipeline.analyst.queries import comparison
    from schemas.database import make_engine

    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            console.print(as_rich_table(comparison(connection, slug)))
    finally:
        engine.dispose()


if __name__ == "__main__":
    sys.exit(main())
