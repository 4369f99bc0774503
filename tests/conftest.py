"""Shared fixtures: warehouses on SQLite and PostgreSQL, and the replay world.

PostgreSQL comes from FRAMEWATCH_TEST_PG_URL (default: the local service with trust auth). Each test
session works in a schema of its own, dropped at the end. With CI=true an unreachable PostgreSQL fails
the run; elsewhere the PostgreSQL variants skip and say why.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager

import pytest
import sqlalchemy as sa

DEFAULT_TEST_PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def _running_in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


@pytest.fixture(scope="session")
def postgres_server_url() -> str:
    url = os.environ.get("FRAMEWATCH_TEST_PG_URL", DEFAULT_TEST_PG_URL)
    try:
        engine = sa.create_engine(url, connect_args={"connect_timeout": 5})
        with engine.connect() as connection:
            connection.execute(sa.text("select 1"))
        engine.dispose()
    except Exception as exc:  # any failure to connect means "no PostgreSQL here"
        reason = (
            f"PostgreSQL not reachable at {url} ({type(exc).__name__}: {exc}); set FRAMEWATCH_TEST_PG_URL"
        )
        if _running_in_ci():
            pytest.fail(f"CI requires PostgreSQL: {reason}")
        pytest.skip(reason)
    return url


@contextmanager
def fresh_postgres_schema(server_url: str, prefix: str = "fw_t") -> Iterator[str]:
    """A PostgreSQL URL whose search_path is a new schema of its own, dropped on leaving."""
    schema = f"{prefix}_{uuid.uuid4().hex[:12]}"
    engine = sa.create_engine(server_url)
    with engine.begin() as connection:
        connection.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    url = sa.engine.make_url(server_url).update_query_dict({"options": f"-csearch_path={schema}"})
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with engine.begin() as connection:
            connection.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        engine.dispose()


@pytest.fixture(scope="session")
def postgres_schema_url(postgres_server_url: str) -> Iterator[str]:
    """A PostgreSQL URL whose search_path is a fresh schema for this test session."""
    with fresh_postgres_schema(postgres_server_url, "fw_test") as url:
        yield url


@pytest.fixture(scope="module")
def postgres_schemas(postgres_server_url: str) -> Iterator:
    """Makes PostgreSQL URLs, each on a fresh schema (dropped at the module's end), for scenarios that
    must not share a warehouse with each other or with other modules."""
    with ExitStack() as stack:
        yield lambda: stack.enter_context(fresh_postgres_schema(postgres_server_url, "fw_m"))


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def empty_database_url(request: pytest.FixtureRequest, tmp_path) -> Iterator[str]:
    """An empty database on each dialect: a new SQLite file, or a new PostgreSQL schema."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'warehouse.sqlite'}"
        return
    with fresh_postgres_schema(request.getfixturevalue("postgres_server_url")) as url:
        yield url


@pytest.fixture
def warehouse_url(empty_database_url: str) -> str:
    """A migrated, empty warehouse on each dialect."""
    from schemas.database import upgrade_database

    upgrade_database(empty_database_url)
    return empty_database_url


@pytest.fixture
def warehouse(warehouse_url: str) -> Iterator[sa.Engine]:
    from schemas.database import make_engine

    engine = make_engine(warehouse_url)
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def replay_world():
    """The replay world (demo/world) on free loopback ports, in state 1, for the whole session.

    Tests that switch its state must use a world of their own: others rely on state 1.
    """
    from demo.world import ReplayWorld

    with ReplayWorld() as world:
        yield world
