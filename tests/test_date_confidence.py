"""Dates you can trust (issue 16): each stored published time carries a confidence, from the sources
that gave it, exposed in v_story_coverage; and migration 0007 goes down and up again on both dialects."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from alembic import command

from pipeline.extract.date_confidence import (
    CONFLICTING,
    CORROBORATED,
    MACHINE_READABLE,
    TEXT_ONLY,
    URL_ONLY,
    date_confidence,
)
from pipeline.run.process import process_page
from schemas.database import alembic_config, make_engine, migration_connection, upgrade_database
from schemas.records import FeedEntry, FetchedPage, NormalisedArticle

PUBLISHED = datetime(2026, 1, 5, 9, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    ("source", "feed", "expected"),
    [
        ("json-ld", PUBLISHED + timedelta(hours=2), CORROBORATED),
        ("meta", PUBLISHED - timedelta(days=3), CONFLICTING),
        ("microdata", None, MACHINE_READABLE),
        ("feed", PUBLISHED, MACHINE_READABLE),
        ("url", None, URL_ONLY),
        ("visible-text", None, TEXT_ONLY),
        ("htmldate", PUBLISHED, TEXT_ONLY),
    ],
)
def test_a_published_time_is_labelled_by_the_sources_that_gave_it(source, feed, expected) -> None:
    assert date_confidence(PUBLISHED, source, feed) == expected


def test_no_date_has_no_confidence() -> None:
    assert date_confidence(None, None, PUBLISHED) is None


def article_page(json_ld_date: str | None, feed_date: datetime | None) -> FetchedPage:
    json_ld = (f'<script type="application/ld+json">{{"@type": "NewsArticle", "headline": "Night buses",'
               f' "datePublished": "{json_ld_date}"}}</script>') if json_ld_date else ""  # fmt: skip
    paragraph = ("The city council voted on Tuesday to extend the night bus network to the northern districts, "
                 "after a year of complaints from shift workers who said the last train left them stranded. ")  # fmt: skip
    html = (f"<html><head><title>Night buses</title>{json_ld}</head><body><article><h1>Night buses</h1>"
            f"{''.join(f'<p>{paragraph * 2}</p>' for _ in range(3))}</article></body></html>")  # fmt: skip
    url = "https://news.example/city/night-buses"
    entry = FeedEntry(url, title="Night buses", published=feed_date) if feed_date else None
    return FetchedPage(url, url, 200, {"content-type": "text/html"}, html.encode(),
                       PUBLISHED + timedelta(days=1), "outlet", "feed", entry)  # fmt: skip


def test_the_process_stage_labels_structured_data_agreeing_with_the_feed_as_corroborated() -> None:
    hosts = {"outlet": ("news.example",)}
    agreeing = process_page(article_page("2026-01-05T09:30:00Z", PUBLISHED + timedelta(minutes=5)), hosts)
    alone = process_page(article_page("2026-01-05T09:30:00Z", None), hosts)
    assert isinstance(agreeing, NormalisedArticle) and isinstance(alone, NormalisedArticle)
    assert agreeing.sources["published_confidence"] == CORROBORATED
    assert alone.sources["published_confidence"] == MACHINE_READABLE


def test_migration_0007_goes_down_to_0006_and_up_again(empty_database_url: str) -> None:
    upgrade_database(empty_database_url)
    engine = make_engine(empty_database_url)
    try:
        with migration_connection(engine) as connection:
            config = alembic_config(empty_database_url)
            config.attributes["connection"] = connection
            command.downgrade(config, "0006")
        with engine.connect() as connection:
            names = set(sa.inspect(connection).get_table_names()) | set(
                sa.inspect(connection).get_view_names()
            )
            columns = {c["name"] for c in sa.inspect(connection).get_columns("articles")}
        assert not names & {"outlet_health", "outlet_incidents", "operator_notices", "v_outlet_health"}
        assert "published_confidence" not in columns and "v_outlet_framing" in names
        upgrade_database(empty_database_url)
        with engine.connect() as connection:
            coverage = connection.execute(sa.text("SELECT * FROM v_story_coverage")).keys()
            connection.execute(sa.text("SELECT * FROM v_outlet_framing")).all()
            connection.execute(sa.text("SELECT * FROM v_outlet_health")).all()
        assert {"published_source", "published_confidence"} <= set(coverage)
    finally:
        engine.dispose()
