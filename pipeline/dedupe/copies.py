"""Dedupe stage, pure part: text signatures of copies, and which member of a copy cluster is original.

A *copy* republishes another article's text (wire copy with a new headline, a dateline, a trimmed
ending, a local paragraph). A *rewrite* of the same report in other words is coverage, not a copy:
copy clusters must not absorb it, because comparing how outlets framed a story needs the rewrites.

Near-duplicates are found with MinHash over word 5-shingles (datasketch) and banded LSH. The band
keys are plain ``(band, key)`` pairs so the warehouse can keep them in a table and find candidates
for a new article with one indexed SQL lookup instead of comparing it with all of history:
``pipeline.dedupe.syndication`` stores ``lsh_band_keys(signature)`` as rows indexed on ``(band, key)``
and ``signature_to_bytes(signature)`` per article, and is the one place a copy is matched: a new
article's candidates share a band key with it, and the most similar one of another outlet at
``COPY_THRESHOLD`` or above is the article it copies (or is copied by). Exact duplicates (the same text
re-rendered) share a ``content_hash`` (``pipeline.normalise``) and are one article's versions.
"""

from __future__ import annotations

import difflib
import functools
import hashlib
import re
import unicodedata
from collections.abc import Collection, Sequence

import mmh3
import numpy as np
from datasketch import MinHash
from datasketch.lsh import _optimal_param

from pipeline.normalise.canonical import normalise_for_hash, paragraphs
from schemas.records import NormalisedArticle
from schemas.timestamps import as_utc

NUM_PERM = 128
MINHASH_SEED = 1
MINHASH_SCHEME = "affine32"  # datasketch >= 2.0 default; stored signatures are only comparable within it
SHINGLE_WORDS = 5
# Chosen with bench/dedupe.py (exact shingle Jaccard, 500 pairs each): edited copies 0.62-1.0,
# coverage quoting 2-3 paragraphs of another story 0.02-0.25, same-event rewrites <= 0.05; the
# written examples in tests/test_dedupe.py agree (copies ~0.7-0.8, rewrites < 0.01). 0.5 sits
# between with room for the estimate's noise (standard error ~0.044 at 128 permutations).
COPY_THRESHOLD = 0.5
# Bands tuned for recall (false negatives weigh 0.9): a missed candidate is a missed copy, while a
# false candidate only costs one signature comparison. (32 bands x 4 rows for 128 permutations.)
LSH_BANDS, LSH_ROWS = _optimal_param(COPY_THRESHOLD, NUM_PERM, 0.1, 0.9)

Signature = np.ndarray  # NUM_PERM uint32 MinHash values

_PERMUTATIONS = MinHash(num_perm=NUM_PERM, seed=MINHASH_SEED, scheme=MINHASH_SCHEME).permutations
# Agency names spelled out match in any case; the short forms only in capitals ("AP", not "ap").
_WIRE_BYLINE = re.compile(
    r"(?i:\b(?:associated press|reuters|agence france-presse|agencia efe|notimex|europa press|bloomberg)\b)|"
    r"\b(?:AP|AFP|EFE|DPA|ANSA|Xinhua)\b"
)
_DATELINE_PREFIX = re.compile(r"^\s*[A-ZÁÉÍÓÚÑ][A-ZÁÉÍÓÚÑ .,'-]{2,60}(?:\([^)]{1,30}\))?\s*[.\-—–:]+\s*")
_COPYRIGHT_LINE = re.compile(
    r"©|\bcopyright\b|all rights reserved|todos los derechos reservados|derechos reservados|"
    r"may not be (?:published|reproduced)|prohibida su reproducci[oó]n",
    re.IGNORECASE,
)


# --- Signatures and band keys ------------------------------------------------------------------


def shingle_tokens(text: str) -> list[str]:
    """Words as shingles see them: NFKC, case-folded, accents kept (the same rule for EN and ES)."""
    return re.findall(r"\w+", unicodedata.normalize("NFKC", text).casefold())


def word_shingles(text: str, size: int = SHINGLE_WORDS) -> set[str]:
    """Runs of ``size`` consecutive words (the whole text when it is shorter)."""
    tokens = shingle_tokens(text)
    if len(tokens) < size:
        return {" ".join(tokens)} if tokens else set()
    # zip stops at the shortest slice, i.e. at the last full shingle
    return set(map(" ".join, zip(*(tokens[start:] for start in range(size)), strict=False)))


def minhash_signature(text: str) -> Signature:
    """MinHash of the text's word 5-shingles; raises ValueError for text without words."""
    signature = text_signature(text)
    if signature is None:
        raise ValueError("cannot fingerprint a text without words")
    return signature


def text_signature(text: str) -> Signature | None:
    """``minhash_signature``, or None for a text without words (it has no shingles to fingerprint)."""
    shingles = word_shingles(text)
    if not shingles:
        return None
    minhash = MinHash(
        num_perm=NUM_PERM,
        seed=MINHASH_SEED,
        permutations=_PERMUTATIONS,
        scheme=MINHASH_SCHEME,
        hashfunc=shingle_hash,
    )
    minhash.update_batch(shingles)
    return minhash.hashvalues


def shingle_hash(shingle: str) -> int:
    """32-bit MurmurHash3 of the UTF-8 shingle: the fast hash datasketch's docs suggest over its SHA-1
    default (hashing was most of the signature time in bench/dedupe.py)."""
    return mmh3.hash(shingle, signed=False)


def signature_to_bytes(signature: Signature) -> bytes:
    return np.asarray(signature, dtype="<u4").tobytes()


def signature_from_bytes(stored: bytes) -> Signature:
    signature = np.frombuffer(stored, dtype="<u4")
    if signature.size != NUM_PERM:
        raise ValueError(f"stored signature has {signature.size} values, expected {NUM_PERM}")
    return signature


def estimated_jaccard(first: Signature, second: Signature) -> float:
    return float(np.count_nonzero(np.asarray(first) == np.asarray(second))) / NUM_PERM


def lsh_band_keys(signature: Signature) -> list[tuple[int, str]]:
    """``(band, key)`` rows for the LSH table: two articles are candidates when they share a row."""
    return [(band, f"{digest:016x}") for band, digest in enumerate(band_digests(signature))]


def band_digests(signature: Signature) -> list[int]:
    """64-bit digest of each band's rows; the band number is hashed in, so digests differ across bands."""
    rows = np.asarray(signature, dtype="<u4")[: LSH_BANDS * LSH_ROWS].reshape(LSH_BANDS, LSH_ROWS)
    return [
        int.from_bytes(
            hashlib.blake2b(band.to_bytes(2, "little") + row.tobytes(), digest_size=8).digest(), "little"
        )
        for band, row in enumerate(rows)
    ]


def is_wire_outlet(article: NormalisedArticle, wire_outlets: Collection[str] = ()) -> bool:
    return article.outlet in wire_outlets


def has_wire_byline(article: NormalisedArticle) -> bool:
    return any(_WIRE_BYLINE.search(author) for author in article.authors)


def likely_original(
    members: Sequence[NormalisedArticle], wire_outlets: Collection[str] = ()
) -> tuple[NormalisedArticle, str]:
    """The member a copy cluster most likely started from, and the evidence that decided it.

    Evidence in order of strength: published by a wire outlet; under a wire byline; earliest
    publication; the longest text (copies trim more often than they add); lowest url_hash, so the
    choice is stable when nothing else decides.
    """
    if not members:
        raise ValueError("likely_original needs at least one member")
    evidence = (
        ("wire outlet", lambda pool: [m for m in pool if is_wire_outlet(m, wire_outlets)]),
        ("wire byline", lambda pool: [m for m in pool if has_wire_byline(m)]),
        ("earliest publication", _earliest),
        ("longest text", _longest),
    )
    pool, reasons = list(members), []
    for reason, narrow in evidence:
        narrowed = narrow(pool) if len(pool) > 1 else pool
        if 0 < len(narrowed) < len(pool):
            pool, reasons = narrowed, [*reasons, reason]
    if len(pool) > 1:
        reasons.append("lowest url hash (tie)")
    return min(pool, key=lambda member: member.url_hash), "; ".join(reasons) or "only member"


def _earliest(pool: list[NormalisedArticle]) -> list[NormalisedArticle]:
    dated = {member.url_hash: as_utc(member.published_at) for member in pool if member.published_at}
    if not dated:
        return pool
    first = min(dated.values())
    return [member for member in pool if dated.get(member.url_hash) == first]


def _longest(pool: list[NormalisedArticle]) -> list[NormalisedArticle]:
    most = max(member.word_count for member in pool)
    return [member for member in pool if member.word_count == most]


def copy_differences(
    original_text: str, copy_text: str, original_headline: str | None = None, copy_headline: str | None = None
) -> dict[str, object]:
    """How a copy differs from its original, paragraph by paragraph (difflib over normalised text)."""
    original, copy = paragraphs(original_text), paragraphs(copy_text)
    dateline = _added_dateline(original, copy)
    if dateline:
        copy = [copy[0][len(dateline) :].strip(), *copy[1:]]
    matcher = difflib.SequenceMatcher(
        a=list(_normalised_paragraphs(original_text)), b=[normalise_for_hash(p) for p in copy], autojunk=False
    )
    opcodes = matcher.get_opcodes()
    trimmed = _trimmed_at_end(opcodes, original)
    added = [p for tag, _, _, j1, j2 in opcodes if tag in ("insert", "replace") for p in copy[j1:j2]]
    removed = [p for tag, i1, i2, _, _ in opcodes if tag in ("delete", "replace") for p in original[i1:i2]]
    copyright_lines = [p for p in added if _COPYRIGHT_LINE.search(p)]
    return {
        "headline_changed": normalise_for_hash(original_headline) != normalise_for_hash(copy_headline),
        "original_headline": original_headline,
        "copy_headline": copy_headline,
        "dateline_added": dateline,
        "paragraphs_trimmed_at_end": trimmed,
        "paragraphs_removed": removed[: len(removed) - len(trimmed)] if trimmed else removed,
        "paragraphs_added": [p for p in added if p not in copyright_lines],
        "copyright_lines_added": copyright_lines,
    }


@functools.lru_cache(maxsize=8)
def _normalised_paragraphs(text: str) -> tuple[str, ...]:
    """The original's paragraphs normalised, once for all the copies of a cluster described in a row."""
    return tuple(normalise_for_hash(p) for p in paragraphs(text))


def _added_dateline(original: list[str], copy: list[str]) -> str | None:
    """A dateline ("MEXICO CITY (AP) —") the copy put in front of the original's first paragraph."""
    if not original or not copy:
        return None
    match = _DATELINE_PREFIX.match(copy[0])
    if not match or _DATELINE_PREFIX.match(original[0]):
        return None
    rest = normalise_for_hash(copy[0][match.end() :])
    return match.group(0).strip() if rest and rest == normalise_for_hash(original[0]) else None


def _trimmed_at_end(opcodes: list[tuple[str, int, int, int, int]], original: list[str]) -> list[str]:
    """Original paragraphs missing from the copy's end (a trimmed ending), after its last shared one."""
    last_equal = max((i2 for tag, _, i2, _, _ in opcodes if tag == "equal"), default=0)
    tail = original[last_equal:]
    ends_with_removal = opcodes and opcodes[-1][0] in ("delete", "replace")
    return tail if ends_with_removal and last_equal > 0 else []
