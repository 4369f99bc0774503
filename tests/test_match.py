"""Matching many stories at once: one pass over an article decides every story as each alone would.

The stories are the four of config/stories (the cartel story and its neighbours) plus generated ones;
the articles are the replay world's, in both states.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime
from pathlib import Path

import pytest

from demo.world.content import load_articles
from pipeline.config import StoryTerms, StoryWindow, load_story
from pipeline.match.relevance import score_story_relevance
from pipeline.match.stories import compile_stories, definition_fingerprint, match_article
from schemas.records import NormalisedArticle

STORIES_DIR = Path(__file__).parents[1] / "config" / "stories"


@pytest.fixture(scope="module")
def stories():
    return [load_story(path) for path in sorted(STORIES_DIR.glob("*.yaml"))]


@pytest.fixture(scope="module")
def articles() -> list[NormalisedArticle]:
    world = []
    for article in load_articles():
        for state in (1, 2):
            if not article.exists_in(state):
                continue
            served = article.in_state(state)
            world.append(
                NormalisedArticle(
                    outlet=served.outlet, canonical_url=f"https://{served.outlet}.example/{served.id}/{state}",
                    url_hash=f"{served.id}:{state}", aliases=(), headline=served.headline, dek=served.dek,
                    authors=tuple(served.authors), published_at=served.published, modified_at=None,
                    language=served.language, section=served.section, body_text="\n\n".join(served.paragraphs),
                    word_count=0, content_hash=f"{served.id}:{state}", fetched_at=datetime(2025, 11, 27, tzinfo=UTC),
                )
            )  # fmt: skip
    return world


def generated_story(base, number: int, vocabulary: list[str]):
    """A story with the cartel story's shape and a random list of 30-60 terms per language."""
    rng = random.Random(number)
    terms = {lang: tuple(rng.sample(vocabulary, rng.randint(30, 60))) for lang in ("en", "es")}
    return base.model_copy(
        update={
            "slug": f"generated-{number:03d}",
            "key_terms": StoryTerms(**terms),
            "entities": StoryTerms(en=tuple(rng.sample(vocabulary, 8)), es=tuple(rng.sample(vocabulary, 8))),
        }
    )


def test_one_pass_over_many_stories_decides_each_story_as_it_alone_would(stories, articles):
    vocabulary = sorted({w for a in articles[:20] for w in a.body_text.split() if w.isalpha() and len(w) > 4})
    many = stories + [generated_story(stories[0], n, vocabulary) for n in range(40)]
    matcher = compile_stories(many)
    compared = 0
    for article in articles:
        decided = {d.story_slug: d for d in match_article(matcher, article)}
        for story in many:
            alone = score_story_relevance(story, article)
            if story.slug in decided:
                assert decided[story.slug] == alone, (story.slug, article.url_hash)
                compared += 1
            else:  # not decided: without an entity and two key terms it cannot be coverage (rules 2, 3)
                assert not alone.is_relevant
                assert alone.evidence["reason"] in ("no-story-entity", "too-few-key-terms", "out-of-window")
                assert not (alone.evidence["entities"] and len(alone.evidence["key_terms"]) >= 2), (
                    story.slug,
                    article.url_hash,
                )
    assert compared > len(articles)  # the generated stories' common words make many candidates


def test_an_article_can_belong_to_several_stories(stories, articles):
    # A second desk watching the same event under its own slug: every article is in both stories.
    twin = stories[0].model_copy(update={"slug": "second-desk"})
    matcher = compile_stories([*stories, twin])
    memberships = [{d.story_slug for d in match_article(matcher, a) if d.is_relevant} for a in articles]
    in_first = [found for found in memberships if stories[0].slug in found]
    assert in_first and all("second-desk" in found for found in in_first)
    # and a story's terms never leak into another's decision: each relevant set is the story's alone
    for story in stories:
        alone = {a.url_hash for a in articles if score_story_relevance(story, a).is_relevant}
        together = {a.url_hash for a, found in zip(articles, memberships, strict=True) if story.slug in found}
        assert alone and together == alone, story.slug


def test_the_fingerprint_changes_with_what_decisions_depend_on_and_only_that(stories):
    story = stories[0]
    fingerprint = definition_fingerprint(story)
    assert definition_fingerprint(story.model_copy(update={"title": "Another title"})) == fingerprint
    assert definition_fingerprint(story.model_copy(update={"subscribers": ()})) == fingerprint
    wider = StoryWindow(start=story.window.start, end=datetime(2026, 6, 30, tzinfo=UTC))
    assert definition_fingerprint(story.model_copy(update={"window": wider})) != fingerprint
    fewer = StoryTerms(en=story.key_terms.en[:-1], es=story.key_terms.es)
    assert definition_fingerprint(story.model_copy(update={"key_terms": fewer})) != fingerprint
    summary = {**story.summary, "en": story.summary["en"] + " More."}
    assert definition_fingerprint(story.model_copy(update={"summary": summary})) != fingerprint
