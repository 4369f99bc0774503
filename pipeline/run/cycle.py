"""One cycle of the pipeline as separate, idempotent stages.

Ingestion, once for all stories: start → crawl (sharded) → process → match → finish. The outlets are
crawled once, every storable article is loaded once, and each new or changed article is matched
against every active story in the same pass; a new or edited story is then matched against the
stored articles (backfill, no fetch). Then, per story with new coverage: framing → alert → report.

The CLI (`framewatch run`) calls them in sequence; the Airflow DAG calls each as its own task. Every
stage is keyed by ``run_key`` (the Airflow run's data interval, or a CLI timestamp) and can run twice
with the same result: rows are upserted by natural keys and the run's raw archive is only appended.

Each stage imports its own stage modules inside its function: an Airflow task runs one stage in a
fresh process, and importing every stage's libraries (Scrapy's reactor, trafilatura and the language
models, the sentence encoder) for a task that needs none of them would add seconds to each task.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Engine, select

from pipeline.config import Config, StoryConfig, load_config
from pipeline.crawl.workspace import RunWorkspace, ShardWorkspace, run_workspace
from pipeline.load.warehouse import load_outlets, upsert_rows
from pipeline.normalise.identity import url_hash
from schemas.database import make_engine, upgrade_database
from schemas.models import CrawlRun, Quarantine, RunOutcome
from schemas.records import Outcome, ProcessedBatch, Quarantined

if TYPE_CHECKING:
    from pipeline.framing.store import AheadJob


@dataclass(frozen=True)
class CycleContext:
    config: Config
    db_url: str
    run_key: str

    @property
    def workspace(self) -> RunWorkspace:
        """Where this run's raw archive (WARC + manifests) lives: one per run, whatever the stories."""
        return run_workspace(self.config.settings.archive_dir, self.run_key)

    def engine(self) -> Engine:
        return make_engine(self.db_url)


def cycle_context(config_dir: str | Path, db_url: str, run_key: str) -> CycleContext:
    return CycleContext(load_config(config_dir), db_url, run_key)


def outlet_shards(config_dir: str | Path, shard_count: int) -> list[list[str]]:
    """Outlet names split into ``shard_count`` balanced groups (a crawl process each)."""
    names = [outlet.name for outlet in load_config(config_dir).outlets]
    shards = [names[index::shard_count] for index in range(max(1, shard_count))]
    return [shard for shard in shards if shard]


# --- Stages ------------------------------------------------------------------------------------


def start_run(config_dir: str | Path, db_url: str, run_key: str, started_at: datetime | None = None) -> int:
    """Migrate the warehouse, load the configured outlets and stories (a story whose file is gone is
    marked inactive), and open (or reopen) the run. ``started_at`` is the run's logical time."""
    from pipeline.match.store import sync_stories

    context = cycle_context(config_dir, db_url, run_key)
    upgrade_database(db_url)
    engine = context.engine()
    try:
        with engine.begin() as connection:
            load_outlets(connection, context.config.outlets)
            sync_stories(connection, context.config.stories)
            current_run = open_run(connection, context, started_at or datetime.now(UTC))
            close_abandoned_runs(connection, current_run)
            _record_story_errors(connection, current_run, context.config.story_errors)
            return current_run
    finally:
        engine.dispose()


def _record_story_errors(connection: Connection, current_run: int, errors: tuple[str, ...]) -> None:
    """A story file that does not validate is skipped, and counted on the run (its message is in the
    log and in `framewatch check-config`)."""
    if errors:
        _record_outcomes(connection, current_run, Counter({"config:invalid-story": len(errors)}))


def open_run(connection: Connection, context: CycleContext, started_at: datetime) -> int:
    row = {"run_key": context.run_key, "story_slug": None, "started_at": started_at,
           "status": "running", "counts": {}}  # fmt: skip
    upsert_rows(connection, CrawlRun, [row], ["run_key"], ["status"])  # a retried failed run runs again
    return run_id(connection, context.run_key)


def close_abandoned_runs(connection: Connection, current_run: int) -> int:
    """Runs still marked ``running`` that started before this one are marked ``failed``: a process
    killed outright (SIGKILL, a lost machine) cannot mark its own run, and cycles run one at a time
    (Airflow's max_active_runs=1). Should one still be alive, its own finish marks it finished."""
    started = run_started_at(connection, current_run)
    abandoned = connection.execute(
        select(CrawlRun.id, CrawlRun.counts).where(
            CrawlRun.status == "running", CrawlRun.id != current_run, CrawlRun.started_at < started
        )
    ).all()
    for run, counts in abandoned:
        failure = "abandoned: still marked running when a later run started (its process was killed)"
        connection.execute(
            CrawlRun.__table__.update()
            .where(CrawlRun.id == run)
            .values(status="failed", counts={**(counts or {}), "failure": failure})
        )
    return len(abandoned)


def run_started_at(connection: Connection, current_run: int) -> datetime:
    """The run's logical time: what every stage stamps its rows with, never the wall clock."""
    return connection.execute(select(CrawlRun.started_at).where(CrawlRun.id == current_run)).scalar_one()


def run_id(connection: Connection, run_key: str) -> int:
    found = connection.execute(select(CrawlRun.id).where(CrawlRun.run_key == run_key)).scalar()
    if found is None:
        raise LookupError(f"no crawl run {run_key!r}: start_run must come first")
    return found


def crawl_stage(
    config_dir: str | Path,
    db_url: str,
    run_key: str,
    outlets: list[str] | None = None,
    as_of: datetime | None = None,
) -> dict[str, Any]:
    """Crawl (in a separate process) and record fetch outcomes, HTTP cache state and discovered outlets."""
    from pipeline.crawl.crawler import run_crawl
    from pipeline.crawl.state import read_http_cache, record_crawl

    context = cycle_context(config_dir, db_url, run_key)
    engine = context.engine()
    try:
        with engine.connect() as connection:
            cache = read_http_cache(connection)
            # The run's logical time decides what is due for a re-check (Airflow's data interval end).
            as_of = as_of or run_started_at(connection, run_id(connection, run_key))
        shard = context.workspace.shard(outlets)
        early = _early_processor(context, shard)
        try:
            # as_of is the run's logical time (Airflow's data interval end): re-check decisions follow it.
            result = run_crawl(
                context.config.directory, shard.directory, run_key, cache, outlets, now=as_of,
                while_crawling=early.poll if early else None,
            )  # fmt: skip
            if early:
                early.finish(shard.extracted_early)
        finally:
            if early:
                early.close()
        with engine.begin() as connection:
            # The HTTP cache updates stay in the shard's file: the process stage saves them in the
            # transaction that loads the pages, so a failed load cannot leave the cache ahead of the data.
            record_crawl(connection, run_id(connection, run_key), result)
        return {"shard": result.shard, "counts": dict(result.counts)}
    finally:
        engine.dispose()


def hosts_by_outlet(context: CycleContext) -> dict[str, tuple[str, ...]]:
    """Outlet name -> its hosts: a page may only name its own outlet's hosts as canonical
    (pipeline.normalise.canonical.choose_canonical)."""
    return {outlet.name: (outlet.host,) for outlet in context.config.outlets}


def _early_processor(context: CycleContext, shard: ShardWorkspace):
    """Extraction of the pages archived so far, in the cores the crawl leaves idle (pipeline.speedup)."""
    from pipeline.speedup.early_extraction import EarlyProcessor, early_workers

    if not context.config.settings.crawl.process_while_crawling:
        return None
    return EarlyProcessor(shard.manifest, hosts_by_outlet(context), early_workers())


def process_stage(config_dir: str | Path, db_url: str, run_key: str) -> dict[str, Any]:
    """Extract, normalise, dedupe and load every page this run archived, and match each new or changed
    article against every active story in the same pass: one transaction."""
    from pipeline.crawl.archive import iter_fetched_pages
    from pipeline.crawl.state import run_shards
    from pipeline.dedupe.syndication import index_and_cluster
    from pipeline.dedupe.translation_store import link_batch_translations
    from pipeline.framing.store import ahead_key, measure_ahead
    from pipeline.framing.tone_model import load_tone_model
    from pipeline.load.isolation import load_batch_isolated
    from pipeline.match.store import store_run_decisions
    from pipeline.match.stories import compile_stories
    from pipeline.run.process import process_pages
    from pipeline.speedup.ahead import computing_ahead, results_ahead
    from pipeline.speedup.workers import default_workers

    context = cycle_context(config_dir, db_url, run_key)
    hosts = hosts_by_outlet(context)
    engine = context.engine()
    try:
        with engine.connect() as connection:
            shards = run_shards(connection, run_key)
        archive_errors: list[Outcome] = []
        pages = _pages_from(shards, lambda manifest: iter_fetched_pages(manifest, archive_errors.append))
        early_files = [shard.extracted_early for shard in shards]
        stories = context.config.stories
        batch = process_pages(pages, hosts, compile_stories(stories), known=results_ahead(early_files))
        # Loading and indexing run on one core: the relevant articles' framing measures take the others.
        spare_cores = default_workers() - 1
        measured_ahead = context.workspace.framing_measured_ahead
        jobs = _framing_inputs(batch, stories)
        if any(actor_lists for _, actor_lists in jobs):
            load_tone_model()  # once, before the pool forks: its workers inherit it
        with (
            computing_ahead(measure_ahead, jobs, ahead_key, measured_ahead, spare_cores),
            engine.begin() as connection,
        ):
            current_run = run_id(connection, run_key)
            # A refused article is quarantined alone; the rest of the batch loads (issue 20).
            ids, batch = load_batch_isolated(connection, batch, current_run)
            store_run_decisions(connection, stories, batch.relevance, ids, batch.articles, current_run,
                                run_started_at(connection, current_run))  # fmt: skip
            clustered = index_and_cluster(connection, batch.articles, ids, batch.signatures)
            translated = link_batch_translations(connection, batch.articles, ids)
            _load_quarantine(
                connection, current_run, [*batch.quarantined, *map(_quarantined, archive_errors)]
            )
            _settle_http_cache(connection, shards, archive_errors)
            _record_outlet_health(connection, shards, context, current_run, batch)
            counts = Counter(batch.counts) + Counter(f"archive:{o.kind}" for o in archive_errors)
            counts["syndication:clustered"] = clustered
            counts["translation:linked"] = translated
            _record_outcomes(connection, current_run, counts)
        for path in early_files:  # loaded now: the WARC stays the run's record, not these
            path.unlink(missing_ok=True)
        return {"articles": len(batch.articles), "counts": dict(counts)}
    finally:
        engine.dispose()


def _record_outlet_health(
    connection: Connection,
    shards: list[ShardWorkspace],
    context: CycleContext,
    current_run: int,
    batch: ProcessedBatch,
) -> None:
    """Each outlet's measures for this run (``pipeline.health.measures``), from its fetch log and the batch."""
    from pipeline.crawl.state import read_fetch_log
    from pipeline.health.store import record_outlet_health

    events = (event for shard in shards for event in read_fetch_log(shard.fetch_log))
    measured_at = run_started_at(connection, current_run)
    record_outlet_health(connection, current_run, measured_at, context.config, events, batch.outcomes,
                         batch.articles)  # fmt: skip


def _framing_inputs(batch: ProcessedBatch, stories: Sequence[StoryConfig]) -> list[AheadJob]:
    """What the framing stage will measure of the batch's relevant articles (``framing.store``): each
    article's measure inputs, and the actors of the stories it is relevant to."""
    from pipeline.framing.actors import story_actors
    from pipeline.framing.store import measure_inputs

    actors_of = {story.slug: story_actors(story) for story in stories}
    relevant_to: dict[str, list[str]] = {}
    for decision in batch.relevance:
        if decision.is_relevant:
            relevant_to.setdefault(decision.url_hash, []).append(decision.story_slug)
    jobs = []
    for article in batch.articles:
        text = measure_inputs(article.headline, article.body_text, article.language)
        if article.url_hash in relevant_to and text:
            lists = (actors_of.get(slug, ()) for slug in relevant_to[article.url_hash])
            jobs.append((text, tuple(dict.fromkeys(actors for actors in lists if actors))))
    return jobs


def _quarantined(outcome: Outcome):
    return Quarantined(outcome.url or "(unknown)", f"{outcome.kind}: {outcome.detail}", None)


def _settle_http_cache(
    connection: Connection, shards: list[ShardWorkspace], archive_errors: list[Outcome]
) -> None:
    """Save the HTTP cache state of this run's crawls, now that their pages are loaded, except for pages
    whose archive record cannot be read: those are forgotten (under the URL they were requested as, too),
    or the next crawl would trust a 304 or "not due" for content the warehouse never got. Their outlets'
    feeds and sitemaps are forgotten as well, so the next crawl reads them in full and the pages come back
    with the same feed context (dates, authors) as when first fetched, not as bare homepage links."""
    from pipeline.crawl.state import advance_http_cache, forget_http_cache, read_cache_updates

    unreadable = {outcome.url for outcome in archive_errors if outcome.url}
    lost = _manifest_records(shards, unreadable)
    withheld = (
        unreadable | {r["requested_url"] for r in lost} | _listing_urls(shards, {r["outlet"] for r in lost})
    )
    updates = {url: e for url, e in read_cache_updates(shards).items() if url not in withheld}
    advance_http_cache(connection, updates)
    forget_http_cache(connection, withheld)


def _manifest_records(shards: list[ShardWorkspace], urls: set[str]) -> list[dict]:
    from pipeline.crawl.archive import manifest_records

    if not urls:
        return []
    records = {url: r for shard in shards for url, r in manifest_records(shard.manifest).items()}
    return [records[url] for url in urls if url in records]


def _listing_urls(shards: list[ShardWorkspace], outlets: set[str]) -> set[str]:
    """The feeds and sitemaps of these outlets that the run's crawls read (from their fetch logs)."""
    from pipeline.crawl.state import read_fetch_log

    if not outlets:
        return set()
    return {
        event["url"]
        for shard in shards
        for event in read_fetch_log(shard.fetch_log)
        if event.get("kind") in ("feed", "sitemap") and event.get("outlet") in outlets
    }


def _pages_from(shards: list[ShardWorkspace], reader) -> Iterator:
    for shard in shards:
        yield from reader(shard.manifest)


def _load_quarantine(connection: Connection, current_run: int, quarantined) -> None:
    recorded_at = run_started_at(connection, current_run)  # the run's time: a re-run writes the same rows
    rows = [
        {"run_id": current_run, "stage": "extract", "url": item.url, "url_hash": url_hash(item.url),
         "error": item.error, "warc_record_id": item.warc_record_id, "recorded_at": recorded_at}
        for item in quarantined
    ]  # fmt: skip
    upsert_rows(connection, Quarantine, rows, ["run_id", "stage", "url_hash"], ["error", "warc_record_id"])


def _record_outcomes(connection: Connection, current_run: int, counts: Counter, scope: str = "") -> None:
    """Counts keyed "stage:outcome"; ``scope`` names the story of a per-story stage."""
    rows = []
    for key, count in sorted(counts.items()):
        stage, _, outcome = key.partition(":")
        rows.append({"run_id": current_run, "stage": stage, "scope": scope, "outcome": outcome,
                     "count": int(count)})  # fmt: skip
    upsert_rows(connection, RunOutcome, rows, ["run_id", "stage", "scope", "outcome"], ["count"])


def _record_story_outcomes(
    connection: Connection, current_run: int, stage: str, story_slug: str, counts: dict[str, int]
) -> None:
    _record_outcomes(
        connection, current_run, Counter({f"{stage}:{k}": v for k, v in counts.items()}), story_slug
    )


def health_stage(
    config_dir: str | Path, db_url: str, run_key: str, smtp_url: str | None = None
) -> dict[str, Any]:
    """Each outlet's measures against its own baseline: incidents opened and closed, with the
    operator's notices recorded in the same transaction, then every pending notice sent."""
    from pipeline.health.store import assess_run, pending_notice_count

    context = cycle_context(config_dir, db_url, run_key)
    settings = context.config.settings.alerts
    engine = context.engine()
    try:
        with engine.begin() as connection:
            current_run = run_id(connection, run_key)
            changes = assess_run(
                connection, current_run, str(settings.operator) if settings.operator else None
            )
            sent_at = run_started_at(connection, current_run)
        counts = Counter({"health:opened": len(changes.opened), "health:closed": len(changes.closed)})
        if pending_notice_count(engine):  # the transports (and their templates) load only when needed
            counts.update(_send_operator_notices(settings, engine, smtp_url, sent_at))
        with engine.begin() as connection:
            _record_outcomes(connection, current_run, counts)
        return {"opened": changes.opened, "closed": changes.closed, "counts": dict(counts)}
    finally:
        engine.dispose()


def _send_operator_notices(settings, engine: Engine, smtp_url: str | None, sent_at: datetime) -> Counter:
    """Every pending operator notice through the digests' transport; none configured: they wait."""
    from pipeline.alert.digests import AlertConfigError, SmtpTransport, transport_from_environment
    from pipeline.health.notice import send_pending_notices

    try:
        transport = (
            SmtpTransport(smtp_url, sender=str(settings.sender))
            if smtp_url
            else transport_from_environment(settings)
        )
    except AlertConfigError:
        return Counter({"health:notice-no-transport": 1})
    sent = send_pending_notices(engine, transport, sent_at)
    return Counter({f"health:notice-{kind}": count for kind, count in sent.items()})


def match_stage(config_dir: str | Path, db_url: str, run_key: str) -> dict[str, Any]:
    """Match the new or edited stories against every stored article in their windows (no fetch) and
    say which stories have new coverage or articles to frame: those get framing, alerts and a report."""
    from pipeline.match.store import backfill_stories, matched_story_summaries, stories_to_backfill

    context = cycle_context(config_dir, db_url, run_key)
    engine = context.engine()
    try:
        with engine.begin() as connection:
            current_run = run_id(connection, run_key)
            stale = stories_to_backfill(connection, context.config.stories)
            matched = backfill_stories(
                connection, stale, current_run, run_started_at(connection, current_run)
            )
            # A story configured on an empty warehouse, or matched in this run's process stage against
            # everything stored, has no backlog: only stories that read stored articles are backfilled.
            backfilled = {slug: summary for slug, summary in matched.items() if summary.articles}
            counts = Counter({"match:backfilled-stories": len(backfilled)})
            counts["match:backfilled-articles"] = sum(s.articles for s in backfilled.values())
            _record_outcomes(connection, current_run, counts)
            return {
                "backfilled": sorted(backfilled),
                "stories": matched_story_summaries(connection, current_run),
                "follow_up": _stories_to_follow_up(connection, context.config, current_run),
            }
    finally:
        engine.dispose()


def _stories_to_follow_up(connection: Connection, config: Config, current_run: int) -> list[str]:
    """Configured stories with new coverage in this run (loaded or backfilled), articles to frame, or
    coverage a subscriber was never told of."""
    from pipeline.framing.store import stories_needing_framing
    from pipeline.match.store import stories_with_new_coverage, stories_with_unannounced_coverage

    with_subscribers = {story.slug for story in config.stories if story.subscribers}
    wanted = set(stories_with_new_coverage(connection, current_run)) | set(
        stories_needing_framing(connection)
    )
    wanted |= set(stories_with_unannounced_coverage(connection)) & with_subscribers
    return sorted(wanted & {story.slug for story in config.stories})


def finish_run(
    config_dir: str | Path, db_url: str, run_key: str, finished_at: datetime | None = None
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
        # Every story's framing has read it by now: the warehouse holds the measures.
        cycle_context(config_dir, db_url, run_key).workspace.framing_measured_ahead.unlink(missing_ok=True)
        return {"run_id": current_run, "counts": counts}
    finally:
        engine.dispose()


def run_counts(connection: Connection, current_run: int) -> dict[str, dict[str, Any]]:
    """stage -> outcome -> count, summed over stories; per-story stages also under "stories"."""
    counts: dict[str, dict[str, Any]] = {}
    rows = connection.execute(
        select(RunOutcome.stage, RunOutcome.scope, RunOutcome.outcome, RunOutcome.count)
        .where(RunOutcome.run_id == current_run)
        .order_by(RunOutcome.stage, RunOutcome.scope, RunOutcome.outcome)
    )
    for stage, scope, outcome, count in rows:
        stage_counts = counts.setdefault(stage, {})
        stage_counts[outcome] = stage_counts.get(outcome, 0) + count
        if scope:
            story = counts.setdefault("stories", {}).setdefault(scope, {}).setdefault(stage, {})
            story[outcome] = count
    return counts


def framing_stage(config_dir: str | Path, db_url: str, story_slug: str, run_key: str) -> dict[str, Any]:
    """Measure framing for the story's relevant articles whose content changed (measures are per article
    version: an article another story holds is measured once), and the story's outlet terms."""
    from pipeline.framing.store import compute_story_framing
    from pipeline.speedup.ahead import results_ahead

    measured_ahead = cycle_context(config_dir, db_url, run_key).workspace.framing_measured_ahead
    engine = make_engine(db_url)
    try:
        with engine.begin() as connection:
            counts = compute_story_framing(
                connection, story_slug, results_ahead([measured_ahead], read_again=True)
            )
            _record_story_outcomes(connection, run_id(connection, run_key), "framing", story_slug, counts)
        return {"counts": counts}
    finally:
        engine.dispose()


def report_stage(config_dir: str | Path, db_url: str, story_slug: str, out_path: str | Path) -> str:
    """Write the story's self-contained HTML report; the same warehouse gives the same file."""
    from pipeline.analyst.queries import report_data
    from pipeline.analyst.report import render_report

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

    A digest that cannot be sent stays pending and goes out with the next cycle; see pipeline.alert.digests.
    """
    from pipeline.alert.digests import (
        BACKLOG_DIGEST,
        COVERAGE_DIGEST,
        AlertConfigError,
        alert_transport,
        queue_digests,
        send_pending_digests,
    )

    context = cycle_context(config_dir, db_url, run_key)
    story = context.config.story(story_slug)
    settings = context.config.settings.alerts
    engine = context.engine()
    try:
        with engine.begin() as connection:
            current_run = run_id(connection, run_key)
            kind = BACKLOG_DIGEST if _rematched_in(connection, story_slug, current_run) else COVERAGE_DIGEST
            queued = queue_digests(connection, story, run_started_at(connection, current_run), kind)
        try:
            transport = alert_transport(settings, smtp_url)
        except AlertConfigError as exc:
            counts = Counter({"alert:queued": len(queued), "alert:no-transport": len(queued)})
            _record_alert_counts(engine, current_run, counts, story_slug)
            return {"queued": len(queued), "error": str(exc), "counts": dict(counts)}
        report = send_pending_digests(
            engine, transport, story_slug=story_slug, report_url=settings.report_url
        )
        counts = Counter(
            {"alert:queued": len(queued), **{f"alert:{k}": v for k, v in report.as_counts().items()}}
        )
        _record_alert_counts(engine, current_run, counts, story_slug)
        return {
            "queued": len(queued),
            "counts": dict(counts),
            "locations": report.locations,
            "failed": report.failed,
        }
    finally:
        engine.dispose()


def _record_alert_counts(engine: Engine, current_run: int, counts: Counter, story_slug: str) -> None:
    with engine.begin() as connection:
        _record_outcomes(connection, current_run, counts, story_slug)


def _rematched_in(connection: Connection, story_slug: str, current_run: int) -> bool:
    """Whether the story's decisions were rebuilt from the stored articles in this run (a new or
    edited story): its digest then summarises that backlog."""
    from schemas.models import Story

    rematched = connection.execute(select(Story.rematched_run_id).where(Story.slug == story_slug)).scalar()
    return rematched == current_run


def send_pending_stage(
    config_dir: str | Path,
    db_url: str,
    run_key: str,
    attempted: Sequence[str] = (),
    smtp_url: str | None = None,
) -> dict[str, Any]:
    """Send the digests still pending of the configured stories whose alert stage did not run in this
    run (``attempted`` did, a moment ago): a delivery that failed in an earlier cycle goes out now even
    when its story has no new coverage. A removed story's pending digests stay unsent."""
    from pipeline.alert.digests import AlertConfigError, alert_transport, send_pending_digests

    config = load_config(config_dir)
    settings = config.settings.alerts
    stories = [story.slug for story in config.stories if story.slug not in set(attempted)]
    engine = make_engine(db_url)
    try:
        try:
            transport = alert_transport(settings, smtp_url)
        except AlertConfigError as exc:
            return {"error": str(exc)}
        report = _summed_counts(
            send_pending_digests(engine, transport, story_slug=slug, report_url=settings.report_url)
            for slug in stories
        )
        if any(report.values()):
            with engine.begin() as connection:
                counts = Counter({"alert:queued": 0, **{f"alert:{k}": v for k, v in report.items()}})
                _record_outcomes(connection, run_id(connection, run_key), counts, "(pending)")
        return report
    finally:
        engine.dispose()


def _summed_counts(reports) -> dict[str, int]:
    total: Counter = Counter({"sent": 0, "failed": 0, "skipped": 0})
    for report in reports:
        total.update(report.as_counts())
    return dict(total)
