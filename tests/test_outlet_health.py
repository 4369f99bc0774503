"""Outlet health per outlet and cycle (issue 16): measured by pure functions from the run's fetch log,
extraction outcomes and articles, and stored in ``outlet_health`` by the process stage."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from pipeline.health.drift import assess_outlet
from pipeline.health.measures import (
    BLOCKED,
    CLIENT_ERROR,
    NOT_MODIFIED,
    OK,
    OTHER,
    ROBOTS,
    SERVER_ERROR,
    TIMEOUT,
    HealthContext,
    ListingHealth,
    fetch_class,
    measure_outlets,
)
from pipeline.normalise.identity import url_hash
from schemas.models import OutletHealth
from schemas.records import NormalisedArticle, Outcome
from spiders.discovery import ListingFreshness, listing_freshness

NOW = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)


def article(outlet: str, path: str, words: int = 300, **changes) -> NormalisedArticle:
    url = f"https://{outlet}.example/{path}"
    values = dict(
        outlet=outlet, canonical_url=url, url_hash=url_hash(url), aliases=(url,), headline="h", dek=None,
        authors=("Ana Ruiz",), published_at=NOW - timedelta(hours=2), modified_at=None, language="en",
        section=None, body_text="word " * words, word_count=words, content_hash=url_hash(url + "c"),
        fetched_at=NOW,
    )  # fmt: skip
    values.update(changes)
    return NormalisedArticle(**values)


def event(outlet: str, path: str, outcome: str = "ok", status: int | None = 200, kind: str = "article"):
    return {"url": f"https://{outlet}.example/{path}", "outlet": outlet, "outcome": outcome,
            "status": status, "kind": kind}  # fmt: skip


@pytest.mark.parametrize(
    ("outcome", "status", "expected"),
    [
        ("ok", 200, OK),
        ("not-modified", 304, NOT_MODIFIED),
        ("http-404", 404, CLIENT_ERROR),
        ("http-403", 403, BLOCKED),
        ("http-429", 429, BLOCKED),
        ("http-503", 503, SERVER_ERROR),
        ("timeout", None, TIMEOUT),
        ("blocked-by-robots", None, ROBOTS),
        ("connection-refused", None, OTHER),
    ],
)
def test_each_fetch_outcome_falls_in_its_class(outcome: str, status: int | None, expected: str) -> None:
    assert fetch_class(outcome, status) == expected


def test_an_outlets_measures_come_from_its_own_requests_outcomes_and_articles() -> None:
    events = [
        event("alpha", "feed.xml", kind="feed"),
        event("alpha", "a1"),
        event("alpha", "a2"),
        event("alpha", "a3", "http-429", 429),
        event("alpha", "consent"),
        event("beta", "b1"),
    ]
    outcomes = [
        Outcome("extract", "consent-page", "https://alpha.example/consent", "80 words"),
        Outcome("extract", "future-date-ignored", "https://alpha.example/a1"),  # about a stored article
        Outcome("relevance", "not-relevant", "https://alpha.example/a2"),
    ]
    articles = [
        article("alpha", "a1", words=200, published_at=None),
        article("alpha", "a2", words=400, authors=(), language="es"),
        article("beta", "b1", words=500),
    ]
    context = HealthContext(
        measured_at=NOW, languages={"alpha": "en", "beta": "en"}, new_articles={"alpha": 1},
        newest_published={"alpha": NOW - timedelta(hours=6)},
    )  # fmt: skip
    alpha, beta, gamma = measure_outlets(["alpha", "beta", "gamma"], events, outcomes, articles, context)

    assert (alpha.requests, alpha.fetch_classes) == (5, {OK: 4, BLOCKED: 1})
    assert (alpha.listing_requests, alpha.listing_ok) == (1, 1)
    assert (alpha.pages, alpha.articles, alpha.new_articles) == (3, 2, 1)
    assert (alpha.extraction, alpha.non_articles) == ({"consent-page": 1}, 1)
    assert alpha.failed_extraction_share == pytest.approx(1 / 3)
    assert alpha.blocked_share == pytest.approx(1 / 5)
    assert (alpha.undated_share, alpha.unauthored_share, alpha.other_language_share) == (0.5, 0.5, 0.5)
    assert alpha.median_body_words == 300
    assert alpha.newest_article_age_hours == pytest.approx(6)
    assert alpha.examples == ("https://alpha.example/consent",)
    assert (beta.requests, beta.articles, beta.failed_extraction_share, beta.undated_share) == (1, 1, 0, 0)
    # An outlet the cycle never reached is measured too: silence is a measure.
    assert (gamma.requests, gamma.pages, gamma.median_body_words, gamma.failed_extraction_share) == (
        0, 0, None, None,
    )  # fmt: skip


def test_a_failed_page_is_the_outlet_whose_fetch_log_holds_it_else_its_hosts() -> None:
    outcomes = [
        Outcome("extract", "no-text", "https://cdn.example/x"),  # logged under alpha
        Outcome("extract", "quarantined", "https://beta.example/y"),  # not logged: beta's host
    ]
    events = [{"url": "https://cdn.example/x", "outlet": "alpha", "outcome": "ok", "status": 200}]
    context = HealthContext(measured_at=NOW, hosts_by_outlet={"beta": ("beta.example",)})
    alpha, beta = measure_outlets(["alpha", "beta"], events, outcomes, [], context)
    assert (alpha.extraction, beta.extraction) == ({"no-text": 1}, {"quarantined": 1})


def test_a_listing_counts_its_entries_and_takes_no_date_after_the_cycle_for_its_newest() -> None:
    hour = timedelta(hours=1)
    listed = [NOW - 3 * hour, None, NOW - hour, NOW - 2 * hour, NOW + 48 * hour]  # one undated, one ahead
    freshness = listing_freshness(listed, NOW)
    assert (freshness.entries, freshness.newest, freshness.gap_hours) == (5, NOW - hour, 1.0)
    assert listing_freshness([], NOW) == ListingFreshness(0, None, None)


def listing_event(kind: str, entries: int | None, newest: datetime | None = None, gap: float | None = None):
    return {"url": f"https://alpha.example/{kind}", "outlet": "alpha", "kind": kind, "status": 200,
            "outcome": "ok" if entries is not None else "not-modified", "entries": entries,
            "newest_entry": newest.isoformat() if newest else None, "entry_gap_hours": gap}  # fmt: skip


def test_a_listing_that_answers_304_keeps_its_last_newest_entry_and_grows_silent() -> None:
    before = ListingHealth(entries=40, newest=NOW - timedelta(hours=5), gap_hours=0.5, silence_hours=3.0)
    context = HealthContext(measured_at=NOW, previous_listings={"alpha": {"feed": before}})
    events = [listing_event("feed", None), listing_event("sitemap", 30, NOW - timedelta(hours=1), 2.0)]
    (alpha,) = measure_outlets(["alpha"], events, [], [], context)
    assert alpha.feeds == ListingHealth(0, NOW - timedelta(hours=5), 0.5, 5.0)
    assert alpha.sitemaps == ListingHealth(30, NOW - timedelta(hours=1), 2.0, 1.0)
    read_again = [listing_event("feed", 40, NOW - timedelta(minutes=30), 0.25)]
    (alpha,) = measure_outlets(["alpha"], read_again, [], [], context)
    assert (alpha.feeds.newest, alpha.feeds.gap_hours, alpha.feeds.silence_hours) == (
        NOW - timedelta(minutes=30), 0.25, 0.5,
    )  # fmt: skip


def test_a_304_repeats_an_earlier_answer_so_the_blocked_share_leaves_it_out() -> None:
    events = [
        event("alpha", "feed", kind="feed"),
        event("alpha", "a1"),
        event("alpha", "a2", "http-403", 403),
    ]
    events += [event("alpha", f"old{i}", "not-modified", 304) for i in range(7)]
    (alpha,) = measure_outlets(["alpha"], events, [], [], HealthContext(measured_at=NOW))
    assert (alpha.requests, alpha.answered_afresh, alpha.blocked_share) == (10, 3, pytest.approx(1 / 3))


# The process stage stores the measures: one cycle over the replay world.


@pytest.mark.slow
def test_a_cycle_stores_one_row_per_outlet_that_agrees_with_its_fetch_log_and_articles(
    tmp_path, empty_database_url
) -> None:
    from demo.world import ReplayWorld
    from demo.world.config import write_demo_config
    from pipeline.run.runner import run_cycle
    from schemas.database import make_engine

    as_of = datetime(2025, 11, 28, 12, tzinfo=UTC)
    with ReplayWorld(base_port=None) as world:
        config_dir = write_demo_config(world, tmp_path / "config", tmp_path / "warc", tmp_path / "outbox")
        run_cycle(config_dir, empty_database_url, run_key="health-1", as_of=as_of)
        truth = world.truth()
        outlets = [name for name, outlet in truth["outlets"].items() if outlet["configured"]]
    engine = make_engine(empty_database_url)
    with engine.connect() as connection:
        rows = connection.execute(sa.select(OutletHealth.__table__)).all()
        logged = dict(
            connection.execute(sa.text("SELECT outlet, COUNT(*) FROM fetch_log GROUP BY outlet")).all()
        )
        # a discovered outlet's fetches carry its host; it is stored (and measured) under its site name
        discovered = dict(
            connection.execute(sa.text("SELECT homepage_host, name FROM outlets WHERE discovered")).all()
        )
        logged = {discovered.get(key, key): count for key, count in logged.items()}
        stored = dict(connection.execute(sa.text(
            "SELECT o.name, COUNT(*) FROM articles a JOIN outlets o ON o.id = a.outlet_id GROUP BY o.name"
        )).all())  # fmt: skip
    engine.dispose()
    logged.pop(None, None)  # the query API's requests belong to no outlet
    measured = {row.outlet: row for row in rows}
    assert set(outlets) <= set(measured)
    assert {name: row.requests for name, row in measured.items() if row.requests} == logged
    # First cycle: every stored article is new, and was loaded by this cycle.
    assert {name: row.new_articles for name, row in measured.items() if row.new_articles} == stored
    assert all(row.articles >= row.new_articles for row in rows)
    assert all(row.median_body_words >= 40 for row in rows if row.articles)
    # Feeds and sitemaps: an outlet whose sitemaps list each of its articles once (a news sitemap or a
    # plain one, not an index of both) lists exactly the world's articles of state 1, the newest first.
    checked = 0
    for name in outlets:
        kinds = {sitemap["kind"] for sitemap in truth["outlets"][name]["sitemaps"]}
        own = [a for a in truth["articles"].values() if a["outlet"] == name and "1" in a["versions"]]
        if kinds in ({"news"}, {"urlset"}):
            newest = max(datetime.fromisoformat(a["published"]) for a in own)
            listed = (measured[name].sitemap_entries, measured[name].newest_sitemap_entry_at)
            assert listed == (len(own), newest), name
            checked += 1
        assert measured[name].feed_entries > 0 and measured[name].newest_feed_entry_at <= as_of
        silence = (as_of - measured[name].newest_feed_entry_at).total_seconds() / 3600
        assert measured[name].feed_silence_hours == pytest.approx(silence)
    assert checked >= 5


@pytest.mark.slow
def test_ten_unchanged_cycles_of_the_replay_world_raise_no_incident(tmp_path, empty_database_url) -> None:
    """False alarms: 0 (issue 16 target). The world does not change; the cycles an hour apart re-check
    what comes due, so their measures vary as a real crawl's do."""
    from demo.world import ReplayWorld
    from demo.world.config import write_demo_config
    from pipeline.run.runner import run_cycle
    from schemas.database import make_engine

    first = datetime(2025, 11, 28, 12, tzinfo=UTC)
    with ReplayWorld(base_port=None) as world:
        config_dir = write_demo_config(world, tmp_path / "config", tmp_path / "warc", tmp_path / "outbox")
        for cycle in range(10):
            run_cycle(
                config_dir,
                empty_database_url,
                run_key=f"steady-{cycle}",
                as_of=first + timedelta(hours=cycle),
            )
    engine = make_engine(empty_database_url)
    with engine.connect() as connection:
        measured_runs = connection.execute(
            sa.text("SELECT COUNT(DISTINCT run_id) FROM outlet_health")
        ).scalar_one()
        assessed = connection.execute(
            sa.text("SELECT COUNT(*) FROM outlet_health WHERE requests > 0")
        ).scalar_one()
        incidents = connection.execute(sa.text("SELECT outlet, measure FROM outlet_incidents")).all()
        notices = connection.execute(sa.text("SELECT COUNT(*) FROM operator_notices")).scalar_one()
        newest_first = sa.select(OutletHealth).order_by(OutletHealth.measured_at.desc())
        rows = [dict(r) for r in connection.execute(newest_first).mappings()]  # JSON columns decoded
    engine.dispose()
    assert measured_runs == 10 and assessed > 0
    # The last cycle was judged against a baseline (the test could fail): measures were assessed.
    by_outlet: dict[str, list[dict]] = {}
    for row in rows:
        by_outlet.setdefault(row["outlet"], []).append(row)
    judged = {
        (o, a.measure) for o, history in by_outlet.items() for a in assess_outlet(history[0], history[1:])
    }
    assert len(judged) >= len(by_outlet)
    assert incidents == [] and notices == 0
