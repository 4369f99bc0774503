"""Where a bench cycle's CPU goes, without a profiler (``make bench-cpu``).

A sampling profiler counts a runnable process as busy even while the scheduler keeps it off the CPU,
so on two oversubscribed cores py-spy over-weights the niced early workers. This measures CPU time as
the kernel accounts it instead:

- one ``bench.framewatch_cycle`` run on a replay world of ``--scale`` generated articles, its process
  tree read from ``/proc`` every ``POLL_SECONDS`` and each process's user+system time kept by kind
  (stage process, Scrapy crawl process, worker processes); the exact total is ``wait4``'s figure for
  the whole tree;
- the replay server's CPU (it runs in this process, on threads; the watching thread's own CPU is
  taken off);
- the cycle's wall time and the cores it kept busy on average.

Usage: .venv/bin/python bench/cycle_cpu.py [--scale 5000] [--db URL]
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.replay import write_bench_config  # noqa: E402
from demo.world import ReplayWorld  # noqa: E402

POLL_SECONDS = 0.1
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def process_table() -> dict[int, tuple[int, float]]:
    """pid -> (parent pid, user+system CPU seconds) of every process readable now."""
    table: dict[int, tuple[int, float]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", encoding="utf-8", errors="replace") as stat_file:
                stat = stat_file.read()
        except OSError:  # it exited while we looked
            continue
        # the command name in parentheses may hold spaces: fields are counted after its closing one
        fields = stat[stat.rindex(")") + 2 :].split()
        table[int(entry.name)] = (int(fields[1]), (int(fields[11]) + int(fields[12])) / CLOCK_TICKS)
    return table


def descendants(table: dict[int, tuple[int, float]], root: int) -> set[int]:
    """``root`` and every process below it in ``table``."""
    children: dict[int, list[int]] = {}
    for pid, (parent, _) in table.items():
        children.setdefault(parent, []).append(pid)
    found, frontier = set(), [root]
    while frontier:
        pid = frontier.pop()
        if pid in table and pid not in found:
            found.add(pid)
            frontier.extend(children.get(pid, ()))
    return found


def command_line(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode("utf-8", "replace")
    except OSError:
        return ""


def process_kind(pid: int, root: int, command: str) -> str:
    if pid == root:
        return "stage process (loading, syndication, imports)"
    if "spiders.run" in command:
        return "Scrapy crawl process"
    return "worker processes (extraction, relevance, framing)"


class TreeWatcher:
    """Keeps the last CPU reading of every process under ``root`` until ``stop``."""

    def __init__(self, root: int):
        self.root = root
        self.last: dict[int, tuple[str, float]] = {}
        self.own_seconds = 0.0
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._watch, daemon=True)
        self.thread.start()

    def _watch(self) -> None:
        while not self.stopped.wait(POLL_SECONDS):
            table = process_table()
            for pid in descendants(table, self.root):
                kind = (
                    self.last[pid][0] if pid in self.last else process_kind(pid, self.root, command_line(pid))
                )
                self.last[pid] = (kind, table[pid][1])
        self.own_seconds = time.thread_time()  # the watching itself, taken off the server's figure

    def stop(self) -> Counter:
        self.stopped.set()
        self.thread.join()
        by_kind: Counter = Counter()
        for kind, seconds in self.last.values():
            by_kind[kind] += seconds
        return by_kind


def measure(scale: int, db_url: str | None) -> str:
    workdir = Path(tempfile.mkdtemp(prefix="framewatch-cpu-"))
    db_url = db_url or f"sqlite:///{workdir / 'warehouse.sqlite'}"
    with ReplayWorld(base_port=None, scale=scale) as world:
        config_dir = write_bench_config(world, workdir / "config")
        command = [sys.executable, "-m", "bench.framewatch_cycle", "--config", str(config_dir),
                   "--db", db_url, "--run-key", "cpu"]  # fmt: skip
        own_before = resource.getrusage(resource.RUSAGE_SELF)
        started = time.perf_counter()
        cycle = subprocess.Popen(command, cwd=Path(__file__).resolve().parents[1], stdout=subprocess.DEVNULL)
        watcher = TreeWatcher(cycle.pid)
        _, status, usage = os.wait4(cycle.pid, 0)
        wall = time.perf_counter() - started
        by_kind = watcher.stop()
        own_after = resource.getrusage(resource.RUSAGE_SELF)
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"the cycle failed (exit {os.waitstatus_to_exitcode(status)})")
    cycle_total = usage.ru_utime + usage.ru_stime
    server = (own_after.ru_utime + own_after.ru_stime) - (own_before.ru_utime + own_before.ru_stime)
    server -= watcher.own_seconds
    lines = [
        f"one cycle, {scale} generated articles: {wall:.1f} s wall",
        "CPU-s by process (kernel accounting):",
    ]
    for kind, seconds in by_kind.most_common():
        lines.append(f"  {kind:52s} {seconds:6.1f}")
    lines.append(f"  {'cycle total (wait4: the whole process tree)':52s} {cycle_total:6.1f}")
    lines.append(f"  {'replay server (this process, not part of the cycle)':52s} {server:6.1f}")
    busy = (cycle_total + server) / wall
    lines.append(f"cores kept busy on average: {busy:.2f} of {len(os.sched_getaffinity(0))}")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=int, default=5000, help="generated articles in the replay world")
    parser.add_argument("--db", default=None, help="warehouse URL (default: a fresh SQLite file)")
    options = parser.parse_args()
    print(measure(options.scale, options.db))


if __name__ == "__main__":
    main()
