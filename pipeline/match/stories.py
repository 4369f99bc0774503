"""Matching stage: each new or changed article decided against every active story in one pass.

Stories are standing queries over one store of articles ("fetch once, match many": Media Cloud's
source-driven collection, the percolator / Lucene Monitor design of news monitors). All stories'
term lists are compiled into one index (``StoryMatcher``); an article's passages are stemmed once and
scanned once against it, so the cost grows with the text and the terms it holds, not with the number
of stories. Only the stories whose world *and* action both appear (an entity and at least
``MIN_DISTINCT_KEY_TERMS`` different key terms matched) are then decided, with ``pipeline.match.relevance``'s
rules and evidence; for every other story the article is not coverage by rule 2 or 3 of those rules,
and no row is stored for the pair (with a hundred stories, seven in ten of the pairs that hold some
entity and key term hold just one key term: storing their evidence cost more than deciding). A story
whose key terms are in another language than the article is decided wherever the article names one of
its entities: the encoder reads the rest (``pipeline.match.encoder_evidence``).

Pure functions over records: the warehouse side is ``pipeline.match.store``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from pipeline.config import StoryConfig
from pipeline.match.encoder_evidence import needs_cross_language
from pipeline.match.relevance import (
    ENTITIES,
    KEY_TERMS,
    MIN_DISTINCT_KEY_TERMS,
    ArticleText,
    TermIndex,
    compile_term_lists,
    match_term_lists,
    story_decision,
    story_matches,
    story_term_lists,
)
from schemas.records import NormalisedArticle, StoryRelevance

# What a story's decisions depend on: a change to any of these re-matches the story's stored articles.
MATCHED_FIELDS = ("summary", "window", "key_terms", "entities", "negative_terms")


@dataclass(frozen=True)
class StoryMatcher:
    """The active stories and their term lists compiled together, built once per cycle."""

    stories: tuple[StoryConfig, ...]
    index: TermIndex
    # Per article language, the positions of the stories whose key terms are in another language
    # (``needs_cross_language``): filled on first use, so matching an article looks it up once.
    _crossing: dict[str, frozenset[int]] = field(default_factory=dict, compare=False, repr=False)

    def crossing(self, language: str) -> frozenset[int]:
        if language not in self._crossing:
            self._crossing[language] = frozenset(
                position
                for position, story in enumerate(self.stories)
                if needs_cross_language(story, language)
            )
        return self._crossing[language]


def compile_stories(stories: Iterable[StoryConfig]) -> StoryMatcher:
    stories = tuple(stories)
    return StoryMatcher(stories, compile_term_lists(story_term_lists(stories)))


def definition_fingerprint(story: StoryConfig) -> str:
    """A short hash of what the story's decisions depend on (``MATCHED_FIELDS``): its title, its
    subscribers or its schedule may change without re-matching anything."""
    definition = story.model_dump(mode="json", include=set(MATCHED_FIELDS))
    canonical = json.dumps(definition, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:16]


def match_article(matcher: StoryMatcher, article: NormalisedArticle) -> tuple[StoryRelevance, ...]:
    """The decisions for every story whose entities and key terms (at least two different ones) occur
    in the article."""
    text = ArticleText(article)
    crossing = matcher.crossing(text.language)
    candidates: list[int] = []

    def candidate_lists(found: set[int]) -> list[int]:
        candidates.extend(_candidate_positions(found, crossing))
        return [position * 3 + category for position in candidates for category in range(3)]

    lists = match_term_lists(text.passages, matcher.index, candidate_lists)
    decided = []
    for position in candidates:
        entities, keys, negatives = story_matches(lists, position)
        # Else rule 3 says no, without a row; a story in another language is decided by the encoder.
        if len(keys.weights) >= MIN_DISTINCT_KEY_TERMS or position in crossing:
            decided.append(story_decision(matcher.stories[position], text, entities, keys, negatives))
    return tuple(decided)


def _candidate_positions(lists: Iterable[int], crossing: frozenset[int]) -> list[int]:
    """Stories with at least one entity and one key term matched (list ids: see relevance.CATEGORIES),
    and, among the stories whose key terms are in another language than the article (``crossing``),
    those with an entity matched: names cross languages, the action is read by the encoder
    (``pipeline.match.encoder_evidence``)."""
    per_story: dict[int, set[int]] = {}
    for list_id in lists:
        per_story.setdefault(list_id // 3, set()).add(list_id % 3)
    return sorted(
        position
        for position, categories in per_story.items()
        if {ENTITIES, KEY_TERMS} <= categories or (position in crossing and ENTITIES in categories)
    )


def match_articles(matcher: StoryMatcher, articles: Sequence[NormalisedArticle]) -> list[StoryRelevance]:
    return [decision for article in articles for decision in match_article(matcher, article)]
