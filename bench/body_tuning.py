"""How the body's one tuned number was chosen: leave-publisher-out, each fold's choice made without it.

``pipeline.extract.body.MAX_RECOVERED_LINK_SHARE`` (the largest share of a block's text its links may be
for a block trafilatura's precision mode dropped to be put back) is tried at a few values on
fundus-dev. For each fold of whole countries held out in turn, the value with the best mean body
F1 on the other folds is chosen and its F1 on the held-out fold is printed beside trafilatura's:
the figure a publisher the choice never saw would get. Run with ``make bench-body-tuning``.
"""

from __future__ import annotations

import statistics
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

import pipeline.extract.body  # noqa: E402
from bench.body_metric import score_bodies  # noqa: E402
from bench.extraction import (  # noqa: E402
    META_SET,
    country,
    country_folds,
    framewatch_predict,
    load_metadata_set,
    trafilatura_predict,
)

# 1.0 puts back any block with a link in it; lower values keep out blocks that are mostly link
SHARES = (0.3, 0.5, 0.7, 0.9, 1.0)


def fold_body_f1(pages, expected, folds, predict) -> list[float]:
    bodies = {page.page_id: predict(page).body for page in pages}
    scores = []
    for countries in folds:
        ids = [page.page_id for page in pages if country(page.page_id) in countries]
        scores.append(score_bodies({i: expected[i].body for i in ids}, {i: bodies[i] for i in ids}).f1)
    return scores


def main() -> int:
    if not META_SET.is_dir():
        print(f"{META_SET} not found: nothing to tune on (it is not shipped with the project).")
        return 0
    pages, expected = load_metadata_set()
    folds = country_folds([page.page_id for page in pages])
    shipped = pipeline.extract.body.MAX_RECOVERED_LINK_SHARE
    by_share = {}
    for share in SHARES:
        pipeline.extract.body.MAX_RECOVERED_LINK_SHARE = share
        by_share[share] = fold_body_f1(pages, expected, folds, framewatch_predict)
    pipeline.extract.body.MAX_RECOVERED_LINK_SHARE = shipped
    trafilatura = fold_body_f1(pages, expected, folds, trafilatura_predict)
    print(f"\n## Body F1 by fold of whole countries, per MAX_RECOVERED_LINK_SHARE (shipped: {shipped})\n")
    print("| share | " + " | ".join(f"fold {n}" for n in range(1, len(folds) + 1)) + " |")
    print("|---|" + "---|" * len(folds))
    for share, scores in by_share.items():
        print(f"| {share} | " + " | ".join(f"{s:.4f}" for s in scores) + " |")
    print("| trafilatura | " + " | ".join(f"{s:.4f}" for s in trafilatura) + " |")
    print(
        "\n| held-out fold | share chosen on the other folds | held-out body F1 | trafilatura |\n|---|---|---|---|"
    )
    for held_out in range(len(folds)):
        # ties go to the smaller share: the one that puts back less
        chosen = max(
            SHARES, key=lambda s: (statistics.mean(v for i, v in enumerate(by_share[s]) if i != held_out), -s)
        )
        print(
            f"| {held_out + 1} | {chosen} | {by_share[chosen][held_out]:.4f} | {trafilatura[held_out]:.4f} |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
