"""The replay world covers several stories: each story's relevance decisions match its truth exactly.

The truth file lists per article the stories it is coverage of (``kind: story`` for the first story, a
``stories:`` list in the front matter for the others). Every story in config/stories is scored against
every article of the world, in both states, with the relevance rules as they are: the relevant set must
be the truth's set, no more and no less.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

import pytest
from test_relevance import world_record

from bench.cross_language import one_language
from demo.world.content import load_articles
from demo.world.truth import FIRST_STORY
from pipeline.config import load_story
from pipeline.match.relevance import score_story_relevance

CONFIG = Path(__file__).parents[1] / "config"
STORY_FILES = sorted((CONFIG / "stories").glob("*.yaml"))
NEW_STORIES = ("venezuela-boat-strikes", "us-mexico-steel-tariffs", "border-fentanyl-seizures")


def relevant_and_expected(replay_world, story_file: Path, state: int) -> tuple[set[str], set[str], dict]:
    """Ids the story finds relevant among the world's articles in ``state``, ids the truth lists for it,
    and each article's evidence (to name the reason of a wrong decision)."""
    story = load_story(story_file)
    articles = {a.id: a for a in replay_world.catalogue.articles}
    relevant, expected, evidence = set(), set(), {}
    for url, truth in replay_world.truth()["articles"].items():
        source = articles[truth["id"]]
        if not source.exists_in(state):
            continue
        decision = score_story_relevance(
            story, world_record(url, truth, source.in_state(state), urlsplit(url).netloc)
        )
        evidence[truth["id"]] = decision.evidence
        if decision.is_relevant:
            relevant.add(truth["id"])
        if story.slug in truth["stories"]:
            expected.add(truth["id"])
    return relevant, expected, evidence


@pytest.mark.parametrize("state", [1, 2], ids=["state-1", "state-2"])
@pytest.mark.parametrize("story_file", STORY_FILES, ids=lambda p: p.stem)
def test_each_story_finds_exactly_its_coverage_in_the_world(replay_world, story_file, state):
    relevant, expected, evidence = relevant_and_expected(replay_world, story_file, state)
    false_positives = {i: evidence[i] for i in relevant - expected}
    false_negatives = {i: evidence[i] for i in expected - relevant}
    assert expected, f"{story_file.stem}: the world has no coverage of it"
    assert not false_positives, false_positives  # precision 1.0
    assert not false_negatives, false_negatives  # recall 1.0


def test_the_world_is_scored_for_the_first_story_and_the_three_new_ones():
    assert {p.stem for p in STORY_FILES} == {FIRST_STORY, *NEW_STORIES}


@pytest.mark.parametrize("slug", NEW_STORIES)
def test_a_new_story_is_covered_in_both_languages_by_three_outlets(replay_world, slug):
    coverage = [a for a in replay_world.truth()["articles"].values() if slug in a["stories"]]
    assert {a["language"] for a in coverage} == {"en", "es"}
    assert len({a["outlet"] for a in coverage}) >= 3
    # Neighbours of the first story: none of them is counted as its coverage.
    assert all(a["kind"] == "negative" and FIRST_STORY not in a["stories"] for a in coverage)


def test_first_story_coverage_is_named_in_the_truths_story_list(replay_world):
    for article in replay_world.truth()["articles"].values():
        assert (FIRST_STORY in article["stories"]) == article["is_story"]


def test_a_syndicated_copy_covers_the_stories_of_its_original():
    articles = {a.id: a for a in load_articles()}
    copies = [a for a in articles.values() if a.syndicates and articles[a.syndicates].stories]
    assert copies  # the world has one (the Voz Latina copy of the wire's boat-strike story)
    assert all(a.stories == articles[a.syndicates].stories for a in copies)


# The demo adds this story defined in English only (its Spanish coverage is matched across languages).
ENGLISH_ONLY_IN_DEMO = "us-mexico-steel-tariffs"


@pytest.mark.parametrize("slug", [s for s in (FIRST_STORY, *NEW_STORIES) if s != ENGLISH_ONLY_IN_DEMO])
def test_the_demo_config_carries_the_same_story_definitions(slug):
    shipped = (CONFIG / "stories" / f"{slug}.yaml").read_text(encoding="utf-8")
    assert (CONFIG / "demo" / "stories" / f"{slug}.yaml").read_text(encoding="utf-8") == shipped


def test_the_demo_story_defined_in_english_only_is_the_shipped_one_without_its_spanish():
    shipped = load_story(CONFIG / "stories" / f"{ENGLISH_ONLY_IN_DEMO}.yaml")
    demo = load_story(CONFIG / "demo" / "stories" / f"{ENGLISH_ONLY_IN_DEMO}.yaml")
    assert demo == one_language(shipped, "en")
    assert not demo.key_terms.es and demo.key_terms.en == shipped.key_terms.en
