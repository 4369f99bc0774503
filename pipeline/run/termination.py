"""Stopping a run when asked to: SIGTERM (Airflow's task timeout, ``docker stop``) ends every process the
run started, not just the one that was signalled.

Python's default answer to SIGTERM ends the process on the spot: no ``finally`` runs, so the Scrapy
child kept crawling and the worker pools kept computing for minutes, orphaned. ``stop_on_sigterm``
makes SIGTERM stop those children at once and then raise ``Terminated`` in the main thread, so every
``finally`` and ``except`` on the way out runs (the run is marked ``failed``).
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager

# The crawl subprocesses running now (``pipeline.crawl.crawler.run_crawl`` registers its child here).
_CRAWLS: set[subprocess.Popen] = set()


class Terminated(SystemExit):
    """The process was asked to stop (SIGTERM); its exit code is 128 + the signal, as a shell reports."""


@contextmanager
def tracked(child: subprocess.Popen) -> Iterator[subprocess.Popen]:
    """Register a child process for ``stop_children`` while it runs."""
    _CRAWLS.add(child)
    try:
        yield child
    finally:
        _CRAWLS.discard(child)


def stop_children() -> None:
    """SIGTERM to every crawl subprocess, SIGKILL to every worker process (multiprocessing pools) of this one."""
    for child in list(_CRAWLS):
        if child.poll() is None:
            child.terminate()
    # Workers compute pure functions and hold nothing to save: SIGKILL ends them at once. A SIGTERM
    # would wait for a niced worker to be scheduled to run its handler, which on a loaded machine took
    # longer than the minute Airflow and `docker stop` give.
    for worker in multiprocessing.active_children():
        worker.kill()


_INSTALLED_IN: int | None = None  # the process that asked; forked workers inherit the handler


def _on_sigterm(signum: int, _frame) -> None:
    if os.getpid() != _INSTALLED_IN:  # a forked worker being stopped: end quietly, as by default
        signal.signal(signum, signal.SIG_DFL)
        os.kill(os.getpid(), signum)
        return
    stop_children()
    raise Terminated(128 + signum)


def stop_on_sigterm() -> None:
    """From now on SIGTERM stops the children, then raises ``Terminated`` (main thread only)."""
    global _INSTALLED_IN
    _INSTALLED_IN = os.getpid()
    signal.signal(signal.SIGTERM, _on_sigterm)
