"""Worker processes for the pure, CPU-bound stages (extraction, relevance, framing measures).

A light module: the stages that only need a pool import it without importing the extractors.
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Executor, ProcessPoolExecutor
from contextlib import contextmanager
from itertools import islice
from typing import TypeVar

# Extraction, normalisation and relevance are pure and CPU-bound (lxml, trafilatura, Snowball), so
# they run in worker processes. Starting a pool costs a few hundred ms: small batches stay in-process.
MIN_PAGES_FOR_WORKERS = 50
MAX_WORKERS = 8
# Items per round trip to a worker (pickling overhead vs. uneven finishing), and pages read from the
# archive per slice: two slices are in flight at most, so a large run's bodies never sit in memory.
ITEMS_PER_TASK = 8
PAGES_PER_SLICE = 256

Item = TypeVar("Item")
Result = TypeVar("Result")


def default_workers() -> int:
    """One worker per core this process may use (a container or taskset limits them), capped."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return max(1, min(cores or 1, MAX_WORKERS))


def map_in_order(
    function: Callable[[Item], Result], items: Sequence[Item], workers: int | None = None
) -> list[Result]:
    """``function`` over ``items`` (a module-level function: it is pickled to workers), in worker
    processes when there are at least ``MIN_PAGES_FOR_WORKERS`` items; results in input order."""
    workers = default_workers() if workers is None else workers
    if workers <= 1 or len(items) < MIN_PAGES_FOR_WORKERS:
        return list(map(function, items))
    with ProcessPoolExecutor(max_workers=workers) as pool:
        return list(ordered_map(pool, function, items))


@contextmanager
def mapped_in_background(
    function: Callable[[Item], Result], items: Sequence[Item], workers: int | None = None
) -> Iterator[Callable[[], list[Result]]]:
    """``function`` over ``items`` in ``workers`` processes (default: one per core) while the caller
    goes on with other work; the yielded callable waits for the results, in input order. Below
    ``MIN_PAGES_FOR_WORKERS`` items (or with no worker) nothing runs ahead: the callable computes them
    in the caller when called.

    Leaving the block early (an error in the caller's own work) cancels what has not started."""
    workers = default_workers() if workers is None else workers
    if workers < 1 or len(items) < MIN_PAGES_FOR_WORKERS:
        yield lambda: list(map(function, items))
        return
    pool = ProcessPoolExecutor(max_workers=workers)
    try:
        results = pool.map(function, items, chunksize=ITEMS_PER_TASK)  # every item is submitted now
        yield lambda: list(results)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def ordered_map(
    pool: Executor, function: Callable[[Item], Result], items: Iterable[Item]
) -> Iterator[Result]:
    """``pool.map`` over ``items`` in slices, results in input order: the next slice is submitted
    before the current one is collected, so workers stay busy while the archive is read."""
    pending: deque[Iterator[Result]] = deque()
    for piece in _slices(items, PAGES_PER_SLICE):
        pending.append(pool.map(function, piece, chunksize=ITEMS_PER_TASK))
        if len(pending) > 1:
            yield from pending.popleft()
    while pending:
        yield from pending.popleft()


def _slices(items: Iterable[Item], size: int) -> Iterator[list[Item]]:
    iterator = iter(items)
    while piece := list(islice(iterator, size)):
        yield piece
