"""The analyst report: one self-contained HTML file (inline CSS, inline SVG, no script, no network).

Every piece of article text reaches the page through Jinja2 with autoescaping on, so markup in a
headline is shown as text and never run; a Content-Security-Policy without script-src backs that up.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from urllib.parse import urlsplit

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from pipeline.analyst.report_charts import (
    VOICE_COLOURS,
    frames_heatmap,
    outlets_chart,
    timeline_chart,
    tone_charts,
    voices_chart,
)
from pipeline.framing.lexicon import load_frames
from schemas.report_records import ActorPortrayal, ReportData

TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"


@lru_cache(maxsize=1)
def report_environment() -> Environment:
    # autoescape=True for every template, whatever its extension: select_autoescape would skip ".j2".
    environment = Environment(
        loader=FileSystemLoader(TEMPLATES_DIR),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    # Only http(s) URLs become links: autoescaping does not stop a "javascript:" URL.
    environment.filters["http_url"] = lambda url: urlsplit(url or "").scheme in ("http", "https")
    return environment


def frame_labels() -> tuple[tuple[str, str], ...]:
    return tuple((key, entry.label) for key, entry in load_frames().frames.items())


# Every section of the report, in page order: the navigation is built from this list, so a section
# cannot be left out of it (the tests check each id exists on the page and in the navigation).
SECTIONS = (
    ("story", "The story"),
    ("articles", "Articles"),
    ("timeline", "Timeline"),
    ("outlets", "Outlets"),
    ("portrayal", "How outlets portrayed each actor"),
    ("frames", "Frame vocabulary"),
    ("tone", "Wording tone & certainty cues"),
    ("voices", "Who is quoted"),
    ("syndication", "Syndication"),
    ("edits", "Headline edits"),
    ("headlines", "Headlines"),
    ("distinctive", "Distinctive words"),
    ("comparison", "Outlet comparison"),
    ("health", "Crawler health"),
    ("methods", "Methods"),
)
LANGUAGE_NAMES = {"en": "English", "es": "Spanish"}


@dataclass(frozen=True)
class MeasureAgreement:
    """What each measure is worth, as ``make bench-framing`` measured it (docs/framing.md has the
    table, its data and its date): the report states it beside the measures."""

    actor_tone_f1: float
    vader_f1: float
    majority_f1: float
    rows: tuple[tuple[str, str, str], ...]  # (measure, measured agreement, how to read it)


# make bench-framing of 2026-12-06: NewsMTSC train split, 5-fold grouped cross-validation, n=8739.
AGREEMENT = MeasureAgreement(
    actor_tone_f1=0.645,
    vader_f1=0.520,
    majority_f1=0.183,
    rows=(
        ("Tone toward actors, English", "macro-F1 0.645 toward the persons named in English news "
         "(plain VADER 0.520, a bag-of-words classifier 0.605)", "a validated measure; check its sentences"),
        ("Tone toward actors, Spanish", "not measured: no labelled Spanish news could be used",
         "descriptive only (cross-lingual transfer not measured)"),
        ("Tone (wording)", "VADER per sentence: macro-F1 0.520 toward the persons named; article tone "
         "itself not measured", "descriptive: how negative the wording is, not a stance"),
        ("Frame vocabulary", "not measured: no frame-labelled news could be used", "descriptive only"),
        ("Certainty cues", "not measured: no hedge-labelled news could be used", "descriptive only"),
        ("Who is quoted", "not measured", "pattern matches of named speakers with speech verbs"),
        ("Loaded terms", "not measured: no bias-labelled news could be used", "uses of a list, not bias"),
        ("Distinctive words", "not measured against words annotators mark as biased",
         "distinctive words, not bias"),
    ),
)  # fmt: skip


def portrayal_groups(data: ReportData) -> list[tuple[str, list[ActorPortrayal]]]:
    """Portrayals grouped by actor, actors in the story's order (then any other, alphabetically)."""
    order = {actor: position for position, actor in enumerate(data.actors)}
    groups: dict[str, list[ActorPortrayal]] = {}
    for portrayal in data.portrayals:
        groups.setdefault(portrayal.actor, []).append(portrayal)
    return sorted(groups.items(), key=lambda item: (order.get(item[0], len(order)), item[0]))


def render_report(data: ReportData) -> str:
    """The whole report as one HTML document."""
    template = report_environment().get_template("report.html.j2")
    return template.render(
        data=data,
        sections=SECTIONS,
        charts={
            "timeline": timeline_chart(data.timeline),
            "outlets": outlets_chart(data.outlets),
            "voices": voices_chart(data.voices),
        },
        heatmap=frames_heatmap(data.frames, frame_labels()),
        by_language=tone_charts(data.tone),
        voice_colours=VOICE_COLOURS,
        frame_label=dict(frame_labels()),
        language_name=LANGUAGE_NAMES,
        comparisons=sorted(data.comparisons, key=lambda c: (c.language or "", c.outlet)),
        portrayal_groups=portrayal_groups(data),
        evidence={e.outlet: e for e in data.outlet_evidence},
        agreement=AGREEMENT,
    )
