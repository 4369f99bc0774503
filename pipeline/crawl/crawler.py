"""Run one crawl of the configured outlets (for every story at once) and collect what it produced.

Scrapy's Twisted reactor cannot be restarted inside a process, so the crawl runs in a subprocess
(``python -m spiders.run``); the CLI, the Airflow tasks and the tests all call ``run_crawl``. The
subprocess never touches the warehouse: it gets the ``http_cache`` state as a JSON file and leaves its
updates, fetch log, manifest and WARC in ``workdir`` (the files of ``pipeline.crawl.workspace``).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from pipeline.config import PROJECT_ROOT, load_config
from pipeline.crawl.workspace import ShardWorkspace, shard_key
from pipeline.run.termination import tracked


class CrawlError(RuntimeError):
    """The crawl process failed; the message carries the end of its log."""


@dataclass(frozen=True)
class CrawlResult:
    """What one crawl process reported; its files are in ``workspace`` (``pipeline.crawl.workspace``)."""

    workspace: ShardWorkspace
    discovered_outlets: list[dict] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)  # outcome kind -> how many
    outlets: tuple[str, ...] = ()  # the outlets this crawl was asked for; empty: all configured ones
    asked_query_api: bool = False  # this crawl ran query discovery (and fetched the discovered outlets)

    @property
    def run_key(self) -> str:
        return self.workspace.run_key

    @property
    def shard(self) -> str:
        return shard_key(self.outlets)


def run_crawl(
    config_dir: Path,
    workdir: Path,
    run_key: str,
    http_cache: dict,
    outlets: list[str] | None = None,
    now: datetime | None = None,
    timeout_seconds: float | None = None,
    while_crawling: Callable[[], None] | None = None,
) -> CrawlResult:
    """Crawl the outlets of the config in ``config_dir`` for all its stories; outputs go to ``workdir``.

    ``http_cache`` maps URL to its ``http_cache`` row (see ``pipeline.crawl.state``); ``now`` pins the
    time used for re-check decisions (tests and replays), defaulting to the clock. ``while_crawling``
    is called every ``POLL_SECONDS`` while the crawl subprocess runs (``pipeline.speedup.early_extraction`` uses it).
    """
    workspace = ShardWorkspace(Path(workdir), run_key)
    workspace.directory.mkdir(parents=True, exist_ok=True)
    workspace.http_cache_in.write_text(json.dumps(http_cache, default=str), encoding="utf-8")
    command = _command(Path(config_dir), workspace, outlets or [], now)
    with workspace.crawl_log.open("w", encoding="utf-8") as log:
        crawler = subprocess.Popen(
            command, cwd=PROJECT_ROOT, env=_environment(), stdout=log, stderr=subprocess.STDOUT
        )
        with tracked(crawler):  # SIGTERM to the run stops it too (pipeline.run.termination)
            returncode = _wait(crawler, timeout_seconds, while_crawling or (lambda: None))
    if returncode != 0:
        raise CrawlError(f"crawl {run_key} exited with {returncode}:\n{_tail(workspace.crawl_log)}")
    config = load_config(config_dir)
    scope = {
        "outlets": tuple(outlets or ()),
        "asked_query_api": config.asks_query_api(outlets or ()),
    }
    return _collect(workspace, scope)


POLL_SECONDS = 0.1


def _wait(
    crawler: subprocess.Popen, timeout_seconds: float | None, while_crawling: Callable[[], None]
) -> int:
    """The crawl's exit code, calling ``while_crawling`` as it runs; past the timeout it is killed and
    ``subprocess.TimeoutExpired`` raised, as ``subprocess.run(timeout=...)`` would."""
    deadline = None if timeout_seconds is None else time.monotonic() + timeout_seconds
    try:
        while True:
            try:
                return crawler.wait(timeout=POLL_SECONDS)
            except subprocess.TimeoutExpired:
                if deadline is not None and time.monotonic() >= deadline:
                    raise subprocess.TimeoutExpired(crawler.args, timeout_seconds) from None
            while_crawling()
    finally:
        if crawler.poll() is None:
            crawler.kill()
            crawler.wait()


def _command(
    config_dir: Path, workspace: ShardWorkspace, outlets: list[str], now: datetime | None
) -> list[str]:
    command = [
        sys.executable,
        "-m",
        "spiders.run",
        "--config",
        str(config_dir.resolve()),
        "--workdir",
        str(workspace.directory.resolve()),
        "--run-key",
        workspace.run_key,
        "--http-cache",
        str(workspace.http_cache_in.resolve()),
    ]
    command += [arg for name in outlets for arg in ("--outlet", name)]
    return command + (["--now", now.isoformat()] if now else [])


def _environment() -> dict[str, str]:
    environment = dict(os.environ)
    environment["PYTHONPATH"] = os.pathsep.join(
        filter(None, [str(PROJECT_ROOT), environment.get("PYTHONPATH")])
    )
    return environment


def _tail(path: Path, lines: int = 40) -> str:
    return "\n".join(path.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])


def _read_json(path: Path, default):
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else default


def _collect(workspace: ShardWorkspace, scope: dict) -> CrawlResult:
    counts = _read_json(workspace.counts, None)
    if counts is None:
        raise CrawlError(
            f"crawl {workspace.run_key} wrote no counts (did the spider start?):\n{_tail(workspace.crawl_log)}"
        )
    return CrawlResult(
        workspace=workspace,
        discovered_outlets=_read_json(workspace.discovered_outlets, []),
        counts=counts,
        **scope,
    )
