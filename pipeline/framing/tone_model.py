"""Tone toward actors: the sentiment a sentence expresses toward a person or group it mentions.

A linear model over static word vectors distilled from a multilingual sentence encoder, trained on
NewsMTSC's human labels (``pipeline/framing/train.py`` says how; ``config/framing/tone_model.npz`` is
the result). Because the model is linear in each word, it is stored as a table: per vocabulary entry,
what that word adds to the negative, neutral and positive scores when it is in the sentence and when
it is within three words of the mention. Scoring is a look-up and a mean, and its evidence is the
words that pushed hardest. Agreement with human labels: docs/framing.md, "Tone toward actors".
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from pathlib import Path

import numpy as np

from pipeline.framing.lexicon import (
    FRAMING_CONFIG_DIR,
    check_language,
    compile_terms,
    find_compiled,
    split_sentences,
    word_tokens,
)
from pipeline.framing.tone import english_analyzer, sentence_tone, spanish_rules, spanish_stem
from pipeline.text import fold
from schemas.framing_records import ActorTone, MentionTone, StoryActor, ToneCue

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


Vector = tuple[float, float, float]  # one value per class, in CLASSES order


@dataclass(frozen=True)
class WordEntry:
    """What one word adds to the class logits in the sentence mean and in the window mean, and its
    margins: each class's logit minus the mean of the other two (how hard it pushes toward that class).
    Plain floats: a mention's arithmetic is over a handful of words, where numpy's calls cost more."""

    sentence: Vector
    window: Vector
    sentence_margin: Vector
    window_margin: Vector


def margins(logits: Vector) -> Vector:
    total = sum(logits)
    return tuple(value - (total - value) / 2 for value in logits)  # type: ignore[return-value]


@dataclass(frozen=True)
class ToneModel:
    vocabulary: PieceVocabulary
    entries: tuple[str, ...]
    sentence: np.ndarray  # (entries, 3): logit added by an entry in the sentence's mean vector
    window: np.ndarray  # (entries, 3): the same within the mention's window
    lexicon: np.ndarray  # (2, 3): weights of the lexicon compounds of sentence and window
    bias: np.ndarray  # (3,)
    _by_word: dict[str, WordEntry | None] = field(default_factory=dict, compare=False)

    def word_entry(self, token: str) -> WordEntry | None:
        """A word's logits (a word is the mean of its pieces); None when no entry covers it.
        Remembered per word: news vocabulary repeats."""
        if token not in self._by_word:
            rows = list(self.vocabulary.rows_of(token))
            self._by_word[token] = self._entry(rows) if rows else None
        return self._by_word[token]

    def _entry(self, rows: list[int]) -> WordEntry:
        sentence = tuple(self.sentence[rows].astype(np.float64).mean(axis=0).tolist())
        window = tuple(self.window[rows].astype(np.float64).mean(axis=0).tolist())
        return WordEntry(sentence, window, margins(sentence), margins(window))  # type: ignore[arg-type]

    def covered(self, tokens: Sequence[str]) -> list[tuple[str, WordEntry]]:
        """The tokens some entry covers, with their entries, in order."""
        return [(token, entry) for token in tokens if (entry := self.word_entry(token)) is not None]

    @cached_property
    def constants(self) -> tuple[Vector, Vector, Vector]:
        """The lexicon weights of the sentence and window compounds, and the bias, as plain floats."""
        sentence, window = (tuple(row) for row in self.lexicon.tolist())
        return sentence, window, tuple(self.bias.tolist())  # type: ignore[return-value]


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


def mean_of(words: Sequence[tuple[str, WordEntry]], part: str) -> Vector:
    """The mean of the words' logits in ``part`` ("sentence" or "window"); zeros without words."""
    negative = neutral = positive = 0.0
    for _, entry in words:
        values = getattr(entry, part)
        negative += values[0]
        neutral += values[1]
        positive += values[2]
    n = len(words) or 1
    return (negative / n, neutral / n, positive / n)


def softmax(logits: Sequence[float]) -> list[float]:
    top = max(logits)
    exp = [math.exp(value - top) for value in logits]
    total = sum(exp)
    return [value / total for value in exp]


def pushes(words: Sequence[tuple[str, WordEntry]], part: str, label: int) -> dict[str, float]:
    """Each word's share of the mean logit of ``label`` minus the mean of the other two classes',
    summed per word (``part``: "sentence_margin" or "window_margin")."""
    summed: dict[str, float] = {}
    for word, entry in words:
        summed[word] = summed.get(word, 0.0) + getattr(entry, part)[label] / len(words)
    return summed


@dataclass(frozen=True)
class SentenceReading:
    """What every mention in one sentence shares: its words, their mean logits, its lexicon compound,
    and (remembered per class) its words' pushes, strongest first."""

    sentence: str
    words: tuple[tuple[str, WordEntry], ...]
    compound: float
    mean: Vector
    _pushes: dict[int, tuple[dict[str, float], list[tuple[str, float]]]] = field(
        default_factory=dict, compare=False
    )

    def pushes(self, label: int) -> tuple[dict[str, float], list[tuple[str, float]]]:
        """word -> push toward ``label``, and the same ranked strongest first (ties alphabetical)."""
        if label not in self._pushes:
            summed = pushes(self.words, "sentence_margin", label)
            self._pushes[label] = (summed, sorted(summed.items(), key=strongest))
        return self._pushes[label]


def strongest(item: tuple[str, float]) -> tuple[float, str]:
    return (-item[1], item[0])


def read_sentence(sentence: str, language: str, model: ToneModel) -> SentenceReading:
    words = tuple(model.covered(word_tokens(sentence)))
    return SentenceReading(
        sentence, words, sentence_tone(sentence, language).compound, mean_of(words, "sentence")
    )


def evidence_words(
    reading: SentenceReading, window: Sequence[tuple[str, WordEntry]], label: int, count: int
) -> tuple[ToneCue, ...]:
    """The words that pushed hardest toward the chosen class: each word's share of the mean logit of
    that class minus the mean of the other two classes', summed over the sentence and window means.

    Only the window's few words differ between the mentions of a sentence: they are added to the
    sentence's ranking, whose first ``count`` other words are the only others that can make the top."""
    by_word, ranked = reading.pushes(label)
    candidates = {w: by_word.get(w, 0.0) + v for w, v in pushes(window, "window_margin", label).items()}
    others = 0
    for word, value in ranked:
        if others == count:
            break
        if word not in candidates:
            candidates[word] = value
            others += 1
    top = sorted(candidates.items(), key=strongest)[:count]
    return tuple(ToneCue(word, round(value, 4)) for word, value in top)


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
    in_window = model.covered(window)
    window_mean = mean_of(in_window, "window")
    sentence_weights, window_weights, bias = model.constants
    compounds = (reading.compound, window_compound(window, language))
    logits = [
        reading.mean[c] + window_mean[c] + compounds[0] * sentence_weights[c] + compounds[1] * window_weights[c]
        + bias[c]
        for c in range(3)
    ]  # fmt: skip
    p = softmax(logits)
    label = p.index(max(p))
    return MentionTone(
        mention=reading.sentence[start:end],
        label=CLASSES[label],
        score=round(p[2] - p[0], 4),
        probabilities=(round(p[0], 4), round(p[1], 4), round(p[2], 4)),
        evidence=evidence_words(reading, in_window, label, MAX_EVIDENCE_WORDS),
        sentence=reading.sentence,
    )


def window_compound(window: Sequence[str], language: str) -> float:
    """The lexicon compound of the mention's window. In English, a window of plain word tokens with
    no VADER lexicon word scores 0 (VADER's rules only scale lexicon words), so VADER, a fifth of
    this measure's cost, runs only when one is there."""
    if language == "en" and not any(token in english_analyzer().lexicon for token in window):
        return 0.0
    if language == "es" and not any(
        spanish_stem(token) in spanish_rules().valence_by_stem for token in window
    ):
        return 0.0  # the same holds for the Spanish lexicon: no cue, compound 0
    return sentence_tone(" ".join(window), language).compound


def _matchable(sentence: str) -> tuple[str, str]:
    """The sentence in the form whose character offsets ``find_terms`` reports (its folding keeps
    lengths for composed text, so the composed original is returned whenever it lines up), and its
    folded form."""
    composed = unicodedata.normalize("NFC", sentence)
    folded = fold(composed)
    return (composed if len(folded) == len(composed) else folded), folded


def actor_tones(
    headline: str, body_text: str, language: str, actors: Sequence[str | StoryActor]
) -> tuple[ActorTone, ...]:
    """For each actor mentioned in headline or body (a ``StoryActor`` by any of its names in the
    article's language, a plain string by itself; all names matched together by the codebook rules,
    the longest winning): the mean tone of the sentences mentioning it (P(positive) - P(negative),
    -1..+1), the mentions' labels, and each mention's sentence and deciding words. Actors never
    mentioned are left out; the others keep the order given."""
    code = check_language(language)
    model = load_tone_model()
    label_of = names_to_labels(actors, code)
    # Most names are absent from most articles: only those whose longest word the article holds are
    # looked for sentence by sentence (a name's match always holds that word).
    article = fold(f"{headline}\n{body_text}")
    present = [entry for entry in compile_terms(tuple(label_of)) if entry[1] in article]
    if not present:
        return ()
    sentences = [s for s in [headline.strip(), *split_sentences(body_text)] if s]
    by_actor: dict[str, list[MentionTone]] = {}
    for raw in sentences:
        sentence, folded = _matchable(raw)
        hits = joined_mentions(folded, find_compiled(folded, present), label_of)
        reading = read_sentence(sentence, code, model) if hits else None
        for start, end, label in hits:
            by_actor.setdefault(label, []).append(mention_tone(reading, start, end, code, model))
    labels = dict.fromkeys(label_of.values())
    return tuple(summarise_actor(label, by_actor[label]) for label in labels if label in by_actor)


_APPOSITION = re.compile(r"[\s,]*")


def joined_mentions(
    folded: str, hits: Sequence[tuple[int, int, str]], label_of: Mapping[str, str]
) -> list[tuple[int, int, str]]:
    """(start, end, actor label) of each mention; two names of one actor side by side ("Mexican
    President Claudia Sheinbaum", "la presidenta, Claudia Sheinbaum") are one mention spanning both,
    as NewsMTSC's annotators marked a person named by role and name."""
    joined: list[tuple[int, int, str]] = []
    for start, end, name in hits:
        label = label_of[name]
        if joined and joined[-1][2] == label and _APPOSITION.fullmatch(folded, joined[-1][1], start):
            joined[-1] = (joined[-1][0], end, label)
        else:
            joined.append((start, end, label))
    return joined


def names_to_labels(actors: Sequence[str | StoryActor], language: str) -> dict[str, str]:
    """Each name of the actors in ``language`` -> its actor's label, in the actors' order."""
    label_of: dict[str, str] = {}
    for actor in actors:
        if isinstance(actor, str):
            label_of.setdefault(actor, actor)
        else:
            for name in actor.names(language):
                label_of.setdefault(name, actor.label)
    return label_of


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
