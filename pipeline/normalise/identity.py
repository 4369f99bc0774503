"""Stable fingerprints used as natural keys across the warehouse."""

from __future__ import annotations

import hashlib


def url_hash(url: str) -> str:
    """sha256 hex of a URL exactly as given (canonicalise first when identity matters)."""
    return hashlib.sha256(url.encode("utf-8")).hexdigest()


def text_hash(text: str) -> str:
    """sha256 hex of a text exactly as given (byte-level identity, not the trivial-edit-proof hash)."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
