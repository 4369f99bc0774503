"""The framewatch command: help text and the database commands, run as a user would."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[1]


def framewatch(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "pipeline.cli", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=300,
    )


def test_help_lists_the_commands() -> None:
    result = framewatch("--help")
    assert result.returncode == 0
    for command in ("db", "check-config"):
        assert command in result.stdout


def test_db_upgrade_creates_the_warehouse_from_the_environment(tmp_path: Path) -> None:
    database = tmp_path / "w.sqlite"
    result = framewatch("db", "upgrade", env={"FRAMEWATCH_DATABASE_URL": f"sqlite:///{database}"})
    assert result.returncode == 0, result.stderr
    assert "up to date" in result.stdout
    assert "articles" in sa.inspect(sa.create_engine(f"sqlite:///{database}")).get_table_names()


def test_an_unreachable_database_is_a_clear_error() -> None:
    result = framewatch("db", "upgrade", "--db", "postgresql://nobody@127.0.0.1:1/none")
    assert result.returncode == 2
    assert "cannot reach the warehouse" in result.stderr
    assert "Traceback" not in result.stderr


def test_an_unsupported_database_url_is_a_clear_error() -> None:
    result = framewatch("db", "upgrade", "--db", "mysql://root@127.0.0.1/test")
    assert result.returncode == 2
    assert "unsupported database" in result.stderr
