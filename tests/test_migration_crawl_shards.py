"""Migration 0009 moves each run's archive entries from crawl_runs.warc_paths into crawl_shards rows,
and its downgrade writes them back (issue 18: the run's workspace as a typed contract)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import command

from schemas.database import alembic_config, make_engine, upgrade_database

STARTED = datetime(2025, 11, 28, 12, 0, tzinfo=UTC)


def entry(directory: str, run_key: str, shard: str, warc: bool) -> dict:
    """An archive entry as crawl_state wrote it before 0009."""
    return {
        "shard": shard,
        "warc": [f"{directory}/{run_key}.warc.gz"] if warc else [],
        "manifest": f"{directory}/manifest.jsonl",
        "fetch_log": f"{directory}/fetch_log.jsonl",
        "http_cache": f"{directory}/http_cache_updates.json",
    }


RUNS = {
    "sharded": [
        entry("/data/warc/runs/sharded/shard-0a1b2c3d4e", "sharded", "shard-0a1b2c3d4e", warc=True),
        entry("/data/warc/runs/sharded/shard-9f8e7d6c5b", "sharded", "shard-9f8e7d6c5b", warc=False),
    ],
    "whole": [entry("/data/warc/runs/whole/all", "whole", "all", warc=True)],
    "no-crawl-yet": [],
}


def stored_entries(url: str) -> dict[str, list]:
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            found = connection.execute(sa.text("SELECT run_key, warc_paths FROM crawl_runs")).all()
    finally:
        engine.dispose()
    return {key: value if isinstance(value, list) else json.loads(value) for key, value in found}


def test_archive_entries_become_shard_rows_and_come_back_on_downgrade(empty_database_url) -> None:
    url = empty_database_url
    upgrade_database(url, "0008")
    engine = make_engine(url)
    try:
        runs = sa.table(
            "crawl_runs", sa.column("run_key"), sa.column("started_at"), sa.column("status"),
            sa.column("warc_paths", sa.JSON), sa.column("counts", sa.JSON),
        )  # fmt: skip
        with engine.begin() as connection:
            for run_key, entries in RUNS.items():
                connection.execute(
                    runs.insert().values(
                        run_key=run_key, started_at=STARTED, status="finished", warc_paths=entries, counts={}
                    )  # fmt: skip
                )
        upgrade_database(url)
        with engine.connect() as connection:
            shards = connection.execute(
                sa.text(
                    "SELECT r.run_key, s.shard, s.directory, s.has_warc FROM crawl_shards s "
                    "JOIN crawl_runs r ON r.id = s.run_id ORDER BY r.run_key, s.shard"
                )
            ).all()
            columns = {c["name"] for c in sa.inspect(connection).get_columns("crawl_runs")}
    finally:
        engine.dispose()
    assert [tuple(row) for row in shards] == [
        ("sharded", "shard-0a1b2c3d4e", "/data/warc/runs/sharded/shard-0a1b2c3d4e", True),
        ("sharded", "shard-9f8e7d6c5b", "/data/warc/runs/sharded/shard-9f8e7d6c5b", False),
        ("whole", "all", "/data/warc/runs/whole/all", True),
    ]
    assert "warc_paths" not in columns

    command.downgrade(alembic_config(url), "0008")
    assert stored_entries(url) == RUNS
