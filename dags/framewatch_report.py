"""Rebuild a story's HTML report whenever its cycle marks new coverage (scheduled on an Asset).

Orchestration only; the report is written by ``pipeline.cycle.report_stage``. Parse time reads the
story files' slugs and nothing else.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from airflow.providers.smtp.notifications.smtp import SmtpNotifier
from airflow.sdk import DAG, task
from framewatch_common import config_dir, coverage_asset, default_task_args, story_headers


def report_path(slug: str) -> str:
    return str(Path(os.environ.get("FRAMEWATCH_REPORT_DIR", "data/reports")) / f"{slug}.html")


def build_report_dag(slug: str, notifier: Any) -> DAG:
    with DAG(
        dag_id=f"framewatch_report_{slug.replace('-', '_')}",
        description=f"rebuild the HTML report of {slug!r} when new coverage lands",
        schedule=[coverage_asset(slug)],
        start_date=datetime(2025, 11, 1, tzinfo=UTC),
        catchup=False,
        max_active_runs=1,
        default_args=default_task_args(notifier),
        tags=["framewatch", "report", slug],
        doc_md=__doc__,
    ) as report_dag:

        @task(execution_timeout=timedelta(minutes=20))
        def rebuild_report() -> str:
            from framewatch_common import warehouse_url

            from pipeline import cycle

            return cycle.report_stage(config_dir(), warehouse_url(), slug, report_path(slug))

        rebuild_report()
    return report_dag


def _build_all() -> dict[str, DAG]:
    notifier = SmtpNotifier(
        to=os.environ.get("FRAMEWATCH_OPERATOR_EMAIL", "ops@framewatch.example"),
        from_email=os.environ.get("FRAMEWATCH_ALERT_SENDER", "framewatch@framewatch.example"),
        smtp_conn_id="framewatch_smtp",
        subject="[framewatch] task failed: {{ ti.dag_id }}.{{ ti.task_id }} ({{ ti.run_id }})",
    )
    built = {}
    for slug, _schedule in story_headers(Path(config_dir())):
        report_dag = build_report_dag(slug, notifier)
        built[report_dag.dag_id] = report_dag
    return built


globals().update(_build_all())
