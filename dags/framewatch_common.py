"""Shared by the framewatch DAG files: cheap parse-time helpers and task-time resolvers.

Parse-time helpers (``ingest_schedule_minutes``, ``config_dir``...) read only the environment and small YAML
files. Task-time resolvers (``warehouse_url``, ``smtp_url_in_environment``, ``current_run_key``) may
touch Airflow connections and the task context, so they are only ever called inside a running task.
This file is listed in ``.airflowignore``: it defines no DAG.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import yaml

DEFAULT_SCHEDULE_MINUTES = 30
WAREHOUSE_CONNECTION = "framewatch_warehouse"
SMTP_CONNECTION = "framewatch_smtp"


# --- Parse time: environment and YAML only ---------------------------------------------------------


def config_dir() -> str:
    """FRAMEWATCH_CONFIG_DIR, or the repository's ``config/`` next to this folder."""
    return os.environ.get("FRAMEWATCH_CONFIG_DIR") or str(Path(__file__).resolve().parent.parent / "config")


def ingest_schedule_minutes(directory: Path) -> int:
    """The ingestion runs as often as the most demanding story asks (``schedule_minutes``). A story
    file that cannot be read is skipped here: the tasks validate it and report it by file and field,
    and it must not stop the DAG of every other story from parsing."""
    minutes = []
    for path in sorted((directory / "stories").glob("*.yaml")):
        try:
            document = yaml.safe_load(path.read_text(encoding="utf-8"))
            minutes.append(int(document.get("schedule_minutes") or DEFAULT_SCHEDULE_MINUTES))
        except (OSError, yaml.YAMLError, AttributeError, TypeError, ValueError):
            continue
    return max(5, min(minutes, default=DEFAULT_SCHEDULE_MINUTES))


def report_path(slug: str) -> str:
    """Where a story's HTML report is written (FRAMEWATCH_REPORT_DIR, default data/reports)."""
    return str(Path(os.environ.get("FRAMEWATCH_REPORT_DIR", "data/reports")) / f"{slug}.html")


def crawl_shard_count() -> int:
    """How many parallel crawl tasks a cycle fans out to (more Celery workers can take more)."""
    return max(1, int(os.environ.get("FRAMEWATCH_CRAWL_SHARDS", "4")))


def default_task_args(notifier: Any) -> dict[str, Any]:
    return {
        "owner": "framewatch",
        "retries": int(os.environ.get("FRAMEWATCH_TASK_RETRIES", "3")),
        # The first retry's wait (then doubled): two minutes lets an outlet or the database recover; the
        # Celery deployment test shortens it to see a retry within the run (FRAMEWATCH_RETRY_DELAY_SECONDS).
        "retry_delay": timedelta(seconds=int(os.environ.get("FRAMEWATCH_RETRY_DELAY_SECONDS", "120"))),
        "retry_exponential_backoff": True,
        "max_retry_delay": timedelta(minutes=30),
        "execution_timeout": timedelta(minutes=30),
        # email_on_failure is deprecated in Airflow 3: a notifier tells the operator instead; and a run
        # whose task failed for good is marked failed in the warehouse, never left "running".
        "on_failure_callback": [notifier, mark_run_failed_on_failure],
    }


# --- Task time: context and connections -------------------------------------------------------------


def current_run_key() -> str:
    """``<dag_id>:<data interval end>``: the partition this run reads and writes, stable across retries."""
    from airflow.sdk import get_current_context

    return run_key_of(get_current_context())


def run_key_of(context: Any) -> str:
    moment = context.get("data_interval_end") or context.get("logical_date")
    suffix = moment.isoformat() if moment is not None else context["run_id"]
    return f"{context['dag'].dag_id}:{suffix}"


def mark_run_failed_on_failure(context: Any) -> None:
    """on_failure_callback: the warehouse's run for this data interval ends as ``failed`` (with the
    error) when one of its tasks fails after its retries; a cleared run's ``start`` sets it running."""
    from pipeline.run.status import mark_run_failed

    error = context.get("exception") or RuntimeError(f"task {context['task_instance'].task_id} failed")
    try:
        mark_run_failed(warehouse_url(), run_key_of(context), error)
    except Exception as exc:  # noqa: BLE001 - a callback must not hide the task's own failure
        print(f"could not mark the framewatch run failed: {type(exc).__name__}: {exc}")


def current_logical_time() -> datetime | None:
    """The end of the run's data interval (else its logical date): the time every stage works at, so
    a cleared or re-run interval redoes the same work (re-check decisions, timestamps)."""
    from airflow.sdk import get_current_context

    context = get_current_context()
    return context.get("data_interval_end") or context.get("logical_date")


def allow_child_processes() -> None:
    """Let the task start process pools (the process stage's workers, early processing of a crawl).

    On Celery's prefork pool the worker process running a task is daemonic, and the task process
    Airflow's supervisor forks from it inherits the flag; the standard library then refuses every
    ``multiprocessing`` child: the process stage failed with "daemonic processes are not allowed to
    have children" and a crawl's early processing stopped (issue 22, found by running the DAG on two
    Celery workers). The flag only guards against orphans when a daemonic parent exits, and here the
    supervisor already ends the task's whole process group (it makes the task process a group leader
    and ``killpg``s it on timeout or failure), pool workers included. Celery's own advice for tasks
    that fork is the same reset of the flag.
    """
    import multiprocessing

    multiprocessing.current_process()._config["daemon"] = False  # type: ignore[attr-defined]


def warehouse_url() -> str:
    """FRAMEWATCH_DATABASE_URL, else the Airflow connection ``framewatch_warehouse``."""
    url = os.environ.get("FRAMEWATCH_DATABASE_URL", "").strip()
    if url:
        return url
    from airflow.sdk import Connection

    return Connection.get(WAREHOUSE_CONNECTION).get_uri()


def smtp_url_from_connection(connection: Any) -> str:
    """The SMTP URL the pipeline understands, with the smtp provider's SSL/TLS conventions."""
    extra = connection.extra_dejson or {}
    use_ssl = not _truthy(extra.get("disable_ssl", False))
    use_starttls = not use_ssl and not _truthy(extra.get("disable_tls", False))
    credentials = ""
    if connection.login:
        credentials = quote(connection.login, safe="") + ":" + quote(connection.password or "", safe="") + "@"
    port = f":{connection.port}" if connection.port else ""
    query = "?starttls=true" if use_starttls else ""
    return f"{'smtps' if use_ssl else 'smtp'}://{credentials}{connection.host}{port}{query}"


@contextmanager
def smtp_url_in_environment() -> Iterator[None]:
    """Expose the ``framewatch_smtp`` connection as FRAMEWATCH_SMTP_URL while the alert task runs."""
    if os.environ.get("FRAMEWATCH_SMTP_URL") or not _connection_exists(SMTP_CONNECTION):
        yield
        return
    from airflow.sdk import Connection

    os.environ["FRAMEWATCH_SMTP_URL"] = smtp_url_from_connection(Connection.get(SMTP_CONNECTION))
    try:
        yield
    finally:
        os.environ.pop("FRAMEWATCH_SMTP_URL", None)


def _connection_exists(conn_id: str) -> bool:
    from airflow.sdk import Connection
    from airflow.sdk.exceptions import AirflowNotFoundException

    try:
        Connection.get(conn_id)
    except AirflowNotFoundException:
        return False
    return True


def _truthy(value: Any) -> bool:
    return str(value).strip().lower() in ("1", "true", "yes", "on")
