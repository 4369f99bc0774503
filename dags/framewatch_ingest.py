"""The framewatch DAG: one ingestion cycle over the outlets for every story, then each story's follow-up.

    start → crawl (mapped over outlet shards) → process → match          (process → health → finish)
          → framing, alert, report (each mapped over the stories with new coverage) → send_pending → finish

The outlets are crawled once per run whatever the number of stories; the process stage loads every
article once and matches each new or changed one against every story in the same pass; the match
stage backfills new or edited stories from the stored articles. Only the stories with new coverage
(or articles still to frame) get the per-story tasks, as mapped task instances named by the story.

Orchestration only: every task is a call into ``pipeline.run.cycle``. Parsing stays cheap (Airflow's best
practices): at module level this file reads the story files' schedules with ``yaml.safe_load``; it
touches no database, connection or Variable and imports no pipeline module.

Every task of a run works on the run's partition, named by ``run_key`` = ``framewatch_ingest:<data
interval end>``, and takes its time from the data interval, never the wall clock: a retried task or a
cleared run redoes the same work without duplicating rows or emails.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from airflow.providers.smtp.notifications.smtp import SmtpNotifier
from airflow.sdk import DAG, task
from framewatch_common import (
    config_dir,
    crawl_shard_count,
    default_task_args,
    ingest_schedule_minutes,
    report_path,
)

INGEST_DAG_ID = "framewatch_ingest"


def build_ingest_dag(schedule_minutes: int, notifier: SmtpNotifier) -> DAG:
    with DAG(
        dag_id=INGEST_DAG_ID,
        description="framewatch cycle: crawl the outlets once, match every story, then per-story framing, alerts and reports",
        schedule=timedelta(minutes=schedule_minutes),
        start_date=datetime(2025, 11, 1, tzinfo=UTC),
        catchup=False,
        max_active_runs=1,
        dagrun_timeout=timedelta(hours=3),
        default_args=default_task_args(notifier),
        tags=["framewatch", "ingest"],
        doc_md=__doc__,
    ) as ingest_dag:
        _ingest_tasks()
    return ingest_dag


def _ingest_tasks() -> None:  # noqa: C901 - one nested function per task is the TaskFlow idiom
    @task(execution_timeout=timedelta(minutes=10))
    def start() -> str:
        from framewatch_common import current_logical_time, current_run_key, warehouse_url

        from pipeline.run import cycle

        run_key = current_run_key()
        cycle.start_run(config_dir(), warehouse_url(), run_key, started_at=current_logical_time())
        return run_key

    @task(execution_timeout=timedelta(minutes=5))
    def shards() -> list[list[str]]:
        from pipeline.run import cycle

        return cycle.outlet_shards(config_dir(), crawl_shard_count())

    # Each mapped crawl is its own task instance (its own worker process on Celery); the pipeline
    # additionally runs the Scrapy crawl in a child process, so shards never share a Twisted reactor.
    @task(execution_timeout=timedelta(minutes=45), map_index_template="{{ shard_label }}")
    def crawl(run_key: str, outlet_names: list[str]) -> dict[str, Any]:
        from airflow.sdk import get_current_context
        from framewatch_common import allow_child_processes, current_logical_time, warehouse_url

        from pipeline.run import cycle

        allow_child_processes()  # early processing runs in a process pool beside the crawl
        # Names the mapped task in the UI ("Continental Wire +5") instead of a bare index.
        get_current_context()["shard_label"] = f"{outlet_names[0]} +{len(outlet_names) - 1}"
        return cycle.crawl_stage(
            config_dir(), warehouse_url(), run_key, outlet_names, as_of=current_logical_time()
        )

    @task(execution_timeout=timedelta(minutes=30))
    def process(run_key: str) -> dict[str, Any]:
        from framewatch_common import allow_child_processes, warehouse_url

        from pipeline.run import cycle

        allow_child_processes()  # pages are processed in a process pool
        return cycle.process_stage(config_dir(), warehouse_url(), run_key)

    @task(execution_timeout=timedelta(minutes=15))
    def health(run_key: str) -> dict[str, Any]:
        """Outlet health: drift against each outlet's baseline, incidents and the operator's emails."""
        from framewatch_common import smtp_url_in_environment, warehouse_url

        from pipeline.run import cycle

        with smtp_url_in_environment():
            return cycle.health_stage(config_dir(), warehouse_url(), run_key)

    @task(execution_timeout=timedelta(minutes=30))
    def match(run_key: str) -> list[str]:
        """The stories to follow up: new coverage, a backfill, or articles still to frame."""
        from framewatch_common import allow_child_processes, warehouse_url

        from pipeline.run import cycle

        allow_child_processes()  # a backfill matches the stored articles in a process pool
        return cycle.match_stage(config_dir(), warehouse_url(), run_key)["follow_up"]

    @task(execution_timeout=timedelta(minutes=30), map_index_template="{{ story_slug }}")
    def framing(run_key: str, story_slug: str) -> dict[str, Any]:
        from framewatch_common import allow_child_processes, warehouse_url

        from pipeline.run import cycle

        allow_child_processes()  # measures are computed in a process pool
        return cycle.framing_stage(config_dir(), warehouse_url(), story_slug, run_key)

    @task(execution_timeout=timedelta(minutes=15), map_index_template="{{ story_slug }}")
    def alert(run_key: str, story_slug: str) -> dict[str, Any]:
        from framewatch_common import smtp_url_in_environment, warehouse_url

        from pipeline.run import cycle

        with smtp_url_in_environment():
            return cycle.alert_stage(config_dir(), warehouse_url(), story_slug, run_key)

    @task(execution_timeout=timedelta(minutes=20), map_index_template="{{ story_slug }}")
    def report(story_slug: str) -> str:
        from framewatch_common import warehouse_url

        from pipeline.run import cycle

        return cycle.report_stage(config_dir(), warehouse_url(), story_slug, report_path(story_slug))

    # A failed delivery of an earlier run goes out even when no story has new coverage (no follow-up).
    @task(execution_timeout=timedelta(minutes=15), trigger_rule="none_failed")
    def send_pending(run_key: str, followed_up: list[str]) -> dict[str, Any]:
        from framewatch_common import smtp_url_in_environment, warehouse_url

        from pipeline.run import cycle

        with smtp_url_in_environment():
            return cycle.send_pending_stage(config_dir(), warehouse_url(), run_key, attempted=followed_up)

    @task(execution_timeout=timedelta(minutes=10), trigger_rule="none_failed")
    def finish(run_key: str) -> dict[str, Any]:
        from framewatch_common import current_logical_time, warehouse_url

        from pipeline.run import cycle

        # The run closes at the end of its data interval: a re-run stamps the same time.
        return cycle.finish_run(config_dir(), warehouse_url(), run_key, finished_at=current_logical_time())

    run_key = start()
    crawled = crawl.partial(run_key=run_key).expand(outlet_names=shards())
    processed = process(run_key)
    crawled >> processed
    stories = match(run_key)
    processed >> stories
    framed = framing.partial(run_key=run_key).expand(story_slug=stories)
    alerted = alert.partial(run_key=run_key).expand(story_slug=stories)
    reported = report.expand(story_slug=stories)
    framed >> alerted >> reported
    pending = send_pending(run_key, stories)
    finished = finish(run_key)
    reported >> pending >> finished
    processed >> health(run_key) >> finished


def _build() -> DAG:
    notifier = SmtpNotifier(
        to=os.environ.get("FRAMEWATCH_OPERATOR_EMAIL", "ops@framewatch.example"),
        from_email=os.environ.get("FRAMEWATCH_ALERT_SENDER", "framewatch@framewatch.example"),
        smtp_conn_id="framewatch_smtp",
        subject="[framewatch] task failed: {{ ti.dag_id }}.{{ ti.task_id }} ({{ ti.run_id }})",
        html_content=(
            "<p>Task <b>{{ ti.task_id }}</b> of <b>{{ ti.dag_id }}</b> failed after its retries.</p>"
            "<p>Run {{ ti.run_id }}, try {{ ti.try_number }}. Log: {{ ti.log_url }}</p>"
        ),
    )
    return build_ingest_dag(ingest_schedule_minutes(Path(config_dir())), notifier)


# Airflow collects the DAG objects it finds at module level.
framewatch_ingest = _build()
