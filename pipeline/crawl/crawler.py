"""Run one crawl of the configured outlets (for every story at once) and collect what it produced.

Scrapy's Twisted reactor cannot be restarted inside a process, so the crawl runs in a subprocess
(``python -m spiders.run``); the CLI, the Airflow tasks and the tests all call ``run_crawl``. The
subprocess never touches the warehouse: it gets the ``http_cache`` state as a JSON file and leaves its
updates, fetch log, manifest and WARC in ``workdir``.
"""

from __future__ import annotations

import hashlib
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
from pipeline.crawl.archive import MANIFEST_NAME
from pipeline.run.termination import tracked

CACHE_UPDATES_FILE = "http_cache_updates.json"  # written by the crawl process (spiders.pipelines)


class CrawlError(RuntimeError):
    """The crawl process failed; the message carries the end of its log."""


@dataclass(frozen=True)
class CrawlResult:
    run_key: str
    workdir: Path
    warc_paths: tuple[Path, ...]
    manifest_path: Path
    fetch_log_path: Path
    log_path: Path
    http_cache_updates: dict[str, dict] = field(default_factory=dict)  # url -> http_cache row (JSON values)
    discovered_outlets: list[dict] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)  # outcome kind -> how many
    outlets: tuple[str, ...] = ()  # the outlets this crawl was asked for; empty: all configured ones
    asked_query_api: bool = False  # this crawl ran query discovery (and fetched the discovered outlets)

    @property
    def cache_updates_path(self) -> Path:
        return self.workdir / CACHE_UPDATES_FILE

    @property
    def shard_key(self) -> str:
        """Names this crawl's share of a run (several crawl processes may serve one run)."""
        if not self.outlets:
            return "all"
        return "shard-" + hashlib.sha256("\n".join(sorted(self.outlets)).encode()).hexdigest()[:10]


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
    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    cache_path = workdir / "http_cache_in.json"
    cache_path.write_text(json.dumps(http_cache, default=str), encoding="utf-8")
    log_path = workdir / "crawl.log"
    command = _command(Path(config_dir), workdir, run_key, cache_path, outlets or [], now)
    with log_path.open("w", encoding="utf-8") as log:
        crawler = subprocess.Popen(
            command, cwd=PROJECT_ROOT, env=_environment(), stdout=log, stderr=subprocess.STDOUT
        )
        with tracked(crawler):  # SIGTERM to the run stops it too (pipeline.run.termination)
            returncode = _wait(crawler, timeout_seconds, while_crawling or (lambda: None))
    if returncode != 0:
        raise CrawlError(f"crawl {run_key} exited with {returncode}:\n{_tail(log_path)}")
    config = load_config(config_dir)
    scope = {
        "outlets": tuple(outlets or ()),
        "asked_query_api": config.asks_query_api(outlets or ()),
    }
    return _collect(workdir, run_key, log_path, scope)


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
    config_dir: Path,
    workdir: Path,
    run_key: str,
    cache_path: Path,
    outlets: list[str],
    now: datetime | None,
) -> list[str]:
    command = [
        sys.executable,
        "-m",
        "spiders.run",
        "--config",
        str(config_dir.resolve()),
        "--workdir",
        str(workdir.resolve()),
        "--run-key",
        run_key,
        "--http-cache",
        str(cache_path.resolve()),
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


def _collect(workdir: Path, run_key: str, log_path: Path, scope: dict) -> CrawlResult:
    counts = _read_json(workdir / "counts.json", None)
    if counts is None:
        raise CrawlError(f"crawl {run_key} wrote no counts (did the spider start?):\n{_tail(log_path)}")
    warc = workdir / f"{run_key}.warc.gz"
    return CrawlResult(
        run_key=run_key,
        workdir=workdir,
        warc_paths=(warc,) if warc.exists() else (),
        manifest_path=workdir / MANIFEST_NAME,
        fetch_log_path=workdir / "fetch_log.jsonl",
        log_path=log_path,
        http_cache_updates=_read_json(workdir / CACHE_UPDATES_FILE, {}),
        discovered_outlets=_read_json(workdir / "discovered_outlets.json", []),
        counts=counts,
        **scope,
    )
