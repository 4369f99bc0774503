"""Benchmark of translated-copy linking (#17) on the replay world and held-out sets
(``make bench-translation``).

Builds the world's articles as the pipeline stores them (hand-written ones plus the scale world's
generated ones: wire copies, duplicates and local noise), links translations in publication order with
same-language copies left to syndication (the truth's ``syndicates`` stands for that stage), and prints
precision and recall of the links against the truth's ``translates`` (a link to any copy of the
original counts as one to the original), links between independent same-event reports, the CPU time
per article and the process's peak memory.

Then the held-out sets (``bench/heldout/translations_*.yaml``, written apart from the world and from the
code): (a) translations with trims, added local paragraphs, merged and split paragraphs, and two
anchor-poor analysis pieces; (b) loose adaptations (lede rewritten, sentences reordered, paragraphs
swapped or cut to a sentence), each beside an independent report of the same press conference in the
other language, and same-language near copies. Same-event links there are links between articles of
one event that are not a translation pair.

Methods (``--method``, default all three): ``anchors`` (anchors alone: the method before the held-out
sets), ``encoder`` (the encoder alone on the same blocked pairs, paragraphs aligned in order:
``bench/translation_encoder.py``), ``framewatch`` (what the pipeline runs: anchors, and the encoder
where the anchors leave a pair open).

``--cycle`` instead runs one framewatch cycle (crawl, process, match, framing: ``bench.framewatch_cycle``)
on the replay world scaled to ``--scale`` into a fresh SQLite warehouse and prints the process stage's
seconds and, inside it, the translation step's (``pipeline.dedupe.translation_store``), with the links stored.

Usage: .venv/bin/python bench/translation.py [--scale 5000] [--method anchors|encoder|framewatch] [--cycle]
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import pipeline.dedupe.translation as translation  # noqa: E402
from bench.measure import print_report  # noqa: E402
from demo.world.content import load_articles, load_outlets  # noqa: E402
from demo.world.scale import ScaleCatalogue  # noqa: E402
from pipeline.dedupe.translation import TranslationCandidate, link_translations  # noqa: E402
from pipeline.text import fold  # noqa: E402

HELD_OUT_DIR = Path(__file__).resolve().parent / "heldout"


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


@dataclass(frozen=True)
class HeldOutArticle:
    """A held-out article in the fields ``score_links`` reads."""

    id: str
    language: str
    published: datetime
    paragraphs: tuple[str, ...]
    translates: str | None
    event: str
    syndicates: None = None
    stories: tuple = ()
    kind: str = "held-out"


def held_out_articles(path: Path) -> list[HeldOutArticle]:
    items = yaml.safe_load(path.read_text(encoding="utf-8"))["articles"]
    return [
        HeldOutArticle(
            item["id"],
            item["language"],
            datetime.fromisoformat(str(item["published"]).replace("Z", "+00:00")),
            tuple(item["paragraphs"]),
            item.get("translates"),
            item["event"],
        )  # fmt: skip
        for item in items
    ]


def score_held_out(articles: list[HeldOutArticle], links: list) -> dict:
    by_id = {a.id: a for a in articles}
    found = {(link.translation, link.original) for link in links}
    expected = {(a.id, a.translates) for a in articles if a.translates}
    true_links = found & expected
    same_event = [pair for pair in found - expected if by_id[pair[0]].event == by_id[pair[1]].event]
    return {
        "links": len(found),
        "expected": len(expected),
        "precision": len(true_links) / len(found) if found else 1.0,
        "recall": len(true_links) / len(expected) if expected else 1.0,
        "same_event_links": len(same_event),
        "wrong": sorted(found - expected),
        "missed": sorted(expected - found),
    }


def link_with(method: str, articles: list, copies: frozenset[str]) -> list:
    candidates = [  # copies are left to syndication, as in the pipeline: not read at all
        TranslationCandidate.of(a.id, a.language, a.published, "\n\n".join(a.paragraphs))
        for a in articles
        if a.id not in copies
    ]
    if method == "encoder":
        from bench.translation_encoder import link_with_encoder

        texts = {a.id: "\n\n".join(a.paragraphs) for a in articles if a.id not in copies}
        return link_with_encoder(candidates, copies, texts)
    if method == "anchors":  # the anchors never leave a pair open: the encoder is never asked
        with _anchors_alone():
            return link_translations(candidates, copies)
    return link_translations(candidates, copies)


@contextmanager
def _anchors_alone():
    saved = translation.UNDECIDED_ANCHOR_ORDER
    translation.UNDECIDED_ANCHOR_ORDER = 2.0
    try:
        yield
    finally:
        translation.UNDECIDED_ANCHOR_ORDER = saved


def run(scale: int, method: str) -> dict:
    articles = world_articles(scale)
    copies = frozenset(a.id for a in articles if a.syndicates)
    fold("é")  # the accent-folding pattern is built once per process, already paid by relevance
    started = time.process_time()
    links = link_with(method, articles, copies)
    cpu = time.process_time() - started
    return {
        **score_links(articles, links),
        "articles": len(articles),
        "cpu_s": cpu,
        "ms_per_article": 1000 * cpu / len(articles),
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def run_held_out(method: str) -> dict[str, dict]:
    return {
        path.stem: score_held_out(
            articles := held_out_articles(path), link_with(method, articles, frozenset())
        )
        for path in sorted(HELD_OUT_DIR.glob("translations_*.yaml"))
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
    parser.add_argument("--method", choices=["anchors", "encoder", "framewatch"])
    parser.add_argument("--cycle", action="store_true")
    parser.add_argument("--json", action="store_true", help="end with a JSON report (for bench/all.py)")
    args = parser.parse_args()
    if args.cycle:
        run_cycle_timed(args.scale)
        return
    if args.json:  # the bench row: what the pipeline runs
        result = run(args.scale, args.method or "framewatch")
        held_out = run_held_out(args.method or "framewatch")
        print_report({
            **result, "wrong": [list(pair) for pair in result["wrong"]],
            "held_out": {name: {k: v for k, v in r.items() if k not in ("wrong", "missed")}
                         for name, r in held_out.items()},
        })  # fmt: skip
        return
    print("| method | world: P / R, same-event links | held-out a: P / R, same-event | "
          "held-out b: P / R, same-event | world CPU, ms/article | peak RSS |")  # fmt: skip
    print("|---|---|---|---|---|---|")
    for method in [args.method] if args.method else ["anchors", "encoder", "framewatch"]:
        result = run(args.scale, method)
        held_out = run_held_out(method)
        cells = [f"{r['precision']:.3f} / {r['recall']:.3f} ({r['links']} of {r['expected']}), "
                 f"{r['same_event_links']}" for r in (result, *held_out.values())]  # fmt: skip
        print(f"| {method} | {' | '.join(cells)} | {result['cpu_s']:.2f} s, {result['ms_per_article']:.3f} | "
              f"{result['peak_rss_mb']:.0f} MB |")  # fmt: skip
        for name, r in held_out.items():
            if r["missed"] or r["wrong"]:
                print(f"    {method} {name}: missed {r['missed']} wrong {r['wrong']}", file=sys.stderr)


if __name__ == "__main__":
    main()
