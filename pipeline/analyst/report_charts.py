"""Geometry of the report's SVG charts, computed in Python so the HTML needs no script.

Each function turns report rows into shapes (numbers and label strings); the Jinja template draws
them, with autoescaping, so no label is ever inserted as markup.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from schemas.report_records import FrameCell, OutletRow, OutletToneRow, TimelineBucket, VoiceCount

CHART_WIDTH = 640
ROW_HEIGHT = 22
LABEL_WIDTH = 190
# Row labels right-aligned against the bars: longer names are shortened (the full name is in the tables).
LABEL_CHARACTERS = 26
VOICE_COLOURS = {
    "us_government": "#1f5fa8",
    "mexican_government": "#2e8b57",
    "anonymous": "#7f7f7f",
    "expert": "#b8860b",
    "other_media": "#8b4fa8",
    "named_person": "#c0504d",
    "other": "#bbbbbb",
}


@dataclass(frozen=True)
class Rect:
    x: float
    y: float
    width: float
    height: float
    fill: str
    title: str  # tooltip text (escaped by the template)


@dataclass(frozen=True)
class Label:
    x: float
    y: float
    text: str
    anchor: str = "start"  # SVG text-anchor


def row_label(text: str) -> str:
    return text if len(text) <= LABEL_CHARACTERS else text[: LABEL_CHARACTERS - 1].rstrip() + "…"


@dataclass(frozen=True)
class Chart:
    kind: str  # css hook and test hook: "timeline", "heatmap", "tone", "certainty", "voices", "outlets"
    width: float
    height: float
    rects: tuple[Rect, ...]
    labels: tuple[Label, ...]
    lines: tuple[tuple[float, float, float, float], ...] = ()  # axis lines (x1, y1, x2, y2)


def timeline_chart(buckets: Sequence[TimelineBucket]) -> Chart:
    """Articles per day as vertical bars, each with its count above it and its date (with the year) below."""
    height, top, bottom = 220, 24, 40
    peak = max((b.articles for b in buckets), default=0) or 1
    step = (CHART_WIDTH - 40) / max(len(buckets), 1)
    every = 1 if len(buckets) <= 14 else max(len(buckets) // 7, 1)
    rects, labels = [], []
    for i, bucket in enumerate(buckets):
        bar = (height - top - bottom) * bucket.articles / peak
        x = 30 + i * step
        title = f"{bucket.day.isoformat()}: {bucket.articles} articles, {bucket.outlets} outlets"
        rects.append(Rect(x, height - bottom - bar, max(step - 4, 2), bar, "#1f5fa8", title))
        if step >= 16 or i % every == 0:
            labels.append(Label(x + step / 2, height - bottom - bar - 5, str(bucket.articles), "middle"))
        if i % every == 0:
            labels.append(
                Label(x + step / 2, height - bottom + 16, bucket.day.strftime("%d %b %Y"), "middle")
            )
    labels.append(Label(30, height - 6, "publication date (UTC); bar height: articles that day"))
    axis = ((30, height - bottom, CHART_WIDTH - 10, height - bottom),)
    return Chart("timeline", CHART_WIDTH, height, tuple(rects), tuple(labels), axis)


def horizontal_bars(kind: str, rows: Sequence[tuple[str, float, str]], fill: str) -> Chart:
    """One bar per (label, value, tooltip), longest bar = full width."""
    peak = max((value for _, value, _ in rows), default=0) or 1
    span = CHART_WIDTH - LABEL_WIDTH - 50
    rects, labels = [], []
    for i, (label, value, title) in enumerate(rows):
        y = 5 + i * ROW_HEIGHT
        rects.append(Rect(LABEL_WIDTH, y, span * value / peak, ROW_HEIGHT - 6, fill, title))
        labels.append(Label(LABEL_WIDTH - 6, y + 12, row_label(label), "end"))
        labels.append(Label(LABEL_WIDTH + span * value / peak + 4, y + 12, f"{value:g}"))
    return Chart(kind, CHART_WIDTH, 10 + len(rows) * ROW_HEIGHT, tuple(rects), tuple(labels))


def outlets_chart(outlets: Sequence[OutletRow]) -> Chart:
    """Articles per country and language."""
    totals: dict[str, int] = {}
    for row in outlets:
        key = f"{row.country or '?'} · {row.language or '?'}"
        totals[key] = totals.get(key, 0) + row.articles
    rows = [
        (key, n, f"{key}: {n} articles") for key, n in sorted(totals.items(), key=lambda kv: (-kv[1], kv[0]))
    ]
    return horizontal_bars("outlets", rows, "#2e8b57")


def diverging_chart(kind: str, rows: Sequence[tuple[str, float]]) -> Chart:
    """Bars from a centre line for scores on -1..1 (tone, certainty), each with its value."""
    centre = LABEL_WIDTH + (CHART_WIDTH - LABEL_WIDTH - 40) / 2
    half = (CHART_WIDTH - LABEL_WIDTH - 80) / 2
    rects, labels = [], []
    for i, (label, value) in enumerate(rows):
        y = 5 + i * ROW_HEIGHT
        length = half * max(-1.0, min(1.0, value))
        fill = "#2e8b57" if value >= 0 else "#c0504d"
        rects.append(
            Rect(min(centre, centre + length), y, abs(length), ROW_HEIGHT - 6, fill, f"{label}: {value:+.2f}")
        )
        labels.append(Label(LABEL_WIDTH - 6, y + 12, row_label(label), "end"))
        end = centre + length
        labels.append(
            Label(end + 4, y + 12, f"{value:+.2f}")
            if value >= 0
            else Label(end - 4, y + 12, f"{value:+.2f}", "end")
        )
    height = 30 + len(rows) * ROW_HEIGHT
    labels += [Label(centre - half, height - 6, "-1", "middle"), Label(centre, height - 6, "0", "middle"),
               Label(centre + half, height - 6, "+1", "middle")]  # fmt: skip
    return Chart(kind, CHART_WIDTH, height, tuple(rects), tuple(labels), ((centre, 0, centre, height - 18),))


@dataclass(frozen=True)
class LanguageCharts:
    """Tone and certainty of the outlets writing in one language: measured with that language's word
    lists, so compared within it (docs/framing.md)."""

    language: str
    tone: Chart
    certainty: Chart


def tone_charts(rows: Sequence[OutletToneRow]) -> tuple[LanguageCharts, ...]:
    languages = sorted({r.language or "?" for r in rows})
    return tuple(
        LanguageCharts(
            language,
            diverging_chart(
                "tone", [(r.outlet, r.mean_tone) for r in rows if (r.language or "?") == language]
            ),
            diverging_chart(
                "certainty", [(r.outlet, r.mean_certainty) for r in rows if (r.language or "?") == language]
            ),
        )
        for language in languages
    )


def heat_fill(level: float) -> str:
    """White (0) to dark blue (1): a single-hue scale that reads in greyscale too."""
    level = max(0.0, min(1.0, level))
    red, green, blue = (round(255 - (255 - c) * level) for c in (31, 95, 168))
    return f"rgb({red},{green},{blue})"


@dataclass(frozen=True)
class HeatCell:
    share: float
    fill: str
    dark: bool  # white text on a dark cell
    title: str


@dataclass(frozen=True)
class Heatmap:
    """Outlets (rows) by frame dimensions (columns), an HTML table so every label is shown in full."""

    columns: tuple[str, ...]  # frame labels
    rows: tuple[tuple[str, tuple[HeatCell, ...]], ...]
    peak: float  # the largest share: the darkest colour, so the scale fits the data
    legend: tuple[tuple[float, str], ...]  # (share, fill) stops from 0 to the peak


def frames_heatmap(cells: Sequence[FrameCell], frame_labels: Sequence[tuple[str, str]]) -> Heatmap:
    outlets = sorted({cell.outlet for cell in cells})
    share = {(cell.outlet, cell.frame): cell.share for cell in cells}
    peak = max(share.values(), default=0.0) or 1.0

    def cell(outlet: str, key: str, label: str) -> HeatCell:
        value = share.get((outlet, key), 0.0)
        return HeatCell(
            value, heat_fill(value / peak), value / peak > 0.55, f"{outlet} · {label}: {value:.0%}"
        )

    rows = tuple((o, tuple(cell(o, key, label) for key, label in frame_labels)) for o in outlets)
    legend = tuple((peak * step / 4, heat_fill(step / 4)) for step in range(5))
    return Heatmap(tuple(label for _, label in frame_labels), rows, peak, legend)


def voices_chart(counts: Sequence[VoiceCount]) -> Chart:
    """Per outlet, a bar split by the kind of voice quoted, as shares of the outlet's voices."""
    outlets = sorted({c.outlet for c in counts})
    span = CHART_WIDTH - LABEL_WIDTH - 20
    rects, labels = [], []
    for i, outlet in enumerate(outlets):
        own = [c for c in counts if c.outlet == outlet and c.count > 0]
        total = sum(c.count for c in own) or 1
        x, y = float(LABEL_WIDTH), 5 + i * ROW_HEIGHT
        for c in sorted(
            own,
            key=lambda c: list(VOICE_COLOURS).index(c.voice_kind) if c.voice_kind in VOICE_COLOURS else 99,
        ):
            width = span * c.count / total
            fill = VOICE_COLOURS.get(c.voice_kind, "#dddddd")
            rects.append(Rect(x, y, width, ROW_HEIGHT - 6, fill, f"{outlet} · {c.voice_kind}: {c.count}"))
            x += width
        labels.append(Label(LABEL_WIDTH - 6, y + 12, row_label(outlet), "end"))
    return Chart("voices", CHART_WIDTH, 10 + len(outlets) * ROW_HEIGHT, tuple(rects), tuple(labels))
