"""The analyst report: one self-contained HTML file (inline CSS, inline SVG, no script, no network).

Every piece of article text reaches the page through Jinja2 with autoescaping on, so markup in a
headline is shown as text and never run; a Content-Security-Policy without script-src backs that up.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from pipeline.framing_lexicon import load_frames
from pipeline.report_charts import (
    VOICE_COLOURS,
    frames_heatmap,
    outlets_chart,
    timeline_chart,
    tone_charts,
    voices_chart,
)
from schemas.report_records import ReportData

TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"


@lru_cache(maxsize=1)
def report_environment() -> Environment:
    # autoescape=True for every template, whatever its extension: select_autoescape would skip ".j2".
    return Environment(
        loader=FileSystemLoader(TEMPLATES_DIR),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def frame_labels() -> tuple[tuple[str, str], ...]:
    return tuple((key, entry.label) for key, entry in load_frames().frames.items())


def render_report(data: ReportData) -> str:
    """The whole report as one HTML document."""
    tone_chart, certainty_chart = tone_charts(data.tone)
    template = report_environment().get_template("report.html.j2")
    return template.render(
        data=data,
        charts={
            "timeline": timeline_chart(data.timeline),
            "outlets": outlets_chart(data.outlets),
            "heatmap": frames_heatmap(data.frames, frame_labels()),
            "tone": tone_chart,
            "certainty": certainty_chart,
            "voices": voices_chart(data.voices),
        },
        voice_colours=VOICE_COLOURS,
        frame_label=dict(frame_labels()),
    )
