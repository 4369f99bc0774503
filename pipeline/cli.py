"""The `framewatch` command: run the pipeline, manage the warehouse, and read it as an analyst.

Heavy modules (Scrapy, trafilatura, pandas-like exports) are imported inside the commands that need
them, so `framewatch --help` answers at once.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from sqlalchemy import Connection

    from schemas.framing_records import OutletComparison

app = typer.Typer(
    name="framewatch",
    help="Watch news stories across outlets, load the coverage into a warehouse and compare its framing.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
db_app = typer.Typer(help="Manage the warehouse database (migrations, analyst role).", no_args_is_help=True)
app.add_typer(db_app, name="db")

DbOption = Annotated[
    str | None,
    typer.Option(
        "--db",
        help="Warehouse URL (sqlite:///path or postgresql://...). Default: $FRAMEWATCH_DATABASE_URL, "
        "else sqlite:///data/framewatch.sqlite.",
        show_default=False,
    ),
]
ConfigOption = Annotated[
    Path, typer.Option("--config", help="Config directory with framewatch.yaml, outlets.yaml, stories/.")
]


def fail(message: str, code: int = 2) -> typer.Exit:
    typer.secho(f"error: {message}", err=True, fg=typer.colors.RED)
    return typer.Exit(code)


def migrated_database(db: str | None) -> str:
    """Resolve the warehouse URL and bring its schema up to date (every writing command does this)."""
    from sqlalchemy.exc import OperationalError

    from schemas.database import DatabaseUrlError, resolve_database_url, upgrade_database

    try:
        url = resolve_database_url(db)
        upgrade_database(url)
    except DatabaseUrlError as exc:
        raise fail(str(exc)) from None
    except OperationalError as exc:
        raise fail(f"cannot reach the warehouse: {exc.orig}") from None
    return url


@db_app.command("upgrade")
def db_upgrade(db: DbOption = None) -> None:
    """Create the warehouse or apply pending migrations (safe to run any time)."""
    from sqlalchemy.engine import make_url

    url = migrated_database(db)
    typer.echo(f"warehouse at {make_url(url).render_as_string(hide_password=True)} is up to date")


@app.command("check-config")
def check_config(config: ConfigOption = Path("config")) -> None:
    """Validate a config directory and list its outlets and stories."""
    from pipeline.config import ConfigError, load_config
    from pipeline.load.warehouse import check_config_fits

    try:
        loaded = load_config(config)
        check_config_fits(loaded.outlets, loaded.stories)  # a value longer than its warehouse column
    except ConfigError as exc:
        raise fail(str(exc)) from None
    typer.echo(
        f"{config}: {len(loaded.outlets)} outlets, stories: {', '.join(s.slug for s in loaded.stories)}"
    )
    for message in loaded.story_errors:
        typer.secho(f"error: {message}", err=True, fg=typer.colors.RED)
    if loaded.story_errors:
        raise typer.Exit(2)


def _report_story_errors(config: Path) -> None:
    """A broken story file is skipped with its message; the other stories run."""
    from pipeline.config import load_config

    for message in load_config(config).story_errors:
        typer.secho(f"skipped story: {message}", err=True, fg=typer.colors.YELLOW)


@app.command("run")
def run(config: ConfigOption = Path("config"), db: DbOption = None) -> None:
    """Run one full cycle for every story: crawl the outlets once, extract, dedupe, load, match every
    new or changed article against every story (and backfill new or edited stories from the stored
    articles), then framing and alerts for the stories with new coverage."""
    from sqlalchemy.exc import OperationalError

    from pipeline.config import ConfigError
    from pipeline.run.runner import run_cycle
    from pipeline.run.termination import Terminated, stop_on_sigterm

    stop_on_sigterm()  # SIGTERM stops the crawl and the workers too, and the run ends as failed
    url = migrated_database(db)
    try:
        _report_story_errors(config)
        run_cycle(config, url)
    except Terminated as exc:
        raise fail("stopped by SIGTERM: the crawl and its workers were stopped, the run marked failed",
                   code=int(exc.code or 143)) from None  # fmt: skip
    except ConfigError as exc:
        raise fail(str(exc)) from None
    except OperationalError as exc:
        # Each stage writes in one transaction: what failed was rolled back, so running again is safe.
        raise fail(
            f"lost the warehouse during the cycle, nothing half-written; run again: {exc.orig}"
        ) from None


@app.command("rematch")
def rematch(
    story: Annotated[str, typer.Option("--story", help="Story slug, as in config/stories/<slug>.yaml.")],
    config: ConfigOption = Path("config"),
    db: DbOption = None,
) -> None:
    """Match a story again against every stored article in its window, now, without crawling; its
    decisions are replaced (a new or edited story is re-matched at the next cycle anyway)."""
    from pipeline.config import ConfigError
    from pipeline.run.runner import rematch_story

    url = migrated_database(db)
    try:
        result = rematch_story(config, url, story)
    except ConfigError as exc:
        raise fail(str(exc)) from None
    matched = result["match"]["stories"].get(story, {}).get("backfill", {})
    typer.echo(
        f"{story}: {matched.get('articles', 0)} stored articles matched, {matched.get('relevant', 0)} relevant"
    )


class StoriesFormat(StrEnum):
    table = "table"
    json = "json"


@app.command("stories")
def stories(
    config: ConfigOption = Path("config"),
    db: DbOption = None,
    output_format: Annotated[
        StoriesFormat, typer.Option("--format", help="table or json.")
    ] = StoriesFormat.table,
) -> None:
    """List the stories: their definition fingerprint, matched articles, last match and last digest,
    and the story files that do not validate."""
    import json

    from rich.console import Console

    from pipeline.analyst.story_listing import as_rich_table
    from pipeline.config import ConfigError, load_config
    from pipeline.match.store import story_overview

    try:
        loaded = load_config(config)
    except ConfigError as exc:
        raise fail(str(exc)) from None
    with analyst_connection(db) as connection:
        rows = story_overview(connection, loaded.stories)
    if output_format is StoriesFormat.json:
        typer.echo(json.dumps({"stories": rows, "errors": list(loaded.story_errors)}, default=str, indent=2))
        return
    Console().print(as_rich_table(rows))
    for message in loaded.story_errors:
        typer.secho(f"invalid story file: {message}", err=True, fg=typer.colors.RED)


class HealthFormat(StrEnum):
    table = "table"
    json = "json"


@app.command("health")
def health(
    db: DbOption = None,
    output_format: Annotated[
        HealthFormat, typer.Option("--format", help="table or json.")
    ] = HealthFormat.table,
) -> None:
    """Outlet health: each outlet's latest cycle, its status and its open incidents (README, "Outlet health")."""
    import json

    from rich.console import Console

    from pipeline.health.listing import as_rich_table
    from pipeline.health.store import health_overview

    with analyst_connection(db) as connection:
        rows = health_overview(connection)
    if output_format is HealthFormat.json:
        typer.echo(json.dumps({"outlets": rows}, default=str, indent=2))
        return
    Console().print(as_rich_table(rows))


@app.command("reprocess")
def reprocess(
    run_id: Annotated[int, typer.Option("--run", help="The crawl run id whose archive is processed again.")],
    config: ConfigOption = Path("config"),
    db: DbOption = None,
) -> None:
    """Rebuild a run's warehouse rows from its raw archive (WARC), without re-crawling."""
    from pipeline.config import ConfigError
    from pipeline.run.runner import reprocess_run

    url = migrated_database(db)
    try:
        reprocess_run(config, url, run_id)
    except (ConfigError, LookupError) as exc:
        raise fail(str(exc)) from None


@app.command("extract")
def extract(
    paths: Annotated[list[Path], typer.Argument(help="Saved pages: .html or .html.gz files.")],
    out: Annotated[Path, typer.Option("--out", help="JSON file to write {id: {articleBody, title, ...}}.")],
    urls: Annotated[
        Path | None, typer.Option("--urls", help="JSON map of page id (file name without extensions) to URL.")
    ] = None,
) -> None:
    """Extract body, title, authors, date and language from saved pages, without the warehouse."""
    from pipeline.extract.page import ExtractInputError, extract_command

    try:
        results = extract_command(paths, out, urls)
    except ExtractInputError as exc:
        raise fail(str(exc)) from None
    typer.echo(f"extracted {len(results)} pages to {out}")


# --- Analyst commands (read the warehouse; only db grant-analyst writes) ---------------------------

AnalystStoryOption = Annotated[
    str, typer.Option("--story", help="Story slug, as in config/stories/<slug>.yaml.")
]


class CompareFormat(StrEnum):
    table = "table"
    csv = "csv"
    json = "json"


class ExportFormat(StrEnum):
    csv = "csv"
    parquet = "parquet"


@contextmanager
def analyst_connection(db: str | None) -> Iterator[Connection]:
    """A read-only session on an existing warehouse: never creates or migrates one."""
    from sqlalchemy.exc import OperationalError

    from pipeline.analyst.queries import UnknownStoryError, WarehouseUnavailable, read_only_engine
    from schemas.database import DatabaseUrlError, resolve_database_url

    try:
        engine = read_only_engine(resolve_database_url(db))
    except (DatabaseUrlError, WarehouseUnavailable) as exc:
        raise fail(str(exc)) from None
    try:
        with engine.connect() as connection:
            yield connection
    except UnknownStoryError as exc:
        raise fail(str(exc)) from None
    except OperationalError as exc:
        raise fail(f"cannot read the warehouse: {exc.orig}") from None
    finally:
        engine.dispose()


class CompareLayout(StrEnum):
    auto = "auto"
    table = "table"
    long = "long"


@app.command("compare")
def compare(
    story: AnalystStoryOption,
    output_format: Annotated[
        CompareFormat, typer.Option("--format", help="table for the terminal, csv or json to export.")
    ] = CompareFormat.table,
    columns: Annotated[
        str | None,
        typer.Option(
            "--columns",
            help="Comma-separated columns for the table: outlet, country, language, articles, original_share, "
            "mean_tone, mean_certainty, primary_frame, top_loaded_terms, voice_kinds, translations_of, "
            "actor_tones.",
            show_default=False,
        ),
    ] = None,
    layout: Annotated[
        CompareLayout,
        typer.Option("--layout", help="table, long (one block per outlet), or auto: long below 120 columns."),
    ] = CompareLayout.auto,
    db: DbOption = None,
) -> None:
    """Compare the framing of a story's coverage outlet by outlet: articles, share of original
    reporting, mean tone and certainty, main frame, loaded terms, who is quoted and the tone toward
    each of the story's actors."""
    import textwrap

    from rich.console import Console

    from pipeline.analyst.compare import (
        COLUMNS,
        NARROW_COLUMNS,
        WIDE_COLUMNS,
        WIDE_TABLE,
        as_actor_table,
        as_csv,
        as_json,
        as_long_text,
        as_rich_table,
        legend_text,
        unknown_columns,
    )
    from pipeline.analyst.portrayal import story_actor_labels
    from pipeline.analyst.queries import comparison, discovered_outlets, empty_coverage_reason, story_title

    chosen = [name.strip() for name in columns.split(",") if name.strip()] if columns else None
    if chosen and (unknown := unknown_columns(chosen)):
        raise fail(f"unknown column(s) {', '.join(unknown)}: choose from {', '.join(COLUMNS)}")
    with analyst_connection(db) as connection:
        title = story_title(connection, story)
        rows = comparison(connection, story)
        reason = None if rows else empty_coverage_reason(connection, story)
        discovered = discovered_outlets(connection)
        actor_order = story_actor_labels(connection, story)
    if output_format is not CompareFormat.table:
        typer.echo(as_csv(rows) if output_format is CompareFormat.csv else as_json(rows), nl=False)
        if reason:
            typer.echo(reason, err=True)
        return
    console = Console()
    width = console.width
    rows = marked_discovered(rows, discovered)
    if reason:
        typer.echo(f"{title}\n\n" + "\n".join(textwrap.wrap(reason, width)))
        return
    if layout is CompareLayout.long or (layout is CompareLayout.auto and not chosen and width < 120):
        typer.echo(as_long_text(rows, title, width))
    else:
        default = WIDE_COLUMNS if width >= WIDE_TABLE else NARROW_COLUMNS
        console.print(as_rich_table(rows, title=title, columns=chosen or default))
        heading = f"Tone toward the story's actors: {title}"
        actor_table = None if chosen else as_actor_table(rows, heading, actor_order)
        if actor_table is not None:
            console.print(actor_table)
        typer.echo("")
    typer.echo(legend_text(width))


def marked_discovered(
    rows: tuple[OutletComparison, ...], discovered: frozenset[str]
) -> tuple[OutletComparison, ...]:
    """Outlets found by query discovery, not configured, carry "(discovered)" on the terminal."""
    from dataclasses import replace

    return tuple(replace(r, outlet=f"{r.outlet} (discovered)") if r.outlet in discovered else r for r in rows)


@app.command("report")
def report(
    story: AnalystStoryOption,
    out: Annotated[Path, typer.Option("--out", help="The HTML file to write (one self-contained page).")],
    db: DbOption = None,
) -> None:
    """Write the analyst HTML report of a story (timeline, outlets, frames, tone, voices, syndication,
    headline edits) and print its path."""
    from datetime import UTC, datetime

    from pipeline.analyst.queries import report_data
    from pipeline.analyst.report import render_report

    if out.is_dir():
        raise fail(f"--out {out} is a folder: give the path of the HTML file to write")
    with analyst_connection(db) as connection:
        # A report written by hand is stamped with the moment it was made (nothing is stored).
        data = report_data(connection, story, generated_at=datetime.now(UTC))
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(render_report(data), encoding="utf-8")
    except OSError as exc:
        raise fail(f"cannot write --out {out}: {exc.strerror or exc}") from None
    typer.echo(str(out))


@app.command("export")
def export(
    story: AnalystStoryOption,
    output_format: Annotated[
        ExportFormat, typer.Option("--format", help="csv or parquet (typed, exact values).")
    ],
    out: Annotated[Path, typer.Option("--out", help="Directory for the files (created if missing).")],
    db: DbOption = None,
) -> None:
    """Export a story's coverage, outlet framing, headline changes and quoted voices, one file each."""
    from pipeline.analyst.queries import export_story

    if out.exists() and not out.is_dir():
        raise fail(f"--out {out} is a file: give a folder for the exported files")
    try:
        with analyst_connection(db) as connection:
            paths = export_story(connection, story, output_format.value, out)
    except OSError as exc:
        raise fail(f"cannot write to --out {out}: {exc.strerror or exc}") from None
    for path in paths:
        typer.echo(str(path))


@db_app.command("grant-analyst")
def db_grant_analyst(
    name: Annotated[str, typer.Argument(help="Role name (lower-case letters, digits, _).")],
    password_env: Annotated[
        str | None,
        typer.Option(
            "--password-env",
            help="Environment variable holding a password: the role can then log in.",
            show_default=False,
        ),
    ] = None,
    db: DbOption = None,
) -> None:
    """PostgreSQL only: create (if missing) a role that can SELECT the analyst views v_* and no table.
    Without --password-env the role cannot log in; grant it to people's own roles."""
    import os

    from pipeline.analyst.queries import AnalystRoleError, grant_analyst
    from schemas.database import make_engine

    password = None
    if password_env is not None:
        password = os.environ.get(password_env)
        if not password:
            raise fail(f"environment variable {password_env} is not set or empty")
    url = migrated_database(db)
    engine = make_engine(url)
    try:
        with engine.begin() as connection:
            views = grant_analyst(connection, name, password)
    except AnalystRoleError as exc:
        raise fail(str(exc)) from None
    finally:
        engine.dispose()
    typer.echo(f"role {name} can read {', '.join(views)}")


if __name__ == "__main__":
    app()
