"""Tone toward actors: the sentiment a sentence expresses toward a person or group it mentions.

A linear model over static word vectors distilled from a multilingual sentence encoder, trained on
NewsMTSC's human labels (``pipeline/framing/train.py`` says how; ``config/framing/tone_model.npz`` is
the result). Because the model is linear in each word, it is stored as a table: per vocabulary entry,
what that word adds to the negative, neutral and positive scores when it is in the sentence and when
it is within three words of the mention. Scoring is a look-up and a mean, and its evidence is the
words that pushed hardest. Agreement with human labels: docs/framing.md, "Tone toward actors".
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np

from pipeline.framing.lexicon import (
    FRAMING_CONFIG_DIR,
    check_language,
    find_terms,
    split_sentences,
    word_tokens,
)
from pipeline.framing.tone import sentence_tone
from pipeline.text import fold
from schemas.framing_records import ActorTone, MentionTone, ToneCue

TONE_MODEL_PATH = FRAMING_CONFIG_DIR / "tone_model.npz"
CLASSES = ("negative", "neutral", "positive")
WINDOW_WORDS = 3  # words either side of the mention
MAX_EVIDENCE_WORDS = 5


class PieceVocabulary:
    """Vocabulary entries (``▁word`` for a whole word, bare for a word-inner piece): a known word is
    one row; any other word is its greedy longest-match segmentation into the entries."""

    def __init__(self, entries: Sequence[str]):
        self.index = {entry: i for i, entry in enumerate(entries)}
        self.longest = max(map(len, entries), default=1)
        self._cache: dict[str, tuple[int, ...]] = {}

    def rows_of(self, word: str) -> tuple[int, ...]:
        rows = self._cache.get(word)
        if rows is None:
            rows = self._cache[word] = self._segment("▁" + word)
        return rows

    def _segment(self, text: str) -> tuple[int, ...]:
        rows, i = [], 0
        while i < len(text):
            for j in range(min(len(text), i + self.longest), i, -1):
                row = self.index.get(text[i:j])
                if row is not None:
                    rows.append(row)
                    i = j
                    break
            else:
                i += 1  # a character no entry covers adds nothing
        return tuple(rows)


@dataclass(frozen=True)
class ToneModel:
    vocabulary: PieceVocabulary
    entries: tuple[str, ...]
    sentence: np.ndarray  # (entries, 3): logit added by an entry in the sentence's mean vector
    window: np.ndarray  # (entries, 3): the same within the mention's window
    lexicon: np.ndarray  # (2, 3): weights of the lexicon compounds of sentence and window
    bias: np.ndarray  # (3,)
    _by_word: dict[str, tuple[np.ndarray, np.ndarray] | None] = field(default_factory=dict, compare=False)

    def word_logits(self, token: str) -> tuple[np.ndarray, np.ndarray] | None:
        """A word's logits in the sentence mean and in the window mean (a word is the mean of its
        pieces); None when no entry covers it. Remembered per word: news vocabulary repeats."""
        if token not in self._by_word:
            rows = list(self.vocabulary.rows_of(token))
            self._by_word[token] = (
                (
                    self.sentence[rows].astype(np.float64).mean(axis=0),
                    self.window[rows].astype(np.float64).mean(axis=0),
                )
                if rows
                else None
            )
        return self._by_word[token]

    def word_contributions(self, tokens: Sequence[str], part: int) -> list[tuple[str, np.ndarray]]:
        """(word, its 3 logits) for each covered word; ``part`` 0 for the sentence, 1 for the window."""
        out = []
        for token in tokens:
            logits = self.word_logits(token)
            if logits is not None:
                out.append((token, logits[part]))
        return out


@lru_cache(maxsize=2)
def load_tone_model(path: Path = TONE_MODEL_PATH) -> ToneModel:
    with np.load(path, allow_pickle=False) as saved:
        entries = tuple(str(e) for e in saved["entries"])
        if tuple(saved["classes"]) != CLASSES:
            raise ValueError(f"{path}: classes {tuple(saved['classes'])} are not {CLASSES}")
        return ToneModel(
            vocabulary=PieceVocabulary(entries),
            entries=entries,
            sentence=saved["sentence"],
            window=saved["window"],
            lexicon=saved["lexicon"].astype(np.float64),
            bias=saved["bias"].astype(np.float64),
        )


def mention_window(sentence: str, start: int, end: int, words: int = WINDOW_WORDS) -> list[str]:
    """The mention's own tokens and up to ``words`` tokens either side of it."""
    before, mention, after = sentence[:start], sentence[start:end], sentence[end:]
    return word_tokens(before)[-words:] + word_tokens(mention) + word_tokens(after)[:words]


def lexicon_compounds(sentence: str, window_text: str, language: str) -> np.ndarray:
    """VADER's compound of the sentence and of the window (framewatch's Spanish VADER for Spanish)."""
    return np.array(
        [sentence_tone(sentence, language).compound, sentence_tone(window_text, language).compound]
    )


def mean_logits(pairs: list[tuple[str, np.ndarray]]) -> np.ndarray:
    return np.mean([logits for _, logits in pairs], axis=0) if pairs else np.zeros(len(CLASSES))


def softmax(logits: np.ndarray) -> np.ndarray:
    exp = np.exp(logits - logits.max())
    return exp / exp.sum()


def evidence_words(
    parts: Sequence[list[tuple[str, np.ndarray]]], label: int, count: int
) -> tuple[ToneCue, ...]:
    """The words that pushed hardest toward the chosen class: each word's share of the mean logit of
    that class minus the mean of the other two classes', summed over the sentence and window means."""
    others = [c for c in range(len(CLASSES)) if c != label]
    push: dict[str, float] = {}
    for pairs in parts:
        for word, logits in pairs:
            push[word] = push.get(word, 0.0) + float(logits[label] - logits[others].mean()) / len(pairs)
    ranked = sorted(push.items(), key=lambda kv: (-kv[1], kv[0]))
    return tuple(ToneCue(word, round(value, 4)) for word, value in ranked[:count])


@dataclass(frozen=True)
class SentenceReading:
    """What every mention in one sentence shares: its words' logits and its lexicon compound."""

    sentence: str
    words: list[tuple[str, np.ndarray]]
    compound: float


def read_sentence(sentence: str, language: str, model: ToneModel) -> SentenceReading:
    words = model.word_contributions(word_tokens(sentence), 0)
    return SentenceReading(sentence, words, sentence_tone(sentence, language).compound)


def targeted_tone(
    sentence: str, start: int, end: int, language: str, model: ToneModel | None = None
) -> MentionTone:
    """The tone of ``sentence`` toward the mention at ``sentence[start:end]``."""
    code = check_language(language)
    model = model or load_tone_model()
    return mention_tone(read_sentence(sentence, code, model), start, end, code, model)


def mention_tone(
    reading: SentenceReading, start: int, end: int, language: str, model: ToneModel
) -> MentionTone:
    window = mention_window(reading.sentence, start, end)
    in_window = model.word_contributions(window, 1)
    compounds = np.array([reading.compound, sentence_tone(" ".join(window), language).compound])
    logits = mean_logits(reading.words) + mean_logits(in_window) + compounds @ model.lexicon + model.bias
    p = softmax(logits)
    label = int(np.argmax(p))
    return MentionTone(
        mention=reading.sentence[start:end],
        label=CLASSES[label],
        score=round(float(p[2] - p[0]), 4),
        probabilities=tuple(round(float(x), 4) for x in p),
        evidence=evidence_words((reading.words, in_window), label, MAX_EVIDENCE_WORDS),
        sentence=reading.sentence,
    )


def _matchable(sentence: str) -> str:
    """The sentence in the form whose character offsets ``find_terms`` reports (its folding keeps
    lengths for composed text, so the composed original is returned whenever it lines up)."""
    composed = unicodedata.normalize("NFC", sentence)
    return composed if len(fold(composed)) == len(composed) else fold(composed)


def actor_tones(headline: str, body_text: str, language: str, actors: Sequence[str]) -> tuple[ActorTone, ...]:
    """For each actor (a story entity, matched by the codebook rules) mentioned in headline or body:
    the mean tone of the sentences mentioning it (P(positive) - P(negative), -1..+1), the mentions'
    labels, and each mention's sentence and deciding words. Actors never mentioned are left out."""
    code = check_language(language)
    model = load_tone_model()
    sentences = [s for s in [headline.strip(), *split_sentences(body_text)] if s]
    by_actor: dict[str, list[MentionTone]] = {}
    for raw in sentences:
        sentence = _matchable(raw)
        hits = find_terms(sentence, tuple(actors))
        reading = read_sentence(sentence, code, model) if hits else None
        for start, end, actor in hits:
            by_actor.setdefault(actor, []).append(mention_tone(reading, start, end, code, model))
    return tuple(summarise_actor(actor, by_actor[actor]) for actor in actors if actor in by_actor)


def summarise_actor(actor: str, mentions: list[MentionTone]) -> ActorTone:
    counts = {label: sum(1 for m in mentions if m.label == label) for label in CLASSES}
    return ActorTone(
        actor=actor,
        mentions=len(mentions),
        score=round(float(np.mean([m.score for m in mentions])), 4),
        negative=counts["negative"],
        neutral=counts["neutral"],
        positive=counts["positive"],
        evidence=tuple(mentions),
    )
