"""The per-outlet comparison, formatted: a rich table for the terminal, CSV and JSON for export.

Pure formatting of ``OutletComparison`` rows. The rows come from ``v_outlet_framing``
(``pipeline.analyst.queries.comparison``): the view is the one definition of the comparison, so the
terminal, the exports, the report and an analyst's SQL agree.
"""

from __future__ import annotations

import csv
import io
import json
import textwrap
from collections.abc import Callable, Sequence

from rich.table import Table

from pipeline.framing.lexicon import load_frames
from schemas.framing_records import OutletComparison

COLUMNS = (
    "outlet", "country", "language", "articles", "original_share", "mean_tone", "mean_certainty",
    "primary_frame", "top_loaded_terms", "voice_kinds", "translations_of",
)  # fmt: skip


def row_as_dict(row: OutletComparison) -> dict[str, object]:
    return {
        "outlet": row.outlet,
        "country": row.country,
        "language": row.language,
        "articles": row.articles,
        "original_share": row.original_share,
        "mean_tone": row.mean_tone,
        "mean_certainty": row.mean_certainty,
        "primary_frame": row.primary_frame,
        "top_loaded_terms": list(row.top_loaded_terms),
        "voice_kinds": {tc.term: tc.count for tc in row.voice_kinds},
        "translations_of": {tc.term: tc.count for tc in row.translations_of},
    }


def format_score(value: float | None, pattern: str = "{:+.2f}") -> str:
    return "—" if value is None else pattern.format(value)


def frame_name(key: str | None) -> str:
    """The frame dimension's label in words ("Security and defense"), not its code."""
    if not key:
        return "—"

    frames = load_frames().frames
    return frames[key].label if key in frames else key.replace("_", " ")


def voices_text(row: OutletComparison) -> str:
    return ", ".join(f"{tc.term.replace('_', ' ')} {tc.count}" for tc in row.voice_kinds)


def translations_text(row: OutletComparison) -> str:
    return ", ".join(f"{tc.term} {tc.count}" for tc in row.translations_of)


# Column name -> (header, justify, cell). The names are those of ``--columns`` and of the CSV.
TABLE_COLUMNS: dict[str, tuple[str, str, Callable[[OutletComparison], str]]] = {
    "outlet": ("Outlet", "left", lambda r: r.outlet),
    "country": ("Country", "left", lambda r: r.country or "—"),
    "language": ("Lang", "left", lambda r: r.language or "—"),
    "articles": ("Articles", "right", lambda r: str(r.articles)),
    "original_share": ("Original", "right", lambda r: format_score(r.original_share, "{:.0%}")),
    "mean_tone": ("Tone", "right", lambda r: format_score(r.mean_tone)),
    "mean_certainty": ("Certainty", "right", lambda r: format_score(r.mean_certainty)),
    "primary_frame": ("Main frame", "left", lambda r: frame_name(r.primary_frame)),
    "top_loaded_terms": ("Loaded terms", "left", lambda r: ", ".join(r.top_loaded_terms)),
    "voice_kinds": ("Voices", "left", voices_text),
    "translations_of": ("Translations of", "left", lambda r: translations_text(r) or "—"),
}
# What fits a 120-column terminal as a table; below that the long format reads better.
NARROW_COLUMNS = ("outlet", "language", "articles", "original_share", "mean_tone", "mean_certainty",
                  "primary_frame", "top_loaded_terms")  # fmt: skip
WIDE_TABLE = 150
# Columns of free text share the width left by the figures, the lists taking the larger share.
FLEXIBLE_COLUMNS = {
    "outlet": 2,
    "primary_frame": 2,
    "top_loaded_terms": 3,
    "voice_kinds": 3,
    "translations_of": 2,
}  # from this width every column fits as a table

LEGEND = (
    "Original: share of the outlet's articles that are its own reporting, not copies. "
    "Tone: -1 negative to +1 positive. Certainty: -1 every cue hedged to +1 every cue assertive. "
    "Both are measured with each language's own word lists: compare them within a language. "
    "Main frame: the Media Frames Corpus dimension with the largest mean share. "
    "Loaded terms: most used; a term ending in * is a stem matching any ending. "
    "Voices: who is quoted, by kind, with counts. "
    "Translations of: articles that render another outlet's story in another language, by that outlet "
    "(not counted as original). —: not measured. "
    "(discovered): an outlet found by query discovery, not configured, named by its web address."
)


def unknown_columns(names: Sequence[str]) -> list[str]:
    return [name for name in names if name not in TABLE_COLUMNS]


def as_rich_table(
    rows: Sequence[OutletComparison], title: str = "Framing by outlet", columns: Sequence[str] = COLUMNS
) -> Table:
    """A table whose cells wrap at word boundaries; headers are never cut (each column is at least as
    wide as its header's longest word)."""
    table = Table(title=title, expand=True)
    for name in columns:
        header, justify, _ = TABLE_COLUMNS[name]
        table.add_column(
            header, justify=justify, overflow="fold", min_width=max(map(len, header.split())),
            ratio=FLEXIBLE_COLUMNS.get(name),
        )  # fmt: skip
    for row in rows:
        table.add_row(*(TABLE_COLUMNS[name][2](row) for name in columns))
    return table


def as_long_text(rows: Sequence[OutletComparison], title: str, width: int) -> str:
    """One block per outlet, every line wrapped to ``width``: the comparison for a narrow terminal."""
    lines = [*textwrap.wrap(title, width), ""]
    for row in rows:
        place = ", ".join(part for part in (row.country, row.language) if part)
        noun = "article" if row.articles == 1 else "articles"
        lines += textwrap.wrap(f"{row.outlet} ({place}): {row.articles} {noun}", width)
        facts = (
            f"original {format_score(row.original_share, '{:.0%}')} · tone {format_score(row.mean_tone)} · "
            f"certainty {format_score(row.mean_certainty)} · main frame: {frame_name(row.primary_frame)}"
        )
        texts = [facts, "loaded terms: " + (", ".join(row.top_loaded_terms) or "—"),
                 "voices: " + (voices_text(row) or "—")]  # fmt: skip
        if row.translations_of:
            texts.append("translations of: " + translations_text(row))
        for text in texts:
            lines += textwrap.wrap(text, width, initial_indent="  ", subsequent_indent="    ")
        lines.append("")
    return "\n".join(lines)


def legend_text(width: int) -> str:
    return "\n".join(textwrap.wrap(LEGEND, width))


def spreadsheet_safe(value: object) -> object:
    """Text starting like a formula is prefixed with ' so a spreadsheet shows it instead of running it
    (OWASP, "CSV Injection")."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def as_csv(rows: Sequence[OutletComparison]) -> str:
    """CSV with a header; list columns joined with "; ", voice kinds as "kind=count"."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        record = row_as_dict(row)
        record["top_loaded_terms"] = "; ".join(row.top_loaded_terms)
        record["voice_kinds"] = "; ".join(f"{tc.term}={tc.count}" for tc in row.voice_kinds)
        record["translations_of"] = "; ".join(f"{tc.term}={tc.count}" for tc in row.translations_of)
        writer.writerow({key: spreadsheet_safe(value) for key, value in record.items()})
    return buffer.getvalue()


def as_json(rows: Sequence[OutletComparison]) -> str:
    return json.dumps([row_as_dict(row) for row in rows], ensure_ascii=False, indent=2)
