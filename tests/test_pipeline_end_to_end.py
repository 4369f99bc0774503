"""The whole cycle against the replay world: v_story_coverage matches the world's truth file.

One world and one warehouse per dialect (SQLite, PostgreSQL): cycle 1 on state 1, cycle 2 on the
unchanged world (must change no analyst-facing row), cycle 3 a day later on state 2 (versions).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from demo.world import ReplayWorld
from demo.world.config import write_demo_config
from pipeline.crawl.workspace import ShardWorkspace
from pipeline.run.runner import run_cycle
from schemas.database import make_engine

pytestmark = pytest.mark.slow

STORY = "mexico-cartel-intervention"
FIRST = datetime(2025, 11, 28, 12, 0, tzinfo=UTC)
# Tables whose rows describe one run rather than the world (new rows each run, by design).
PER_RUN_TABLES = {
    "crawl_runs", "crawl_shards", "fetch_log", "run_outcomes", "http_cache", "quarantine", "alembic_version",
    "story_match_runs", "outlet_health",
}  # fmt: skip


class Pipeline:
    """A replay world, its config and a warehouse, driven cycle by cycle."""

    def __init__(self, world: ReplayWorld, config_dir: Path, db_url: str) -> None:
        self.world, self.config_dir, self.db_url = world, config_dir, db_url
        self.engine = make_engine(db_url)
        self.snapshots: dict[str, dict[str, list[str]]] = {}

    def cycle(self, name: str, as_of: datetime) -> None:
        run_cycle(self.config_dir, self.db_url, run_key=f"e2e-{name}", as_of=as_of)
        self.snapshots[name] = analyst_rows(self.engine)

    def coverage(self) -> dict[str, dict]:
        with self.engine.connect() as connection:
            rows = connection.execute(
                sa.text("SELECT * FROM v_story_coverage WHERE story_slug = :s"), {"s": STORY}
            )
            return {row.canonical_url: row._asdict() for row in rows}


def analyst_rows(engine: sa.Engine) -> dict[str, list[str]]:
    """Every analyst-facing table's rows, as sorted text, without surrogate ids."""
    metadata = sa.MetaData()
    metadata.reflect(engine)
    contents = {}
    with engine.connect() as connection:
        for table in metadata.sorted_tables:
            if table.name in PER_RUN_TABLES:
                continue
            columns = [
                c
                for c in table.columns
                if c.name not in ("id", "first_run_id", "last_run_id", "run_id", "rematched_run_id")
            ]
            contents[table.name] = sorted(repr(tuple(row)) for row in connection.execute(sa.select(*columns)))
    return contents


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def pipeline(request, tmp_path_factory):
    directory = tmp_path_factory.mktemp(f"e2e-{request.param}")
    if request.param == "sqlite":
        db_url = f"sqlite:///{directory / 'warehouse.sqlite'}"
    else:
        db_url = request.getfixturevalue("postgres_schema_url")
    with ReplayWorld(base_port=None) as world:
        config_dir = write_demo_config(world, directory / "config", directory / "warc", directory / "outbox")
        driven = Pipeline(world, config_dir, db_url)
        driven.truth = world.truth()
        driven.cycle("first", FIRST)
        driven.cycle("unchanged", FIRST + timedelta(minutes=5))
        world.set_state(2)
        driven.cycle("state2", FIRST + timedelta(days=1))
        yield driven
        driven.engine.dispose()


def truth_story_articles(truth: dict, state: int) -> dict[str, dict]:
    return {
        url: article
        for url, article in truth["articles"].items()
        if article["is_story"] and str(state) in article["versions"]
    }


def test_the_relevant_set_is_the_truth_files_coverage(pipeline) -> None:
    expected = set(truth_story_articles(pipeline.truth, 2))
    found = set(pipeline.coverage())
    assert found == expected, f"missing {sorted(expected - found)}; unexpected {sorted(found - expected)}"


def test_headlines_and_authors_match_the_truth(pipeline) -> None:
    coverage = pipeline.coverage()
    for url, article in truth_story_articles(pipeline.truth, 2).items():
        row = coverage[url]
        expected_headline = " ".join(article["versions"]["2"]["headline"].split())
        assert " ".join((row["headline"] or "").split()) == expected_headline, url
        authors = (
            row["authors"] if isinstance(row["authors"], list) else __import__("json").loads(row["authors"])
        )
        assert sorted(authors) == sorted(article["authors"]), url


def test_syndicated_copies_share_their_originals_cluster(pipeline) -> None:
    coverage = pipeline.coverage()
    by_id = {article["id"]: url for url, article in truth_story_articles(pipeline.truth, 2).items()}
    for url, article in truth_story_articles(pipeline.truth, 2).items():
        row = coverage[url]
        if article["syndicates"]:
            original = coverage[by_id[article["syndicates"]]]
            assert row["syndication_cluster"] is not None, (
                f"{url} copies {article['syndicates']} but has no cluster"
            )
            assert row["syndication_cluster"] == original["syndication_cluster"], url
            assert not row["is_original"], url
            # A translation is not original reporting either (issue 17).
            translated = pipeline.truth["articles"][by_id[article["syndicates"]]]["translates"]
            assert original["is_original"] == (not translated), by_id[article["syndicates"]]
        elif not any(a["syndicates"] == article["id"] for a in pipeline.truth["articles"].values()):
            assert row["syndication_cluster"] is None, f"{url} is alone but clustered"


def test_translated_copies_name_their_original_in_the_coverage(pipeline) -> None:
    """Issue 17: a translation (or a same-language copy of one) names the original it renders."""
    coverage = pipeline.coverage()
    url_of = {article["id"]: url for url, article in pipeline.truth["articles"].items()}
    translations = 0
    for url, article in truth_story_articles(pipeline.truth, 2).items():
        row = coverage[url]
        if article["translates"]:
            translations += 1
            original = pipeline.truth["articles"][url_of[article["translates"]]]
            assert row["translation_of_url"] == url_of[article["translates"]], url
            assert (row["translation_of_outlet"], row["translation_of_language"]) == (
                original["outlet"],
                original["language"],
            ), url
            assert 0 < row["translation_score"] <= 1 and not row["is_original"], url
        else:
            assert row["translation_of_url"] is None, url
    assert translations >= 2


def test_stored_translation_links_are_exactly_the_truths(pipeline) -> None:
    """Issue 17 through the whole pipeline (crawl, extraction, syndication): every translation the world
    holds is linked to its original, and nothing else is (precision and recall 1 on the replay world)."""
    with pipeline.engine.connect() as connection:
        stored = set(connection.execute(sa.text(
            """SELECT t.canonical_url, o.canonical_url FROM translation_links l
               JOIN articles t ON t.id = l.article_id JOIN articles o ON o.id = l.original_article_id"""
        )).all())  # fmt: skip
    truth = pipeline.truth["articles"]
    url_of = {article["id"]: url for url, article in truth.items()}
    expected = {
        (url, url_of[a["translates"]]) for url, a in truth.items() if a["translates"] and not a["syndicates"]
    }
    assert len(expected) >= 5
    assert stored == expected


def test_translations_show_in_the_report_compare_and_digests(pipeline) -> None:
    """Issue 17: the report pairs each translation with its original, compare counts them per outlet
    (not as original reporting), a digest names a translation "Spanish rendering of <outlet>'s story"."""
    from sqlalchemy.orm import Session

    from pipeline.alert.digests import syndication_note
    from pipeline.analyst.queries import comparison, report_data

    truth = pipeline.truth["articles"]
    url_of = {article["id"]: url for url, article in truth.items()}
    expected = {
        (url_of[a["translates"]], url) for url, a in truth_story_articles(pipeline.truth, 2).items()
        if a["translates"] and not a["syndicates"]
    }  # fmt: skip
    with pipeline.engine.connect() as connection:
        pairs = report_data(connection, STORY).translations
        rows = {row.outlet: row for row in comparison(connection, STORY)}
    assert {(pair.original_url, pair.url) for pair in pairs} == expected
    assert all(pair.note == f"Spanish rendering of {pair.original_outlet}'s story" for pair in pairs)
    translating_outlets = {
        a["outlet"] for a in truth_story_articles(pipeline.truth, 2).values() if a["translates"]
    }
    assert {outlet for outlet, row in rows.items() if row.translations_of} == translating_outlets
    spanish_wire = next(url for url, a in truth.items() if a["id"] == "cws-es-plan")
    with Session(pipeline.engine) as session:
        article_id = session.execute(
            sa.text("SELECT id FROM articles WHERE canonical_url = :u"), {"u": spanish_wire}
        ).scalar_one()
        note = syndication_note(session, article_id)
    original = truth[url_of["cws-en-plan"]]
    assert note == f"Spanish rendering of {original['outlet']}'s story: {original['expected_headline']}"


def test_versions_count_material_changes_only(pipeline) -> None:
    coverage = pipeline.coverage()
    changes = pipeline.truth["state_changes"]
    for url in changes["headline_edited"] + changes["paragraph_added"]:
        assert coverage[url]["version_count"] == 2, url
    for url in changes["trivial_only"]:
        assert coverage[url]["version_count"] == 1, url
    for url in changes["new_in_state_2"]:
        assert coverage[url]["version_count"] == 1, url


def test_headline_edits_are_queryable(pipeline) -> None:
    with pipeline.engine.connect() as connection:
        edits = connection.execute(
            sa.text("SELECT canonical_url, old_headline, new_headline FROM v_headline_changes")
        ).all()
    assert {edit.canonical_url for edit in edits} == set(pipeline.truth["state_changes"]["headline_edited"])
    for edit in edits:
        assert edit.old_headline != edit.new_headline


def test_a_second_identical_run_changes_no_row(pipeline) -> None:
    first, second = pipeline.snapshots["first"], pipeline.snapshots["unchanged"]
    changed = {table for table in first if first[table] != second[table]}
    assert changed == set(), f"tables changed by an identical re-run: {sorted(changed)}"


def test_urls_that_must_never_reach_the_warehouse_do_not(pipeline) -> None:
    forbidden = {entry["url"] for entry in pipeline.truth["never_in_warehouse"]}
    with pipeline.engine.connect() as connection:
        stored = set(connection.execute(sa.text("SELECT url FROM article_urls")).scalars())
    assert stored & forbidden == set()


def test_results_extracted_during_the_crawl_are_not_left_in_the_archive(pipeline) -> None:
    archive = Path(pipeline.config_dir).parent / "warc"
    assert list(
        archive.rglob(ShardWorkspace(archive, "any").manifest.name)
    )  # the runs' manifests stay beside their WARCs
    assert not list(archive.rglob(ShardWorkspace(archive, "any").extracted_early.name))
