"""Benchmark of the dedupe stage on synthetic articles (``make bench-dedupe``).

Generates N articles deterministically from a seed, in English-like and Spanish-like text made from
a generated vocabulary (no external text): originals covering a shared pool of news events (so
rewrites of the same event share names and quotes), syndicated copies with edits (new headline,
dateline, trimmed ending, local paragraph, copyright line, word fixes) and exact duplicates (the
same text re-rendered). It then clusters them with ``SyndicationIndex`` plus content hashes, and
prints time, peak memory, pairwise cluster precision/recall against the generated truth and the
time to match one new article against the whole history.

Usage: .venv/bin/python bench/dedupe.py [--articles 100000] [--seed 7]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import resource
import statistics
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.memory_index import SyndicationIndex  # noqa: E402
from pipeline.dedupe.copies import (  # noqa: E402
    COPY_THRESHOLD,
    LSH_BANDS,
    LSH_ROWS,
    estimated_jaccard,
    minhash_signature,
    signature_from_bytes,
    signature_to_bytes,
    word_shingles,
)
from pipeline.normalise.canonical import content_hash  # noqa: E402

COPY_SHARE, DUPLICATE_SHARE = 0.10, 0.05
BORROWER_SHARE = 0.10  # originals that quote 2-3 paragraphs of another outlet's story (hard negatives)
EVENTS_PER_1000_ARTICLES = 40  # ~20 outlets cover each event in their own words
SYLLABLES = {
    "en": "ba be bi bo con der er ex for gen in ing ka lo man ment ness or per pro re sen shi ster ta ter "
    "tion to un ver wa way",
    "es": "a ba ca ción co da de do en es la le lo ma men mente mi na no ra re ri sa se ta te to tra va "
    "ve za",
}
DATELINES = {
    "en": ["WASHINGTON (AP) —", "MEXICO CITY (Reuters) -", "NEW YORK (AFP) —"],
    "es": ["CIUDAD DE MÉXICO (EFE).—", "MADRID (EFE).—", "WASHINGTON (AFP).—"],
}
COPYRIGHT = {
    "en": "Copyright 2025 The Associated Press. All rights reserved.",
    "es": "© EFE 2025. Está expresamente prohibida la redistribución y la redifusión.",
}
TRIVIAL_NOISE = {"en": "Updated {n} minutes ago", "es": "Actualizado hace {n} minutos"}


@dataclass(frozen=True)
class Plan:
    """What the generator makes for one article id, and the truth it is measured against."""

    kind: str  # "original" | "copy" | "duplicate"
    source: int  # the article it copies (itself for an original)
    truth: int  # the original at the root of its copy cluster
    borrows: int = -1  # coverage quoting a few paragraphs of this article: not a copy


class World:
    """Deterministic generator: article text is a pure function of (seed, article id)."""

    def __init__(self, articles: int, seed: int) -> None:
        self.seed = seed
        rng = np.random.default_rng(seed)
        self.vocabulary = {lang: self._vocabulary(rng, lang, 20_000) for lang in SYLLABLES}
        ranks = np.arange(1, 20_001)
        weights = 1.0 / (ranks + 2.7)
        self.word_cdf = np.cumsum(weights / weights.sum())  # Zipf-like word frequencies
        self.event_count = max(1, articles * EVENTS_PER_1000_ARTICLES // 1000)
        self.plans = self._plans(rng, articles)

    @staticmethod
    def _vocabulary(rng: np.random.Generator, lang: str, size: int) -> list[str]:
        syllables = SYLLABLES[lang].split()
        words: dict[str, None] = {}
        while len(words) < size:
            count = int(rng.integers(1, 5))
            words["".join(syllables[i] for i in rng.integers(0, len(syllables), count))] = None
        return list(words)

    def _plans(self, rng: np.random.Generator, articles: int) -> list[Plan]:
        copies, duplicates = int(articles * COPY_SHARE), int(articles * DUPLICATE_SHARE)
        originals = articles - copies - duplicates
        lenders = int(originals * (1 - BORROWER_SHARE))
        plans = [Plan("original", i, i) for i in range(lenders)]
        plans += [Plan("original", i, i, int(rng.integers(0, lenders))) for i in range(lenders, originals)]
        for _ in range(copies):
            source = int(rng.integers(0, originals))
            plans.append(Plan("copy", source, source))
        for _ in range(duplicates):
            source = int(rng.integers(0, len(plans)))
            plans.append(Plan("duplicate", source, plans[source].truth))
        order = rng.permutation(articles)  # copies may arrive before their original
        position = {int(old): new for new, old in enumerate(order)}
        return [
            Plan(p.kind, position[p.source], position[p.truth], position.get(p.borrows, -1))
            for p in (plans[int(i)] for i in order)
        ]

    def _rng(self, *parts: int) -> np.random.Generator:
        return np.random.default_rng([self.seed, *parts])

    def article(self, article_id: int) -> tuple[str, str]:
        """(headline, body) of an article."""
        plan = self.plans[article_id]
        if plan.kind == "original":
            return self._original(article_id)
        if plan.kind == "copy":
            return self._copy(article_id, plan.source)
        headline, body = self.article(plan.source)
        return headline.upper(), TRIVIAL_NOISE[self.language(plan.truth)].format(
            n=article_id % 59 + 1
        ) + "\n\n" + body

    def event(self, article_id: int) -> int:
        lender = self.plans[article_id].borrows
        return (
            self.event(lender) if lender >= 0 else int(self._rng(article_id, 4).integers(0, self.event_count))
        )

    def language(self, article_id: int) -> str:
        lender = self.plans[article_id].borrows
        return (
            self.language(lender)
            if lender >= 0
            else ("es" if self._rng(article_id, 0).random() < 0.5 else "en")
        )

    def _original(self, article_id: int) -> tuple[str, str]:
        rng, lang = self._rng(article_id, 1), self.language(article_id)
        names, quotes = self._event(self.event(article_id), lang)
        paragraphs = self._paragraphs(rng, lang, names, int(rng.integers(300, 901)))
        for quote in quotes[: int(rng.integers(1, 3))]:  # rewrites of an event repeat its quotes
            paragraphs.insert(int(rng.integers(1, len(paragraphs))), quote)
        if (lender := self.plans[article_id].borrows) >= 0:
            lent = self._original(lender)[1].split("\n\n")
            start = int(rng.integers(0, max(1, len(lent) - 3)))
            paragraphs[1:1] = lent[start : start + int(rng.integers(2, 4))]
        return self._paragraphs(rng, lang, names, 8, sentences_per_paragraph=1)[0].rstrip("."), "\n\n".join(
            paragraphs
        )

    def _event(self, event: int, lang: str) -> tuple[list[str], list[str]]:
        rng = self._rng(10**9 + event, 2)
        vocabulary = self.vocabulary[lang]
        names = [vocabulary[i].capitalize() for i in rng.integers(0, len(vocabulary), 12).tolist()]
        quotes = [f'"{self._paragraphs(rng, lang, names, 12, 1)[0]}" {names[0]} said.' for _ in range(3)]
        return names, quotes

    def _paragraphs(
        self,
        rng: np.random.Generator,
        lang: str,
        names: list[str],
        words: int,
        sentences_per_paragraph: int = 0,
    ) -> list[str]:
        """At least ``words`` words of sentences (8-28 words, one name each), 2-4 sentences a paragraph.

        Drawn in a few vectorised calls: per-word numpy calls made generation the bench's bottleneck.
        """
        lengths = rng.integers(8, 29, words // 8 + 2)
        lengths = lengths[: int(np.searchsorted(np.cumsum(lengths), words)) + 1]
        vocabulary = self.vocabulary[lang]
        indices = np.minimum(
            np.searchsorted(self.word_cdf, rng.random(int(lengths.sum()))), len(vocabulary) - 1
        )
        words_drawn = [vocabulary[i] for i in indices.tolist()]
        name_at = (rng.random(len(lengths)) * lengths).astype(int).tolist()
        name_of = rng.integers(0, len(names), len(lengths)).tolist()
        sentences, start = [], 0
        for length, at, name in zip(lengths.tolist(), name_at, name_of, strict=True):
            sentence = words_drawn[start : start + length]
            sentence[at] = names[name]
            sentences.append(" ".join(sentence).capitalize() + ".")
            start += length
        per_paragraph = sentences_per_paragraph or 3
        return [" ".join(sentences[i : i + per_paragraph]) for i in range(0, len(sentences), per_paragraph)]

    def _copy(self, article_id: int, source: int) -> tuple[str, str]:
        rng, lang = self._rng(article_id, 3), self.language(source)
        names = [w.capitalize() for w in rng.choice(self.vocabulary[lang], 4)]  # local people and places
        _, body = self._original(source)
        paragraphs = body.split("\n\n")
        original_words = len(body.split())
        while rng.random() < 0.5 and len(" ".join(paragraphs[:-1]).split()) >= 0.75 * original_words:
            paragraphs.pop()  # trimmed ending
        if rng.random() < 0.5:
            paragraphs[0] = f"{rng.choice(DATELINES[lang])} {paragraphs[0]}"
        if rng.random() < 0.5:  # a local paragraph
            paragraphs.insert(
                int(rng.integers(1, len(paragraphs) + 1)), self._paragraphs(rng, lang, names, 40)[0]
            )
        for _ in range(int(rng.integers(0, 5))):  # word fixes
            at = int(rng.integers(0, len(paragraphs)))
            words = paragraphs[at].split()
            words[int(rng.integers(0, len(words)))] = self.vocabulary[lang][int(rng.integers(0, 20_000))]
            paragraphs[at] = " ".join(words)
        if rng.random() < 0.3:
            paragraphs.append(COPYRIGHT[lang])
        return self._paragraphs(rng, lang, names, 6, 1)[0].rstrip("."), "\n\n".join(paragraphs)


# --- Clustering --------------------------------------------------------------------------------


class UnionFind:
    def __init__(self, size: int) -> None:
        self.parent = list(range(size))

    def find(self, item: int) -> int:
        while self.parent[item] != item:
            self.parent[item] = self.parent[self.parent[item]]
            item = self.parent[item]
        return item

    def union(self, first: int, second: int) -> None:
        self.parent[self.find(first)] = self.find(second)


BATCH = 4000  # articles generated, then fingerprinted, per round: bounds the texts held in memory

_worker_world: World | None = None


def _start_worker(articles: int, seed: int) -> None:
    global _worker_world
    _worker_world = World(articles, seed)


def _generate(article_ids: list[int]) -> list[tuple[str, str]]:
    """(content hash, body) per article: what the normalise stage hands the dedupe stage."""
    assert _worker_world is not None
    texts = (_worker_world.article(article_id) for article_id in article_ids)
    return [(content_hash(headline, body), body) for headline, body in texts]


def _signatures(bodies: list[str]) -> list[bytes]:
    return [signature_to_bytes(minhash_signature(body)) for body in bodies]


def _chunks(items: list, parts: int) -> list[list]:
    size = max(1, -(-len(items) // parts))
    return [items[start : start + size] for start in range(0, len(items), size)]


def cluster(
    world: World, articles: int, workers: int
) -> tuple[list[int], SyndicationIndex, dict[str, float]]:
    """Cluster labels per article: exact duplicates by content hash, copies by the LSH index.

    Per round, ``workers`` processes generate text and content hashes (not timed as dedupe), then
    compute MinHash signatures (timed), and this process runs the index: LSH lookup, verification,
    add, union (timed).
    """
    timings: Counter = Counter()
    index, clusters, by_content = SyndicationIndex(), UnionFind(articles), {}
    pool = multiprocessing.get_context("fork").Pool(workers, _start_worker, (articles, world.seed))
    with pool:
        for first in range(0, articles, BATCH):
            ids = list(range(first, min(first + BATCH, articles)))
            started = time.perf_counter()
            generated = [row for part in pool.map(_generate, _chunks(ids, workers * 4)) for row in part]
            fingerprinting = time.perf_counter()
            bodies = [body for _, body in generated]
            signatures = [row for part in pool.map(_signatures, _chunks(bodies, workers * 4)) for row in part]
            indexing = time.perf_counter()
            for article_id, (fingerprint, _), stored in zip(ids, generated, signatures, strict=True):
                if (same := by_content.setdefault(fingerprint, article_id)) != article_id:
                    clusters.union(article_id, same)
                signature = signature_from_bytes(stored)
                for url_hash, _ in index.similar(signature, COPY_THRESHOLD):
                    clusters.union(article_id, int(url_hash))
                index.add(str(article_id), signature)
            timings["generate + content hash"] += fingerprinting - started
            timings["signatures"] += indexing - fingerprinting
            timings["index"] += time.perf_counter() - indexing
    return [clusters.find(i) for i in range(articles)], index, dict(timings)


def pairs(groups: Counter) -> int:
    return sum(size * (size - 1) // 2 for size in groups.values())


def pairwise_precision_recall(predicted: list[int], truth: list[int]) -> tuple[float, float]:
    together = pairs(Counter(zip(predicted, truth, strict=True)))
    predicted_pairs, true_pairs = pairs(Counter(predicted)), pairs(Counter(truth))
    return together / max(predicted_pairs, 1), together / max(true_pairs, 1)


# --- Measurements ------------------------------------------------------------------------------


def similarity_profile(world: World, sample: int) -> dict[str, list[float]]:
    """Exact shingle Jaccard of copies vs. their original, coverage quoting another story, and
    same-event rewrites."""
    plans = world.plans
    copies = [(plan.source, i) for i, plan in enumerate(plans) if plan.kind == "copy"][:sample]
    borrowers = [(plan.borrows, i) for i, plan in enumerate(plans) if plan.borrows >= 0][:sample]
    events: dict[tuple[str, int], list[int]] = {}
    for i in (i for i, plan in enumerate(plans) if plan.kind == "original" and plan.borrows < 0):
        events.setdefault((world.language(i), world.event(i)), []).append(i)
    rewrites = [(group[0], group[1]) for group in events.values() if len(group) > 1][:sample]
    return {
        name: [_jaccard(world, a, b) for a, b in found]
        for name, found in (("copy", copies), ("quoting coverage", borrowers), ("rewrite", rewrites))
    }


def _jaccard(world: World, first: int, second: int) -> float:
    a, b = word_shingles(world.article(first)[1]), word_shingles(world.article(second)[1])
    return len(a & b) / len(a | b)


def time_one_match(index: SyndicationIndex, world: World, probes: int) -> tuple[list[float], int]:
    """Seconds to fingerprint and match one *new* article (a fresh copy of a random original, not
    in the index), and how many of them found their original."""
    rng = np.random.default_rng(world.seed + 2)
    originals = [i for i, plan in enumerate(world.plans) if plan.kind == "original"]
    timings, found = [], 0
    for probe in range(probes):
        source = int(rng.choice(originals))
        _, body = world._copy(len(world.plans) + probe, source)
        started = time.perf_counter()
        matches = index.similar(minhash_signature(body))
        timings.append(time.perf_counter() - started)
        found += str(source) in {url_hash for url_hash, _ in matches}
    return timings, found


def peak_memory_mb(children: bool = False) -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN if children else resource.RUSAGE_SELF)
    return usage.ru_maxrss / 1024  # Linux reports KiB


def percentiles(values: list[float]) -> str:
    quantiles = np.percentile(values, [0, 1, 50, 99, 100]) if values else []
    return " ".join(
        f"{name}={value:.3f}"
        for name, value in zip(["min", "p1", "p50", "p99", "max"], quantiles, strict=False)
    )


def main() -> None:
    options = parse_arguments()
    started = time.perf_counter()
    world = World(options.articles, options.seed)
    setup = time.perf_counter() - started
    kinds = Counter(plan.kind if plan.borrows < 0 else "quoting coverage" for plan in world.plans)
    print(f"articles: {options.articles} ({dict(kinds)}), seed {options.seed}, events {world.event_count}")
    print(f"setup (vocabulary, plan): {setup:.1f} s; {options.workers} worker process(es)")
    print(
        f"MinHash: 128 permutations, word 5-shingles; LSH {LSH_BANDS} bands x {LSH_ROWS} rows; "
        f"copy threshold {COPY_THRESHOLD}"
    )
    summary = report_clustering(world, options)
    print(f"summary: {json.dumps(summary)}")
    report_similarity_profile(world, options.profile_sample)


def parse_arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--profile-sample", type=int, default=500)
    parser.add_argument("--workers", type=int, default=2, help="processes for text generation and signatures")
    return parser.parse_args()


def report_clustering(world: World, options: argparse.Namespace) -> dict[str, float]:
    started = time.perf_counter()
    labels, index, timings = cluster(world, options.articles, options.workers)
    total = time.perf_counter() - started
    precision, recall = pairwise_precision_recall(labels, [plan.truth for plan in world.plans])
    dedupe = timings["signatures"] + timings["index"]
    memory = peak_memory_mb()
    print(
        f"not dedupe: generate text + content hash (normalise stage): {timings['generate + content hash']:.1f} s"
    )
    print(
        f"DEDUPE CLUSTERING: {dedupe:.1f} s (target <= 60) = signatures {timings['signatures']:.1f} s "
        f"+ index (LSH lookup, verify, add, union) {timings['index']:.1f} s | wall total {total:.1f} s"
    )
    print(
        f"peak memory: main process {memory:.0f} MB (target <= 2048), "
        f"largest worker {peak_memory_mb(children=True):.0f} MB"
    )
    print(f"pairwise precision: {precision:.4f}  recall: {recall:.4f} (targets >= 0.95)")
    match_times, found = time_one_match(index, world, 200)
    print(
        f"match one new article against {len(index)} in history: median "
        f"{statistics.median(match_times) * 1e3:.2f} ms, max {max(match_times) * 1e3:.2f} ms "
        f"(fresh copies that found their original: {found}/{len(match_times)})"
    )
    return {
        "articles": options.articles, "workers": options.workers, "dedupe_seconds": round(dedupe, 2),
        "wall_seconds": round(total, 2), "peak_memory_mb": round(memory), "precision": round(precision, 4),
        "recall": round(recall, 4), "match_one_ms": round(statistics.median(match_times) * 1e3, 3),
    }  # fmt: skip


def report_similarity_profile(world: World, sample: int) -> None:
    """The measurements behind COPY_THRESHOLD."""
    for name, values in similarity_profile(world, sample).items():
        print(f"exact Jaccard, {name} ({len(values)} pairs): {percentiles(values)}")
    probes = [
        minhash_signature(world.article(i)[1]) for i in range(0, len(world.plans), len(world.plans) // 50)
    ]
    unrelated = [estimated_jaccard(a, b) for a, b in zip(probes, probes[1:], strict=False)]
    print(f"estimated Jaccard, unrelated neighbours: {percentiles(unrelated)}")


if __name__ == "__main__":
    main()
