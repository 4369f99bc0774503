"""How far an article's published time can be trusted (issue 16): a label stored beside its source.

Pure: from the chosen time, the source it came from (``ExtractedArticle.sources["published_at"]``) and
the feed's own date for the entry, when the page came from a feed. Analysts filter timelines on it in
``v_story_coverage.published_confidence``.
"""

from __future__ import annotations

from datetime import datetime, timedelta

CORROBORATED = "corroborated"  # the page's machine-readable date and its feed's agree
MACHINE_READABLE = "machine-readable"  # one machine-readable source: structured data, meta, <time>, feed
CONFLICTING = "conflicting"  # the page's machine-readable date and its feed's disagree
URL_ONLY = "url-only"  # only a date pattern in the URL
TEXT_ONLY = "text-only"  # only a date read from the visible text (or guessed by htmldate)
CONFIDENCES = (CORROBORATED, MACHINE_READABLE, CONFLICTING, URL_ONLY, TEXT_ONLY)

STRUCTURED_SOURCES = frozenset({"json-ld", "microdata", "opengraph", "meta", "time-element"})
# A feed and a page may differ by time zone slips and by the time a desk edits an entry.
AGREEMENT = timedelta(days=1)


def date_confidence(
    published_at: datetime | None, source: str | None, feed_published: datetime | None
) -> str | None:
    """The confidence label of a published time, or None when there is none."""
    if published_at is None:
        return None
    if source in STRUCTURED_SOURCES:
        if feed_published is None:
            return MACHINE_READABLE
        return CORROBORATED if abs(published_at - feed_published) <= AGREEMENT else CONFLICTING
    if source == "feed":
        return MACHINE_READABLE
    if source == "url":
        return URL_ONLY
    return TEXT_ONLY
