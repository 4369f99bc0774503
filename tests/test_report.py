"""The analyst HTML report (issue 7): self-contained, every section and chart present, article text
escaped so markup in a headline is shown and never run."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from pipeline.analyst.report import SECTIONS, render_report
from schemas.framing_records import OutletComparison, TermCount
from schemas.report_records import (
    ArticleRow,
    DistinctiveTermRow,
    FrameCell,
    HeadlineEdit,
    HeadlineRow,
    OutletRow,
    OutletToneRow,
    QuotedVoice,
    ReportData,
    StoryDefinition,
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
        tone=(
            OutletToneRow("Wire Daily", -0.4, 0.3, 6, "en"),
            OutletToneRow("El Diario", -0.2, -0.5, 4, "es"),
        ),
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
        definition=StoryDefinition(
            summary=(("en", "US military action against cartels in Mexico."),),
            window_start=datetime(2025, 11, 1, tzinfo=UTC),
            window_end=datetime(2025, 12, 31, 23, 59, tzinfo=UTC),
            key_terms=(
                ("en", ("boots on the ground", "special forces")),
                ("es", ("tropas estadounidenses",)),
            ),
        ),
        articles=(
            ArticleRow(
                HOSTILE_HEADLINE,
                "https://wire.example/a",
                "Wire Daily",
                "en",
                WHEN,
                tone=-0.4,
                certainty=0.3,
                primary_frame="security_and_defense",
            ),
            ArticleRow(
                "Sheinbaum rechaza la intervención",
                "https://diario.example/b",
                "El Diario",
                "es",
                None,
                copy_of_outlet="Wire Daily",
                copy_of_headline="US weighs strikes",
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
    # Nothing is loaded from elsewhere: no src, no stylesheet link, no @import or url(); the only
    # outward references are the article links an analyst clicks (issue 23), on <a> elements.
    assert not re.search(r"""<[^>]+\ssrc\s*=""", html)
    assert "@import" not in html and "<link" not in html and "url(" not in html
    outward = re.findall(r"""<(\w+)[^>]*\shref\s*=\s*["']?(?:https?:)?//""", html)
    assert outward and set(outward) == {"a"}


@pytest.mark.parametrize("section", [section for section, _ in SECTIONS])
def test_every_section_exists_and_is_in_the_navigation(html, section):
    assert f'<section id="{section}">' in html
    navigation = re.search(r"<nav.*?</nav>", html, flags=re.DOTALL).group(0)
    assert f'href="#{section}"' in navigation


def test_the_navigation_lists_every_section_on_the_page(html):
    on_page = re.findall(r'<section id="([\w-]+)">', html)
    navigation = re.search(r"<nav.*?</nav>", html, flags=re.DOTALL).group(0)
    assert re.findall(r'href="#([\w-]+)"', navigation) == on_page


def test_the_story_definition_opens_the_report(html):
    story = re.search(r'<section id="story">.*?</section>', html, flags=re.DOTALL).group(0)
    assert html.index('<section id="story">') < html.index('<section id="articles">')
    assert "US military action against cartels in Mexico." in story
    assert "2025-11-01 00:00 UTC to 2025-12-31 23:59 UTC" in story
    assert "boots on the ground, special forces" in story and "tropas estadounidenses" in story


def test_every_article_is_a_row_with_its_link_outlet_copy_and_measures(html):
    table = re.search(r'<table class="articles">.*?</table>', html, flags=re.DOTALL).group(0)
    rows = re.findall(r'<tr class="article">.*?</tr>', table, flags=re.DOTALL)
    assert len(rows) == 2
    assert '<a href="https://wire.example/a">US weighs strikes &lt;script&gt;' in rows[0]
    assert (
        "original" in rows[0]
        and "-0.40" in rows[0]
        and "+0.30" in rows[0]
        and "Security and defense" in rows[0]
    )
    assert "copy of Wire Daily" in rows[1] and "—" in rows[1]


def test_a_javascript_url_is_never_a_link():
    data = replace(
        sample_report(), articles=(ArticleRow("Bad", "javascript:alert(1)", "Wire Daily", "en", WHEN),)
    )
    articles = render_report(data).split('<section id="articles">')[1].split("</section>")[0]
    assert "javascript:" not in articles and ">Bad</td>" in articles


def test_discovered_outlets_are_marked_wherever_they_appear():
    data = replace(sample_report(), discovered_outlets=frozenset({"El Diario"}))
    page = render_report(data)
    assert page.count('El Diario <span class="badge"') >= 3  # outlets table, heatmap, tone, voices...
    assert 'Wire Daily <span class="badge"' not in page


def test_tone_and_certainty_are_shown_within_each_language(html):
    tone = re.search(r'<section id="tone">.*?</section>', html, flags=re.DOTALL).group(0)
    assert "English-language outlets" in tone and "Spanish-language outlets" in tone
    english, spanish = tone.split("<h3>Spanish-language outlets</h3>")
    assert "Wire Daily" in english and "El Diario" not in english and "El Diario" in spanish


def test_the_methods_are_in_the_report_not_in_a_repository_path(html):
    assert "docs/" not in html and ".md" not in html
    methods = re.search(r'<section id="methods">.*?</section>', html, flags=re.DOTALL).group(0)
    for measure in ("Tone", "Certainty", "Frames", "Who is quoted", "Loaded terms", "Distinctive words"):
        assert f"<dt>{measure}</dt>" in methods
    assert "<code>*</code> matches any ending" in methods


@pytest.mark.parametrize("chart", ["timeline", "outlets", "tone", "certainty", "voices"])
def test_every_chart_is_an_inline_svg_with_shapes(html, chart):
    match = re.search(rf'<svg class="chart-{chart}".*?</svg>', html, flags=re.DOTALL)
    assert match, chart
    assert "<rect" in match.group(0)


def heatmap_cells(page: str) -> list[str]:
    heatmap = re.search(r'<table class="heatmap">.*?</table>', page, flags=re.DOTALL).group(0)
    return re.findall(r'<td class="cell[^"]*"[^>]*>([^<]*)</td>', heatmap)


def test_heatmap_shows_every_cell_with_its_value_and_every_label_in_full(html):
    cells = heatmap_cells(html)
    assert len(cells) == 2 * 15
    assert sorted(cells)[-2:] == ["50", "60"] and cells.count("0") == 28
    assert "<span>Legality, constitutionality and jurisprudence</span>" in html


def test_heatmap_colours_are_scaled_to_the_largest_share(html):
    from pipeline.analyst.report_charts import heat_fill

    # The largest cell (60%) gets the scale's darkest colour, as 100% would on a full scale.
    assert f'style="background: {heat_fill(1.0)}" title="Wire Daily · Security and defense: 60%"' in html
    assert "from 0 to the largest cell (60%)" in html


def test_timeline_labels_carry_the_year_and_the_counts(html):
    timeline = re.search(r'<svg class="chart-timeline".*?</svg>', html, flags=re.DOTALL).group(0)
    labels = re.findall(r">([^<>]+)</text>", timeline)
    assert "09 Nov 2025" in labels and "10 Nov 2025" in labels and "3" in labels and "7" in labels


def test_page_is_responsive(html):
    assert 'name="viewport"' in html and "@media (max-width" in html


def test_empty_report_still_renders_every_section_and_says_why():
    reason = "No article matches this story yet. Its window is 2025-11-01 to 2025-12-31; no cycle has run."
    empty = render_report(ReportData("Nothing yet", "empty", WHEN, empty_reason=reason))
    assert empty.count("<section id=") == len(SECTIONS)
    assert "No syndicated copies found." in empty
    assert f'<p class="empty-reason">{reason}</p>' in empty


@pytest.mark.slow
def test_injected_script_does_not_run_in_a_browser(tmp_path: Path):
    page = tmp_path / "report.html"
    page.write_text(render_report(sample_report()), encoding="utf-8")
    dom = dump_dom(page, profile=tmp_path / "profile")
    assert "<svg" in dom and 'class="chart-timeline"' in dom
    assert "window.__pwned=1" in dom  # the text is on the page...
    assert "<script" not in dom.lower()  # ...as text, not as an element
    assert "data-pwned" not in dom.split("</head>")[1].split(">", 1)[0]  # the handler never ran on <body>


@pytest.mark.slow
def test_the_rendered_report_has_article_links_a_complete_navigation_and_heatmap_values(tmp_path: Path):
    """Issue 23, in headless Chromium: what the browser built from the page, not the template's text."""
    page = tmp_path / "report.html"
    page.write_text(render_report(sample_report()), encoding="utf-8")
    dom = dump_dom(page, profile=tmp_path / "profile")
    links = re.findall(r'<a href="(https://[^"]+)">', dom)
    assert {"https://wire.example/a", "https://diario.example/b"} <= set(links)
    navigation = re.search(r"<nav.*?</nav>", dom, flags=re.DOTALL).group(0)
    assert re.findall(r'href="#([\w-]+)"', navigation) == re.findall(r'<section id="([\w-]+)"', dom)
    assert len(heatmap_cells(dom)) == 30 and "60" in heatmap_cells(dom)
    # Kept as test artifacts (test-artifacts/, git-ignored) for a person to look at.
    artifacts = Path(__file__).resolve().parents[1] / "test-artifacts"
    artifacts.mkdir(exist_ok=True)
    shot = screenshot(page, artifacts / "report.png", profile=tmp_path / "profile")
    assert shot.stat().st_size > 10_000


def test_long_outlet_names_are_shortened_in_chart_rows_only():
    from pipeline.analyst.report_charts import LABEL_CHARACTERS, row_label

    long_name = "The Metropolitan Chronicle of Greater Springfield"
    assert len(row_label(long_name)) == LABEL_CHARACTERS and row_label(long_name).endswith("…")
    assert row_label("El Heraldo Nacional") == "El Heraldo Nacional"
