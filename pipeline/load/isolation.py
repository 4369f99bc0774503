"""Loading a processed batch so that one article the warehouse refuses cannot lose the others.

``pipeline.load.warehouse.load_articles_isolated`` finds the articles that fail; this takes them out of the
batch (with their relevance scores and signatures) and puts them in its quarantine, with their error,
so the rest of the process stage loads what remains as usual.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import replace

from sqlalchemy import Connection

from pipeline.load.warehouse import RefusedArticle, load_articles_isolated
from schemas.records import Outcome, ProcessedBatch, Quarantined


def load_batch_isolated(
    connection: Connection, batch: ProcessedBatch, run_id: int
) -> tuple[dict[str, int], ProcessedBatch]:
    """Load the batch's articles; returns url_hash -> id and the batch without the refused ones."""
    ids, refused = load_articles_isolated(connection, batch.articles, run_id)
    return ids, without_refused(batch, refused)


def without_refused(batch: ProcessedBatch, refused: list[RefusedArticle]) -> ProcessedBatch:
    """The batch less the refused articles, which move to its quarantine (stage ``load``)."""

    if not refused:
        return batch
    gone = {r.article.url_hash for r in refused}
    kept = [i for i, article in enumerate(batch.articles) if article.url_hash not in gone]
    refused = _one_per_url(refused)
    outcomes = [Outcome("load", "quarantined", r.article.canonical_url, r.error[:200]) for r in refused]
    quarantined = [Quarantined(r.article.canonical_url, f"load: {r.error}", None) for r in refused]
    return replace(
        batch,
        articles=tuple(batch.articles[i] for i in kept),
        relevance=tuple(s for s in batch.relevance if s.url_hash not in gone),
        quarantined=(*batch.quarantined, *quarantined),
        outcomes=(*batch.outcomes, *outcomes),
        counts=batch.counts + Counter(f"{o.stage}:{o.kind}" for o in outcomes),
        signatures={k: v for k, v in batch.signatures.items() if k not in gone},
    )


def _one_per_url(refused: list[RefusedArticle]) -> list[RefusedArticle]:
    return list({r.article.url_hash: r for r in refused}.values())
