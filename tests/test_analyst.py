"""The analyst interface (issue 7): comparison, report and exports read from the warehouse views; user
input stays data; the analyst role reads the views and nothing else."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pyarrow.csv
import pyarrow.parquet as pq
import pytest
import sqlalchemy as sa
from rich.console import Console

from pipeline.analyst import (
    AnalystRoleError,
    UnknownStoryError,
    check_role_name,
    comparison,
    export_story,
    grant_analyst,
    report_data,
)
from pipeline.compare import as_csv, as_json, as_rich_table
from pipeline.framing_store import compute_story_framing
from pipeline.report import render_report
from tests.framing_warehouse import ARTICLES, HOSTILE_HEADLINE, SLUG, build_warehouse, table_contents

ROOT = Path(__file__).resolve().parents[1]
INJECTION = "x' OR 1=1 --"
RELEVANT = sum(1 for article in ARTICLES if article.relevant)


@pytest.fixture
def framed(warehouse: sa.Engine) -> sa.Engine:
    build_warehouse(warehouse)
    with warehouse.begin() as connection:
        compute_story_framing(connection, SLUG)
    return warehouse


def by_outlet(rows) -> dict:
    return {row.outlet: row for row in rows}


def test_comparison_rows_show_each_outlets_framing(framed: sa.Engine) -> None:
    with framed.connect() as connection:
        rows = by_outlet(comparison(connection, SLUG))
    assert rows["Diario del Norte"].primary_frame == "external_regulation_and_reputation"
    assert {"invasión", "soberanía"} <= set(rows["Diario del Norte"].top_loaded_terms)
    assert rows["Diario del Norte"].voice_kinds[0].term == "mexican_government"
    assert rows["Harbor Post"].original_share == 0.0 and rows["Continental Wire"].original_share == 1.0
    assert rows["Continental Wire"].mean_certainty < rows["Capital Ledger"].mean_certainty
    assert rows["Le Monde Fictif"].mean_tone is None and rows["Le Monde Fictif"].primary_frame is None


def test_comparison_in_all_three_formats(framed: sa.Engine) -> None:
    with framed.connect() as connection:
        rows = comparison(connection, SLUG)
    parsed_csv = list(csv.DictReader(io.StringIO(as_csv(rows))))
    parsed_json = json.loads(as_json(rows))
    console = Console(record=True, width=250)
    console.print(as_rich_table(rows))
    table_text = console.export_text()
    outlets = [row.outlet for row in rows]
    assert [r["outlet"] for r in parsed_csv] == outlets == [r["outlet"] for r in parsed_json]
    assert all(outlet in table_text for outlet in outlets)
    diario = next(r for r in parsed_json if r["outlet"] == "Diario del Norte")
    assert diario["voice_kinds"]["mexican_government"] >= 1


def test_report_renders_from_the_warehouse_with_markup_escaped(framed: sa.Engine) -> None:
    with framed.connect() as connection:
        data = report_data(connection, SLUG)
        again = report_data(connection, SLUG)
    html = render_report(data)
    assert "&lt;script&gt;window.__pwned=1&lt;/script&gt;" in html and "<script" not in html.lower()
    assert render_report(again) == html  # same warehouse, same page
    assert len(data.headlines) == RELEVANT and sum(b.articles for b in data.timeline) == RELEVANT
    assert [edit.new_headline for edit in data.headline_edits] == [HOSTILE_HEADLINE]
    assert [(g.original_outlet, [c.outlet for c in g.copies]) for g in data.syndication] == [
        ("Continental Wire", ["Harbor Post"])
    ]
    assert len(data.frames) == 15 * len(data.outlets)
    assert any(q.name and "Sheinbaum" in q.name for q in data.quoted)
    assert any(row.term == "soberanía" for row in data.distinctive_terms if row.outlet == "Diario del Norte")


def test_a_hostile_story_slug_returns_nothing_and_breaks_nothing(framed: sa.Engine, tmp_path: Path) -> None:
    before = table_contents(framed)
    with framed.connect() as connection:
        assert comparison(connection, INJECTION) == ()
        with pytest.raises(UnknownStoryError, match="no story"):
            report_data(connection, INJECTION)
        with pytest.raises(UnknownStoryError):
            export_story(connection, INJECTION, "csv", tmp_path / "export")
    assert table_contents(framed) == before
    assert not (tmp_path / "export").exists()


def test_export_csv_and_parquet_read_back(framed: sa.Engine, tmp_path: Path) -> None:
    with framed.connect() as connection:
        csv_files = export_story(connection, SLUG, "csv", tmp_path / "csv")
        parquet_files = export_story(connection, SLUG, "parquet", tmp_path / "parquet")
    assert [p.stem for p in csv_files] == [p.stem for p in parquet_files]
    for csv_path, parquet_path in zip(csv_files, parquet_files, strict=True):
        from_csv, from_parquet = pyarrow.csv.read_csv(csv_path), pq.read_table(parquet_path)
        assert from_csv.column_names == from_parquet.column_names
        assert from_csv.num_rows == from_parquet.num_rows
    coverage = pq.read_table(parquet_files[0])
    assert coverage.num_rows == RELEVANT
    assert str(coverage.schema.field("published_at").type) == "timestamp[us, tz=UTC]"
    changes = pq.read_table(parquet_files[2]).to_pylist()
    assert [row["new_headline"] for row in changes] == [HOSTILE_HEADLINE]
    voices = pq.read_table(parquet_files[3]).to_pylist()
    assert {"mexican_government", "us_government", "anonymous"} <= {row["voice_kind"] for row in voices}


def test_grant_analyst_refuses_sqlite_clearly(tmp_path: Path) -> None:
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'w.sqlite'}")
    with pytest.raises(AnalystRoleError, match="needs PostgreSQL"), engine.begin() as connection:
        grant_analyst(connection, "analyst")


@pytest.mark.parametrize("name", ['bad"name', "x; DROP TABLE articles", "Analyst", "pg_reader", "public", ""])
def test_role_names_follow_identifier_rules(name: str) -> None:
    with pytest.raises(AnalystRoleError, match="invalid role name"):
        check_role_name(name)


@pytest.fixture
def analyst_role(warehouse_url: str):
    role = f"fw_analyst_{uuid.uuid4().hex[:8]}"
    yield role
    engine = sa.create_engine(warehouse_url)
    with engine.begin() as connection:
        if connection.execute(sa.text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": role}).scalar():
            connection.execute(sa.text(f'DROP OWNED BY "{role}"'))
            connection.execute(sa.text(f'DROP ROLE "{role}"'))
    engine.dispose()


@pytest.mark.parametrize("empty_database_url", [pytest.param("postgresql", marks=pytest.mark.postgres)],
                         indirect=True)  # fmt: skip
def test_analyst_role_reads_the_views_and_no_table(framed: sa.Engine, analyst_role: str) -> None:
    with framed.begin() as connection:
        views = grant_analyst(connection, analyst_role, password="s3cret'; DROP ROLE x; --")
        assert grant_analyst(connection, analyst_role) == views  # running it again is harmless
    assert set(views) == {"v_story_coverage", "v_headline_changes", "v_outlet_framing"}
    with framed.connect() as connection, connection.begin():
        connection.execute(sa.text(f'SET LOCAL ROLE "{analyst_role}"'))
        count = connection.execute(
            sa.text("SELECT COUNT(*) FROM v_story_coverage WHERE story_slug = :s"), {"s": SLUG}
        ).scalar_one()
        outlets = connection.execute(sa.text("SELECT COUNT(*) FROM v_outlet_framing")).scalar_one()
    assert count == RELEVANT and outlets > 0
    for forbidden in ("articles", "article_framing"):
        with framed.connect() as connection, connection.begin():
            connection.execute(sa.text(f'SET LOCAL ROLE "{analyst_role}"'))
            with pytest.raises(sa.exc.ProgrammingError, match="permission denied"):
                connection.execute(sa.text(f"SELECT COUNT(*) FROM {forbidden}"))
    with framed.connect() as connection:
        can_login = connection.execute(
            sa.text("SELECT rolcanlogin FROM pg_roles WHERE rolname = :r"), {"r": analyst_role}
        ).scalar_one()
    assert can_login


# --- The commands, run as a user would (SQLite warehouse file) --------------------------------------


def framewatch(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "pipeline.cli", *args], cwd=ROOT, capture_output=True, text=True,
        env={**os.environ}, timeout=300,
    )  # fmt: skip


sqlite_only = pytest.mark.parametrize("empty_database_url", ["sqlite"], indirect=True)


@sqlite_only
def test_compare_command_prints_json(framed: sa.Engine, warehouse_url: str) -> None:
    result = framewatch("compare", "--story", SLUG, "--format", "json", "--db", warehouse_url)
    assert result.returncode == 0, result.stderr
    assert {row["outlet"] for row in json.loads(result.stdout)} >= {"Diario del Norte", "Capital Ledger"}


@sqlite_only
def test_report_command_writes_the_page_and_prints_its_path(framed, warehouse_url, tmp_path: Path) -> None:
    out = tmp_path / "reports" / "story.html"
    result = framewatch("report", "--story", SLUG, "--out", str(out), "--db", warehouse_url)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str(out)
    assert "&lt;script&gt;" in out.read_text(encoding="utf-8")


@sqlite_only
def test_export_command_with_a_hostile_slug_is_a_clear_error(framed, warehouse_url, tmp_path: Path) -> None:
    out = tmp_path / "export"
    result = framewatch("export", "--story", INJECTION, "--format", "parquet", "--out", str(out),
                        "--db", warehouse_url)  # fmt: skip
    assert result.returncode == 2
    assert "no story" in result.stderr and "Traceback" not in result.stderr
    assert not out.exists()


def test_grant_analyst_command_on_sqlite_says_it_needs_postgresql(tmp_path: Path) -> None:
    result = framewatch("db", "grant-analyst", "reader", "--db", f"sqlite:///{tmp_path / 'w.sqlite'}")
    assert result.returncode == 2
    assert "needs PostgreSQL" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize("empty_database_url", [pytest.param("postgresql", marks=pytest.mark.postgres)],
                         indirect=True)  # fmt: skip
def test_an_existing_role_with_wide_privileges_loses_them(framed: sa.Engine, analyst_role: str) -> None:
    """Issue 20: a role that could read subscriber emails and delete rows, directly and through a role
    it belongs to, reads only the views after grant-analyst."""
    group = analyst_role + "_grp"
    with framed.begin() as connection:
        for statement in (f'CREATE ROLE "{analyst_role}"', f'CREATE ROLE "{group}"',
                          f'GRANT SELECT, DELETE ON ALL TABLES IN SCHEMA {quoted_schema(connection)} TO "{analyst_role}"',
                          f'GRANT SELECT, DELETE ON ALL TABLES IN SCHEMA {quoted_schema(connection)} TO "{group}"',
                          f'GRANT "{group}" TO "{analyst_role}"'):  # fmt: skip
            connection.execute(sa.text(statement))
    try:
        with framed.begin() as connection:
            grant_analyst(connection, analyst_role)
        with framed.connect() as connection:
            held = connection.execute(sa.text(
                "SELECT has_table_privilege(:r, 'alert_digests', 'SELECT') OR "
                "has_table_privilege(:r, 'articles', 'DELETE')"), {"r": analyst_role}).scalar_one()  # fmt: skip
        assert held is False
    finally:
        with framed.begin() as connection:
            connection.execute(sa.text(f'DROP OWNED BY "{group}"'))
            connection.execute(sa.text(f'DROP ROLE "{group}"'))


@pytest.mark.parametrize("empty_database_url", [pytest.param("postgresql", marks=pytest.mark.postgres)],
                         indirect=True)  # fmt: skip
def test_a_role_that_keeps_table_access_through_public_is_refused(
    framed: sa.Engine, analyst_role: str
) -> None:
    with framed.begin() as connection:
        connection.execute(sa.text("GRANT SELECT ON alert_digests TO PUBLIC"))
    try:
        with (
            pytest.raises(AnalystRoleError, match="still holds SELECT on alert_digests"),
            framed.begin() as c,
        ):
            grant_analyst(c, analyst_role)
    finally:
        with framed.begin() as connection:
            connection.execute(sa.text("REVOKE SELECT ON alert_digests FROM PUBLIC"))


def quoted_schema(connection) -> str:  # noqa: N802 - reads like the SQL it fills in
    return '"' + connection.execute(sa.text("SELECT current_schema()")).scalar_one() + '"'
