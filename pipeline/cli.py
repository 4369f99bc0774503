"""The `framewatch` command: run the pipeline, manage the warehouse, and read it as an analyst.

Heavy modules (Scrapy, trafilatura, pandas-like exports) are imported inside the commands that need
them, so `framewatch --help` answers at once.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

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

    try:
        loaded = load_config(config)
    except ConfigError as exc:
        raise fail(str(exc)) from None
    typer.echo(f"{config}: {len(loaded.outlets)} outlets, stories: {', '.join(s.slug for s in loaded.stories)}")


if __name__ == "__main__":
    app()
