"""One cycle of the pipeline as separate, idempotent stages: crawl → process → framing → alert.

The CLI (`framewatch run`) calls them in sequence; the Airflow DAG calls each as its own task. Every
stage is keyed by ``run_key`` (the Airflow run's data interval, or a CLI timestamp) and can run twice
with the same result: rows are upserted by natural keys and the run's raw archive is only appended.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Engine, select

from pipeline.config import Config, StoryConfig, load_config
from pipeline.identity import text_hash, url_hash
from pipeline.load import load_outlets, load_story, upsert_rows
from schemas.database import make_engine, upgrade_database
from schemas.models import CrawlRun, Quarantine, RunOutcome, Story, StoryArticle
from schemas.records import Outcome

if TYPE_CHECKING:
    from pipeline.framing_store import MeasureInputs
    from pipeline.process import ProcessedBatch


@dataclass(frozen=True)
class CycleContext:
    config: Config
    story: StoryConfig
    db_url: str
    run_key: str

    @property
    def workdir(self) -> Path:
        """Where this run's raw archive (WARC + manifests) lives."""
        safe_key = re.sub(r"[^A-Za-z0-9._-]+", "_", self.run_key)
        return Path(self.config.settings.archive_dir) / self.story.slug / safe_key

    def engine(self) -> Engine:
        return make_engine(self.db_url)


def cycle_context(config_dir: str | Path, db_url: str, story_slug: str, run_key: str) -> CycleContext:
    config = load_config(config_dir)
    return CycleContext(config, config.story(story_slug), db_url, run_key)


def outlet_shards(config_dir: str | Path, shard_count: int) -> list[list[str]]:
    """Outlet names split into ``shard_count`` balanced groups (a crawl process each)."""
    names = [outlet.name for outlet in load_config(config_dir).outlets]
    shards = [names[index::shard_count] for index in range(max(1, shard_count))]
    return [shard for shard in shards if shard]


# --- Stages ------------------------------------------------------------------------------------


def start_run(
    config_dir: str | Path, db_url: str, story_slug: str, run_key: str, started_at: datetime | None = None
) -> int:
    """Migrate the warehouse, load the configured outlets and story, and open (or reopen) the run."""
    context = cycle_context(config_dir, db_url, story_slug, run_key)
    upgrade_database(db_url)
    engine = context.engine()
    try:
        with engine.begin() as connection:
            load_outlets(connection, context.config.outlets)
            load_story(connection, context.story)
            return open_run(connection, context, started_at or datetime.now(UTC))
    finally:
        engine.dispose()


def open_run(connection: Connection, context: CycleContext, started_at: datetime) -> int:
    row = {"run_key": context.run_key, "story_slug": context.story.slug, "started_at": started_at,
           "status": "running", "warc_paths": [], "counts": {}}  # fmt: skip
    upsert_rows(connection, CrawlRun, [row], ["run_key"], ["status"])  # a retried failed run runs again
    return run_id(connection, context.run_key)


def run_id(connection: Connection, run_key: str) -> int:
    found = connection.execute(select(CrawlRun.id).where(CrawlRun.run_key == run_key)).scalar()
    if found is None:
        raise LookupError(f"no crawl run {run_key!r}: start_run must come first")
    return found


def crawl_stage(
    config_dir: str | Path,
    db_url: str,
    story_slug: str,
    run_key: str,
    outlets: list[str] | None = None,
    as_of: datetime | None = None,
) -> dict[str, Any]:
    """Crawl (in a separate process) and record fetch outcomes, HTTP cache state and discovered outlets."""
    from pipeline.crawl import run_crawl
    from pipeline.crawl_state import read_http_cache, record_crawl
    from pipeline.early import RESULTS_FILE

    context = cycle_context(config_dir, db_url, story_slug, run_key)
    engine = context.engine()
    try:
        with engine.connect() as connection:
            cache = read_http_cache(connection)
        shard_dir = context.workdir / _shard_name(outlets)
        early = _early_processor(context, shard_dir)
        try:
            # as_of is the run's logical time (Airflow's data interval end): re-check decisions follow it.
            result = run_crawl(
                context.config.directory, story_slug, shard_dir, run_key, cache, outlets, now=as_of,
                while_crawling=early.poll if early else None,
            )  # fmt: skip
            if early:
                early.finish(shard_dir / RESULTS_FILE)
        finally:
            if early:
                early.close()
        with engine.begin() as connection:
            # The HTTP cache says "the warehouse has this page": it is saved by the process stage, in the
            # transaction that loads the pages, so a failed load cannot leave the cache ahead of the data.
            record_crawl(connection, run_id(connection, run_key), replace(result, http_cache_updates={}))
        return {"shard": _shard_name(outlets), "counts": dict(result.counts)}
    finally:
        engine.dispose()


def hosts_by_outlet(context: CycleContext) -> dict[str, tuple[str, ...]]:
    """Outlet name -> its hosts: a page may only name its own outlet's hosts as canonical
    (pipeline.normalise.choose_canonical)."""
    return {outlet.name: (outlet.host,) for outlet in context.config.outlets}


def _early_processor(context: CycleContext, shard_dir: Path):
    """Extraction of the pages archived so far, in the cores the crawl leaves idle (pipeline.early)."""
    from pipeline.archive import MANIFEST_NAME
    from pipeline.early import EarlyProcessor, early_workers

    if not context.config.settings.crawl.process_while_crawling:
        return None
    return EarlyProcessor(shard_dir / MANIFEST_NAME, hosts_by_outlet(context), early_workers())


def _shard_name(outlets: list[str] | None) -> str:
    if not outlets:
        return "all"
    return "shard-" + text_hash("\n".join(sorted(outlets)))[:10]


def process_stage(config_dir: str | Path, db_url: str, story_slug: str, run_key: str) -> dict[str, Any]:
    """Extract, normalise, dedupe, score and load every page this run archived: one transaction."""
    from pipeline.archive import iter_fetched_pages
    from pipeline.early import RESULTS_FILE, load_results
    from pipeline.framing_store import measuring_ahead
    from pipeline.isolation import load_batch_isolated
    from pipeline.process import process_pages
    from pipeline.syndication import index_and_cluster

    context = cycle_context(config_dir, db_url, story_slug, run_key)
    hosts = hosts_by_outlet(context)
    engine = context.engine()
    try:
        with engine.connect() as connection:
            manifests = _run_manifests(connection, run_key)
        archive_errors: list[Outcome] = []
        pages = _pages_from(manifests, lambda manifest: iter_fetched_pages(manifest, archive_errors.append))
        early_files = [Path(manifest).parent / RESULTS_FILE for manifest in manifests]
        batch = process_pages(pages, hosts, context.story, known=load_results(early_files))
        # Loading and indexing run on one core: the relevant articles' framing measures take the others.
        with (
            measuring_ahead(_framing_inputs(batch), context.workdir / MEASURED_AHEAD_FILE),
            engine.begin() as connection,
        ):
            current_run = run_id(connection, run_key)
            # A refused article is quarantined alone; the rest of the batch loads (issue 20).
            ids, batch = load_batch_isolated(connection, batch, current_run)
            _load_relevance(connection, context.story.slug, batch.relevance, ids, batch.articles)
            clustered = index_and_cluster(connection, batch.articles, ids, batch.signatures)
            _load_quarantine(
                connection, current_run, [*batch.quarantined, *map(_quarantined, archive_errors)]
            )
            _settle_http_cache(connection, run_key, archive_errors)
            counts = Counter(batch.counts) + Counter(f"archive:{o.kind}" for o in archive_errors)
            counts["syndication:clustered"] = clustered
            _record_outcomes(connection, current_run, counts)
        for path in early_files:  # loaded now: the WARC stays the run's record, not these
            path.unlink(missing_ok=True)
        return {"articles": len(batch.articles), "counts": dict(counts)}
    finally:
        engine.dispose()


MEASURED_AHEAD_FILE = "framing-measured-ahead.pickle"


def _framing_inputs(batch: ProcessedBatch) -> list[MeasureInputs]:
    """What the framing stage will measure of the batch's relevant articles (``framing_store``)."""
    from pipeline.framing_store import measure_inputs

    relevant = (a for a, score in zip(batch.articles, batch.relevance, strict=True) if score.is_relevant)
    return [text for text in (measure_inputs(a.headline, a.body_text, a.language) for a in relevant) if text]


def _quarantined(outcome: Outcome):
    from pipeline.process import Quarantined

    return Quarantined(outcome.url or "(unknown)", f"{outcome.kind}: {outcome.detail}", None)


def _settle_http_cache(connection: Connection, run_key: str, archive_errors: list[Outcome]) -> None:
    """Save the HTTP cache state of this run's crawls, now that their pages are loaded, except for pages
    whose archive record cannot be read: those are forgotten (under the URL they were requested as, too),
    or the next crawl would trust a 304 or "not due" for content the warehouse never got. Their outlets'
    feeds and sitemaps are forgotten as well, so the next crawl reads them in full and the pages come back
    with the same feed context (dates, authors) as when first fetched, not as bare homepage links."""
    from pipeline.crawl_state import advance_http_cache, forget_http_cache

    entries = _run_archive_entries(connection, run_key)
    unreadable = {outcome.url for outcome in archive_errors if outcome.url}
    lost = _manifest_records(entries, unreadable)
    withheld = (
        unreadable | {r["requested_url"] for r in lost} | _listing_urls(entries, {r["outlet"] for r in lost})
    )
    updates = {url: e for url, e in _crawl_cache_updates(entries).items() if url not in withheld}
    advance_http_cache(connection, updates)
    forget_http_cache(connection, withheld)


def _crawl_cache_updates(entries: list[dict]) -> dict[str, dict]:
    """url -> http_cache row, as the run's crawl processes left them (one file per shard)."""
    updates: dict[str, dict] = {}
    for entry in entries:
        path = Path(entry["http_cache"]) if entry.get("http_cache") else None
        if path and path.exists():
            updates.update(json.loads(path.read_text(encoding="utf-8")))
    return updates


def _manifest_records(entries: list[dict], urls: set[str]) -> list[dict]:
    from pipeline.archive import manifest_records

    if not urls:
        return []
    records = {
        url: r for e in entries if e.get("manifest") for url, r in manifest_records(e["manifest"]).items()
    }
    return [records[url] for url in urls if url in records]


def _listing_urls(entries: list[dict], outlets: set[str]) -> set[str]:
    """The feeds and sitemaps of these outlets that the run's crawls read (from their fetch logs)."""
    from pipeline.crawl_state import read_fetch_log

    if not outlets:
        return set()
    return {
        event["url"]
        for entry in entries
        if entry.get("fetch_log")
        for event in read_fetch_log(Path(entry["fetch_log"]))
        if event.get("kind") in ("feed", "sitemap") and event.get("outlet") in outlets
    }


def _run_archive_entries(connection: Connection, run_key: str) -> list[dict]:
    paths = connection.execute(select(CrawlRun.warc_paths).where(CrawlRun.run_key == run_key)).scalar_one()
    return [entry for entry in paths or [] if isinstance(entry, dict)]


def _run_manifests(connection: Connection, run_key: str) -> list[str]:
    return [entry["manifest"] for entry in _run_archive_entries(connection, run_key) if entry.get("manifest")]


def _pages_from(manifests: list[str], reader) -> Iterator:
    for manifest in manifests:
        yield from reader(Path(manifest))


def _load_relevance(connection: Connection, story_slug: str, scores, ids, articles) -> None:
    story_id = connection.execute(select(Story.id).where(Story.slug == story_slug)).scalar_one()
    fetched = {article.url_hash: article.fetched_at for article in articles}
    rows = [
        {"story_id": story_id, "article_id": ids[score.url_hash], "relevance_score": round(score.score, 4),
         "is_relevant": score.is_relevant, "evidence": _json_safe(score.evidence), "scored_at": fetched[score.url_hash]}
        for score in scores
    ]  # fmt: skip
    upsert_rows(connection, StoryArticle, rows, ["story_id", "article_id"],
                ["relevance_score", "is_relevant", "evidence", "scored_at"])  # fmt: skip


def _json_safe(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_json_safe(v) for v in (sorted(value) if isinstance(value, set | frozenset) else value)]
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def _load_quarantine(connection: Connection, current_run: int, quarantined) -> None:
    rows = [
        {"run_id": current_run, "stage": "extract", "url": item.url, "url_hash": url_hash(item.url),
         "error": item.error, "warc_record_id": item.warc_record_id, "recorded_at": datetime.now(UTC)}
        for item in quarantined
    ]  # fmt: skip
    upsert_rows(connection, Quarantine, rows, ["run_id", "stage", "url_hash"], ["error", "warc_record_id"])


def _record_outcomes(connection: Connection, current_run: int, counts: Counter) -> None:
    rows = []
    for key, count in sorted(counts.items()):
        stage, _, outcome = key.partition(":")
        rows.append({"run_id": current_run, "stage": stage, "outcome": outcome, "count": int(count)})
    upsert_rows(connection, RunOutcome, rows, ["run_id", "stage", "outcome"], ["count"])


def finish_run(
    config_dir: str | Path, db_url: str, story_slug: str, run_key: str, finished_at: datetime | None = None
) -> dict[str, Any]:
    """Close the run and gather its outcome counts per stage (stored on the run and returned)."""
    engine = make_engine(db_url)
    try:
        with engine.begin() as connection:
            current_run = run_id(connection, run_key)
            counts = run_counts(connection, current_run)
            connection.execute(
                CrawlRun.__table__.update()
                .where(CrawlRun.id == current_run)
                .values(status="finished", finished_at=finished_at or datetime.now(UTC), counts=counts)
            )
        return {"run_id": current_run, "counts": counts}
    finally:
        engine.dispose()


def run_counts(connection: Connection, current_run: int) -> dict[str, dict[str, int]]:
    counts: dict[str, dict[str, int]] = {}
    rows = connection.execute(
        select(RunOutcome.stage, RunOutcome.outcome, RunOutcome.count).where(RunOutcome.run_id == current_run)
    )
    for stage, outcome, count in rows:
        counts.setdefault(stage, {})[outcome] = count
    return counts


def framing_stage(config_dir: str | Path, db_url: str, story_slug: str, run_key: str) -> dict[str, Any]:
    """Measure framing for the story's relevant articles whose content changed, and outlet terms."""
    from pipeline.framing_store import compute_story_framing, load_measured_ahead

    measured_ahead_path = cycle_context(config_dir, db_url, story_slug, run_key).workdir / MEASURED_AHEAD_FILE
    engine = make_engine(db_url)
    try:
        with engine.begin() as connection:
            counts = compute_story_framing(connection, story_slug, load_measured_ahead(measured_ahead_path))
            _record_outcomes(
                connection,
                run_id(connection, run_key),
                Counter({f"framing:{k}": v for k, v in counts.items()}),
            )
        measured_ahead_path.unlink(missing_ok=True)  # stored now: the warehouse holds them
        return {"counts": counts}
    finally:
        engine.dispose()


def report_stage(config_dir: str | Path, db_url: str, story_slug: str, out_path: str | Path) -> str:
    """Write the story's self-contained HTML report; the same warehouse gives the same file."""
    from pipeline.analyst import report_data
    from pipeline.report import render_report

    engine = make_engine(db_url)
    try:
        with engine.connect() as connection:
            html = render_report(report_data(connection, story_slug))
    finally:
        engine.dispose()
    out = Path(out_path)
    out.parent.mkdir(parents=True, exist_ok=True)
    temporary = out.with_suffix(out.suffix + ".partial")
    temporary.write_text(html, encoding="utf-8")
    temporary.replace(out)  # readers never see half a report
    return str(out)


def alert_stage(
    config_dir: str | Path, db_url: str, story_slug: str, run_key: str, smtp_url: str | None = None
) -> dict[str, Any]:
    """Record what each subscriber is owed, then send every pending digest (record-then-send).

    A digest that cannot be sent stays pending and goes out with the next cycle; see pipeline.alert.
    """
    from pipeline.alert import (
        AlertConfigError,
        SmtpTransport,
        queue_digests,
        send_pending_digests,
        transport_from_environment,
    )

    context = cycle_context(config_dir, db_url, story_slug, run_key)
    settings = context.config.settings.alerts
    engine = context.engine()
    try:
        with engine.begin() as connection:
            current_run = run_id(connection, run_key)
            started_at = connection.execute(
                select(CrawlRun.started_at).where(CrawlRun.id == current_run)
            ).scalar_one()
            queued = queue_digests(connection, context.story, current_run, started_at)
        try:
            transport = (
                SmtpTransport(smtp_url, sender=str(settings.sender))
                if smtp_url
                else transport_from_environment(settings)
            )
        except AlertConfigError as exc:
            counts = Counter({"alert:queued": len(queued), "alert:no-transport": len(queued)})
            _record_alert_counts(engine, current_run, counts)
            return {"queued": len(queued), "error": str(exc), "counts": dict(counts)}
        report = send_pending_digests(engine, transport)
        counts = Counter(
            {"alert:queued": len(queued), **{f"alert:{k}": v for k, v in report.as_counts().items()}}
        )
        _record_alert_counts(engine, current_run, counts)
        return {
            "queued": len(queued),
            "counts": dict(counts),
            "locations": report.locations,
            "failed": report.failed,
        }
    finally:
        engine.dispose()


def _record_alert_counts(engine: Engine, current_run: int, counts: Counter) -> None:
    with engine.begin() as connection:
        _record_outcomes(connection, current_run, counts)
