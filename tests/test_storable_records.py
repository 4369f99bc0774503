"""Issue 20, mechanism 2: a value the database would refuse never loses a batch.

Records are cleaned where they are built (NUL and lone surrogates stripped), rows are fitted to the
column widths the models define, and an article the warehouse still refuses is quarantined alone while
the rest of its batch loads, on SQLite and PostgreSQL.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from pipeline.config import ConfigError, OutletConfig
from pipeline.load.warehouse import (
    check_config_fits,
    load_articles_isolated,
    load_discovered_outlets,
    load_outlets,
    upsert_rows,
)
from pipeline.normalise.identity import url_hash
from schemas.fit import column_lengths
from schemas.models import Article, Outlet, Quarantine
from schemas.records import FeedEntry, NormalisedArticle, storable_text
from tests.test_warehouse import wire_article, wire_outlet

LONE_SURROGATE = "\ud800"


def article_at(path: str, **changes) -> NormalisedArticle:
    url = f"http://127.0.0.1:18101/{path}"
    return wire_article(canonical_url=url, url_hash=url_hash(url), aliases=(url,), **changes)


def test_unstorable_characters_are_stripped_where_records_are_built():
    entry = FeedEntry(
        url="http://example.org/a", title=f"NUL\x00 and {LONE_SURROGATE}lone", authors=("A\x00",)
    )
    assert entry.title == "NUL and lone" and entry.authors == ("A",)
    article = article_at("x", headline="Head\x00line", body_text=f"Body{LONE_SURROGATE} text",
                         sources={"headline": "json\x00-ld"})  # fmt: skip
    assert (article.headline, article.body_text, dict(article.sources)) == (
        "Headline", "Body text", {"headline": "json-ld"})  # fmt: skip
    assert storable_text("plain") == "plain"


def test_hostile_text_and_oversized_fields_load_on_both_dialects(warehouse: sa.Engine):
    """NUL in a headline, a lone surrogate in a body, a 5,000-character section and a bogus language
    code: all stored, cleaned and fitted to the widths in schemas.models."""
    section_width = column_lengths(Article)["section"]
    hostile = replace(article_at("hostile"), section="S" * 5000, language="x" * 30)
    object.__setattr__(hostile, "headline", "NUL\x00 headline")  # as if built before the clean-up
    with warehouse.begin() as connection:
        load_outlets(connection, [wire_outlet()])
        ids, refused = load_articles_isolated(connection, [hostile, article_at("fine")], run_id=None)
    assert refused == [] and len(ids) == 2
    with warehouse.connect() as connection:
        row = (
            connection.execute(sa.select(Article).where(Article.url_hash == hostile.url_hash))
            .mappings()
            .one()
        )
    assert row["headline"] == "NUL headline"
    assert row["section"] == "S" * section_width and row["language"] is None


def test_one_article_the_database_refuses_is_isolated_and_the_rest_load(warehouse: sa.Engine):
    """A value no record check foresaw (here a naive timestamp, refused by the column type) fails its
    own article only: the batch is retried article by article inside savepoints."""
    good = [article_at(f"good-{n}") for n in range(3)]
    bad = article_at("bad", fetched_at=datetime(2025, 11, 24))  # naive
    with warehouse.begin() as connection:
        load_outlets(connection, [wire_outlet()])
        ids, refused = load_articles_isolated(connection, [good[0], bad, *good[1:]], run_id=None)
    assert set(ids) == {a.url_hash for a in good}
    assert [r.article.url_hash for r in refused] == [bad.url_hash] and "naive datetime" in refused[0].error
    with warehouse.connect() as connection:
        stored = set(connection.execute(sa.select(Article.url_hash)).scalars())
    assert stored == {a.url_hash for a in good}


def test_an_article_of_an_outlet_missing_from_the_warehouse_is_refused_not_fatal(warehouse: sa.Engine):
    with warehouse.begin() as connection:
        load_outlets(connection, [wire_outlet()])
        ids, refused = load_articles_isolated(
            connection, [article_at("kept"), replace(article_at("orphan"), outlet="Nobody")], run_id=None
        )
    assert list(ids) == [url_hash("http://127.0.0.1:18101/kept")]
    assert refused[0].error == "unknown outlet 'Nobody'"


def test_a_discovered_outlet_whose_name_does_not_fit_is_not_stored(warehouse: sa.Engine):
    long_host = "a" * 240 + ".example:8080"
    discovered = [
        {"name": long_host, "homepage": f"http://{long_host}/"},
        {"name": "fits.example", "homepage": "http://fits.example/", "language": "es"},
    ]
    with warehouse.begin() as connection:
        refused = load_discovered_outlets(connection, discovered)
    assert refused == [long_host]
    with warehouse.connect() as connection:
        assert list(connection.execute(sa.select(Outlet.name)).scalars()) == ["fits.example"]


def test_every_row_written_is_made_storable(warehouse: sa.Engine):
    """The net under every writer: a quarantine error quoting NUL and a lone surrogate is stored."""
    with warehouse.begin() as connection:
        connection.execute(sa.text("INSERT INTO crawl_runs (run_key, started_at, status, counts) "
                                   "VALUES ('r', :now, 'running', '{}')"), {"now": datetime.now(UTC)})  # fmt: skip
        run_id = connection.execute(sa.text("SELECT id FROM crawl_runs")).scalar_one()
        row = {"run_id": run_id, "stage": "extract", "url": "http://x.example/a", "url_hash": "h" * 64,
               "error": f"bad\x00 value {LONE_SURROGATE}", "recorded_at": datetime.now(UTC)}  # fmt: skip
        upsert_rows(connection, Quarantine, [row], ["run_id", "stage", "url_hash"])
    with warehouse.connect() as connection:
        assert connection.execute(sa.select(Quarantine.error)).scalar_one() == "bad value "


@pytest.mark.parametrize(
    ("field", "width_of"), [("lean", "lean"), ("ownership", "ownership")], ids=["lean", "ownership"]
)
def test_a_config_value_longer_than_its_column_is_a_config_error(field: str, width_of: str):
    width = column_lengths(Outlet)[width_of]
    outlet = OutletConfig(name="Wide", homepage="http://wide.example/", language="en", country="US",
                          **{field: "x" * (width + 1)})  # fmt: skip
    with pytest.raises(
        ConfigError, match=rf"outlet 'Wide': {width_of}: {width + 1} characters, at most {width}"
    ):
        check_config_fits([outlet], [])
    check_config_fits([replace_field(outlet, field, "x" * width)], [])  # exactly the width fits


def replace_field(outlet: OutletConfig, field: str, value: str) -> OutletConfig:
    return outlet.model_copy(update={field: value})
