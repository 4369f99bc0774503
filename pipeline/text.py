"""Text shared by the stages: visible text kept as the reader sees it, and words folded (case,
accents) at C speed.

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


def fold(text: str) -> str:
    """The form every stage compares words in: case-folded, accents removed (ñ too), compatibility
    forms decomposed, curly apostrophes straightened: "México’s" and "MEXICO's" both become "mexico's".

    Relevance, the framing codebooks and the translation anchors all match text this way, so a term
    found by one stage is found by the others."""
    return strip_accents(unicodedata.normalize("NFKD", text.casefold().replace("\u2019", "'")))


# C0 and C1 control characters (Unicode category Cc) other than the whitespace ones, which the
# one-line fields collapse anyway: a reader never sees them, and in a header or a CSV they do harm.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def visible_line(text: str | None) -> str | None:
    """One line of the text a reader sees: control characters dropped, whitespace runs (CR/LF
    included) collapsed to single spaces. Nothing is unescaped or stripped: "<b>" shown on a page is
    stored as "<b>", and escaping it is the report's and the email's job."""
    if text is None:
        return None
    return " ".join(_CONTROL.sub("", text).split()) or None


# --- Markup and asides in page text, in linear time ---------------------------------------------
# The regular expressions these replace (``<[^>]+>`` and ``\s*[(\[].*?[)\]]``) rescan the rest of
# the text from every "<" or "(" that has no closer after it: quadratic, minutes of CPU for one hostile
# articleBody or byline of many openings (issue 20). These scan the text once, with the same results.


def strip_tags(text: str, replacement: str = "\n") -> str:
    """Every ``<...>`` (at least one character between, no ``>`` inside) replaced, in one pass: what
    ``re.sub(r"<[^>]+>", replacement, text)`` does, without its quadratic backtracking on hostile text
    (an articleBody of many unclosed ``<`` made one regular expression take minutes)."""
    out: list[str] = []
    position = 0
    while (start := text.find("<", position)) >= 0:
        end = text.find(">", start + 1)
        if end < 0:
            break  # no ">" after this "<", so none after any later "<" either: the rest is text
        if end == start + 1:  # "<>" is not a tag
            out.append(text[position : end + 1])
        else:
            out.append(text[position:start])
            out.append(replacement)
        position = end + 1
    out.append(text[position:])
    return "".join(out)


def drop_bracketed(text: str) -> str:
    """Every parenthesised or bracketed aside, with the spaces before it, removed in one pass ("Jane Doe
    (Reuters)" -> "Jane Doe"): ``re.sub(r"\\s*[\\(\\[].*?[\\)\\]]", "", text)`` on one-line text, linear."""
    out: list[str] = []
    position = 0
    while opener := _OPENER.search(text, position):
        closer = _CLOSER.search(text, opener.end())
        if closer is None:
            break  # no closer after this opener, so none after any later opener either
        out.append(text[position : opener.start()].rstrip())
        position = closer.end()
    out.append(text[position:])
    return "".join(out)


# One character each: a search stops at the first one, so the scan above reads the text once.
_OPENER, _CLOSER = re.compile(r"[(\[]"), re.compile(r"[)\]]")
