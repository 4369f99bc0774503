"""Tone: VADER for English, and VADER's rules with a VADER-rated Spanish lexicon for Spanish.

Both languages end on the same scale: VADER's compound score, the sum of cue valences (-4..+4 each,
VADER's human ratings) normalised by ``x / sqrt(x^2 + 15)`` (vaderSentiment's ``normalize``) into -1..1,
computed per sentence and averaged over the article. Method, sources and limits: docs/framing.md.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from statistics import fmean

import snowballstemmer
from vaderSentiment.vaderSentiment import B_INCR, N_SCALAR, SentimentIntensityAnalyzer, normalize

from pipeline.framing.lexicon import (
    FramingConfigError,
    check_language,
    load_tone_lexicon_file,
    split_sentences,
    word_tokens,
)
from pipeline.text import fold
from schemas.framing_records import ToneCue, ToneScore

MAX_CUES = 10
NEGATION_WINDOW = 3  # VADER looks three words back for a negation
BOOSTER_DISTANCE_SCALE = (1.0, 0.95, 0.9)  # VADER's damping of a booster one, two, three words back


@dataclass(frozen=True)
class SpanishToneRules:
    valence_by_stem: dict[str, float]
    negations: frozenset[str]
    boosters: frozenset[str]
    dampeners: frozenset[str]
    contrastive: tuple[str, ...]


@dataclass(frozen=True)
class SentenceTone:
    compound: float
    cues: tuple[ToneCue, ...]
    tokens: int
    matched: int


@lru_cache(maxsize=1)
def english_analyzer() -> SentimentIntensityAnalyzer:
    return SentimentIntensityAnalyzer()


@lru_cache(maxsize=1)
def spanish_stemmer():
    return snowballstemmer.stemmer("spanish")


@lru_cache(maxsize=1 << 16)  # news vocabulary repeats; Snowball is pure Python
def spanish_stem(word: str) -> str:
    return spanish_stemmer().stemWord(fold(word))


@lru_cache(maxsize=1)
def spanish_rules() -> SpanishToneRules:
    """The Spanish lexicon: each word takes the VADER valence of its English gloss (averaged per stem)."""
    config = load_tone_lexicon_file()
    vader = english_analyzer().lexicon
    missing = sorted(gloss for gloss in config.glosses.values() if gloss not in vader)
    if missing:
        raise FramingConfigError(f"tone_es.yaml: glosses not in VADER's lexicon: {missing}")
    by_stem: dict[str, list[float]] = {}
    for word, gloss in config.glosses.items():
        by_stem.setdefault(spanish_stem(word), []).append(vader[gloss])
    return SpanishToneRules(
        valence_by_stem={stem: fmean(values) for stem, values in by_stem.items()},
        negations=frozenset(fold(w) for w in config.negations),
        boosters=frozenset(fold(w) for w in config.boosters),
        dampeners=frozenset(fold(w) for w in config.dampeners),
        contrastive=tuple(fold(w) for w in config.contrastive),
    )


def english_sentence_tone(sentence: str) -> SentenceTone:
    lexicon = english_analyzer().lexicon
    tokens = word_tokens(sentence)
    cues = tuple(ToneCue(token, lexicon[token]) for token in tokens if token in lexicon)
    compound = english_analyzer().polarity_scores(sentence)["compound"]
    return SentenceTone(compound, cues, len(tokens), len(cues))


def join_contrastive_phrases(tokens: list[str], rules: SpanishToneRules) -> list[str]:
    """Fuse multi-word conjunctions ("sin embargo") so that "sin" there is not read as a negation."""
    text = " ".join(tokens)
    for phrase in rules.contrastive:
        if " " in phrase:
            text = text.replace(phrase, phrase.replace(" ", "_"))
    return text.split()


def booster_shift(tokens: Sequence[str], index: int, valence: float, rules: SpanishToneRules) -> float:
    """VADER's booster rule: intensifiers before a cue push it away from 0, dampeners towards 0."""
    shift = 0.0
    for distance, scale in enumerate(BOOSTER_DISTANCE_SCALE, start=1):
        if index - distance < 0:
            break
        word = tokens[index - distance]
        if word in rules.boosters:
            shift += B_INCR * scale
        elif word in rules.dampeners:
            shift -= B_INCR * scale
    return shift if valence > 0 else -shift


def spanish_cue_valence(tokens: Sequence[str], index: int, rules: SpanishToneRules) -> float | None:
    base = rules.valence_by_stem.get(spanish_stem(tokens[index]))
    if base is None:
        return None
    valence = base + booster_shift(tokens, index, base, rules)
    window = tokens[max(0, index - NEGATION_WINDOW) : index]
    if any(word in rules.negations for word in window):
        valence *= N_SCALAR
    return valence


def apply_contrast(valences: list[float], tokens: Sequence[str], rules: SpanishToneRules) -> list[float]:
    """VADER's "but" rule: cues before the first contrastive conjunction count half, after it 1.5 times."""
    joined = {phrase.replace(" ", "_") for phrase in rules.contrastive}
    pivot = next((i for i, token in enumerate(tokens) if token in joined), None)
    if pivot is None:
        return valences
    return [v * 0.5 if i < pivot else v * 1.5 if i > pivot else v for i, v in enumerate(valences)]


def spanish_sentence_tone(sentence: str) -> SentenceTone:
    rules = spanish_rules()
    tokens = join_contrastive_phrases([fold(t) for t in word_tokens(sentence)], rules)
    originals = join_contrastive_phrases(word_tokens(sentence), rules)
    scored = [spanish_cue_valence(tokens, i, rules) for i in range(len(tokens))]
    valences = apply_contrast([v or 0.0 for v in scored], tokens, rules)
    cues = tuple(
        ToneCue(originals[i], rules.valence_by_stem[spanish_stem(tokens[i])])
        for i, v in enumerate(scored)
        if v is not None
    )
    compound = round(normalize(sum(valences)), 4) if cues else 0.0
    return SentenceTone(compound, cues, len(tokens), len(cues))


def sentence_tone(sentence: str, language: str) -> SentenceTone:
    return english_sentence_tone(sentence) if language == "en" else spanish_sentence_tone(sentence)


def strongest_cues(sentences: Sequence[SentenceTone]) -> tuple[ToneCue, ...]:
    unique = {cue.word.lower(): cue for tone in sentences for cue in tone.cues}
    ranked = sorted(unique.values(), key=lambda cue: (-abs(cue.valence), cue.word))
    return tuple(ranked[:MAX_CUES])


def article_tone(headline: str, body_text: str, language: str) -> ToneScore:
    """Mean sentence compound of headline + body, the headline's own compound, and the cues behind them."""
    code = check_language(language)
    sentences = [s for s in [headline.strip(), *split_sentences(body_text)] if s]
    tones = [sentence_tone(s, code) for s in sentences]
    tokens = sum(t.tokens for t in tones)
    return ToneScore(
        compound=round(fmean(t.compound for t in tones), 4) if tones else 0.0,
        headline_compound=sentence_tone(headline, code).compound if headline.strip() else 0.0,
        method="vader-en" if code == "en" else "vader-es-adapted",
        lexicon_coverage=round(sum(t.matched for t in tones) / tokens, 4) if tokens else 0.0,
        cues=strongest_cues(tones),
    )
