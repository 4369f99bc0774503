"""Connecting to the warehouse and keeping its schema current."""

from __future__ import annotations

import fcntl
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine import make_url

DEFAULT_DATABASE_URL = "sqlite:///data/framewatch.sqlite"
MIGRATIONS_DIR = Path(__file__).parent / "migrations"


class DatabaseUrlError(ValueError):
    """The database URL cannot be used; the message says why."""


def resolve_database_url(cli_value: str | None = None) -> str:
    """--db wins, then FRAMEWATCH_DATABASE_URL, then the embedded SQLite file under ./data/."""
    url = cli_value or os.environ.get("FRAMEWATCH_DATABASE_URL") or DEFAULT_DATABASE_URL
    return normalise_database_url(url)


# user:password@ of a database URL: never printed in an error.
_USERINFO = re.compile(r"(?<=//)[^/@\s]*@")


def normalise_database_url(url: str) -> str:
    try:
        parsed = make_url(url)
    except Exception as exc:  # sqlalchemy raises ArgumentError with an unhelpful message
        message = f"not a database URL: {url!r} ({exc})"
        raise DatabaseUrlError(_USERINFO.sub("***@", message)) from exc
    # PostgreSQL goes through psycopg 3: accept the plain postgresql:// spelling too.
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    if parsed.drivername not in ("sqlite", "postgresql+psycopg"):
        raise DatabaseUrlError(f"unsupported database {parsed.drivername!r}: use sqlite:/// or postgresql://")
    return parsed.render_as_string(hide_password=False)


def make_engine(url: str) -> Engine:
    url = normalise_database_url(url)
    parsed = make_url(url)
    if parsed.drivername == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            try:
                Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:  # a file in the way, no permission, a read-only disk
                raise DatabaseUrlError(f"cannot create the SQLite file's directory: {exc}") from exc
        engine = create_engine(url, connect_args={"timeout": 60})
        event.listen(engine, "connect", _configure_sqlite)
        return engine
    return create_engine(url, pool_pre_ping=True, connect_args={"connect_timeout": 10})


def _configure_sqlite(dbapi_connection, _record) -> None:
    # Foreign keys are off by default in SQLite; WAL lets analysts read while a run writes.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=60000")
    cursor.close()


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


# pg_advisory_xact_lock key of migrations: any constant agreed by every framewatch process.
MIGRATION_LOCK_KEY = 0x66726D77  # "frmw"


@contextmanager
def migration_lock(connection: Connection) -> Iterator[None]:
    """Held while migrating, so two first runs on a fresh database take turns: the second finds the
    schema current instead of failing on tables the first just created. PostgreSQL: an advisory lock
    released at commit; SQLite (whose DDL does not wait for another writer): a lock on a file beside
    the database."""
    database = connection.engine.url.database
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
        yield
    elif database and database != ":memory:":
        with open(f"{database}.migrate-lock", "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            yield
    else:
        yield


def upgrade_database(url: str, revision: str = "head") -> None:
    """Apply every pending migration (a no-op on a current database); one process at a time."""
    engine = make_engine(url)
    try:
        with migration_connection(engine) as connection, migration_lock(connection):
            config = alembic_config(url)
            config.attributes["connection"] = connection
            command.upgrade(config, revision)
    finally:
        engine.dispose()


@contextmanager
def migration_connection(engine: Engine) -> Iterator[Connection]:
    """A connection in a transaction, for migrations. On SQLite, foreign keys are off while it lasts:
    Alembic's batch mode rebuilds a table (copy, drop, rename), and with foreign keys on the drop
    deletes every row that cascades from the table. The pragma only takes effect outside a transaction,
    so it is set before the migration's transaction begins."""
    with engine.connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        if sqlite:
            connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
            connection.commit()  # ends SQLAlchemy's autobegun block; SQLite itself began nothing
        try:
            with connection.begin():
                yield connection
        finally:
            if sqlite:
                connection.rollback()  # a failed migration leaves its block to end first
                connection.exec_driver_sql("PRAGMA foreign_keys=ON")
                connection.commit()
