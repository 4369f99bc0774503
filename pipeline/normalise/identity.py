"""Stable fingerprints used as natural keys across the warehouse."""

from __future__ import annotations

import hashlib


def url_hash(url: str) -> str:
    """sha256 hex of an address exactly as given: the key of an alias, an HTTP cache entry, a fetch.
    An article's key is this hash of its canonical URL (``canonical.canonical_url_hash``)."""
    return hashlib.sha256(url.encode("utf-8")).hexdigest()


def text_hash(text: str) -> str:
    """sha256 hex of a text exactly as given (byte-level identity, not the trivial-edit-proof hash)."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
