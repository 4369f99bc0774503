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

The score (0..1) blends key-term and entity evidence with the cosine similarity of the article to the
story summary in its language (log term frequencies over stemmed, stop-word-free tokens), discounted
by the negative share. Similarity keeps an article that uses the story's words without its exact
phrases from being judged on a term list alone. The evidence stored with each decision names every
matched term, so an analyst can see why.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache, lru_cache

import py3langid
import snowballstemmer
from stop_words import get_stop_words

from pipeline.config import StoryConfig, StoryTerms
from pipeline.text import strip_accents
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


def fold(text: str) -> str:
    """Case-folded, accents removed: "México" and "MEXICO" both become "mexico"."""
    return strip_accents(unicodedata.normalize("NFKD", text.casefold()))


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


# --- Term matching ----------------------------------------------------------------------------


@cache
def _term_stems(term: str, language: str) -> tuple[str, ...]:
    return stems(term, language)


def _terms_in_both_languages(terms: StoryTerms) -> tuple[str, ...]:
    return tuple(dict.fromkeys((*terms.en, *terms.es)))


def _occurrences(passage_stems: Sequence[str], terms: Iterable[str], language: str) -> Counter[str]:
    """Leftmost-longest, non-overlapping occurrences of each term (as a regex alternation would)."""
    by_first_stem = _patterns_by_first_stem(tuple(terms), language)
    found: Counter[str] = Counter()
    resume = 0  # the end of the last match: occurrences do not overlap
    for position, first in enumerate(passage_stems):
        if position < resume or first not in by_first_stem:
            continue  # only a term's first stem can start an occurrence
        term, length = _longest_match_at(passage_stems, position, by_first_stem)
        if term is not None:
            found[term] += 1
            resume = position + length
    return found


@cache
def _patterns_by_first_stem(
    terms: tuple[str, ...], language: str
) -> dict[str, list[tuple[tuple[str, ...], str]]]:
    """Term stem patterns grouped by their first stem, longest first within a group."""
    groups: dict[str, list[tuple[tuple[str, ...], str]]] = {}
    for term in terms:
        pattern = _term_stems(term, language)
        if pattern:
            groups.setdefault(pattern[0], []).append((pattern, term))
    return {first: sorted(group, key=lambda p: -len(p[0])) for first, group in groups.items()}


def _longest_match_at(
    sequence: Sequence[str], position: int, by_first_stem: Mapping[str, list[tuple[tuple[str, ...], str]]]
) -> tuple[str | None, int]:
    for pattern, term in by_first_stem.get(sequence[position], ()):
        if tuple(sequence[position : position + len(pattern)]) == pattern:
            return term, len(pattern)
    return None, 0


def _passage_occurrences(passage: Passage, terms: tuple[str, ...]) -> Counter[str]:
    """Occurrences under whichever language's stemming finds more (terms come in both languages)."""
    per_language = [_occurrences(passage.stems[lang], terms, lang) for lang in LANGUAGES]
    return max(per_language, key=lambda found: (found.total(), len(found)))


def match_terms(passages: Sequence[Passage], terms: StoryTerms) -> TermMatches:
    candidates = _terms_in_both_languages(terms)
    weights: Counter[str] = Counter()
    where: dict[str, set[int]] = {}
    for index, passage in enumerate(passages):
        for term, count in _passage_occurrences(passage, candidates).items():
            weights[term] += count * passage.weight
            where.setdefault(term, set()).add(index)
    capped = {term: min(weight, TERM_WEIGHT_CAP) for term, weight in weights.items()}
    return TermMatches(capped, {term: frozenset(indices) for term, indices in where.items()})


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


def cosine_similarity(left: Counter[str], right: Counter[str]) -> float:
    """Cosine of log-scaled term frequencies (1 + ln tf), so a repeated word does not dominate."""
    left_w = {t: 1 + math.log(c) for t, c in left.items()}
    right_w = {t: 1 + math.log(c) for t, c in right.items()}
    dot = sum(w * right_w[t] for t, w in left_w.items() if t in right_w)
    norm = math.sqrt(sum(w * w for w in left_w.values())) * math.sqrt(sum(w * w for w in right_w.values()))
    return dot / norm if norm else 0.0


def summary_similarity(story: StoryConfig, passages: Sequence[Passage], language: str) -> float:
    summary = story.summary.get(language) or next(iter(story.summary.values()))
    article_terms: Counter[str] = Counter()
    for passage in passages:
        for term in _passage_content_stems(passage, language):
            article_terms[term] += passage.weight
    return cosine_similarity(_summary_terms(summary, language), article_terms)


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


def article_language(article: NormalisedArticle, story: StoryConfig) -> str:
    """The declared language if the story has a summary in it; else detected; else English."""
    if article.language in story.summary:
        return article.language
    detected, _ = py3langid.classify(f"{article.headline or ''}\n{article.body_text[:2000]}")
    return detected if detected in story.summary else "en"


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


def score_story_relevance(story: StoryConfig, article: NormalisedArticle) -> StoryRelevance:
    passages = article_passages(article)
    language = article_language(article, story)
    keys = match_terms(passages, story.key_terms)
    entities = match_terms(passages, story.entities)
    negatives = match_terms(passages, story.negative_terms)
    similarity = round(summary_similarity(story, passages, language), 4)
    in_window = story.window.contains(article.published_at)
    co_occurrence = co_occurring_passages(passages, entities, keys)
    score = relevance_score(keys, entities, negatives, similarity)
    reason = decision_reason(in_window, keys, entities, negatives, co_occurrence, score)
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
    return StoryRelevance(story.slug, article.url_hash, score, reason == "relevant", evidence)


def score_articles(story: StoryConfig, articles: Iterable[NormalisedArticle]) -> list[StoryRelevance]:
    return [score_story_relevance(story, article) for article in articles]


def relevance_outcome(relevance: StoryRelevance, url: str | None = None) -> Outcome:
    """The counted outcome: ``relevant``, ``out-of-window`` or ``not-relevant`` with the failed rule."""
    reason = str(relevance.evidence.get("reason", ""))
    if relevance.is_relevant:
        return Outcome("relevance", "relevant", url)
    kind = "out-of-window" if reason == "out-of-window" else "not-relevant"
    return Outcome("relevance", kind, url, detail=f"{relevance.story_slug}: {reason}")
