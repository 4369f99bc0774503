"""The dedupe bench's in-memory index: the pipeline's signatures, band keys and threshold, without a
warehouse, so ``bench/dedupe.py`` can cluster 100,000 synthetic articles in one process."""

from __future__ import annotations

import numpy as np

from pipeline.dedupe.copies import COPY_THRESHOLD, Signature, band_digests, estimated_jaccard


class SyndicationIndex:
    """In-memory LSH index over the same band keys the warehouse stores, for the dedupe bench's 100,000
    synthetic articles (the pipeline matches copies in ``pipeline.dedupe.syndication`` only).

    Buckets are keyed by the integer band digests (the hex ``lsh_band_keys`` spell the same values)
    and hold a bare url_hash until a second article shares the bucket: nearly every bucket has one
    member, and lists and hex strings tripled the index's memory at 100k articles.
    """

    def __init__(self) -> None:
        self._buckets: dict[int, str | list[str]] = {}
        self._signatures: dict[str, Signature] = {}

    def __len__(self) -> int:
        return len(self._signatures)

    def __contains__(self, url_hash: object) -> bool:
        return url_hash in self._signatures

    def add(self, url_hash: str, signature: Signature) -> None:
        if url_hash in self._signatures:
            return  # re-adding the same article must not duplicate its bucket entries
        self._signatures[url_hash] = np.asarray(signature, dtype=np.uint32)
        for digest in band_digests(signature):
            members = self._buckets.setdefault(digest, url_hash)
            if isinstance(members, list):
                members.append(url_hash)
            elif members != url_hash:
                self._buckets[digest] = [members, url_hash]

    def signature(self, url_hash: str) -> Signature:
        return self._signatures[url_hash]

    def candidates(self, signature: Signature) -> set[str]:
        """url_hashes sharing at least one band key with ``signature`` (unverified)."""
        found: set[str] = set()
        for digest in band_digests(signature):
            members = self._buckets.get(digest)
            if isinstance(members, str):
                found.add(members)
            elif members:
                found.update(members)
        return found

    def similar(self, signature: Signature, threshold: float = COPY_THRESHOLD) -> list[tuple[str, float]]:
        """Verified candidates as ``(url_hash, estimated Jaccard)``, most similar first."""
        scored = (
            (url_hash, estimated_jaccard(signature, self._signatures[url_hash]))
            for url_hash in self.candidates(signature)
        )
        return sorted((pair for pair in scored if pair[1] >= threshold), key=lambda pair: (-pair[1], pair[0]))
