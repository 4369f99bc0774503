"""Crawl state in the warehouse: the ``http_cache`` a crawl starts from, and what it leaves behind.

The crawl process never touches the database: ``read_http_cache`` gives ``run_crawl`` its state as a
plain dict, and ``record_crawl`` writes a crawl's results back in the caller's transaction. One run may
be served by several crawl processes (shards, one per group of outlets); each writes only its own share,
and writing the same share twice changes nothing (Airflow retries).

``http_cache.body_hash`` holds ``failed:<outcome>`` for an article URL that has only ever failed, so a
lasting failure goes on the same decaying re-check schedule as a page that does not change.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, delete, or_, select

from pipeline.crawl.workspace import ShardWorkspace
from pipeline.load.warehouse import load_discovered_outlets, upsert_rows
from pipeline.normalise.identity import url_hash
from schemas.fit import fitted
from schemas.models import CrawlRun, CrawlShard, FetchLog, HttpCacheEntry, RunOutcome
from spiders.politeness import without_credentials

if TYPE_CHECKING:
    from pipeline.crawl.crawler import CrawlResult

CACHE_TIMES = ("first_fetched_at", "last_fetched_at", "last_changed_at", "next_check_at")
CACHE_COLUMNS = ("url_hash", "url", "etag", "last_modified", "body_hash", *CACHE_TIMES)
FETCH_STAGE = "fetch"


# http_cache ----------------------------------------------------------------------------------------


def read_http_cache(connection: Connection) -> dict[str, dict[str, str | None]]:
    """url -> http_cache row with times as ISO strings (the form the crawl process reads)."""
    rows = connection.execute(select(*(getattr(HttpCacheEntry, c) for c in CACHE_COLUMNS))).mappings()
    return {row["url"]: _json_row(row) for row in rows}


def _json_row(row: Mapping[str, Any]) -> dict[str, str | None]:
    return {c: (row[c].isoformat() if isinstance(row[c], datetime) else row[c]) for c in CACHE_COLUMNS}


def cache_row(entry: Mapping[str, Any]) -> dict[str, Any]:
    """A crawl's JSON cache update as an ``http_cache`` row (times parsed back to aware datetimes).

    Validators are an outlet's to choose: one longer than its column is dropped, not cut (a cut ETag
    would never match), and the URL is simply fetched in full next time."""
    row = {c: entry.get(c) for c in CACHE_COLUMNS}
    for column in CACHE_TIMES:
        row[column] = datetime.fromisoformat(row[column])
    return fitted(HttpCacheEntry, row, refuse=("etag", "last_modified"))


def save_http_cache(connection: Connection, updates: Mapping[str, Mapping[str, Any]]) -> int:
    rows = [cache_row(entry) for entry in updates.values()]
    upsert_rows(connection, HttpCacheEntry, rows, ["url_hash"], [c for c in CACHE_COLUMNS if c != "url_hash"])
    return len(rows)


def advance_http_cache(connection: Connection, updates: Mapping[str, Mapping[str, Any]]) -> int:
    """Like ``save_http_cache``, but an entry only moves forward in fetch time: reprocessing an old run
    cannot roll the cache back to what that run saw."""
    rows = [cache_row(entry) for entry in updates.values()]
    upsert_rows(connection, HttpCacheEntry, rows, ["url_hash"], [c for c in CACHE_COLUMNS if c != "url_hash"],
                lambda table, excluded: excluded.last_fetched_at >= table.c.last_fetched_at)  # fmt: skip
    return len(rows)


def forget_http_cache(connection: Connection, urls: Iterable[str]) -> int:
    """Drop these URLs' http_cache entries: the next crawl fetches them in full, as if new."""
    hashes = sorted({url_hash(url) for url in urls})
    if not hashes:
        return 0
    return connection.execute(delete(HttpCacheEntry).where(HttpCacheEntry.url_hash.in_(hashes))).rowcount


# The whole crawl -------------------------------------------------------------------------------------


def record_crawl(connection: Connection, run_id: int, result: CrawlResult) -> None:
    """What one crawl process produced, written in the caller's transaction: where its files are, its
    fetch log and counts, the outlets it discovered. Its HTTP cache updates stay in their file until the
    process stage loads its pages (``read_cache_updates``).

    The run's row is locked first: shards of one run finish at the same moment on different workers,
    and every row written here that references the run takes a share lock on it (its foreign key
    check), so two shards that both wrote first and locked later deadlocked (issue 22's Celery run).
    """
    lock_run(connection, run_id)
    record_shard(connection, run_id, result)
    if result.discovered_outlets:
        load_discovered_outlets(connection, result.discovered_outlets)
    save_fetch_log(connection, run_id, result)
    save_fetch_counts(connection, run_id, result)


def lock_run(connection: Connection, run_id: int) -> dict[str, Any]:
    """Lock the run's row until the transaction ends (a no-op on SQLite, whose writers take turns);
    returns its counts."""
    counts = connection.execute(select(CrawlRun.counts).where(CrawlRun.id == run_id).with_for_update())
    return dict(counts.scalar_one() or {})


def record_shard(connection: Connection, run_id: int, result: CrawlResult) -> None:
    """The shard's row in ``crawl_shards``; a retried shard replaces its own."""
    row = {
        "run_id": run_id,
        "shard": result.shard,
        "directory": str(result.workspace.directory),
        "outlets": list(result.outlets),
        "has_warc": result.workspace.warc.exists(),
    }
    upsert_rows(connection, CrawlShard, [row], ["run_id", "shard"], ["directory", "outlets", "has_warc"])


def run_shards(connection: Connection, run_key: str) -> list[ShardWorkspace]:
    """The workspaces of the run's crawl processes, in the order they were recorded."""
    rows = connection.execute(
        select(CrawlShard.directory)
        .join(CrawlRun, CrawlRun.id == CrawlShard.run_id)
        .where(CrawlRun.run_key == run_key)
        .order_by(CrawlShard.id)
    )
    return [ShardWorkspace(Path(directory), run_key) for directory in rows.scalars()]


def read_cache_updates(shards: Iterable[ShardWorkspace]) -> dict[str, dict]:
    """url -> http_cache row (JSON values), as the run's crawl processes left them (one file per shard)."""
    updates: dict[str, dict] = {}
    for shard in shards:
        if shard.http_cache_updates.exists():
            updates.update(json.loads(shard.http_cache_updates.read_text(encoding="utf-8")))
    return updates


def read_fetch_log(path: Path) -> Iterator[dict[str, Any]]:
    if not Path(path).exists():
        return
    with Path(path).open(encoding="utf-8") as lines:
        for line in lines:
            if line.strip():
                yield json.loads(line)


def fetch_log_row(event: Mapping[str, Any], run_id: int) -> dict[str, Any]:
    """A ``fetch_log`` row: credentials never stored, text made storable and fitted to its columns."""
    return fitted(FetchLog, _fetch_log_values(event, run_id))


def _fetch_log_values(event: Mapping[str, Any], run_id: int) -> dict[str, Any]:
    error = event.get("error")
    return {
        "run_id": run_id,
        "url": without_credentials(event["url"]),
        "outlet": event.get("outlet"),
        "status": event.get("status"),
        "bytes": event.get("bytes") or 0,
        "elapsed_ms": event.get("elapsed_ms"),
        "outcome": event["outcome"],
        "error": without_credentials(error) if error else error,
        "fetched_at": datetime.fromisoformat(event["fetched_at"]),
    }


def save_fetch_log(connection: Connection, run_id: int, result: CrawlResult) -> int:
    """Replace this crawl's share of the run's fetch log (the log has no natural key of its own)."""
    events = list(read_fetch_log(result.workspace.fetch_log))
    connection.execute(delete(FetchLog).where(FetchLog.run_id == run_id, _owned_rows(result, events)))
    rows = [fetch_log_row(event, run_id) for event in events]
    if rows:
        connection.execute(FetchLog.__table__.insert(), rows)
    return len(rows)


def _owned_rows(result: CrawlResult, events: list[dict[str, Any]]) -> Any:
    """fetch_log rows a crawl answers for: its outlets; plus query and discovered outlets if it asked."""
    if not result.outlets:
        return FetchLog.run_id.is_not(None)  # a crawl of every outlet owns the whole run
    outlets = set(result.outlets)
    if result.asked_query_api:
        outlets |= {o["name"] for o in result.discovered_outlets} | {
            e["outlet"] for e in events if e["outlet"]
        }
        return or_(FetchLog.outlet.in_(sorted(outlets)), FetchLog.outlet.is_(None))
    return FetchLog.outlet.in_(sorted(outlets))


def save_fetch_counts(connection: Connection, run_id: int, result: CrawlResult) -> dict[str, int]:
    """This crawl's outcome counts, summed with the run's other shards into ``run_outcomes`` (stage fetch).

    Each shard's counts are kept under ``crawl_runs.counts["fetch_shards"]`` so a retried shard replaces
    its own numbers; the run row is locked while doing so (shards may finish at the same moment).
    """
    counts = lock_run(connection, run_id)
    shards = {**counts.get("fetch_shards", {}), result.shard: dict(result.counts)}
    total = sum((Counter(shard) for shard in shards.values()), Counter())
    connection.execute(delete(RunOutcome).where(RunOutcome.run_id == run_id, RunOutcome.stage == FETCH_STAGE))
    rows = [
        {"run_id": run_id, "stage": FETCH_STAGE, "outcome": k, "count": n} for k, n in sorted(total.items())
    ]
    upsert_rows(connection, RunOutcome, rows, ["run_id", "stage", "scope", "outcome"], ["count"])
    values = {"counts": {**counts, "fetch_shards": shards, FETCH_STAGE: dict(total)}}
    connection.execute(CrawlRun.__table__.update().where(CrawlRun.id == run_id).values(**values))
    return dict(total)
