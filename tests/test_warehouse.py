"""The warehouse schema and the idempotent loading API, on SQLite and PostgreSQL."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from pipeline.config import OutletConfig
from pipeline.load.warehouse import load_articles, load_outlets, upsert_rows
from pipeline.normalise.identity import url_hash
from schemas.database import make_engine, upgrade_database
from schemas.models import Article, ArticleUrl, ArticleVersion, Base, Outlet
from schemas.records import NormalisedArticle

FETCHED = datetime(2025, 11, 24, 10, 32, tzinfo=UTC)


def wire_outlet() -> OutletConfig:
    return OutletConfig(
        name="Continental Wire", homepage="http://127.0.0.1:18101/", language="en", country="US"
    )


def wire_article(**changes) -> NormalisedArticle:
    url = "http://127.0.0.1:18101/world/2025/11/24/us-weighs-strikes.html"
    article = NormalisedArticle(
        outlet="Continental Wire",
        canonical_url=url,
        url_hash=url_hash(url),
        aliases=(url, url + "?utm_source=rss", "http://127.0.0.1:18101/amp/world/us-weighs-strikes.html"),
        headline="US weighs strikes on cartels inside Mexico",
        dek=None,
        authors=("Ana Ruiz",),
        published_at=datetime(2025, 11, 24, 9, 0, tzinfo=UTC),
        modified_at=None,
        language="en",
        section="World",
        body_text="First paragraph.\n\nSecond paragraph.",
        word_count=4,
        content_hash="c" * 64,
        fetched_at=FETCHED,
        sources={"headline": "json-ld", "published_at": "json-ld"},
    )
    return replace(article, **changes)


def table_contents(engine: sa.Engine) -> dict[str, list[tuple]]:
    """Every row of every table, without surrogate ids, for comparing two warehouse states."""
    contents = {}
    with engine.connect() as connection:
        for table in Base.metadata.sorted_tables:
            columns = [c for c in table.columns if c.name != "id"]
            rows = connection.execute(sa.select(*columns)).all()
            contents[table.name] = sorted(repr(tuple(row)) for row in rows)
    return contents


def test_migrations_match_the_models(warehouse_url: str) -> None:
    engine = make_engine(warehouse_url)
    with engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    engine.dispose()
    assert differences == []


def test_upgrading_a_current_database_changes_nothing(warehouse: sa.Engine, warehouse_url: str) -> None:
    before = sorted(sa.inspect(warehouse).get_table_names())
    upgrade_database(warehouse_url)
    assert sorted(sa.inspect(make_engine(warehouse_url)).get_table_names()) == before
    assert "articles" in before and "fetch_log" in before


def test_times_come_back_as_utc_aware(warehouse: sa.Engine) -> None:
    with warehouse.begin() as connection:
        load_outlets(connection, [wire_outlet()])
        local_time = datetime(2025, 11, 24, 4, 32, tzinfo=timezone_minus_6())
        load_articles(connection, [wire_article(published_at=local_time)], run_id=None)
    with warehouse.connect() as connection:
        published = connection.execute(sa.select(Article.published_at)).scalar_one()
    assert published == datetime(2025, 11, 24, 10, 32, tzinfo=UTC)
    assert published.tzinfo is not None


def timezone_minus_6():
    from datetime import timezone

    return timezone(timedelta(hours=-6))


def test_naive_datetimes_are_refused(warehouse: sa.Engine) -> None:
    with pytest.raises(sa.exc.StatementError, match="naive datetime"), warehouse.begin() as connection:
        load_outlets(connection, [wire_outlet()])
        load_articles(connection, [wire_article(fetched_at=datetime(2025, 11, 24))], run_id=None)


def test_loading_the_same_batch_twice_changes_nothing(warehouse: sa.Engine) -> None:
    batch = [wire_article(), wire_article(fetched_at=FETCHED + timedelta(hours=1), content_hash="d" * 64)]
    with warehouse.begin() as connection:
        load_outlets(connection, [wire_outlet()])
        load_articles(connection, batch, run_id=None)
    first = table_contents(warehouse)
    with warehouse.begin() as connection:
        load_outlets(connection, [wire_outlet()])
        load_articles(connection, batch, run_id=None)
    assert table_contents(warehouse) == first
    with warehouse.connect() as connection:
        assert connection.execute(sa.select(sa.func.count()).select_from(Article)).scalar_one() == 1
        assert connection.execute(sa.select(sa.func.count()).select_from(ArticleVersion)).scalar_one() == 2
        assert connection.execute(sa.select(sa.func.count()).select_from(ArticleUrl)).scalar_one() == 3


def test_an_older_batch_does_not_roll_an_article_back(warehouse: sa.Engine) -> None:
    newer = wire_article(
        headline="Edited headline", content_hash="e" * 64, fetched_at=FETCHED + timedelta(days=1)
    )
    with warehouse.begin() as connection:
        load_outlets(connection, [wire_outlet()])
        load_articles(connection, [newer], run_id=None)
        load_articles(connection, [wire_article()], run_id=None)
    with warehouse.connect() as connection:
        headline, first_seen, last_seen = connection.execute(
            sa.select(Article.headline, Article.first_seen_at, Article.last_seen_at)
        ).one()
    assert headline == "Edited headline"
    assert last_seen == newer.fetched_at
    # first_seen_at is kept from the first load; it does not move when older evidence arrives later.
    assert first_seen == newer.fetched_at


def test_an_article_naming_an_unknown_outlet_is_refused(warehouse: sa.Engine) -> None:
    with pytest.raises(ValueError, match="Continental Wire"), warehouse.begin() as connection:
        load_articles(connection, [wire_article()], run_id=None)


def test_upsert_updates_only_the_named_columns(warehouse: sa.Engine) -> None:
    with warehouse.begin() as connection:
        load_outlets(connection, [wire_outlet()])
        upsert_rows(
            connection,
            Outlet,
            [{"name": "Continental Wire", "homepage_host": "changed", "country": "MX"}],
            ["name"],
            ["country"],
        )
    with warehouse.connect() as connection:
        host, country = connection.execute(sa.select(Outlet.homepage_host, Outlet.country)).one()
    assert (host, country) == ("127.0.0.1:18101", "MX")


def test_a_large_batch_is_split_below_the_parameter_limit(warehouse: sa.Engine) -> None:
    articles = [
        wire_article(
            canonical_url=f"http://127.0.0.1:18101/a/{n}",
            url_hash=url_hash(f"http://127.0.0.1:18101/a/{n}"),
            aliases=(),
        )
        for n in range(1500)
    ]
    with warehouse.begin() as connection:
        load_outlets(connection, [wire_outlet()])
        ids = load_articles(connection, articles, run_id=None)
    assert len(ids) == 1500
    with warehouse.connect() as connection:
        assert connection.execute(sa.select(sa.func.count()).select_from(Article)).scalar_one() == 1500


@pytest.mark.parametrize(
    ("view", "columns"),
    [
        (
            "v_story_coverage",
            {
                "story_slug",
                "outlet_name",
                "outlet_country",
                "language",
                "canonical_url",
                "headline",
                "authors",
                "published_at",
                "first_seen_at",
                "relevance_score",
                "syndication_cluster",
                "is_original",
                "version_count",
            },
        ),
        (
            "v_headline_changes",
            {"story_slug", "article_id", "outlet_name", "old_headline", "new_headline", "changed_at"},
        ),
        (
            "v_outlet_framing",
            {
                "story_slug",
                "outlet_name",
                "articles",
                "mean_tone",
                "mean_certainty",
                "frame_security_and_defense",
                "top_voices",
                "distinctive_terms",
                "original_share",
            },
        ),
    ],
)
def test_analyst_views_expose_their_contract_columns(
    warehouse: sa.Engine, view: str, columns: set[str]
) -> None:
    with warehouse.connect() as connection:
        result = connection.execute(sa.text(f"SELECT * FROM {view}"))
        assert columns <= set(result.keys())
        assert result.all() == []


def test_a_refetch_missing_date_and_byline_keeps_the_known_ones(warehouse: sa.Engine) -> None:
    # A page whose date and byline came from its feed, re-fetched while the feed answered 304.
    bare = wire_article(
        authors=(), published_at=None, section=None, sources={}, headline="Edited headline",
        content_hash="f" * 64, fetched_at=FETCHED + timedelta(days=1),
    )  # fmt: skip
    with warehouse.begin() as connection:
        load_outlets(connection, [wire_outlet()])
        load_articles(connection, [wire_article()], run_id=None)
        load_articles(connection, [bare], run_id=None)
    with warehouse.connect() as connection:
        row = connection.execute(
            sa.select(
                Article.headline,
                Article.authors,
                Article.published_at,
                Article.published_source,
                Article.section,
            )
        ).one()
    assert row.headline == "Edited headline"
    assert row.authors == ["Ana Ruiz"]
    assert row.published_at == datetime(2025, 11, 24, 9, 0, tzinfo=UTC)
    assert row.published_source == "json-ld"
    assert row.section == "World"


def test_credited_organisations_are_stored_beside_the_people(warehouse: sa.Engine) -> None:
    """The agencies a byline credits are kept (migration 0010), apart from the authors, and a re-fetch
    without a byline keeps both, as it keeps the authors."""
    credited = wire_article(authors=("Ana Ruiz",), credited_organisations=("Associated Press",))
    bare = wire_article(
        authors=(), credited_organisations=(), content_hash="f" * 64, fetched_at=FETCHED + timedelta(days=1)
    )
    agency_only = wire_article(
        authors=(), credited_organisations=("Reuters",), content_hash="e" * 64,
        fetched_at=FETCHED + timedelta(days=2),
    )  # fmt: skip

    def stored() -> tuple[list, list]:
        with warehouse.connect() as connection:
            row = connection.execute(sa.select(Article.authors, Article.credited_organisations)).one()
        return row.authors, row.credited_organisations

    with warehouse.begin() as connection:
        load_outlets(connection, [wire_outlet()])
        load_articles(connection, [credited], run_id=None)
    assert stored() == (["Ana Ruiz"], ["Associated Press"])
    with warehouse.begin() as connection:
        load_articles(connection, [bare], run_id=None)
    assert stored() == (["Ana Ruiz"], ["Associated Press"])
    with warehouse.begin() as connection:
        load_articles(connection, [agency_only], run_id=None)
    assert stored() == ([], ["Reuters"])  # a new byline replaces the old one whole
