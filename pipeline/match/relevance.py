"""Relevance stage: is an article coverage of a story, and what evidence says so?

A story's YAML gives three kinds of terms, each in English and Spanish, plus a summary per language:

- ``entities``: *who and where* the story is about (for the first story: Mexico, its president, its
  cartels). They place an article in the story's world but say nothing of what happened.
- ``key_terms``: *what happens* (US troops, JSOC, drone strikes, Title 50, intervention, sovereignty).
- ``negative_terms``: the vocabulary of neighbouring stories (tariffs, a budget hearing, a fentanyl
  seizure, the Venezuela boat strikes, a cartel shootout, sport, weather).

Matching is case- and accent-insensitive over Snowball stems (English and Spanish), so "México",
"mexicano" and "Mexico" meet, and a phrase matches a run of consecutive stems. Every term is tried in
both languages' stemmings: wire copy mixes them ("Título 50" in an English story). Where terms overlap
the longest wins, so "intervención militar" is one match, not also "intervención". An occurrence weighs
3 in the headline, 2 in the dek and 1 in the body; a term counts at most ``TERM_WEIGHT_CAP``, so one
word repeated is not converging evidence.

Why the decision needs converging evidence: each hard negative shares *one* side of the story.
A fentanyl seizure, a cartel shootout or a tariff dispute are about Mexico and its cartels but have no
US military action; the Venezuela boat strikes and a CIA budget hearing have US military or
intelligence action but not in Mexico. So an article is relevant only when all of these hold:

1. it was published inside the story window (else ``out-of-window``);
2. it names a story entity (else ``no-story-entity``);
3. it matches at least ``MIN_DISTINCT_KEY_TERMS`` different key terms (else ``too-few-key-terms``);
4. an entity and a key term meet in one passage, the headline with its dek or one paragraph, so the
   action is tied to the place and not two unrelated mentions (else ``no-co-occurrence``);
5. the neighbouring stories' vocabulary weighs less than the key terms (else ``neighbouring-story``):
   coverage mentions the boat strikes as background, a boat-strike story is made of them;
6. the score reaches ``RELEVANCE_THRESHOLD`` (else ``below-threshold``).

A story whose key terms are not written in the article's language (defined in English only, say) cannot
be decided by counting its terms there: when the terms do not find the article relevant, rules 3 to 6
are replaced by the multilingual encoder's reading of the article's lead against the story's key and
negative terms (``pipeline.match.encoder_evidence``; else ``encoder-below-margin``), and the evidence
carries that reading under ``encoder``.

The score (0..1) blends key-term and entity evidence with the cosine similarity of the article to the
story summary in its language (log term frequencies over stemmed, stop-word-free tokens), discounted
by the negative share. Similarity keeps an article that uses the story's words without its exact
phrases from being judged on a term list alone. The evidence stored with each decision names every
matched term, so an analyst can see why.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache, lru_cache

import py3langid
import snowballstemmer
from stop_words import get_stop_words

from pipeline.config import StoryConfig, StoryTerms
from pipeline.match.encoder_evidence import (
    EncoderEvidence,
    encoder_evidence,
    encoder_score,
    lead_vector,
    needs_cross_language,
)
from pipeline.text import fold
from schemas.records import NormalisedArticle, Outcome, StoryRelevance

LANGUAGES = ("en", "es")
_STEMMER_NAMES = {"en": "english", "es": "spanish"}
HEADLINE_WEIGHT, DEK_WEIGHT, BODY_WEIGHT = 3, 2, 1
TERM_WEIGHT_CAP = 3
MIN_DISTINCT_KEY_TERMS = 2
# Cosine with the short summary: coverage measures about 0.2-0.7; the boat strikes alone 0.3-0.5 (the
# summary mentions them, hence rule 5); tariffs, seizures and hearings 0.05-0.2; sport and weather ~0.
SIMILARITY_SATURATION = 0.35
KEY_TERM_SCALE, ENTITY_SCALE = 4.0, 3.0
SCORE_WEIGHTS = {"key_terms": 0.4, "entities": 0.25, "similarity": 0.35}
RELEVANCE_THRESHOLD = 0.45

_WORD = re.compile(r"\w+")
# Distinct words seen across runs; bounded so a long-lived worker does not grow without limit.
STEM_CACHE_SIZE = 1 << 17


@dataclass(frozen=True)
class Passage:
    """A headline, dek or paragraph with the weight an occurrence in it carries, and its stems in
    each language: stemmed once per article, then every term list is matched against them."""

    text: str
    weight: int
    stems: Mapping[str, tuple[str, ...]]


def stemmed_passage(text: str, weight: int) -> Passage:
    words = _WORD.findall(fold(text))
    return Passage(text, weight, {lang: tuple(map(_word_stemmer(lang), words)) for lang in LANGUAGES})


@dataclass(frozen=True)
class TermMatches:
    """Weighted occurrences per matched term and the indices of the passages each was found in."""

    weights: Mapping[str, int]
    passages: Mapping[str, frozenset[int]]

    @property
    def total(self) -> int:
        return sum(self.weights.values())


# --- Text to stems ----------------------------------------------------------------------------


@cache
def _stemmer(language: str) -> snowballstemmer.stemmer:
    return snowballstemmer.stemmer(_STEMMER_NAMES[language])


def stem(word: str, language: str) -> str:
    return _word_stemmer(language)(word)


@cache
def _word_stemmer(language: str) -> Callable[[str], str]:
    """One cached one-argument stemmer per language: ``map`` over a passage's words stays in C on hits."""
    stemmer = _stemmer(language)

    @lru_cache(maxsize=STEM_CACHE_SIZE)
    def stem_word(word: str) -> str:
        # Stemmed twice: Snowball Spanish takes "militares" to "militar" but "militar" to "milit".
        return stemmer.stemWord(stemmer.stemWord(word))

    return stem_word


def stems(text: str, language: str) -> tuple[str, ...]:
    return tuple(stem(word, language) for word in _WORD.findall(fold(text)))


@cache
def _stop_stems(language: str) -> frozenset[str]:
    return frozenset(stem(fold(word), language) for word in get_stop_words(language))


# --- Term matching: every story's terms compiled into one index ----------------------------------

# A story's three term lists, in this order: the index numbers them story by story (list id =
# story position * 3 + category), so one scan of a passage serves every list of every story.
CATEGORIES = ("entities", "key_terms", "negative_terms")
ENTITIES, KEY_TERMS, NEGATIVE_TERMS = range(len(CATEGORIES))

# A pattern (a run of stems) and the (list id, term) pairs it stands for in the lists that hold it.
Pattern = tuple[tuple[str, ...], tuple[tuple[int, str], ...]]


@cache
def _term_stems(term: str, language: str) -> tuple[str, ...]:
    return stems(term, language)


def _terms_in_both_languages(terms: StoryTerms) -> tuple[str, ...]:
    return tuple(dict.fromkeys((*terms.en, *terms.es)))


@dataclass(frozen=True)
class TermIndex:
    """The term lists of several stories compiled together, per stemming language: a pattern's first
    stem -> the patterns starting with it, longest first. Scanning a passage looks up each stem once,
    whatever the number of stories: the cost grows with text length and matches, not with lists."""

    list_count: int
    patterns: Mapping[str, Mapping[str, tuple[Pattern, ...]]]


def compile_term_lists(term_lists: Sequence[StoryTerms]) -> TermIndex:
    """One index over ``term_lists`` (list id = position); every term is tried in both languages'
    stemmings, since wire copy mixes them ("Título 50" in an English story)."""
    return TermIndex(
        len(term_lists), {language: _patterns_for(term_lists, language) for language in LANGUAGES}
    )


def _patterns_for(term_lists: Sequence[StoryTerms], language: str) -> dict[str, tuple[Pattern, ...]]:
    owners: dict[tuple[str, ...], list[tuple[int, str]]] = {}
    for list_id, terms in enumerate(term_lists):
        for term in _terms_in_both_languages(terms):
            pattern = _term_stems(term, language)
            if pattern:
                owners.setdefault(pattern, []).append((list_id, term))
    groups: dict[str, list[Pattern]] = {}
    for pattern, owned_by in owners.items():
        groups.setdefault(pattern[0], []).append((pattern, tuple(owned_by)))
    return {first: tuple(sorted(group, key=lambda p: -len(p[0]))) for first, group in groups.items()}


def story_term_lists(stories: Sequence[StoryConfig]) -> list[StoryTerms]:
    """Each story's entities, key terms and negative terms, story after story (see ``CATEGORIES``)."""
    return [getattr(story, category) for story in stories for category in CATEGORIES]


def _occurrences(passage_stems: Sequence[str], patterns: Mapping[str, tuple[Pattern, ...]]) -> dict:
    """list id -> {term: count} of its terms' leftmost-longest, non-overlapping occurrences (within a
    list, as a regex alternation of its terms would find them; lists do not interfere with each other).
    Plain dicts: with many stories this loop runs for every matched term of every list."""
    found: dict[int, dict[str, int]] = {}
    resume: dict[int, int] = {}  # per list: the end of its last match (its occurrences do not overlap)
    starting_with = patterns.get
    for position, first in enumerate(passage_stems):
        starting_here = starting_with(first)
        if starting_here is None:
            continue  # only a term's first stem can start an occurrence
        for pattern, owned_by in starting_here:  # longest first: a list's first hit here is its longest
            length = len(pattern)
            if length > 1 and passage_stems[position : position + length] != pattern:
                continue
            for list_id, term in owned_by:
                if resume.get(list_id, 0) <= position:
                    resume[list_id] = position + length
                    counts = found.get(list_id)
                    if counts is None:
                        found[list_id] = {term: 1}
                    else:
                        counts[term] = counts.get(term, 0) + 1
    return found


def _busier(left: Mapping[str, int] | None, right: Mapping[str, int] | None) -> Mapping[str, int]:
    """The language whose stemming found more (occurrences, then distinct terms); English on a tie."""
    if not right:
        return left or {}
    if not left:
        return right
    return right if (sum(right.values()), len(right)) > (sum(left.values()), len(left)) else left


def match_term_lists(
    passages: Sequence[Passage],
    index: TermIndex,
    wanted: Callable[[set[int]], Iterable[int]] | None = None,
) -> dict[int, TermMatches]:
    """The matches of the lists of ``index`` that have any in ``passages`` (absent: none). ``wanted``
    picks, from the lists found anywhere, the ones worth aggregating (matching picks the lists of the
    stories that can be decided); each passage counts under whichever language's stemming finds more
    for that list (terms come in both languages)."""
    scanned = [
        [_occurrences(passage.stems[lang], index.patterns[lang]) for lang in LANGUAGES]
        for passage in passages
    ]
    present = {list_id for per_language in scanned for found in per_language for list_id in found}
    lists = present if wanted is None else set(wanted(present))
    weights: dict[int, dict[str, int]] = {}
    where: dict[int, dict[str, set[int]]] = {}
    for passage_index, (passage, (english, spanish)) in enumerate(zip(passages, scanned, strict=True)):
        for list_id in (english.keys() | spanish.keys()) & lists:
            list_weights = weights.setdefault(list_id, {})
            list_where = where.setdefault(list_id, {})
            for term, count in _busier(english.get(list_id), spanish.get(list_id)).items():
                list_weights[term] = list_weights.get(term, 0) + count * passage.weight
                list_where.setdefault(term, set()).add(passage_index)
    return {
        list_id: TermMatches(
            {term: min(weight, TERM_WEIGHT_CAP) for term, weight in list_weights.items()},
            {term: frozenset(indices) for term, indices in where[list_id].items()},
        )
        for list_id, list_weights in weights.items()
    }


NO_MATCHES = TermMatches({}, {})


# --- Similarity to the story summary ----------------------------------------------------------


def content_stems(text: str, language: str) -> list[str]:
    return _content_only(stems(text, language), language)


def _content_only(stemmed: Sequence[str], language: str) -> list[str]:
    stop = _stop_stems(language)
    return [s for s in stemmed if s not in stop and not s.isdigit() and len(s) > 1]


@lru_cache(maxsize=64)
def _summary_terms(summary: str, language: str) -> Counter[str]:
    """A story's summary, stemmed once per process (a story has a handful of summaries); read only."""
    return Counter(content_stems(summary, language))


@dataclass(frozen=True)
class TermVector:
    """Log-scaled term frequencies (1 + ln tf) and their norm: a repeated word does not dominate."""

    weights: Mapping[str, float]
    norm: float


def term_vector(counts: Mapping[str, int | float]) -> TermVector:
    weights = {term: 1 + math.log(count) for term, count in counts.items()}
    return TermVector(weights, math.sqrt(sum(w * w for w in weights.values())))


@lru_cache(maxsize=1024)
def _summary_vector(summary: str, language: str) -> TermVector:
    return term_vector(_summary_terms(summary, language))


def vector_cosine(left: TermVector, right: TermVector) -> float:
    if len(left.weights) > len(right.weights):
        left, right = right, left
    dot = sum(w * right.weights[t] for t, w in left.weights.items() if t in right.weights)
    norm = left.norm * right.norm
    return dot / norm if norm else 0.0


def passages_vector(passages: Sequence[Passage], language: str) -> TermVector:
    """The article's content stems in ``language``, each occurrence weighted by its passage."""
    article_terms: Counter[str] = Counter()
    for passage in passages:
        for term in _passage_content_stems(passage, language):
            article_terms[term] += passage.weight
    return term_vector(article_terms)


def _story_summary(story: StoryConfig, language: str) -> str:
    return story.summary.get(language) or next(iter(story.summary.values()))


def _passage_content_stems(passage: Passage, language: str) -> list[str]:
    if language in passage.stems:
        return _content_only(passage.stems[language], language)
    return content_stems(passage.text, language)  # a summary language other than en/es


# --- The article ------------------------------------------------------------------------------


def article_passages(article: NormalisedArticle) -> list[Passage]:
    """The headline with its dek first (one passage), then each body paragraph."""
    heading = [stemmed_passage(article.headline or "", HEADLINE_WEIGHT)]
    if article.dek:
        heading.append(stemmed_passage(article.dek, DEK_WEIGHT))
    body = [stemmed_passage(p, BODY_WEIGHT) for p in re.split(r"\n\s*\n", article.body_text) if p.strip()]
    return heading + body


def _detected_language(article: NormalisedArticle) -> str:
    detected, _ = py3langid.classify(f"{article.headline or ''}\n{article.body_text[:2000]}")
    return detected


def _passage_groups(passages: Sequence[Passage], matches: TermMatches) -> set[int]:
    """Indices of the passages holding a match, with headline and dek folded into one group (-1)."""
    heading = {i for i, p in enumerate(passages) if p.weight > BODY_WEIGHT}
    indices = set().union(*matches.passages.values())
    return {-1 if i in heading else i for i in indices}


def co_occurring_passages(passages: Sequence[Passage], entities: TermMatches, keys: TermMatches) -> set[int]:
    """Passages holding both an entity and a key term; headline and dek count as one passage."""
    return _passage_groups(passages, entities) & _passage_groups(passages, keys)


# --- Decision ---------------------------------------------------------------------------------


def relevance_score(
    keys: TermMatches, entities: TermMatches, negatives: TermMatches, similarity: float
) -> float:
    key_part = 1 - math.exp(-keys.total / KEY_TERM_SCALE)
    entity_part = 1 - math.exp(-entities.total / ENTITY_SCALE)
    similarity_part = min(1.0, similarity / SIMILARITY_SATURATION)
    blended = (
        SCORE_WEIGHTS["key_terms"] * key_part
        + SCORE_WEIGHTS["entities"] * entity_part
        + SCORE_WEIGHTS["similarity"] * similarity_part
    )
    negative_share = negatives.total / (negatives.total + keys.total) if negatives.total else 0.0
    return round(blended * (1 - negative_share), 4)


def decision_reason(
    in_window: bool,
    keys: TermMatches,
    entities: TermMatches,
    negatives: TermMatches,
    co_occurrence: set[int],
    score: float,
) -> str:
    """The first rule of the module docstring that the article fails, or ``relevant``."""
    checks = (
        (in_window, "out-of-window"),
        (entities.total > 0, "no-story-entity"),
        (len(keys.weights) >= MIN_DISTINCT_KEY_TERMS, "too-few-key-terms"),
        (bool(co_occurrence), "no-co-occurrence"),
        (negatives.total < keys.total, "neighbouring-story"),
        (score >= RELEVANCE_THRESHOLD, "below-threshold"),
    )
    return next((reason for passed, reason in checks if not passed), "relevant")


def encoder_reason(in_window: bool, entities: TermMatches, reading: EncoderEvidence) -> str:
    """Rules 1 and 2 as for any article, then the encoder's contrast in place of rules 3-6: the story's
    terms are in another language (``pipeline.match.encoder_evidence``)."""
    checks = (
        (in_window, "out-of-window"),
        (entities.total > 0, "no-story-entity"),
        (reading.holds, "encoder-below-margin"),
    )
    return next((reason for passed, reason in checks if not passed), "relevant")


class ArticleText:
    """An article as every story's decision reads it: its passages, stemmed once, and its summary-
    similarity vectors and detected language, computed on first use and shared by all stories."""

    def __init__(self, article: NormalisedArticle) -> None:
        self.article = article
        self.passages = article_passages(article)
        self._vectors: dict[str, TermVector] = {}
        self._detected: str | None = None
        self._lead_vector = None

    def vector(self, language: str) -> TermVector:
        if language not in self._vectors:
            self._vectors[language] = passages_vector(self.passages, language)
        return self._vectors[language]

    @property
    def language(self) -> str:
        """The declared language, else the detected one."""
        if self.article.language:
            return self.article.language
        if self._detected is None:
            self._detected = _detected_language(self.article)
        return self._detected

    def lead_vector(self):
        """The article's lead in the multilingual encoder's space (``encoder_evidence``), once."""
        if self._lead_vector is None:
            article = self.article
            self._lead_vector = lead_vector(article.headline, article.dek, article.body_text)
        return self._lead_vector

    def language_for(self, story: StoryConfig) -> str:
        """The declared language if the story has a summary in it; else detected; else English."""
        if self.article.language in story.summary:
            return self.article.language
        if self._detected is None:
            self._detected = _detected_language(self.article)
        return self._detected if self._detected in story.summary else "en"


def story_decision(
    story: StoryConfig, text: ArticleText, entities: TermMatches, keys: TermMatches, negatives: TermMatches
) -> StoryRelevance:
    """The rules of the module docstring applied to one story's matches in the article, with the
    evidence that names every matched term."""
    language = text.language_for(story)
    summary = _summary_vector(_story_summary(story, language), language)
    similarity = round(vector_cosine(summary, text.vector(language)), 4)
    in_window = story.window.contains(text.article.published_at)
    co_occurrence = co_occurring_passages(text.passages, entities, keys)
    score = relevance_score(keys, entities, negatives, similarity)
    reason = decision_reason(in_window, keys, entities, negatives, co_occurrence, score)
    reading = None
    if (
        reason != "relevant"
        and in_window
        and entities.total > 0
        and needs_cross_language(story, text.language)
    ):
        # The story's key terms are in another language and the terms could not decide (names and
        # shared words may): the encoder reads the lead.
        reading = encoder_evidence(story, text.lead_vector(), text.language)
        terms_reason, reason = reason, encoder_reason(in_window, entities, reading)
        score = encoder_score(reading, 1 - math.exp(-entities.total / ENTITY_SCALE))
    evidence = {
        "reason": reason,
        "key_terms": dict(keys.weights),
        "entities": dict(entities.weights),
        "negative_terms": dict(negatives.weights),
        "summary_language": language,
        "summary_similarity": similarity,
        "co_occurring_passages": len(co_occurrence),
        "in_window": in_window,
        "score": score,
        "threshold": RELEVANCE_THRESHOLD,
    }
    if reading is not None:
        evidence["encoder"] = {**reading.as_dict(), "terms_reason": terms_reason}
    return StoryRelevance(story.slug, text.article.url_hash, score, reason == "relevant", evidence)


def story_matches(lists: Mapping[int, TermMatches], position: int) -> tuple[TermMatches, ...]:
    """The entities, key terms and negative terms matched for the story at ``position`` of an index
    built by ``compile_term_lists(story_term_lists(stories))``."""
    base = position * len(CATEGORIES)
    return tuple(lists.get(base + category, NO_MATCHES) for category in range(len(CATEGORIES)))


def score_story_relevance(story: StoryConfig, article: NormalisedArticle) -> StoryRelevance:
    """One story's full decision on one article (``pipeline.match.stories`` decides many stories at once)."""
    return score_articles(story, [article])[0]


def score_articles(story: StoryConfig, articles: Iterable[NormalisedArticle]) -> list[StoryRelevance]:
    index = compile_term_lists(story_term_lists([story]))
    decisions = []
    for article in articles:
        text = ArticleText(article)
        decisions.append(
            story_decision(story, text, *story_matches(match_term_lists(text.passages, index), 0))
        )
    return decisions


def relevance_outcome(relevance: StoryRelevance, url: str | None = None) -> Outcome:
    """The counted outcome: ``relevant``, ``out-of-window`` or ``not-relevant`` with the failed rule."""
    reason = str(relevance.evidence.get("reason", ""))
    if relevance.is_relevant:
        return Outcome("relevance", "relevant", url)
    kind = "out-of-window" if reason == "out-of-window" else "not-relevant"
    return Outcome("relevance", kind, url, detail=f"{relevance.story_slug}: {reason}")
