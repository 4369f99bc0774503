"""Migration 0005 takes a warehouse built by the one-story code to the many-stories shape, losing no row.

tests/data/warehouse-0004-demo.sqlite.gz is the SQLite warehouse that `make demo` built at commit
5a963d8 (revision 0004: crawl runs and archives keyed by story). On PostgreSQL the same rows are copied
into a schema at revision 0004 first. After the upgrade every row is still there, the analyst views
give the same coverage, and the next match stage backfills the stories from the stored articles.
"""

from __future__ import annotations

import gzip
import json
import shutil
from pathlib import Path

import pytest
import sqlalchemy as sa

from demo.world import ReplayWorld
from demo.world.config import write_demo_config
from pipeline.run import cycle
from schemas.database import make_engine, upgrade_database

FIXTURE = Path(__file__).parent / "data" / "warehouse-0004-demo.sqlite.gz"
STORY = "mexico-cartel-intervention"


def head_revision() -> str:
    from alembic.script import ScriptDirectory

    from schemas.database import MIGRATIONS_DIR, alembic_config

    return (
        ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head() if MIGRATIONS_DIR else ""
    )


def old_warehouse(tmp_path: Path) -> str:
    path = tmp_path / "built-by-0004.sqlite"
    with gzip.open(FIXTURE) as source, path.open("wb") as target:
        shutil.copyfileobj(source, target)
    return f"sqlite:///{path}"


def table_counts(url: str) -> dict[str, int]:
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            tables = [t for t in sa.inspect(connection).get_table_names() if t != "alembic_version"]
            return {t: connection.execute(sa.text(f"SELECT COUNT(*) FROM {t}")).scalar_one() for t in tables}
    finally:
        engine.dispose()


def rows(url: str, sql: str) -> list[tuple]:
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            return sorted(tuple(row) for row in connection.execute(sa.text(sql)))
    finally:
        engine.dispose()


def copy_into_postgresql(sqlite_url: str, postgres_url: str) -> None:
    """The old warehouse's rows, table by table in dependency order, into PostgreSQL at revision 0004."""
    upgrade_database(postgres_url, "0004")
    source, target = make_engine(sqlite_url), make_engine(postgres_url)
    try:
        metadata = sa.MetaData()
        metadata.reflect(target, views=False)
        with source.connect() as reading, target.begin() as writing:
            for table in metadata.sorted_tables:
                if table.name == "alembic_version":
                    continue
                found = [
                    postgres_row(table, row._mapping)
                    for row in reading.execute(sa.text(f"SELECT * FROM {table.name}"))
                ]
                if found:
                    writing.execute(table.insert(), found)
                if "id" in table.columns:
                    writing.execute(
                        sa.text(f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
                                f"COALESCE((SELECT MAX(id) FROM {table.name}), 1))")
                    )  # fmt: skip
    finally:
        source.dispose()
        target.dispose()


def postgres_row(table: sa.Table, row) -> dict:
    """SQLite keeps booleans as 0/1 and JSON as text: the PostgreSQL column types want them decoded."""
    values = dict(row)
    for column in table.columns:
        value = values.get(column.name)
        if value is None:
            continue
        if isinstance(column.type, sa.Boolean):
            values[column.name] = bool(value)
        elif isinstance(column.type, sa.JSON) and isinstance(value, str):
            values[column.name] = json.loads(value)
    return values


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def migrated(request, tmp_path):
    """(old counts, url of the upgraded warehouse, coverage before the upgrade)."""
    sqlite_url = old_warehouse(tmp_path)
    before = table_counts(sqlite_url)
    coverage = rows(sqlite_url, "SELECT story_slug, canonical_url FROM v_story_coverage")
    if request.param == "sqlite":
        url = sqlite_url
    else:
        url = request.getfixturevalue("postgres_schemas")()
        copy_into_postgresql(sqlite_url, url)
        assert table_counts(url) == before
    upgrade_database(url)
    return before, url, coverage


def test_the_old_warehouse_is_at_revision_0004():
    url = old_warehouse(Path(pytest.importorskip("tempfile").mkdtemp()))
    assert rows(url, "SELECT version_num FROM alembic_version") == [("0004",)]
    assert rows(url, "SELECT DISTINCT story_slug FROM crawl_runs") == [(STORY,)]


def test_no_row_is_lost_and_the_views_give_the_same_coverage(migrated):
    before, url, coverage = migrated
    after = table_counts(url)
    assert {table: after[table] for table in before} == before
    assert after["story_match_runs"] == 0
    assert rows(url, "SELECT story_slug, canonical_url FROM v_story_coverage") == coverage
    assert rows(url, "SELECT DISTINCT story_slug FROM crawl_runs") == [(STORY,)]  # the old runs keep theirs
    assert rows(url, "SELECT version_num FROM alembic_version") == [(head_revision(),)]


def test_the_stories_of_the_old_warehouse_are_backfilled_at_the_next_match(migrated, tmp_path):
    _, url, coverage = migrated
    assert rows(url, "SELECT slug, matched_fingerprint FROM stories") == [(STORY, None)]
    with ReplayWorld(base_port=None) as world:
        config = write_demo_config(
            world, tmp_path / "config", tmp_path / "warc", tmp_path / "outbox", [STORY]
        )
    cycle.start_run(config, url, "after-upgrade")
    matched = cycle.match_stage(config, url, "after-upgrade")
    assert matched["backfilled"] == [STORY]
    assert (
        matched["stories"][STORY]["backfill"]["articles"] == rows(url, "SELECT COUNT(*) FROM articles")[0][0]
    )
    assert rows(url, "SELECT story_slug, canonical_url FROM v_story_coverage") == coverage
    fingerprints = rows(url, "SELECT fingerprint, matched_fingerprint FROM stories")
    assert fingerprints[0][0] is not None and fingerprints[0][0] == fingerprints[0][1]
