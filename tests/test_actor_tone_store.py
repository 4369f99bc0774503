"""Tone toward actors in the warehouse (issue 21): stored per story, article and actor by the framing
stage, on SQLite and PostgreSQL, shown by v_article_actor_tone and v_outlet_actor_tone; measured again
only when an article or the story's actors change. First on the small written warehouse, then through
the whole pipeline on the replay world."""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from statistics import fmean

import pytest
import sqlalchemy as sa

from pipeline.config import StoryTerms, load_story
from pipeline.framing.actors import story_actors
from pipeline.framing.store import compute_story_framing
from pipeline.framing.tone_model import actor_tones
from pipeline.load.warehouse import load_articles
from pipeline.load.warehouse import load_story as store_story
from schemas.models import Article, ArticleActorTone, Story, StoryArticle
from tests.framing_warehouse import (
    ARTICLES,
    DAY,
    SLUG,
    article_by_headline,
    build_warehouse,
    normalised,
    story_config,
    table_contents,
    url_of,
)

DIARIO = article_by_headline("Sheinbaum rechaza la invasión y defiende la soberanía")
LEDGER = article_by_headline("Pentagon confirms it will strike cartels in Mexico")
FRENCH = next(article for article in ARTICLES if article.language == "fr")


@pytest.fixture
def framed(warehouse: sa.Engine) -> dict[str, int]:
    ids = build_warehouse(warehouse)
    with warehouse.begin() as connection:
        compute_story_framing(connection, SLUG)
    return ids


def stored_tones(engine: sa.Engine, story_slug: str = SLUG) -> dict[tuple[int, str], dict]:
    """(article id, actor) -> the stored row, through the analysts' view."""
    with engine.connect() as connection:
        rows = connection.execute(
            sa.text("SELECT * FROM v_article_actor_tone WHERE story_slug = :s"), {"s": story_slug}
        ).mappings()
        return {(row["article_id"], row["actor"]): dict(row) for row in rows}


def as_list(value: object) -> list:
    return json.loads(value) if isinstance(value, str) else list(value)


def test_each_stored_row_is_the_pure_measure_of_the_stored_text(framed, warehouse: sa.Engine) -> None:
    actors = story_actors(story_config())
    stored = stored_tones(warehouse)
    with warehouse.connect() as connection:
        texts = connection.execute(
            sa.select(Article.id, Article.headline, Article.body_text, Article.language).where(
                Article.id.in_([framed[url_of(a)] for a in ARTICLES if a.relevant and a.language != "fr"])
            )
        ).all()
    expected = {
        (article_id, tone.actor): tone
        for article_id, headline, body, language in texts
        for tone in actor_tones(headline, body, language, actors)
    }
    assert set(stored) == set(expected) and expected
    for key, tone in expected.items():
        row = stored[key]
        assert (row["mentions"], row["negative"], row["neutral"], row["positive"]) == (
            tone.mentions, tone.negative, tone.neutral, tone.positive,
        )  # fmt: skip
        assert row["score"] == pytest.approx(tone.score, abs=1e-9)
        evidence = as_list(row["evidence"])
        assert [m["sentence"] for m in evidence] == [m.sentence for m in tone.evidence]
        assert [m["label"] for m in evidence] == [m.label for m in tone.evidence]


def test_spanish_names_count_for_the_actor_they_name(framed, warehouse: sa.Engine) -> None:
    """ "Sheinbaum", "la presidenta" and "gobierno de México" are one actor, Mexico's government."""
    row = stored_tones(warehouse)[(framed[url_of(DIARIO)], "Mexico's government")]
    mentions = {m["mention"] for m in as_list(row["evidence"])}
    assert {"Sheinbaum", "gobierno de México"} <= mentions
    assert row["mentions"] == row["negative"] + row["neutral"] + row["positive"] >= 3


def test_the_outlet_view_is_the_mean_of_its_articles(framed, warehouse: sa.Engine) -> None:
    per_article: dict[tuple[str, str], list[dict]] = defaultdict(list)
    for row in stored_tones(warehouse).values():
        per_article[(row["outlet_name"], row["actor"])].append(row)
    with warehouse.connect() as connection:
        outlets = connection.execute(
            sa.text("SELECT * FROM v_outlet_actor_tone WHERE story_slug = :s"), {"s": SLUG}
        ).mappings().all()  # fmt: skip
    assert {(r["outlet_name"], r["actor"]) for r in outlets} == set(per_article)
    for row in outlets:
        articles = per_article[(row["outlet_name"], row["actor"])]
        assert row["articles"] == len(articles)
        assert row["mean_score"] == pytest.approx(fmean(a["score"] for a in articles))
        assert row["mentions"] == sum(a["mentions"] for a in articles)
        assert row["min_score"] <= row["mean_score"] <= row["max_score"]
    ledger = next(r for r in outlets if r["outlet_name"] == "Capital Ledger" and r["actor"] == "US military")
    assert (ledger["articles"], ledger["outlet_articles"]) == (2, 2)  # both its articles name the Pentagon


def test_running_twice_changes_nothing(framed, warehouse: sa.Engine) -> None:
    before = table_contents(warehouse)
    with warehouse.begin() as connection:
        again = compute_story_framing(connection, SLUG)
    assert (again["portrayed"], again["actor-tones"]) == (0, 0)
    assert table_contents(warehouse) == before


def test_new_actors_are_measured_without_framing_again(framed, warehouse: sa.Engine) -> None:
    """A story whose actor list changes gets its tones measured again; the article measures stay."""
    only_cartels = story_config().model_copy(update={"actors": story_config().actors[1:2]})
    with warehouse.begin() as connection:
        store_story(connection, only_cartels)
        outcome = compute_story_framing(connection, SLUG)
    relevant = sum(1 for a in ARTICLES if a.relevant)
    assert outcome["framed"] == 0 and outcome["portrayed"] == relevant
    assert {actor for _, actor in stored_tones(warehouse)} == {"cartels"}


def test_an_edited_article_is_measured_again(framed, warehouse: sa.Engine) -> None:
    article_id = framed[url_of(LEDGER)]
    body = "The Pentagon was praised for a brilliant, careful and successful operation that saved lives."
    with warehouse.begin() as connection:
        load_articles(
            connection, [normalised(LEDGER, body=body, fetched=DAY + timedelta(days=3))], run_id=None
        )
        outcome = compute_story_framing(connection, SLUG)
    assert outcome["portrayed"] == 1
    tones = {actor: row for (i, actor), row in stored_tones(warehouse).items() if i == article_id}
    assert set(tones) == {"US military", "cartels"}  # the headline still names both
    assert [m["sentence"] for m in as_list(tones["US military"]["evidence"])] == [LEDGER.headline, body]
    assert as_list(tones["US military"]["evidence"])[1]["label"] == "positive"


def test_an_article_in_an_unsupported_language_has_no_tone_rows(framed, warehouse: sa.Engine) -> None:
    article_id = framed[url_of(LEDGER)]
    french = normalised(
        replace(LEDGER, language="fr"), body="Le Pentagone confirme.", fetched=DAY + timedelta(3)
    )
    with warehouse.begin() as connection:
        load_articles(connection, [french], run_id=None)
        compute_story_framing(connection, SLUG)
    with warehouse.connect() as connection:
        rows = connection.execute(
            sa.select(ArticleActorTone).where(ArticleActorTone.article_id == article_id)
        )
        assert rows.all() == []
        keys = connection.execute(
            sa.select(StoryArticle.actor_tones_key).where(StoryArticle.article_id == article_id)
        ).scalars()
        assert all(keys)  # measured (nothing to measure), so not tried again each run


def test_a_story_without_actors_portrays_its_entities(warehouse: sa.Engine) -> None:
    build_warehouse(warehouse)
    by_entities = story_config().model_copy(
        update={"actors": (), "entities": StoryTerms(en=("Mexico", "Pentagon"), es=("México", "Sheinbaum"))}
    )
    with warehouse.begin() as connection:
        store_story(connection, by_entities)
        compute_story_framing(connection, SLUG)
    actors = {actor for _, actor in stored_tones(warehouse)}
    assert actors == {"Mexico", "Pentagon", "Sheinbaum"}  # "México" folds to "Mexico": one actor


# --- The whole pipeline on the replay world ------------------------------------------------------------

STORY = "mexico-cartel-intervention"
AS_OF = datetime(2025, 11, 28, 12, 0, tzinfo=UTC)


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def replayed(request, tmp_path_factory):
    """One real cycle of the replay world (first story) into a warehouse of each dialect."""
    from demo.world import ReplayWorld
    from demo.world.config import write_demo_config
    from pipeline.run.runner import run_cycle
    from schemas.database import make_engine

    directory = tmp_path_factory.mktemp(f"actor-tones-{request.param}")
    if request.param == "sqlite":
        db_url = f"sqlite:///{directory / 'warehouse.sqlite'}"
    else:
        db_url = request.getfixturevalue(
            "postgres_schemas"
        )()  # a schema of its own: others share the session one
    with ReplayWorld(base_port=None) as world:
        config_dir = write_demo_config(
            world, directory / "config", directory / "warc", directory / "outbox", stories=[STORY]
        )
        run_cycle(config_dir, db_url, run_key="actor-tones", as_of=AS_OF)
    engine = make_engine(db_url)
    yield engine, load_story(config_dir / "stories" / f"{STORY}.yaml")
    engine.dispose()


@pytest.mark.slow
def test_the_replay_worlds_stored_tones_are_the_measures_of_its_articles(replayed) -> None:
    engine, story = replayed
    actors = story_actors(story)
    stored = stored_tones(engine, STORY)
    with engine.connect() as connection:
        texts = connection.execute(
            sa.text(
                "SELECT c.article_id, a.headline, a.body_text, a.language FROM v_story_coverage c "
                "JOIN articles a ON a.id = c.article_id WHERE c.story_slug = :s"
            ),
            {"s": STORY},
        ).all()
    expected = {
        (article_id, tone.actor): tone
        for article_id, headline, body, language in texts
        for tone in actor_tones(headline or "", body, language, actors)
    }
    assert set(stored) == set(expected)
    for key, tone in expected.items():
        assert stored[key]["score"] == pytest.approx(tone.score, abs=1e-9)
        assert stored[key]["mentions"] == tone.mentions
    # All four actors of the story's configuration are found, on both sides of the border.
    assert {actor for _, actor in stored} == {a.label for a in actors}
    languages = defaultdict(set)
    for (_, actor), row in stored.items():
        languages[actor].add(row["language"])
    assert all(langs == {"en", "es"} for langs in languages.values()), languages


@pytest.mark.slow
def test_no_english_outlet_of_the_replay_world_portrays_the_cartels_favourably(replayed) -> None:
    """The world's English coverage condemns the cartels throughout (terrorists, poison, violence)."""
    engine, _ = replayed
    with engine.connect() as connection:
        rows = connection.execute(
            sa.text(
                "SELECT outlet_name, mean_score, negative, positive FROM v_outlet_actor_tone "
                "WHERE story_slug = :s AND actor = 'cartels' AND language = 'en'"
            ),
            {"s": STORY},
        ).all()
    assert len(rows) >= 5
    for outlet, mean_score, negative, positive in rows:
        assert mean_score < 0 and negative > positive, outlet


@pytest.mark.slow
def test_the_replay_worlds_story_definition_carries_its_actors(replayed) -> None:
    engine, story = replayed
    with engine.connect() as connection:
        definition = connection.execute(sa.select(Story.definition).where(Story.slug == STORY)).scalar_one()
    assert [a["label"] for a in definition["actors"]] == [a.label for a in story.actors]
