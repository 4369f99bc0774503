"""Results computed ahead of the stage that uses them, in cores that would otherwise idle: the one
speed-up mechanism, behind one interface.

A stage's pure function (process one page, measure one article's framing) may run before the stage
does, while an earlier stage keeps one core busy: pages are extracted while the crawl fetches
(``early_extraction``, fed as the crawl archives them), and framing is measured while the process stage
loads (``computing_ahead``, over a known list). Either way each result is saved under ``input_key`` of
every input it was computed from and of the code that computed it, in a pickle beside the run's archive.
The stage is handed the saved results (``results_ahead``) and takes one only for an identical key
(``taken_or_computed``); it does not know whether or when anything ran ahead. A stale, missing or
unreadable file costs time, never a wrong row.
"""

from __future__ import annotations

import hashlib
import logging
import os
import pickle
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from functools import cache, lru_cache
from pathlib import Path
from typing import TypeVar

from pipeline.config import PROJECT_ROOT
from pipeline.speedup import workers as worker_pool

Input = TypeVar("Input")
Output = TypeVar("Output")

logger = logging.getLogger(__name__)

CODE_DIRECTORIES = ("pipeline", "schemas")


@cache
def code_fingerprint() -> str:
    """The source of every module a stage's pure functions can reach: results of other code are not reused."""
    digest = hashlib.sha256()
    for directory in CODE_DIRECTORIES:
        for path in sorted((PROJECT_ROOT / directory).rglob("*.py")):
            digest.update(path.relative_to(PROJECT_ROOT).as_posix().encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def input_key(inputs: object, *versions: str) -> str:
    """``inputs`` (records, strings: anything picklable), the code and any further ``versions`` (a
    codebook's fingerprint), hashed: the key a result computed ahead is saved and looked up under."""
    stamp = ":".join((code_fingerprint(), *versions)).encode()
    return hashlib.sha256(stamp + pickle.dumps(inputs, protocol=pickle.HIGHEST_PROTOCOL)).hexdigest()


def save_keyed(path: Path, results: Mapping[str, object]) -> None:
    staging = path.with_suffix(".partial")
    staging.write_bytes(pickle.dumps(dict(results), protocol=pickle.HIGHEST_PROTOCOL))
    os.replace(staging, path)  # a reader sees the whole file or none


def load_keyed(path: Path) -> dict[str, object]:
    """The results ``save_keyed`` wrote to ``path``; a missing or unreadable file gives none."""
    if not path.exists():
        return {}
    try:
        loaded = pickle.loads(path.read_bytes())  # our own file, written by an earlier stage
    except Exception as exc:
        logger.warning("ignoring results computed ahead in %s: %s", path, exc)
        return {}
    return loaded if isinstance(loaded, dict) else {}


def results_ahead(paths: Iterable[Path], read_again: bool = False) -> dict[str, object]:
    """Every result saved in these files; a missing or unreadable file gives none.

    ``read_again``: the file will be read by several stages of the run in this process (each story's
    framing reads the run's framing measures), so it is kept in memory while it stays the same file
    (its size and modification time). Results read once (the pages extracted early, thousands of
    articles) are not kept."""
    results: dict[str, object] = {}
    for path in paths:
        try:
            stat = path.stat()
        except OSError:
            continue
        if read_again:
            results.update(_results_file(path, stat.st_mtime_ns, stat.st_size))
        else:
            results.update(load_keyed(path))
    return results


@lru_cache(maxsize=2)
def _results_file(path: Path, _mtime_ns: int, _size: int) -> dict[str, object]:
    return load_keyed(path)


def taken_or_computed(
    inputs: Sequence[Input],
    key: Callable[[Input], str],
    known: Mapping[str, Output],
    compute: Callable[[list[Input]], Iterable[Output]],
) -> list[Output]:
    """Each input's result, in input order: the one in ``known`` under its key, else computed (all the
    missing ones in one call of ``compute``, which keeps their order)."""
    if not known:
        return list(compute(list(inputs)))
    keys = [key(item) for item in inputs]
    computed = iter(compute([item for item, k in zip(inputs, keys, strict=True) if k not in known]))
    return [known[k] if k in known else next(computed) for k in keys]


@contextmanager
def computing_ahead(
    function: Callable[[Input], Output],
    inputs: Sequence[Input],
    key: Callable[[Input], str],
    path: Path,
    workers: int,
) -> Iterator[None]:
    """``function`` over ``inputs`` in ``workers`` processes while the caller's block runs, then the
    results saved to ``path`` under ``key`` of their inputs. With no worker to spare, or a list too small
    to pay for a pool, nothing runs. A failure is logged and costs nothing but time: the stage computes
    whatever it does not find."""
    if workers < 1 or len(inputs) < worker_pool.MIN_PAGES_FOR_WORKERS:
        yield
        return
    with worker_pool.mapped_in_background(function, inputs, workers=workers) as results:
        yield
        try:
            save_keyed(path, {key(item): result for item, result in zip(inputs, results(), strict=True)})
        except Exception:
            logger.exception("results computed ahead are not saved to %s; the stage computes them", path)
