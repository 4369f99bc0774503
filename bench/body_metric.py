"""The article-extraction-benchmark's body metric, written from its published definition.

Tokens are ``\\w+`` runs (case kept); a document is the multiset of its token 4-grams (a text of
fewer than four tokens is one shingle). Per document, true positives, false positives and false
negatives are multiset counts normalised to sum to one; precision and recall are averaged over
documents, and F1 is taken from those two means.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

_TOKEN = re.compile(r"\w+")
SHINGLE_SIZE = 4


@dataclass(frozen=True)
class BodyScore:
    precision: float
    recall: float

    @property
    def f1(self) -> float:
        total = self.precision + self.recall
        return 2 * self.precision * self.recall / total if total else 0.0


def shingles(text: str) -> Counter[tuple[str, ...]]:
    tokens = _TOKEN.findall(text or "")
    if len(tokens) < SHINGLE_SIZE:
        return Counter([tuple(tokens)]) if tokens else Counter()
    return Counter(tuple(tokens[i : i + SHINGLE_SIZE]) for i in range(len(tokens) - SHINGLE_SIZE + 1))


def document_counts(truth: str, prediction: str) -> tuple[float, float, float]:
    """(tp, fp, fn) for one document, normalised so they sum to one (all zero for two empty texts)."""
    truth_shingles, predicted_shingles = shingles(truth), shingles(prediction)
    tp = sum((truth_shingles & predicted_shingles).values())
    fp = sum((predicted_shingles - truth_shingles).values())
    fn = sum((truth_shingles - predicted_shingles).values())
    total = tp + fp + fn
    return (tp / total, fp / total, fn / total) if total else (0.0, 0.0, 0.0)


def document_precision_recall(truth: str, prediction: str) -> tuple[float | None, float | None]:
    """Per-document precision and recall; None when undefined (no predicted / no true shingles)."""
    tp, fp, fn = document_counts(truth, prediction)
    if fp == 0 and fn == 0:
        return 1.0, 1.0
    precision = tp / (tp + fp) if tp + fp > 0 else None
    recall = tp / (tp + fn) if tp + fn > 0 else None
    return precision, recall


def score_bodies(truths: Mapping[str, str], predictions: Mapping[str, str]) -> BodyScore:
    """Mean precision and recall over documents; a missing prediction counts as an empty one."""
    pairs = [
        document_precision_recall(truth, predictions.get(doc_id) or "") for doc_id, truth in truths.items()
    ]
    return BodyScore(_mean(p for p, _ in pairs), _mean(r for _, r in pairs))


def _mean(values: Iterable[float | None]) -> float:
    defined = [v for v in values if v is not None]
    return sum(defined) / len(defined) if defined else 0.0
