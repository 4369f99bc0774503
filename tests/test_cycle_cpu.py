"""bench/cycle_cpu.py: CPU seconds of a process tree read from /proc, by kind of process."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from bench.cycle_cpu import TreeWatcher, descendants, process_kind, process_table

pytestmark = pytest.mark.skipif(not os.path.isdir("/proc/self"), reason="needs Linux's /proc")


def test_descendants_follow_parents_and_leave_other_trees_out() -> None:
    table = {1: (0, 0.0), 10: (1, 1.0), 11: (10, 2.0), 12: (11, 3.0), 20: (1, 4.0), 21: (20, 5.0)}
    assert descendants(table, 10) == {10, 11, 12}
    assert descendants(table, 20) == {20, 21}
    assert descendants(table, 99) == set()  # already exited


def test_process_table_reads_this_process_and_its_parent() -> None:
    table = process_table()
    parent, seconds = table[os.getpid()]
    assert parent == os.getppid()
    assert seconds > 0  # this interpreter has run imports and tests by now


def test_process_kind_names_the_crawl_the_stage_and_the_workers() -> None:
    assert process_kind(5, 5, "python -m bench.framewatch_cycle").startswith("stage process")
    assert process_kind(6, 5, "python -m spiders.run --config c").startswith("Scrapy crawl")
    assert process_kind(7, 5, "python -m bench.framewatch_cycle").startswith("worker processes")


BUSY_CHILD = """
import os, time
def spin(seconds):
    end = time.process_time() + seconds
    while time.process_time() < end:
        pass
if os.fork() == 0:
    spin(0.6)
    os._exit(0)
spin(0.3)
os.wait()
"""


def test_the_watcher_counts_a_forked_child_s_cpu_beside_its_parent_s() -> None:
    parent = subprocess.Popen([sys.executable, "-c", BUSY_CHILD])
    watcher = TreeWatcher(parent.pid)
    parent.wait()
    time.sleep(0.05)
    by_kind = watcher.stop()
    # the parent is the root ("stage"); its forked child is a "worker" with about twice its CPU
    stage = sum(s for kind, s in by_kind.items() if kind.startswith("stage"))
    workers = sum(s for kind, s in by_kind.items() if kind.startswith("worker"))
    assert workers >= 0.4, by_kind
    assert stage >= 0.2, by_kind
