"""The encoder alone, for comparison only (``bench/translation.py --method encoder``): a multilingual
sentence encoder judges every candidate pair, with no anchor verdict first.

The encoder is ``pipeline.encoder``'s (Universal Sentence Encoder multilingual v3, weights inside its
package). Candidates are blocked as the pipeline blocks them (``AnchorIndex``: window, other language,
shared anchors), so the methods differ only in the test: here the passages of the two articles are
encoded and aligned in order by cosine similarity, and a pair is a translation when enough of the
shorter article's passages align. The pipeline's method reads the encoder only for the pairs the anchors
leave open, and matches paragraphs in any order (``pipeline.dedupe.translation``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from pipeline.dedupe.translation import (
    AnchorIndex,
    TranslationCandidate,
    TranslationEvidence,
    TranslationLink,
    paragraphs,
)
from pipeline.encoder import encode

# Chosen on the replay world as method (a)'s thresholds were (bench/translation.py prints the result):
# at 0.65 the translated pairs align 0.71-1.0 of their passages, blocked non-translations 0.17 at most.
PASSAGE_COSINE = 0.65  # a pair of passages counts as aligned at this cosine or above
ALIGNED_SHARE = 0.5  # share of the shorter article's passages aligned


def encode_passages(encoder, texts: Mapping[str, str]) -> dict[str, np.ndarray]:
    keys = list(texts)
    split = [paragraphs(texts[key]) for key in keys]
    flat = [p for parts in split for p in parts]
    vectors = np.asarray(encoder(flat)) if flat else np.zeros((0, 512))
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True) + 1e-9
    out, start = {}, 0
    for key, parts in zip(keys, split, strict=True):
        out[key] = vectors[start : start + len(parts)]
        start += len(parts)
    return out


def aligned_share(first: np.ndarray, second: np.ndarray) -> tuple[float, list[tuple[int, int, float]]]:
    """In-order alignment of passages by cosine (the same dynamic programme as method (a))."""
    if not len(first) or not len(second):
        return 0.0, []
    cosine = first @ second.T
    rows, cols = cosine.shape
    best = np.zeros((rows + 1, cols + 1))
    for i in range(rows - 1, -1, -1):
        for j in range(cols - 1, -1, -1):
            pair = cosine[i, j] if cosine[i, j] >= PASSAGE_COSINE else 0.0
            best[i, j] = max(best[i + 1, j + 1] + pair, best[i + 1, j], best[i, j + 1])
    aligned, i, j = [], 0, 0
    while i < rows and j < cols:
        pair = cosine[i, j] if cosine[i, j] >= PASSAGE_COSINE else 0.0
        if pair and best[i, j] == best[i + 1, j + 1] + pair:
            aligned.append((i, j, float(cosine[i, j])))
            i, j = i + 1, j + 1
        elif best[i + 1, j] >= best[i, j + 1]:
            i += 1
        else:
            j += 1
    return len(aligned) / min(rows, cols), aligned


def link_with_encoder(
    candidates: Sequence[TranslationCandidate], copies: frozenset[str], texts: Mapping[str, str]
) -> list[TranslationLink]:
    """Only the articles in a blocked pair are encoded."""
    index, pairs = AnchorIndex(), []
    for article in sorted(candidates, key=lambda a: (a.published, a.key)):
        if article.key not in copies:
            pairs.append((article, index.candidate_originals(article)))
            index.add(article)
    needed = {c.key for article, others in pairs if others for c in (article, *others)}
    vectors = encode_passages(encode, {key: texts[key] for key in sorted(needed)})
    links = []
    for article, others in pairs:
        judged = []
        for other in others:
            share, aligned = aligned_share(vectors[other.key], vectors[article.key])
            judged.append((share, other.key, aligned))
        passing = [j for j in judged if j[0] >= ALIGNED_SHARE]
        if passing:
            share, original, aligned = max(passing)
            evidence = TranslationEvidence(True, share, 0.0, share, 0, (), tuple(aligned), "encoder")
            links.append(TranslationLink(article.key, original, evidence))
    return links
