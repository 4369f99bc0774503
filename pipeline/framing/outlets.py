"""Per outlet and story: distinctive vocabulary, original vs syndicated copy, first coverage, headlines.

Pure functions over lists of texts or of ``CoverageRow`` records already queried from the warehouse.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Sequence
from functools import lru_cache
from itertools import groupby

from stop_words import get_stop_words

from pipeline.framing.lexicon import check_language, split_sentences, word_tokens
from schemas.framing_records import (
    ActorTone,
    CoverageRow,
    DistinctiveTerm,
    FirstCoverage,
    OutletActorTone,
    OutletSyndication,
)


@lru_cache(maxsize=2)
def stop_words(language: str) -> frozenset[str]:
    """The stop-words package's list for the language (it ships its lists, nothing is downloaded)."""
    return frozenset(get_stop_words(check_language(language)))


def ngrams(text: str, language: str) -> list[str]:
    """Unigrams and bigrams of the text; any n-gram holding a stop word or a one-letter word is dropped."""
    stops = stop_words(language)
    tokens = word_tokens(text)
    keep = [len(token) > 1 and token not in stops for token in tokens]
    unigrams = [token for token, ok in zip(tokens, keep, strict=True) if ok]
    bigrams = [f"{tokens[i]} {tokens[i + 1]}" for i in range(len(tokens) - 1) if keep[i] and keep[i + 1]]
    return unigrams + bigrams


def ngram_counts(texts: Iterable[str], language: str) -> Counter[str]:
    counts: Counter[str] = Counter()
    for text in texts:
        counts.update(ngrams(text, language))
    return counts


def log_odds_z(
    term: str, focus: Counter[str], rest: Counter[str], prior: Counter[str], sizes: tuple[int, int, float]
) -> tuple[float, float]:
    """Monroe, Colaresi & Quinn (2008), eq. 16 and 18: log-odds ratio with an informative Dirichlet
    prior, and its z-score (the ratio over its approximate standard deviation)."""
    n_focus, n_rest, alpha_total = sizes
    alpha = prior[term]
    y_focus, y_rest = focus[term] + alpha, rest[term] + alpha
    delta = math.log(y_focus / (n_focus + alpha_total - y_focus)) - math.log(
        y_rest / (n_rest + alpha_total - y_rest)
    )
    return delta, delta / math.sqrt(1 / y_focus + 1 / y_rest)


def distinctive_terms(
    outlet_texts: Sequence[str],
    other_texts: Sequence[str],
    language: str,
    top_n: int | None = 20,
    prior_scale: float = 0.1,
) -> tuple[DistinctiveTerm, ...]:
    """Words and bigrams of one outlet against the rest of the coverage ("Fightin' Words").

    The informative prior is the pooled coverage itself (Monroe et al. sec. 3.5 use the whole corpus),
    scaled by ``prior_scale`` so that it shrinks rare terms without drowning the outlet's own counts.
    Returns the ``top_n`` most distinctive terms of the outlet (largest z first); the most distinctive of
    the rest are those with the most negative z, available with ``top_n=None``.
    """
    focus, rest = ngram_counts(outlet_texts, language), ngram_counts(other_texts, language)
    return distinctive_terms_of_counts(focus, rest, top_n, prior_scale)


def distinctive_terms_of_counts(
    focus: Counter[str], rest: Counter[str], top_n: int | None = 20, prior_scale: float = 0.1
) -> tuple[DistinctiveTerm, ...]:
    """``distinctive_terms`` from n-gram counts already made: each outlet of a story is compared with
    the others' total, so the story's texts are tokenized once, not once per outlet."""
    pooled = focus + rest
    prior = Counter({term: count * prior_scale for term, count in pooled.items()})
    sizes = (sum(focus.values()), sum(rest.values()), sum(prior.values()))
    scored = []
    for term in pooled:
        delta, z = log_odds_z(term, focus, rest, prior, sizes)
        scored.append(DistinctiveTerm(term, round(z, 4), round(delta, 4), focus[term], rest[term]))
    scored.sort(key=lambda t: (-t.z_score, t.term))
    return tuple(scored if top_n is None else scored[:top_n])


def lede_of(body_text: str) -> str:
    """The lede: the body's first sentence (news style puts the essential claim there)."""
    sentences = split_sentences(body_text)
    return sentences[0] if sentences else ""


def syndication_by_outlet(rows: Iterable[CoverageRow]) -> tuple[OutletSyndication, ...]:
    """How many of each outlet's articles are its own reporting and how many are syndicated copy."""
    ordered = sorted(rows, key=lambda row: row.outlet)
    result = []
    for outlet, group in groupby(ordered, key=lambda row: row.outlet):
        articles = list(group)
        syndicated = sum(1 for row in articles if row.syndicated_from is not None)
        original = len(articles) - syndicated
        result.append(
            OutletSyndication(outlet, len(articles), original, syndicated, round(original / len(articles), 4))
        )
    return tuple(result)


def first_coverage(rows: Iterable[CoverageRow]) -> tuple[FirstCoverage, ...]:
    """Each outlet's first article on the story, earliest outlet first (rows without a date are skipped)."""
    firsts: dict[str, CoverageRow] = {}
    for row in rows:
        if row.published_at is None:
            continue
        current = firsts.get(row.outlet)
        if current is None or (row.published_at, row.url_hash) < (current.published_at, current.url_hash):
            firsts[row.outlet] = row
    ordered = sorted(firsts.values(), key=lambda row: (row.published_at, row.outlet))
    return tuple(FirstCoverage(r.outlet, r.published_at, r.url_hash, r.headline) for r in ordered)


def headlines_side_by_side(rows: Iterable[CoverageRow]) -> tuple[CoverageRow, ...]:
    """Headline and lede of every article in publication order (undated last), for a side-by-side view."""
    return tuple(sorted(rows, key=lambda row: (row.published_at is None, row.published_at or 0, row.outlet)))


def actor_tone_by_outlet(articles: Iterable[tuple[str, Sequence[ActorTone]]]) -> tuple[OutletActorTone, ...]:
    """How each outlet portrayed each actor, from ``(outlet, actor tones of one article)`` pairs: the
    mean of its articles' scores (each article counts once, however often it names the actor) and the
    mention labels summed; outlets then actors in alphabetical order."""
    grouped: dict[tuple[str, str], list[ActorTone]] = {}
    for outlet, tones in articles:
        for tone in tones:
            grouped.setdefault((outlet, tone.actor), []).append(tone)
    return tuple(
        OutletActorTone(
            outlet=outlet,
            actor=actor,
            articles=len(tones),
            mentions=sum(t.mentions for t in tones),
            mean_score=round(sum(t.score for t in tones) / len(tones), 4),
            negative=sum(t.negative for t in tones),
            neutral=sum(t.neutral for t in tones),
            positive=sum(t.positive for t in tones),
        )
        for (outlet, actor), tones in sorted(grouped.items())
    )
