"""`make demo`: the main job end to end on the embedded default.

1. Start the replay world (fictional outlets on 127.0.0.1) in its first state.
2. Write a config for the running world (config/demo with the world's actual ports) under data/demo/.
3. Run a full cycle into the SQLite warehouse data/demo.sqlite: crawl → process → framing → alerts
   (alert emails go to the outbox folder data/demo/outbox as .eml files).
4. Switch the world to its second state (an edited headline, an added paragraph, a follow-up) and run
   the next cycle: an incremental crawl, new versions, and alerts for the new coverage only.
5. Write the story's HTML report and print the outlets side by side.

Run it again and nothing is duplicated: the warehouse is upserted and every alert goes out once.
"""

from __future__ import annotations

import shutil
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from rich.console import Console

from demo.world import ReplayWorld
from demo.world.config import write_demo_config

ROOT = Path(__file__).resolve().parents[1]
DEMO_DIR = ROOT / "data" / "demo"
DEMO_DATABASE = ROOT / "data" / "demo.sqlite"
STORY = "mexico-cartel-intervention"
DEMO_BASE_PORT = 18100

# Ten columns of framing side by side need room: never narrower than 150 columns, even in a log file.
console = Console(width=max(Console().width, 150))


def demo_config(world: ReplayWorld) -> Path:
    """config/demo with the outlets and query API of the running world (its ports may differ)."""
    config_dir = DEMO_DIR / "config"
    shutil.rmtree(config_dir, ignore_errors=True)
    return write_demo_config(world, config_dir, archive_dir=DEMO_DIR / "warc", outbox=DEMO_DIR / "outbox")


def start_world() -> ReplayWorld:
    """The world on its usual ports when they are free, else on free ones."""
    try:
        return ReplayWorld(base_port=DEMO_BASE_PORT).start()
    except OSError:
        return ReplayWorld(base_port=None).start()


def main() -> int:
    from pipeline.cycle import report_stage
    from pipeline.cycle_runner import run_cycle
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
        console.rule("cycle 1: the world as first published")
        first = datetime.now(UTC)
        run_cycle(config_dir, url, STORY, as_of=first)
        world.set_state(2)
        console.rule("cycle 2: the world a day later (edits and a follow-up)")
        # The cycle's logical time is a day on, so the re-check schedule finds the articles due again.
        run_cycle(config_dir, url, STORY, as_of=first + timedelta(days=1))
    finally:
        world.stop()
    report = report_stage(config_dir, url, STORY, DEMO_DIR / f"report-{STORY}.html")
    print_comparison(url)
    console.print(f"[bold]report[/bold] {report}")
    console.print(f"[bold]alert emails[/bold] {DEMO_DIR / 'outbox'}")
    console.print(
        f"[bold]query it[/bold] sqlite3 {DEMO_DATABASE} 'select outlet_name, headline from v_story_coverage'"
    )
    print_next_steps()
    return 0


def print_next_steps() -> None:
    """How to get the `framewatch` command on the PATH, and the first query to try (README, "Analyst
    quick start")."""
    venv = ROOT / ".venv"
    console.print(
        f"[bold]framewatch command[/bold] source {venv / 'bin' / 'activate'}   (or call {venv / 'bin' / 'framewatch'})"
    )
    console.print(f"[bold]then try[/bold] framewatch compare --story {STORY} --db sqlite:///{DEMO_DATABASE}")


def print_comparison(url: str) -> None:
    from pipeline.analyst import comparison
    from pipeline.compare import as_rich_table
    from schemas.database import make_engine

    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            console.print(as_rich_table(comparison(connection, STORY)))
    finally:
        engine.dispose()


if __name__ == "__main__":
    sys.exit(main())
