"""Text folding shared by the stages that match words: accents removed at C speed.

``unicodedata.combining`` per character is exact but a Python-level loop; the same set of code points
as one regex character class strips them in one pass (the relevance and framing stages fold every
passage and sentence, hundreds of thousands of strings per large run).
"""

from __future__ import annotations

import re
import sys
import unicodedata
from functools import cache


@cache
def _combining_class() -> re.Pattern[str]:
    """Every code point with a non-zero canonical combining class, as a character class of ranges."""
    ranges: list[tuple[int, int]] = []
    for code in range(sys.maxunicode + 1):
        if unicodedata.combining(chr(code)):
            if ranges and ranges[-1][1] == code - 1:
                ranges[-1] = (ranges[-1][0], code)
            else:
                ranges.append((code, code))
    body = "".join(
        re.escape(chr(start)) if start == end else f"{re.escape(chr(start))}-{re.escape(chr(end))}"
        for start, end in ranges
    )
    return re.compile(f"[{body}]+")  # built once per process, on first use (~0.1 s)


def strip_accents(decomposed: str) -> str:
    """Drop the combining marks of an NFD/NFKD-decomposed text ("me\u0301xico" -> "mexico")."""
    return decomposed if decomposed.isascii() else _combining_class().sub("", decomposed)
