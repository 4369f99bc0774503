"""`framewatch health` as a terminal table: each outlet's latest cycle, its status and open incidents."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rich.table import Table

COLUMNS = (
    ("outlet", "left"), ("status", "left"), ("requests", "right"), ("articles", "right"), ("new", "right"),
    ("non-articles", "right"), ("failed %", "right"), ("median words", "right"), ("newest entry", "right"),
    ("open incidents", "left"),
)  # fmt: skip


def as_rich_table(rows: Sequence[dict[str, Any]]) -> Table:
    """Rows of ``pipeline.health.store.health_overview``."""
    table = Table(
        title="outlet health (latest cycle)",
        caption="newest entry: age of the newest feed or sitemap entry at the cycle's time",
    )
    for name, justify in COLUMNS:
        table.add_column(name, justify=justify, overflow="fold")
    for row in rows:
        table.add_row(
            row["outlet"],
            row["status"],
            str(row["requests"]),
            str(row["articles"]),
            str(row["new_articles"]),
            str(row["non_articles"]),
            _number(row["failed_extraction_share"], 100),
            _number(row["median_body_words"]),
            _newest_entry(row),
            ", ".join(incident["measure"] for incident in row["open_incidents"]) or "-",
        )
    return table


def _number(value: float | None, scale: float = 1) -> str:
    return "-" if value is None else f"{scale * value:.0f}"


def _newest_entry(row: dict[str, Any]) -> str:
    silences = [h for h in (row["feed_silence_hours"], row["sitemap_silence_hours"]) if h is not None]
    if not silences:
        return "-"
    hours = min(silences)
    return f"{hours:.1f} h ago" if hours < 48 else f"{hours / 24:.0f} days ago"
