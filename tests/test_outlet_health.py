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
    fetch_class,
    measure_outlets,
)
from pipeline.normalise.identity import url_hash
from schemas.records import NormalisedArticle, Outcome

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


# The process stage stores the measures: one cycle over the replay world.


@pytest.mark.slow
def test_a_cycle_stores_one_row_per_outlet_that_agrees_with_its_fetch_log_and_articles(
    tmp_path, empty_database_url
) -> None:
    from demo.world import ReplayWorld
    from demo.world.config import write_demo_config
    from pipeline.run.runner import run_cycle
    from schemas.database import make_engine

    with ReplayWorld(base_port=None) as world:
        config_dir = write_demo_config(world, tmp_path / "config", tmp_path / "warc", tmp_path / "outbox")
        run_cycle(
            config_dir, empty_database_url, run_key="health-1", as_of=datetime(2025, 11, 28, 12, tzinfo=UTC)
        )
        outlets = [name for name, outlet in world.truth()["outlets"].items() if outlet["configured"]]
    engine = make_engine(empty_database_url)
    with engine.connect() as connection:
        rows = connection.execute(sa.text(
            "SELECT outlet, requests, articles, new_articles, median_body_words FROM outlet_health"
        )).all()  # fmt: skip
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
        rows = [dict(r) for r in connection.execute(sa.text(
            "SELECT * FROM outlet_health ORDER BY measured_at DESC")).mappings()]  # fmt: skip
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
