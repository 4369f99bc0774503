"""The analyst HTML report (issue 7): self-contained, every section and chart present, article text
escaped so markup in a headline is shown and never run."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from pipeline.report import render_report
from schemas.framing_records import OutletComparison, TermCount
from schemas.report_records import (
    DistinctiveTermRow,
    FrameCell,
    HeadlineEdit,
    HeadlineRow,
    OutletRow,
    OutletToneRow,
    QuotedVoice,
    ReportData,
    SyndicatedCopy,
    SyndicationGroup,
    TimelineBucket,
    VoiceCount,
)
from tests.browser import dump_dom, screenshot

HOSTILE_HEADLINE = "US weighs strikes <script>window.__pwned=1</script>\r\nsecond line"
# If this ever ran, it would leave a mark in the DOM that --dump-dom shows.
HOSTILE_LEDE = "Lede with <img src=x onerror=\"document.body.setAttribute('data-pwned','1')\">."
WHEN = datetime(2025, 11, 10, 9, 30, tzinfo=UTC)


def sample_report() -> ReportData:
    return ReportData(
        story_title="Boots on the ground in Mexico",
        story_slug="us-mexico-cartels",
        generated_at=WHEN,
        timeline=(TimelineBucket(date(2025, 11, 9), 3, 2), TimelineBucket(date(2025, 11, 10), 7, 5)),
        outlets=(OutletRow("Wire Daily", "US", "en", 6), OutletRow("El Diario", "MX", "es", 4)),
        frames=(
            FrameCell("Wire Daily", "security_and_defense", 0.6),
            FrameCell("El Diario", "external_regulation_and_reputation", 0.5),
        ),
        tone=(OutletToneRow("Wire Daily", -0.4, 0.3, 6), OutletToneRow("El Diario", -0.2, -0.5, 4)),
        voices=(
            VoiceCount("Wire Daily", "us_government", 5),
            VoiceCount("Wire Daily", "anonymous", 3),
            VoiceCount("El Diario", "mexican_government", 4),
        ),
        quoted=(QuotedVoice("El Diario", "Claudia Sheinbaum", "presidenta", "mexican_government", 4),),
        syndication=(
            SyndicationGroup(
                "Wire Daily",
                HOSTILE_HEADLINE,
                "https://wire.example/a",
                (SyndicatedCopy("Copy Times", "<b>bold</b> copy", "https://copy.example/a", 0.93),),
            ),
        ),  # fmt: skip
        headline_edits=(
            HeadlineEdit(
                "Wire Daily", "https://wire.example/a", "Old & <i>first</i>", HOSTILE_HEADLINE, WHEN
            ),
        ),
        headlines=(
            HeadlineRow("Wire Daily", WHEN, HOSTILE_HEADLINE, HOSTILE_LEDE, "https://wire.example/a", "en"),
            HeadlineRow(
                "El Diario",
                None,
                "Sheinbaum rechaza la intervención",
                "La presidenta…",
                "https://diario.example/b",
                "es",
                True,
            ),
        ),
        distinctive_terms=(
            DistinctiveTermRow("El Diario", "soberanía", 3.2, 1),
            DistinctiveTermRow("Wire Daily", "<u>boots</u>", 2.5, 1),
        ),
        comparisons=(
            OutletComparison(
                "Wire Daily",
                "US",
                "en",
                6,
                0.5,
                -0.4,
                0.3,
                "security_and_defense",
                ("invasion",),
                (TermCount("us_government", 5),),
            ),
        ),  # fmt: skip
    )


@pytest.fixture(scope="module")
def html() -> str:
    return render_report(sample_report())


def test_markup_in_article_text_is_escaped(html):
    assert "&lt;script&gt;window.__pwned=1&lt;/script&gt;" in html
    assert (
        "&lt;img src=x onerror=&#34;document.body.setAttribute(&#39;data-pwned&#39;,&#39;1&#39;)&#34;&gt;"
        in html
    )
    assert "&lt;b&gt;bold&lt;/b&gt; copy" in html
    assert "&lt;u&gt;boots&lt;/u&gt;" in html
    assert "Old &amp; &lt;i&gt;first&lt;/i&gt;" in html


def test_no_script_element_or_event_handler_reaches_the_page(html):
    assert "<script" not in html.lower()
    assert not re.search(r"<[^>]+\son\w+\s*=", html, flags=re.IGNORECASE)
    assert "script-src" not in html and "default-src 'none'" in html


def test_carriage_returns_do_not_break_out_of_the_text(html):
    # CR/LF stays inside the element's text: the escaped headline is followed by its second line.
    assert re.search(r"&lt;/script&gt;\r?\n?second line", html)


def test_report_is_self_contained(html):
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", html)
    assert "@import" not in html and "<link" not in html


@pytest.mark.parametrize(
    "section",
    [
        "timeline",
        "outlets",
        "frames",
        "tone",
        "voices",
        "syndication",
        "edits",
        "headlines",
        "distinctive",
        "comparison",
    ],
)
def test_every_section_exists(html, section):
    assert f'<section id="{section}">' in html


@pytest.mark.parametrize("chart", ["timeline", "outlets", "heatmap", "tone", "certainty", "voices"])
def test_every_chart_is_an_inline_svg_with_shapes(html, chart):
    match = re.search(rf'<svg class="chart-{chart}".*?</svg>', html, flags=re.DOTALL)
    assert match, chart
    assert "<rect" in match.group(0)


def test_heatmap_has_one_cell_per_outlet_and_frame(html):
    heatmap = re.search(r'<svg class="chart-heatmap".*?</svg>', html, flags=re.DOTALL).group(0)
    assert heatmap.count("<rect") == 2 * 15


def test_page_is_responsive(html):
    assert 'name="viewport"' in html and "@media (max-width" in html


def test_empty_report_still_renders_every_section():
    empty = render_report(ReportData("Nothing yet", "empty", WHEN))
    assert empty.count("<section id=") == 8
    assert "No syndicated copies found." in empty


@pytest.mark.slow
def test_injected_script_does_not_run_in_a_browser(tmp_path: Path):
    page = tmp_path / "report.html"
    page.write_text(render_report(sample_report()), encoding="utf-8")
    dom = dump_dom(page, profile=tmp_path / "profile")
    assert "<svg" in dom and 'class="chart-heatmap"' in dom
    assert "window.__pwned=1" in dom  # the text is on the page...
    assert "<script" not in dom.lower()  # ...as text, not as an element
    assert "data-pwned" not in dom.split("</head>")[1].split(">", 1)[0]  # the handler never ran on <body>
    # Kept as a test artifact (test-artifacts/, git-ignored) for a person to look at.
    artifacts = Path(__file__).resolve().parents[1] / "test-artifacts"
    artifacts.mkdir(exist_ok=True)
    shot = screenshot(page, artifacts / "report.png", profile=tmp_path / "profile")
    assert shot.stat().st_size > 10_000


def test_long_outlet_names_are_shortened_in_chart_rows_only():
    from pipeline.report_charts import LABEL_CHARACTERS, row_label

    long_name = "The Metropolitan Chronicle of Greater Springfield"
    assert len(row_label(long_name)) == LABEL_CHARACTERS and row_label(long_name).endswith("…")
    assert row_label("El Heraldo Nacional") == "El Heraldo Nacional"
