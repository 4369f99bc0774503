"""Stable fingerprints used as natural keys across the warehouse."""

from __future__ import annotations

import hashlib
from functools import cache
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
CODE_DIRECTORIES = ("pipeline", "schemas")


def url_hash(url: str) -> str:
    """sha256 hex of a URL exactly as given (canonicalise first when identity matters)."""
    return hashlib.sha256(url.encode("utf-8")).hexdigest()


def text_hash(text: str) -> str:
    """sha256 hex of a text exactly as given (byte-level identity, not the trivial-edit-proof hash)."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@cache
def code_fingerprint() -> str:
    """The source of every module a stage's pure functions can reach: a result computed ahead of its
    stage (``pipeline.early``, the framing measures of ``pipeline.framing_store``) is reused only by
    the same code."""
    digest = hashlib.sha256()
    for directory in CODE_DIRECTORIES:
        for path in sorted((PROJECT_ROOT / directory).rglob("*.py")):
            digest.update(path.relative_to(PROJECT_ROOT).as_posix().encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()
