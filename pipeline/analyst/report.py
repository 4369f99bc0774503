"""The analyst report: one self-contained HTML file (inline CSS, inline SVG, no script, no network).

Every piece of article text reaches the page through Jinja2 with autoescaping on, so markup in a
headline is shown as text and never run; a Content-Security-Policy without script-src backs that up.
"""

from __future__ import annotations

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
from schemas.report_records import ReportData

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
    ("frames", "Frames"),
    ("tone", "Tone & certainty"),
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
    )
