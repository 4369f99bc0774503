"""`framewatch stories` as a terminal table: what each story is matched under and what it found."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from rich.table import Table


def _when(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M") if moment else "never"


def as_rich_table(rows: Sequence[dict[str, Any]]) -> Table:
    table = Table(
        title="stories",
        caption="fingerprint: hash of the summary, window and terms (a change re-matches); "
        "across languages: coverage matched by the multilingual encoder, the story's key terms being in "
        "another language",
    )
    for name, justify in (("story", "left"), ("status", "left"), ("fingerprint", "left"),
                          ("defined in", "left"), ("articles", "right"), ("across languages", "right"),
                          ("last match", "left"), ("last digest", "left")):  # fmt: skip
        table.add_column(name, justify=justify, overflow="fold")
    for row in rows:
        table.add_row(
            row["slug"],
            row["status"],
            row["fingerprint"] or "",
            row.get("defined_in", ""),
            str(row["matched_articles"]),
            str(row.get("across_languages", 0)),
            _when(row["last_match"]),
            _when(row["last_digest"]),
        )
    return table
