"""The encoder's reading as evidence of coverage across languages: a story defined in one language finds
its coverage in the other; neighbouring stories are not admitted; the evidence says the encoder decided
and why; a story defined in both languages is decided by its terms alone, as before. The real packaged
encoder runs (nothing is mocked).

The articles are test_relevance's (written for the tests, not the replay world's), set against
one-language definitions of the first story; the world-wide check is at the end.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from test_relevance import (
    ANALYSIS_ES,
    CARTEL_SHOOTOUT_ES,
    CIA_BUDGET_HEARING_EN,
    FENTANYL_SEIZURE_EN,
    NEWS_ROUNDUP_EN,
    SOVEREIGNTY_ES,
    SPORT_ES,
    STORY_FILE,
    TARIFF_DISPUTE_EN,
    TARIFF_DISPUTE_ES,
    VENEZUELA_BOATS_EN,
    WEATHER_EN,
    WIRE_REPORT_EN,
    article,
)

from bench.cross_language import one_language
from demo.world.content import load_articles
from demo.world.truth import FIRST_STORY
from pipeline.config import StoryTerms, load_story
from pipeline.match.encoder_evidence import (
    MIN_AFFINITY_MARGIN,
    MIN_KEY_TERM_AFFINITY,
    needs_cross_language,
    story_crosses_languages,
)
from pipeline.match.relevance import score_story_relevance
from pipeline.match.stories import compile_stories, match_article
from schemas.records import NormalisedArticle


@pytest.fixture(scope="module")
def story():
    return load_story(STORY_FILE)


@pytest.fixture(scope="module")
def english_only(story):
    return one_language(story, "en")


@pytest.fixture(scope="module")
def spanish_only(story):
    return one_language(story, "es")


def test_a_story_defined_in_english_finds_spanish_coverage(english_only):
    for coverage in (SOVEREIGNTY_ES, ANALYSIS_ES):
        decision = score_story_relevance(english_only, coverage)
        assert decision.is_relevant, decision.evidence
        reading = decision.evidence["encoder"]
        assert reading["crosses_languages"] is True
        assert reading["article_language"] == "es" and reading["story_languages"] == ["en"]
        assert reading["margin"] >= 0  # above its bar
        assert reading["key_term_affinity"] - reading["neighbour_affinity"] >= MIN_AFFINITY_MARGIN
        assert reading["terms_reason"] != "relevant"  # the terms alone would have missed it


def test_a_story_defined_in_spanish_finds_english_coverage(spanish_only):
    decision = score_story_relevance(spanish_only, WIRE_REPORT_EN)
    assert decision.is_relevant, decision.evidence
    assert decision.evidence["encoder"]["story_languages"] == ["es"]


def test_neighbouring_stories_in_the_other_language_are_not_admitted(english_only, spanish_only):
    for definition, neighbour in (
        (english_only, TARIFF_DISPUTE_ES),
        (english_only, SPORT_ES),
        (spanish_only, FENTANYL_SEIZURE_EN),
        (spanish_only, TARIFF_DISPUTE_EN),
        (spanish_only, CIA_BUDGET_HEARING_EN),
        (spanish_only, VENEZUELA_BOATS_EN),
        (spanish_only, WEATHER_EN),
    ):
        decision = score_story_relevance(definition, neighbour)
        assert not decision.is_relevant, (neighbour.headline, decision.evidence)
        if "encoder" in decision.evidence:  # it named an entity: the encoder read it and said no
            assert decision.evidence["reason"] == "encoder-below-margin"
            reading = decision.evidence["encoder"]
            assert reading["margin"] < 0
            assert reading["key_term_affinity"] - reading["neighbour_affinity"] < MIN_AFFINITY_MARGIN


def test_a_story_defined_in_both_languages_is_decided_by_its_terms_alone(story):
    """The encoder is not asked: the terms' verdicts, neighbouring-story rule included, stand."""
    assert not story_crosses_languages(story)
    for item in (SOVEREIGNTY_ES, WIRE_REPORT_EN, CARTEL_SHOOTOUT_ES, FENTANYL_SEIZURE_EN, NEWS_ROUNDUP_EN):
        assert "encoder" not in score_story_relevance(story, item).evidence
    assert score_story_relevance(story, CARTEL_SHOOTOUT_ES).evidence["reason"] == "neighbouring-story"


def test_rules_one_and_two_still_hold_for_the_encoder(english_only):
    outside = article(
        SOVEREIGNTY_ES.headline,
        SOVEREIGNTY_ES.body_text.split("\n\n"),
        language="es",
        published=datetime(2025, 9, 1, tzinfo=UTC),
    )
    decision = score_story_relevance(english_only, outside)
    assert decision.evidence["reason"] == "out-of-window" and "encoder" not in decision.evidence
    nameless = article(
        "Un comando de fuerzas especiales extranjeras atacaría laboratorios clandestinos",
        ["Las operaciones encubiertas contra los grupos criminales serían inminentes, según fuentes."],
        language="es",
    )
    assert score_story_relevance(english_only, nameless).evidence["reason"] == "no-story-entity"


def test_which_languages_need_the_encoder(story, english_only):
    assert not needs_cross_language(story, "es") and not needs_cross_language(story, "en")
    assert needs_cross_language(english_only, "es") and not needs_cross_language(english_only, "en")
    assert needs_cross_language(english_only, "pt")  # the encoder reads Portuguese
    assert not needs_cross_language(english_only, "sw")  # not Swahili: no evidence to give
    assert story_crosses_languages(english_only)


def test_matching_many_stories_decides_a_story_in_another_language_on_its_entities(english_only, story):
    """The one pass over every story: an English-only story is decided on a Spanish article that names
    its entities (a row even when not coverage, as for any decided story); a story in the article's
    language keeps the rule-3 shortcut (no row without two key terms)."""
    bilingual = story.model_copy(update={"slug": "bilingual-twin"})
    matcher = compile_stories([english_only, bilingual])
    decided = {d.story_slug: d for d in match_article(matcher, SOVEREIGNTY_ES)}
    assert decided[english_only.slug].is_relevant and "encoder" in decided[english_only.slug].evidence
    assert decided["bilingual-twin"].is_relevant and "encoder" not in decided["bilingual-twin"].evidence

    tariffs = {d.story_slug: d for d in match_article(matcher, TARIFF_DISPUTE_ES)}
    assert english_only.slug in tariffs and not tariffs[english_only.slug].is_relevant
    assert tariffs[english_only.slug].evidence["reason"] == "encoder-below-margin"
    assert "bilingual-twin" not in tariffs  # one key term at most: no row, as before


def test_a_story_without_negative_terms_needs_a_higher_key_term_affinity(english_only):
    """Nothing to contrast with: the key-term affinity alone must reach its own, stricter bar."""
    bare = english_only.model_copy(update={"negative_terms": StoryTerms()})
    for item in (SOVEREIGNTY_ES, ANALYSIS_ES, TARIFF_DISPUTE_ES, SPORT_ES):
        decision = score_story_relevance(bare, item)
        reading = decision.evidence["encoder"]
        assert reading["neighbour_affinity"] is None and "0.43" in reading["bar"]
        assert reading["margin"] == pytest.approx(
            reading["key_term_affinity"] - MIN_KEY_TERM_AFFINITY, abs=1e-3
        )
        assert decision.is_relevant == (reading["key_term_affinity"] >= MIN_KEY_TERM_AFFINITY)
    assert not score_story_relevance(bare, TARIFF_DISPUTE_ES).is_relevant
    assert not score_story_relevance(bare, SPORT_ES).is_relevant


def _world_articles() -> list[tuple[NormalisedArticle, bool]]:
    found = []
    for item in load_articles():
        if item.syndicates or item.only_in_state:
            continue
        normalised = article(item.headline, list(item.paragraphs), language=item.language, dek=item.dek,
                             published=item.published)  # fmt: skip
        found.append((normalised, item.kind == "story" or FIRST_STORY in item.stories))
    return found


@pytest.mark.parametrize("language", ["en", "es"])
def test_a_one_language_definition_finds_the_worlds_coverage_in_the_other_language(story, language):
    """On the replay world (where the margin was chosen): the first story defined in one language
    finds at least nine in ten of its coverage in the other, and nothing else."""
    definition = one_language(story, language)
    other = [(a, covers) for a, covers in _world_articles() if a.language != language]
    found = {a.url_hash for a, _ in other if score_story_relevance(definition, a).is_relevant}
    coverage = {a.url_hash for a, covers in other if covers}
    assert coverage and found <= coverage, [a.headline for a, _ in other if a.url_hash in found - coverage]
    assert len(found) >= 0.9 * len(coverage), f"{len(found)} of {len(coverage)}"
