"""Processing pages while the crawl still fetches, in the cores the crawl leaves idle.

Scrapy is single-threaded: during a crawl one core fetches and the others wait for the process stage.
While the crawl subprocess runs, the crawl stage tails its manifest, reads each archived page back from
the WARC and extracts it in a worker pool (``process.process_page_or_quarantine``, the process stage's
own pure function). The results are saved beside the manifest, each under a key of every input the
function reads (the page as archived, its outlet's hosts) and of the code that computed it.

The process stage still reads every page from the archive and takes a saved result only for an
identical key; anything else (a page archived after the crawl ended, a changed record, other code, a
missing or unreadable results file) is processed as if nothing had been saved. Saving results is an
optimisation only: it never changes what the warehouse gets.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Collection, Iterator, Mapping
from concurrent.futures import Future, ProcessPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING

from pipeline.crawl.archive import page_or_outcome
from pipeline.speedup.ahead import save_keyed
from pipeline.speedup.workers import default_workers
from schemas.records import FetchedPage

if TYPE_CHECKING:
    from pipeline.run.process import ProcessResult

logger = logging.getLogger(__name__)

# Pages read ahead of the pool at most: a fast crawl must not pile bodies up in this process's memory.
MAX_IN_FLIGHT = 64


class ManifestTail:
    """The complete lines a running crawl has appended to its manifest since the last read."""

    def __init__(self, manifest: Path):
        self.manifest = manifest
        self.offset = 0
        self.line_number = 0

    def new_lines(self, limit: int) -> Iterator[tuple[int, str]]:
        """(line number, line) of up to ``limit`` new complete lines."""
        if limit <= 0 or not self.manifest.exists():
            return
        with self.manifest.open("rb") as lines:
            lines.seek(self.offset)
            for _ in range(limit):
                line = lines.readline()
                if not line.endswith(b"\n"):
                    return  # not written whole yet: read again at the next poll
                self.offset += len(line)
                self.line_number += 1
                yield self.line_number, line.decode("utf-8", "replace")


def process_manifest_line(
    manifest: Path, number: int, line: str, hosts_by_outlet: Mapping[str, Collection[str]]
) -> tuple[str, ProcessResult] | None:
    """In a worker: read the page back from the WARC, process it, return it under its key. A line or
    record that cannot be read gives nothing: it is the process stage's to report."""
    # Imported by the parent at its first poll, before the pool forks (load_processing): importing it
    # with this module would hold up the crawl's start by the extractors' import time.
    from pipeline.run.process import page_key, process_page_or_quarantine

    page = page_or_outcome(manifest, number, line)
    if not isinstance(page, FetchedPage):
        return None
    return page_key(page, hosts_by_outlet), process_page_or_quarantine(page, hosts_by_outlet)


def load_processing() -> None:
    """Import the extractors and load their models (about a second of CPU, once per process).

    Done at the first poll, once the crawl subprocess has started, so that it overlaps Scrapy's own
    start instead of delaying it; and before the pool forks its workers at the first page, so every
    worker shares one copy."""
    import pipeline.run.process  # noqa: F401 - what the workers run, imported once for every fork
    from pipeline.extract.page import load_models

    load_models()


class EarlyProcessor:
    """Feeds a crawl's archived pages to a worker pool as they appear; ``finish`` saves the results."""

    def __init__(self, manifest: Path, hosts_by_outlet: Mapping[str, Collection[str]], workers: int):
        self.tail = ManifestTail(manifest)
        self.hosts_by_outlet = hosts_by_outlet
        # Niced so that Scrapy keeps priority. On two cores the crawl still loses a few seconds to
        # the workers; the process stage saves more (README "Performance").
        self.pool = ProcessPoolExecutor(max_workers=workers, initializer=_lower_priority)
        self.in_flight: dict[int, Future] = {}  # by manifest line number
        self.results: dict[str, ProcessResult] = {}
        self.failed = False

    def poll(self) -> None:
        """Collect finished pages and hand newly archived ones to the pool (never blocks on it).

        Only manifest lines cross to the workers: reading the WARC, hashing and extracting all happen
        there, at low priority, so this process takes next to no CPU from the crawl."""
        self._guarded(self._poll)

    def _poll(self) -> None:
        self._collect(wait=False)
        load_processing()  # cached after the first poll
        for number, line in self.tail.new_lines(MAX_IN_FLIGHT - len(self.in_flight)):
            future = self.pool.submit(
                process_manifest_line, self.tail.manifest, number, line, self.hosts_by_outlet
            )
            self.in_flight[number] = future

    def finish(self, results_path: Path) -> int:
        """Wait for the pages already submitted (not the backlog: the process stage has every core for
        it), save the results, shut the pool down; returns how many results were saved."""
        try:
            self._guarded(lambda: self._collect(wait=True))
            self._guarded(lambda: save_keyed(results_path, self.results))
            saved = 0 if self.failed else len(self.results)
            logger.info(
                "early processing: %d pages processed during the crawl, saved to %s", saved, results_path
            )
            return saved
        finally:
            self.pool.shutdown(cancel_futures=True)

    def close(self) -> None:
        """Stop the pool without waiting; a worker still busy is terminated, since a crawl that ends
        here (an error, SIGTERM) must not leave processes computing for nobody (issue 20)."""
        workers = list((getattr(self.pool, "_processes", None) or {}).values())
        self.pool.shutdown(wait=False, cancel_futures=True)
        for worker in workers:
            if worker.is_alive():
                worker.kill()  # niced and pure: nothing to save, and SIGTERM waits for it to be scheduled

    def _guarded(self, action: Callable[[], object]) -> None:
        """An optimisation's failure is logged and stops it, never the crawl."""
        if self.failed:
            return
        try:
            action()
        except Exception:
            self.failed = True
            logger.exception("early processing stopped; the process stage will process every page")

    def _collect(self, wait: bool) -> None:
        for number, future in list(self.in_flight.items()):
            if wait or future.done():
                del self.in_flight[number]
                try:
                    keyed = future.result()
                except Exception as exc:  # a dead worker: the process stage processes the page itself
                    logger.warning(
                        "early processing lost manifest line %s (%s): it is processed later", number, exc
                    )
                    continue
                if keyed is not None:
                    self.results[keyed[0]] = keyed[1]


WORKER_NICENESS = 19


def _lower_priority() -> None:
    if hasattr(os, "nice"):
        os.nice(WORKER_NICENESS)


def early_workers() -> int:
    """One per core, like the process stage. The workers are niced, so Scrapy keeps its core when it
    needs it and they take what it and the rest leave: with one worker fewer than the cores, the
    5,000-article bench ran 2-4% slower (alternating runs, README "Performance")."""
    return default_workers()
