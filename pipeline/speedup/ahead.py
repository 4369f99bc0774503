"""Results computed ahead of the stage that uses them: pages extracted while the crawl runs
(``pipeline.speedup.early_extraction``) and framing measures computed while the process stage loads (``framing_store``).

Each result is kept under a key of every input it was computed from and of the code that computed it,
in a pickle beside the run's archive. A stage takes a saved result only for an identical key, so a
stale, missing or unreadable file costs time, never a wrong row.
"""

from __future__ import annotations

import hashlib
import logging
import os
import pickle
from collections.abc import Mapping
from functools import cache
from pathlib import Path

from pipeline.config import PROJECT_ROOT

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
