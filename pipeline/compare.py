"""The per-outlet comparison, formatted: a rich table for the terminal, CSV and JSON for export.

Pure formatting of ``OutletComparison`` rows; building the rows from framing results is
``comparison_rows``.
"""

from __future__ import annotations

import csv
import io
import json
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from statistics import fmean

from rich.table import Table

from schemas.framing_records import ArticleFraming, OutletComparison, TermCount

COLUMNS = (
    "outlet", "country", "language", "articles", "original_share", "mean_tone", "mean_certainty",
    "primary_frame", "top_loaded_terms", "voice_kinds",
)  # fmt: skip


@dataclass(frozen=True)
class OutletArticle:
    """One framed article with the outlet facts the comparison groups by."""

    outlet: str
    framing: ArticleFraming
    country: str | None = None
    syndicated: bool = False


def _mean(values: Sequence[float]) -> float | None:
    return round(fmean(values), 4) if values else None


def outlet_comparison(outlet: str, articles: Sequence[OutletArticle], top_terms: int = 5) -> OutletComparison:
    framings = [a.framing for a in articles]
    frame_totals: Counter[str] = Counter()
    for framing in framings:
        frame_totals.update({f.frame: f.share for f in framing.frames})
    loaded = Counter({tc.term: 0 for f in framings for tc in f.loaded_terms})
    for framing in framings:
        loaded.update({tc.term: tc.count for tc in framing.loaded_terms})
    kinds = Counter(voice.voice_kind for f in framings for voice in f.voices)
    best_frame = max(frame_totals.items(), key=lambda kv: kv[1], default=(None, 0))
    return OutletComparison(
        outlet=outlet,
        country=articles[0].country,
        language=Counter(f.language for f in framings).most_common(1)[0][0],
        articles=len(articles),
        original_share=_mean([0.0 if a.syndicated else 1.0 for a in articles]),
        mean_tone=_mean([f.tone.compound for f in framings]),
        mean_certainty=_mean([f.certainty.score for f in framings]),
        primary_frame=best_frame[0] if best_frame[1] > 0 else None,
        top_loaded_terms=tuple(
            term for term, _ in sorted(loaded.items(), key=lambda kv: (-kv[1], kv[0]))[:top_terms]
        ),
        voice_kinds=tuple(TermCount(k, n) for k, n in sorted(kinds.items(), key=lambda kv: (-kv[1], kv[0]))),
    )


def comparison_rows(articles: Iterable[OutletArticle]) -> tuple[OutletComparison, ...]:
    """One comparison row per outlet, outlets in alphabetical order."""
    by_outlet: dict[str, list[OutletArticle]] = {}
    for article in articles:
        by_outlet.setdefault(article.outlet, []).append(article)
    return tuple(outlet_comparison(outlet, by_outlet[outlet]) for outlet in sorted(by_outlet))


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
    }


def format_score(value: float | None, pattern: str = "{:+.2f}") -> str:
    return "—" if value is None else pattern.format(value)


def as_rich_table(rows: Sequence[OutletComparison], title: str = "Framing by outlet") -> Table:
    table = Table(title=title)
    for column, justify in (("Outlet", "left"), ("Country", "left"), ("Lang", "left"), ("Articles", "right"),
                            ("Original", "right"), ("Tone", "right"), ("Certainty", "right"),
                            ("Main frame", "left"), ("Loaded terms", "left"), ("Voices", "left")):  # fmt: skip
        table.add_column(column, justify=justify)
    for row in rows:
        table.add_row(
            row.outlet, row.country or "—", row.language or "—", str(row.articles),
            format_score(row.original_share, "{:.0%}"), format_score(row.mean_tone),
            format_score(row.mean_certainty), row.primary_frame or "—", ", ".join(row.top_loaded_terms),
            ", ".join(f"{tc.term} {tc.count}" for tc in row.voice_kinds),
        )  # fmt: skip
    return table


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
        writer.writerow({key: spreadsheet_safe(value) for key, value in record.items()})
    return buffer.getvalue()


def as_json(rows: Sequence[OutletComparison]) -> str:
    return json.dumps([row_as_dict(row) for row in rows], ensure_ascii=False, indent=2)
