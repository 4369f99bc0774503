"""Extraction and dedupe figures for ``bench/all.py``, each printed as one JSON line by its own process.

They reuse the functions of ``bench/extraction.py`` and ``bench/dedupe.py`` (which print the full
tables: ``make bench-extract``, ``make bench-dedupe``); this only keeps the headline numbers.

Usage: python -m bench.figures extraction | dedupe [--articles N]
"""

from __future__ import annotations

import argparse
import time

from bench.measure import print_report


def extraction_figures() -> dict:
    """Body F1 and docs/s of framewatch and trafilatura on the article-extraction-benchmark."""
    from bench import extraction

    if not extraction.BODY_SET.is_dir():
        return {"skipped": f"evaluation data not found at {extraction.BODY_SET}"}
    pages, truth = extraction.load_body_set()
    figures = {"pages": len(pages)}
    for name, system in extraction.SYSTEMS.items():
        predictions, speed = extraction.run(system, pages)
        score = extraction.score_bodies(truth, {page_id: p.body for page_id, p in predictions.items()})
        figures[name] = {"f1": score.f1, "docs_per_s_wall": speed.wall, "docs_per_s_cpu": speed.cpu}
    return figures


def dedupe_figures(articles: int, seed: int = 7, workers: int = 2) -> dict:
    """Clustering time (signatures + index) and pairwise precision/recall on dedupe.py's generated world."""
    from bench import dedupe

    world = dedupe.World(articles, seed)
    started = time.perf_counter()
    labels, _, timings = dedupe.cluster(world, articles, workers)
    wall = time.perf_counter() - started
    precision, recall = dedupe.pairwise_precision_recall(labels, [plan.truth for plan in world.plans])
    dedupe_seconds = timings["signatures"] + timings["index"]
    return {
        "articles": articles, "dedupe_seconds": dedupe_seconds, "wall_seconds": wall,
        "articles_per_s": articles / dedupe_seconds, "precision": precision, "recall": recall,
    }  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("part", choices=("extraction", "dedupe"))
    parser.add_argument("--articles", type=int, default=100_000, help="dedupe: generated articles")
    options = parser.parse_args()
    print_report(extraction_figures() if options.part == "extraction" else dedupe_figures(options.articles))


if __name__ == "__main__":
    main()
