"""One Airflow DAG per story in ``config/stories/*.yaml``: crawl → process → framing → alert.

Orchestration only: every task is a call into ``pipeline.cycle``. Parsing stays cheap (Airflow's best
practices): at module level this file lists the story files and reads each one's slug and schedule
with ``yaml.safe_load``; it touches no database, connection or Variable and imports no pipeline module.
Those are resolved inside the tasks.

Every task of a run works on the run's partition, named by ``run_key`` = ``<dag_id>:<data interval
end>``, and is idempotent (the pipeline upserts by natural keys and queues alerts exactly once), so a
retry or a cleared run redoes the same work without duplicating rows or emails.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from airflow.providers.smtp.notifications.smtp import SmtpNotifier
from airflow.sdk import DAG, Asset, task
from framewatch_common import (
    DEFAULT_SCHEDULE_MINUTES,
    config_dir,
    coverage_asset,
    crawl_shard_count,
    default_task_args,
    story_headers,
)

STORY_TAGS = ["framewatch", "story"]


def build_story_dag(slug: str, schedule_minutes: int, notifier: SmtpNotifier) -> DAG:
    with DAG(
        dag_id=f"framewatch_story_{slug.replace('-', '_')}",
        description=f"framewatch cycle for the story {slug!r}: crawl, process, framing, alerts",
        schedule=timedelta(minutes=schedule_minutes),
        start_date=datetime(2025, 11, 1, tzinfo=UTC),
        catchup=False,
        max_active_runs=1,
        dagrun_timeout=timedelta(hours=3),
        default_args=default_task_args(notifier),
        tags=[*STORY_TAGS, slug],
        doc_md=__doc__,
    ) as story_dag:
        _story_tasks(slug, coverage_asset(slug))
    return story_dag


def _story_tasks(slug: str, coverage: Asset) -> None:
    @task(execution_timeout=timedelta(minutes=10))
    def start() -> str:
        from framewatch_common import current_run_key, warehouse_url

        from pipeline import cycle

        run_key = current_run_key()
        cycle.start_run(config_dir(), warehouse_url(), slug, run_key)
        return run_key

    @task(execution_timeout=timedelta(minutes=5))
    def shards() -> list[list[str]]:
        from pipeline import cycle

        return cycle.outlet_shards(config_dir(), crawl_shard_count())

    # Each mapped crawl is its own task instance (its own worker process on Celery); the pipeline
    # additionally runs the Scrapy crawl in a child process, so shards never share a Twisted reactor.
    @task(execution_timeout=timedelta(minutes=45), map_index_template="{{ shard_label }}")
    def crawl(run_key: str, outlet_names: list[str]) -> dict[str, Any]:
        from airflow.sdk import get_current_context
        from framewatch_common import warehouse_url

        from pipeline import cycle

        # Names the mapped task in the UI ("Continental Wire +5") instead of a bare index.
        get_current_context()["shard_label"] = f"{outlet_names[0]} +{len(outlet_names) - 1}"
        return cycle.crawl_stage(config_dir(), warehouse_url(), slug, run_key, outlet_names)

    @task(execution_timeout=timedelta(minutes=30))
    def process(run_key: str) -> dict[str, Any]:
        from framewatch_common import warehouse_url

        from pipeline import cycle

        return cycle.process_stage(config_dir(), warehouse_url(), slug, run_key)

    @task(execution_timeout=timedelta(minutes=30))
    def framing(run_key: str) -> dict[str, Any]:
        from framewatch_common import warehouse_url

        from pipeline import cycle

        return cycle.framing_stage(config_dir(), warehouse_url(), slug, run_key)

    @task(execution_timeout=timedelta(minutes=15))
    def alert(run_key: str) -> dict[str, Any]:
        from framewatch_common import smtp_url_in_environment, warehouse_url

        from pipeline import cycle

        with smtp_url_in_environment():
            return cycle.alert_stage(config_dir(), warehouse_url(), slug, run_key)

    @task(outlets=[coverage], execution_timeout=timedelta(minutes=5))
    def mark_new_coverage(processed: dict[str, Any]) -> dict[str, Any]:
        """Emit the coverage Asset event only when this run loaded articles (skipping emits none)."""
        from airflow.sdk.exceptions import AirflowSkipException

        if not processed.get("articles"):
            raise AirflowSkipException("no new coverage in this run")
        return {"articles": processed["articles"]}

    @task(execution_timeout=timedelta(minutes=10))
    def finish(run_key: str) -> dict[str, Any]:
        from framewatch_common import warehouse_url

        from pipeline import cycle

        return cycle.finish_run(config_dir(), warehouse_url(), slug, run_key)

    run_key = start()
    crawled = crawl.partial(run_key=run_key).expand(outlet_names=shards())
    processed = process(run_key)
    crawled >> processed
    framed = framing(run_key)
    processed >> framed
    alerted = alert(run_key)
    framed >> alerted
    alerted >> mark_new_coverage(processed)
    alerted >> finish(run_key)


def _build_all() -> dict[str, DAG]:
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
    built = {}
    for slug, schedule_minutes in story_headers(Path(config_dir())):
        story_dag = build_story_dag(slug, schedule_minutes or DEFAULT_SCHEDULE_MINUTES, notifier)
        built[story_dag.dag_id] = story_dag
    return built


# Airflow collects the DAG objects it finds at module level.
globals().update(_build_all())
