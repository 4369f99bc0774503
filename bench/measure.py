"""Running one benchmark part in a child process and reading its wall time and peak memory.

Each part (a framewatch cycle, the Scrapy ceiling, the peer) runs as its own process so its peak
memory is its own: ``os.wait4`` returns that child's resource usage, and on Linux its ``ru_maxrss`` is
the largest resident set of the child and of every process it waited for (the crawl subprocess of
``run_crawl``, news-please's extraction pool).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent


class PartFailed(RuntimeError):
    """A benchmark part exited non-zero; the message carries the end of its output."""


@dataclass(frozen=True)
class PartResult:
    name: str
    wall_seconds: float
    peak_rss_mb: float  # the part's process tree, largest single resident set
    report: dict = field(default_factory=dict)  # the JSON object the part printed last


def run_part(name: str, command: list[str], log_dir: Path) -> PartResult:
    """Run ``command`` (its last stdout line is a JSON report); stderr goes to ``log_dir/<name>.log``."""
    log_dir.mkdir(parents=True, exist_ok=True)
    log_path = log_dir / f"{name}.log"
    with log_path.open("w", encoding="utf-8") as log:
        started = time.perf_counter()
        process = subprocess.Popen(
            command, cwd=REPO_ROOT, env=_environment(), stdout=subprocess.PIPE, stderr=log
        )
        output = process.stdout.read().decode("utf-8", "replace")
        _, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise PartFailed(f"{name} exited with {process.returncode}; see {log_path}:\n{_tail(log_path)}")
    result = PartResult(name, wall, usage.ru_maxrss / 1024, _last_json(output))
    print(
        f"{name}: {wall:.1f} s, peak {result.peak_rss_mb:.0f} MB: {result.report}",
        file=sys.stderr,
        flush=True,
    )
    return result


def python_module(module: str, *arguments: str) -> list[str]:
    """The project's interpreter running ``module`` (the bench parts live in ``bench``)."""
    return [sys.executable, "-m", module, *arguments]


def _environment() -> dict[str, str]:
    environment = dict(os.environ)
    environment["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), environment.get("PYTHONPATH")]))
    return environment


def _last_json(output: str) -> dict:
    lines = [line for line in output.splitlines() if line.startswith("{")]
    return json.loads(lines[-1]) if lines else {}


def _tail(path: Path, lines: int = 30) -> str:
    return "\n".join(path.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])


def print_report(report: dict) -> None:
    """A part's last stdout line: its JSON report for ``run_part``."""
    print(json.dumps(report), flush=True)
