"""The analyst interface (issue 7): comparison, report and exports read from the warehouse views; user
input stays data; the analyst role reads the views and nothing else."""

from __future__ import annotations

import csv
import io
import json
import os
import re
import subprocess
import sys
import uuid
from pathlib import Path

import pyarrow.csv
import pyarrow.parquet as pq
import pytest
import sqlalchemy as sa
from rich.console import Console

from pipeline.analyst.compare import as_csv, as_json, as_rich_table
from pipeline.analyst.queries import (
    AnalystRoleError,
    UnknownStoryError,
    check_role_name,
    comparison,
    export_story,
    grant_analyst,
    report_data,
)
from pipeline.analyst.report import render_report
from pipeline.framing.store import compute_story_framing
from tests.framing_warehouse import (
    ARTICLES,
    HOSTILE_HEADLINE,
    SLUG,
    build_warehouse,
    story_config,
    table_contents,
)

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
    # This small world has no term above the threshold the report states, so none is shown.
    assert data.distinctive_terms == () and "No term is distinctive at that threshold." in html


def test_distinctive_words_respect_the_threshold_and_leave_out_the_outlets_own_name(
    framed: sa.Engine,
) -> None:
    """Issue 23: the report showed terms below its own threshold and outlets' names as distinctive."""
    from pipeline.analyst.queries import DISTINCTIVE_Z, distinctive_term_rows
    from schemas.models import Outlet, OutletStoryTerm, Story

    with framed.begin() as connection:
        connection.execute(sa.delete(OutletStoryTerm))
        story_id = connection.execute(sa.select(Story.id).where(Story.slug == SLUG)).scalar_one()
        outlet_id = connection.execute(
            sa.select(Outlet.id).where(Outlet.name == "Diario del Norte")
        ).scalar_one()
        terms = [
            ("soberanía", 3.1),
            ("diario norte", 2.9),
            ("norte", 2.5),
            ("injerencia", DISTINCTIVE_Z),
            ("invasión", 1.5),
        ]
        connection.execute(
            sa.insert(OutletStoryTerm),
            [{"story_id": story_id, "outlet_id": outlet_id, "term": term, "z_score": z, "rank": rank}
             for rank, (term, z) in enumerate(terms, start=1)],
        )  # fmt: skip
    with framed.connect() as connection:
        rows = distinctive_term_rows(connection, SLUG)
    assert [(row.outlet, row.term) for row in rows] == [("Diario del Norte", "soberanía")]


def test_headline_changes_name_the_story_of_each_edit(framed: sa.Engine) -> None:
    """Issue 23: v_headline_changes has story_slug, one row per story the edited article is relevant to."""
    from pipeline.load.warehouse import load_story
    from schemas.models import StoryArticle

    other = story_config().model_copy(update={"slug": "other-story", "title": "Another story"})
    with framed.begin() as connection:
        other_id = load_story(connection, other)
        rows = connection.execute(sa.select(StoryArticle.article_id, StoryArticle.scored_at)).all()
        copies = [
            {"story_id": other_id, "article_id": r.article_id, "relevance_score": 0.0, "is_relevant": False,
             "evidence": {}, "scored_at": r.scored_at}
            for r in rows
        ]  # fmt: skip
        connection.execute(sa.insert(StoryArticle), copies)
    with framed.connect() as connection:
        edits = connection.execute(sa.text("SELECT story_slug, new_headline FROM v_headline_changes")).all()
    # The article is not relevant to the other story, so its edit is listed under this story only.
    assert [tuple(edit) for edit in edits] == [(SLUG, HOSTILE_HEADLINE)]


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
    assert set(views) == {"v_story_coverage", "v_headline_changes", "v_outlet_framing", "v_outlet_health"}
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


def framewatch(*args: str, columns: int | None = None) -> subprocess.CompletedProcess:
    width = {"COLUMNS": str(columns)} if columns else {}
    return subprocess.run(
        [sys.executable, "-m", "pipeline.cli", *args], cwd=ROOT, capture_output=True, text=True,
        env={**os.environ, **width}, timeout=300,
    )  # fmt: skip


sqlite_only = pytest.mark.parametrize("empty_database_url", ["sqlite"], indirect=True)


@sqlite_only
def test_compare_command_prints_json(framed: sa.Engine, warehouse_url: str) -> None:
    result = framewatch("compare", "--story", SLUG, "--format", "json", "--db", warehouse_url)
    assert result.returncode == 0, result.stderr
    assert {row["outlet"] for row in json.loads(result.stdout)} >= {"Diario del Norte", "Capital Ledger"}


@sqlite_only
@pytest.mark.parametrize("columns", [80, 120])
def test_compare_fits_the_terminal_and_explains_its_scales(framed, warehouse_url, columns: int) -> None:
    """Issue 23: at 80 columns every cell was cut to "Outl…"; now nothing is cut and no line is too long."""
    result = framewatch("compare", "--story", SLUG, "--db", warehouse_url, columns=columns)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert max(len(line) for line in lines) <= columns
    assert "…" not in result.stdout
    text = " ".join(" ".join(line.strip(" │┃").split()) for line in lines)
    for outlet in ("Diario", "Capital", "Continental", "Harbor"):  # wrapped cells may split a name
        assert re.search(rf"(^|│ ){outlet}\b", result.stdout, flags=re.MULTILINE)
    assert "_" not in result.stdout  # frame and voice kinds in words, not codes
    if columns == 80:  # the long format: one block per outlet, nothing split across cells
        assert "main frame: External regulation and reputation" in text and "mexican government" in text
    assert "Tone: -1 negative to +1 positive" in text and "a stem matching any ending" in text


@sqlite_only
def test_compare_with_chosen_columns_shows_only_those(framed, warehouse_url) -> None:
    result = framewatch("compare", "--story", SLUG, "--db", warehouse_url, "--columns", "outlet,mean_certainty",
                        columns=80)  # fmt: skip
    assert result.returncode == 0, result.stderr
    header = next(line for line in result.stdout.splitlines() if "Outlet" in line)
    assert "Certainty" in header and "Tone" not in header and "Loaded" not in header
    refused = framewatch("compare", "--story", SLUG, "--db", warehouse_url, "--columns", "outlet,tone")
    assert refused.returncode == 2 and "unknown column(s) tone" in refused.stderr


@sqlite_only
def test_an_empty_compare_says_why(framed, warehouse_url) -> None:
    from pipeline.load.warehouse import load_story

    with framed.begin() as connection:
        load_story(connection, story_config().model_copy(update={"slug": "quiet-story", "title": "Quiet"}))
    result = framewatch("compare", "--story", "quiet-story", "--db", warehouse_url, columns=80)
    assert result.returncode == 0, result.stderr
    assert max(len(line) for line in result.stdout.splitlines()) <= 80
    text = " ".join(result.stdout.split())
    assert "No article matches this story yet. Its window is 2025-" in text
    assert "no cycle has run for it yet" in text and "framewatch run --story quiet-story" in text


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


@sqlite_only
def test_a_warehouse_behind_the_code_asks_for_an_upgrade_and_an_upgrade_brings_it_back(
    framed, warehouse_url
) -> None:
    """Issue 23: reading an older warehouse failed with "no such column"; it now says what to run.
    Also runs migration 0005's downgrade and upgrade."""
    from alembic import command

    from pipeline.analyst.queries import WarehouseUnavailable, read_only_engine
    from schemas.database import alembic_config, upgrade_database

    command.downgrade(alembic_config(warehouse_url), "0004")
    with pytest.raises(WarehouseUnavailable, match=r"at migration 0004, .* run `framewatch db upgrade`"):
        read_only_engine(warehouse_url)
    upgrade_database(warehouse_url)
    engine = read_only_engine(warehouse_url)
    with engine.connect() as connection:
        assert [edit.new_headline for edit in report_data(connection, SLUG).headline_edits] == [
            HOSTILE_HEADLINE
        ]
    engine.dispose()


@sqlite_only
def test_an_empty_report_says_why(framed, warehouse_url, tmp_path: Path) -> None:
    from pipeline.load.warehouse import load_story

    with framed.begin() as connection:
        load_story(connection, story_config().model_copy(update={"slug": "quiet-story", "title": "Quiet"}))
    out = tmp_path / "quiet.html"
    result = framewatch("report", "--story", "quiet-story", "--out", str(out), "--db", warehouse_url)
    assert result.returncode == 0, result.stderr
    page = out.read_text(encoding="utf-8")
    assert '<p class="empty-reason">No article matches this story yet.' in page and "no cycle has run" in page


@sqlite_only
def test_compare_marks_discovered_outlets(framed, warehouse_url) -> None:
    from schemas.models import Outlet

    with framed.begin() as connection:
        connection.execute(sa.update(Outlet).where(Outlet.name == "Harbor Post").values(discovered=True))
    result = framewatch("compare", "--story", SLUG, "--db", warehouse_url, columns=80)
    assert result.returncode == 0, result.stderr
    assert (
        "Harbor Post (discovered) (" in result.stdout and "Capital Ledger (discovered)" not in result.stdout
    )
    exported = framewatch("compare", "--story", SLUG, "--db", warehouse_url, "--format", "json")
    assert "Harbor Post" in {row["outlet"] for row in json.loads(exported.stdout)}  # data stays as stored


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
