"""One rule for a moment's zone, used by every stage and by the warehouse's column type.

A time found without a zone (a page's ``datePublished`` with none, SQLite's stored text) is taken to be
UTC: the warehouse stores UTC only, and guessing the outlet's zone would move dates by hours without
evidence. A time with a zone is converted to UTC, so equal instants compare and print alike.
"""

from __future__ import annotations

from datetime import UTC, datetime


def as_utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
