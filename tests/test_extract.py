"""Extraction stage: field parsers, charset decoding, markup styles, body cleaning, the body metric, CLI.

Pages here are small inline HTML written for these tests. Tests that need real pages read them from
../shared/eval and skip when that folder is absent (it is not shipped with the project).
"""

from __future__ import annotations

import gzip
import json
import re
import unicodedata
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from bench.body_metric import document_precision_recall, score_bodies, shingles
from pipeline.cli import app
from pipeline.extract.body import clean_paragraphs, is_boilerplate
from pipeline.extract.fields import (
    ParseFailure,
    byline_organisations,
    date_from_url,
    is_person_name,
    parse_byline,
    parse_datetime,
    parse_url,
)
from pipeline.extract.page import decode_html, extract_article, extract_command
from schemas.records import FeedEntry

EVAL_ROOT = Path(__file__).resolve().parents[2] / "shared" / "eval"

# Body text written for these tests (about the monitored story, in the style of a wire report).
STORY_PARAGRAPHS = [
    "Mexico's president said on Tuesday that her government would not accept any foreign military "
    "operation on its territory, responding to reports that Washington was weighing new options against "
    "drug cartels operating across the border.",
    "Officials in the capital described a series of phone calls between the two governments over the "
    "weekend and said cooperation on security would continue through existing channels, including joint "
    "intelligence work on laboratories that produce synthetic drugs.",
    "Analysts in both countries said the debate reflected growing pressure in the United States to treat "
    "the cartels as terrorist organisations, a designation that changes which agencies can act and under "
    "what legal authority they can do so.",
    "Several lawmakers asked for briefings before any decision was taken, and a spokesperson said no final "
    "decision had been made. The president repeated that sovereignty was not negotiable and that her "
    "government preferred cooperation to confrontation.",
]


def story_body_html() -> str:
    return "".join(f"<p>{p}</p>" for p in STORY_PARAGRAPHS)


def page(head: str = "", body: str = "", lang: str = "en") -> bytes:
    return (
        f'<!DOCTYPE html><html lang="{lang}"><head><meta charset="utf-8">{head}</head>'
        f"<body>{body}</body></html>"
    ).encode()


# ---------------------------------------------------------------- bylines


@pytest.mark.parametrize(
    ("byline", "names"),
    [
        ("By Jane Doe and John Roe", ("Jane Doe", "John Roe")),
        ("Por Ana López y Pedro Martínez", ("Ana López", "Pedro Martínez")),
        ("Jane Doe, Reporter", ("Jane Doe",)),
        ("BY JANE DOE, STAFF WRITER", ("JANE DOE",)),
        ("Staff Writer Jane Doe", ("Jane Doe",)),
        ("By Mary O'Neil | The Daily Bugle", ("Mary O'Neil",)),
        ("Jane Doe (Reuters)", ("Jane Doe",)),
        ("María de la Luz García", ("María de la Luz García",)),
        ("Jane Doe Jane Doe", ("Jane Doe",)),
        ("Escrito por: Luis Hernández, corresponsal", ("Luis Hernández",)),
        ("松岡大地", ("松岡大地",)),
    ],
)
def test_byline_keeps_only_person_names(byline, names):
    assert parse_byline(byline) == names


@pytest.mark.parametrize(
    "byline", ["", "Reuters", "AP", "Redacción", "Foto: Jane Doe", "https://outlet.example/a"]
)
def test_byline_without_a_person_is_a_failure(byline):
    assert isinstance(parse_byline(byline), ParseFailure)


def test_byline_drops_the_outlet_name_given_as_evidence():
    assert parse_byline("Lesotho Herald Staff and Jane Doe", ("Lesotho Herald Staff",)) == ("Jane Doe",)
    assert isinstance(parse_byline("Daily Planet Online", ("Daily Planet Online",)), ParseFailure)


def test_person_name_rejects_roles_and_single_words():
    assert is_person_name("Jane Doe")
    assert not is_person_name("Senior Correspondent")
    assert not is_person_name("Jane")


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=120))
def test_byline_parser_never_raises_and_names_come_from_the_input(text):
    parsed = parse_byline(text)
    if isinstance(parsed, ParseFailure):
        return
    # the parser composes the byline (NFC) first; a canonically equivalent spelling is the same text
    # (hypothesis found 'A A\uf900', whose CJK compatibility ideograph NFC maps to U+8C48)
    squashed = unicodedata.normalize("NFC", " ".join(text.split()))
    for name in parsed:
        assert name == name.strip() and name
        assert all(word in squashed for word in name.split())


# ---------------------------------------------------------------- dates


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2025-11-24T10:32:00-06:00", datetime(2025, 11, 24, 16, 32, tzinfo=UTC)),
        ("2025-11-24T16:32:00Z", datetime(2025, 11, 24, 16, 32, tzinfo=UTC)),
        ("2025-11-24", datetime(2025, 11, 24, tzinfo=UTC)),
        ("24 de noviembre de 2025, 10:32", datetime(2025, 11, 24, 10, 32, tzinfo=UTC)),
        ("lunes 24 de noviembre de 2025 a las 10:32", datetime(2025, 11, 24, 10, 32, tzinfo=UTC)),
        ("November 24, 2025 at 10:32 AM", datetime(2025, 11, 24, 10, 32, tzinfo=UTC)),
    ],
)
def test_dates_are_read_into_utc(raw, expected):
    assert parse_datetime(raw) == expected


@pytest.mark.parametrize("raw", ["", "   ", "not a date at all", "0001-01-01T00:00:00Z"])
def test_unreadable_dates_are_failures(raw):
    assert isinstance(parse_datetime(raw), ParseFailure)


@settings(max_examples=200, deadline=None)
@given(
    st.datetimes(min_value=datetime(1996, 1, 1), max_value=datetime(2090, 1, 1)),
    st.integers(min_value=-12 * 60, max_value=14 * 60),
)
def test_iso_dates_round_trip_to_the_same_instant(moment, offset_minutes):
    aware = moment.replace(tzinfo=timezone(timedelta(minutes=offset_minutes)), microsecond=0)
    parsed = parse_datetime(aware.isoformat())
    assert parsed == aware and parsed.tzinfo == UTC


@settings(max_examples=100, deadline=None)
@given(st.text(max_size=60))
def test_date_parser_never_raises_and_returns_aware_utc(text):
    parsed = parse_datetime(text)
    assert isinstance(parsed, ParseFailure) or parsed.utcoffset() == timedelta(0)


def test_publication_day_from_url_paths():
    assert date_from_url("https://outlet.example/news/2025/11/24/story.html") == datetime(
        2025, 11, 24, tzinfo=UTC
    )
    assert date_from_url("https://outlet.example/politica/20251124/123/story.html") == datetime(
        2025, 11, 24, tzinfo=UTC
    )
    assert isinstance(date_from_url("https://outlet.example/news/story-2025"), ParseFailure)
    assert isinstance(date_from_url("https://outlet.example/2025/13/45/x"), ParseFailure)


# ---------------------------------------------------------------- URLs


def test_urls_are_resolved_and_lose_their_fragment():
    assert parse_url("/a/b?x=1#top", "https://Outlet.Example/z/") == "https://outlet.example/a/b?x=1"
    assert isinstance(parse_url("javascript:void(0)"), ParseFailure)
    assert isinstance(parse_url("mailto:desk@outlet.example"), ParseFailure)
    assert isinstance(parse_url(""), ParseFailure)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=80))
def test_url_parser_returns_absolute_http_without_fragment(text):
    parsed = parse_url(text, "https://outlet.example/news/")
    if not isinstance(parsed, ParseFailure):
        assert re.match(r"^https?://[^/\s]+/", parsed) and "#" not in parsed


# ---------------------------------------------------------------- charsets


def test_declared_latin1_page_decodes_accents():
    html = '<html><head><meta charset="iso-8859-1"></head><body>Peña Nieto, año</body></html>'.encode(
        "latin-1"
    )
    text, _ = decode_html(html)
    assert "Peña Nieto, año" in text


def test_latin1_label_is_read_as_windows_1252_as_browsers_do():
    html = b"<html><body>\x93Boots on the ground\x94 \x96 report</body></html>"
    text, _ = decode_html(html, {"Content-Type": "text/html; charset=ISO-8859-1"})
    assert "\u201cBoots on the ground\u201d \u2013 report" in text


def test_undeclared_legacy_bytes_are_sniffed_as_windows_1252():
    text, encoding = decode_html("<html><body>Soberanía y intervención</body></html>".encode("cp1252"))
    assert "Soberanía y intervención" in text and encoding == "cp1252"


def test_valid_utf8_outranks_a_stale_legacy_declaration():
    html = '<html><head><meta charset="iso-8859-15"></head><body>sanción</body></html>'.encode()
    assert "sanción" in decode_html(html)[0]


def test_byte_order_mark_wins():
    html = (
        b"\xef\xbb\xbf" + '<html><head><meta charset="windows-1252"></head><body>café</body></html>'.encode()
    )
    assert "café" in decode_html(html)[0]


# ---------------------------------------------------------------- markup styles


def test_jsonld_news_article():
    jsonld = {
        "@context": "https://schema.org",
        "@type": "NewsArticle",
        "headline": "Mexico rejects foreign military action against cartels",
        "datePublished": "2025-11-24T10:32:00-06:00",
        "dateModified": "2025-11-24T12:00:00-06:00",
        "author": [
            {"@type": "Person", "name": "Jane Doe"},
            {"@type": "Person", "name": "John Roe"},
            {"@type": "Organization", "name": "Example Wire"},
        ],
        "articleSection": "World",
        "image": "https://outlet.example/lead.jpg",
        "description": "The president says sovereignty is not negotiable.",
    }
    head = (
        f'<script type="application/ld+json">{json.dumps(jsonld)}</script>'
        '<link rel="canonical" href="https://outlet.example/world/mexico-cartels">'
        '<link rel="amphtml" href="https://outlet.example/amp/world/mexico-cartels">'
    )
    article = extract_article(
        page(head, story_body_html()), "https://outlet.example/world/mexico-cartels?utm=x"
    )
    assert article.headline == "Mexico rejects foreign military action against cartels"
    assert article.authors == ("Jane Doe", "John Roe")
    assert article.credited_organisations == ("Example Wire",)
    assert article.published_at == datetime(2025, 11, 24, 16, 32, tzinfo=UTC)
    assert article.modified_at == datetime(2025, 11, 24, 18, 0, tzinfo=UTC)
    assert article.section == "World"
    assert article.canonical_url == "https://outlet.example/world/mexico-cartels"
    assert article.amp_url == "https://outlet.example/amp/world/mexico-cartels"
    assert article.lead_image == "https://outlet.example/lead.jpg"
    assert article.dek == "The president says sovereignty is not negotiable."
    assert article.language == "en"
    assert article.body_paragraphs[0].startswith("Mexico's president said on Tuesday")
    assert article.body_confidence > 0.5
    assert article.sources["headline"] == "json-ld" and article.sources["authors"] == "json-ld"
    assert article.sources["body_paragraphs"] == "trafilatura" and article.sources["language"] == "detector"


def test_jsonld_graph_with_author_reference():
    graph = {
        "@context": "https://schema.org",
        "@graph": [
            {"@type": "WebSite", "@id": "https://outlet.example/#site", "name": "Outlet"},
            {"@type": "Person", "@id": "https://outlet.example/#jane", "name": "Jane Doe"},
            {
                "@type": "NewsArticle",
                "headline": "Cartel strikes debated in Washington",
                "author": {"@id": "https://outlet.example/#jane"},
                "datePublished": "2025-11-23T08:00:00Z",
            },
        ],
    }
    head = f'<script type="application/ld+json">{json.dumps(graph)}</script>'
    article = extract_article(page(head, story_body_html()), "https://outlet.example/a")
    assert article.headline == "Cartel strikes debated in Washington"
    assert article.authors == ("Jane Doe",)
    assert article.published_at == datetime(2025, 11, 23, 8, 0, tzinfo=UTC)


def test_opengraph_only_page():
    head = (
        '<meta property="og:title" content="Sheinbaum: no a la intervención | Diario Ejemplo">'
        '<meta property="og:site_name" content="Diario Ejemplo">'
        '<meta property="article:published_time" content="2025-11-24T09:15:00-06:00">'
        '<meta property="og:image" content="/img/portada.jpg">'
        '<meta property="og:locale" content="es_MX">'
        '<meta name="author" content="Diario Ejemplo">'
    )
    article = extract_article(
        page(head, "<h1>Sheinbaum: no a la intervención</h1>" + story_body_html(), lang=""),
        "https://diario.example/nacional/nota",
    )
    assert article.headline == "Sheinbaum: no a la intervención"
    assert article.published_at == datetime(2025, 11, 24, 15, 15, tzinfo=UTC)
    assert article.lead_image == "https://diario.example/img/portada.jpg"
    assert article.authors == ()  # the outlet is not a person
    assert article.sources["published_at"] == "opengraph"


def test_microdata_article():
    body = (
        '<article itemscope itemtype="https://schema.org/NewsArticle">'
        '<h1 itemprop="headline">Drone strikes on labs under review</h1>'
        '<span itemprop="author" itemscope itemtype="https://schema.org/Person">'
        '<span itemprop="name">John Roe</span></span>'
        '<meta itemprop="datePublished" content="2025-11-22T14:00:00+00:00">'
        f'<div itemprop="articleBody">{story_body_html()}</div></article>'
    )
    article = extract_article(page("", body), "https://outlet.example/b")
    assert article.headline == "Drone strikes on labs under review"
    assert article.authors == ("John Roe",)
    assert article.published_at == datetime(2025, 11, 22, 14, 0, tzinfo=UTC)
    assert article.sources["authors"] == "microdata"


def test_plain_html_byline_and_time_element():
    body = (
        "<article><h1>Officials weigh options on cartels</h1>"
        '<p class="byline">By Jane Doe and John Roe, Reporters</p>'
        '<time datetime="2025-11-21T18:45:00-05:00">Nov. 21</time>'
        f"{story_body_html()}</article>"
    )
    article = extract_article(
        page("<title>Officials weigh options on cartels - Outlet</title>", body), "https://outlet.example/c"
    )
    assert article.headline == "Officials weigh options on cartels"
    assert article.authors == ("Jane Doe", "John Roe")
    assert article.sources["authors"] == "visible-text"
    assert article.published_at == datetime(2025, 11, 21, 23, 45, tzinfo=UTC)
    assert article.sources["published_at"] == "time-element"


def test_spanish_text_date_in_a_time_element():
    body = (
        "<article><h1>Rechazo a la intervención</h1><time>24 de noviembre de 2025, 10:32</time>"
        "<p>La presidenta rechazó este lunes cualquier intervención militar extranjera en el territorio "
        "nacional y afirmó que la cooperación en seguridad seguirá por los canales existentes.</p>"
        * 3
        + "</article>"
    )
    article = extract_article(page("", body, lang="es"), "https://diario.example/nota")
    assert article.published_at == datetime(2025, 11, 24, 10, 32, tzinfo=UTC)
    assert article.language == "es"


def test_latin1_page_end_to_end():
    html = (
        '<html lang="es"><head><meta http-equiv="Content-Type" content="text/html; charset=iso-8859-1">'
        "<title>Soberanía nacional, dice la presidenta</title></head><body><article>"
        "<h1>Soberanía nacional, dice la presidenta</h1><p class='autor'>Por Ana López y Pedro Martínez</p>"
        + "<p>La presidenta afirmó que la soberanía no está a discusión y que México no aceptará "
        "operaciones militares extranjeras en su territorio, según dijo en la conferencia matutina.</p>"
        * 3
        + "</article></body></html>"
    ).encode("latin-1")
    article = extract_article(html, "https://diario.example/2025/11/24/soberania")
    assert article.headline == "Soberanía nacional, dice la presidenta"
    assert article.authors == ("Ana López", "Pedro Martínez")
    assert "soberanía no está a discusión" in article.body_text
    assert (
        article.published_at == datetime(2025, 11, 24, tzinfo=UTC)
        and article.sources["published_at"] == "url"
    )


def test_feed_entry_fills_what_the_page_lacks():
    entry = FeedEntry(
        url="https://outlet.example/d",
        title="Feed headline about cartel policy",
        published=datetime(2025, 11, 20, 7, 0, tzinfo=UTC),
        authors=("Jane Doe",),
    )
    article = extract_article(page("", story_body_html()), "https://outlet.example/d", feed_entry=entry)
    assert article.headline == "Feed headline about cartel policy" and article.sources["headline"] == "feed"
    assert article.authors == ("Jane Doe",) and article.sources["authors"] == "feed"
    assert article.published_at == datetime(2025, 11, 20, 7, 0, tzinfo=UTC)


def test_empty_page_gives_an_empty_article_not_an_error():
    article = extract_article(b"", "https://outlet.example/e")
    assert article.body_paragraphs == () and article.body_confidence == 0.0 and article.headline is None


# ---------------------------------------------------------------- body cleaning


def test_cleaning_drops_navigation_and_keeps_prose():
    paragraphs = (
        "Officials weigh options",
        "The first paragraph of the report is here.",
        "Read more: Another story",
        "Related: More coverage",
        "- A teaser link",
        "3 comments",
        "Email Jane at jane@outlet.example",
        "China reacts to the report [VIDEO]",
        "The last paragraph of the report is here.",
    )
    assert clean_paragraphs(paragraphs, "Officials weigh options") == (
        "The first paragraph of the report is here.",
        "The last paragraph of the report is here.",
    )


def test_a_sentence_that_mentions_reading_is_not_boilerplate():
    assert not is_boilerplate("Read the full statement, officials said, before the vote on Tuesday.")
    assert not is_boilerplate(STORY_PARAGRAPHS[0])


# ---------------------------------------------------------------- body metric


def test_metric_shingles_are_token_4grams_and_short_texts_are_one_shingle():
    assert sum(shingles("a b c d e").values()) == 2
    assert shingles("a b") == {("a", "b"): 1}


def test_metric_identical_and_missing_predictions():
    assert document_precision_recall("one two three four five", "one two three four five") == (1.0, 1.0)
    precision, recall = document_precision_recall("one two three four five", "")
    assert precision is None and recall == 0.0
    assert document_precision_recall("", "") == (1.0, 1.0)


def test_metric_partial_overlap_counts_multisets():
    # truth shingles: (a b c d), (b c d e); prediction: (a b c d), (b c d x) -> tp 1, fp 1, fn 1
    precision, recall = document_precision_recall("a b c d e", "a b c d x")
    assert precision == pytest.approx(0.5) and recall == pytest.approx(0.5)


def test_metric_averages_over_documents_and_takes_f1_of_the_means():
    score = score_bodies({"x": "a b c d e", "y": "p q r s"}, {"x": "a b c d x"})
    assert score.precision == pytest.approx(0.5)  # y has no prediction: precision undefined, skipped
    assert score.recall == pytest.approx(0.25)
    assert score.f1 == pytest.approx(2 * 0.5 * 0.25 / 0.75)


# ---------------------------------------------------------------- CLI


def test_extract_command_writes_one_record_per_page(tmp_path):
    (tmp_path / "story-1.html.gz").write_bytes(
        gzip.compress(page("<title>Cartels</title>", story_body_html()))
    )
    (tmp_path / "story-2.html").write_bytes(page("", story_body_html()))
    (tmp_path / "urls.json").write_text(json.dumps({"story-1": "https://outlet.example/2025/11/24/x"}))
    out = tmp_path / "out.json"
    result = CliRunner().invoke(
        app,
        [
            "extract",
            str(tmp_path / "story-1.html.gz"),
            str(tmp_path / "story-2.html"),
            "--out",
            str(out),
            "--urls",
            str(tmp_path / "urls.json"),
        ],
    )
    assert result.exit_code == 0, result.output
    written = json.loads(out.read_text())
    assert set(written) == {"story-1", "story-2"}
    assert set(written["story-1"]) == {"articleBody", "title", "authors", "published", "language"}
    assert written["story-1"]["published"] == "2025-11-24T00:00:00+00:00"
    assert written["story-2"]["articleBody"].startswith("Mexico's president")


def test_extract_command_rejects_bad_input_without_writing(tmp_path):
    out = tmp_path / "out.json"
    result = CliRunner().invoke(app, ["extract", str(tmp_path / "missing.html"), "--out", str(out)])
    assert result.exit_code == 2 and "missing.html" in result.output and not out.exists()
    (tmp_path / "notes.txt").write_text("x")
    with pytest.raises(ValueError, match="not an .html"):
        extract_command([tmp_path / "notes.txt"], out)


# ---------------------------------------------------------------- real pages (optional)

BENCHMARK = EVAL_ROOT / "article-extraction-benchmark"


@pytest.mark.skipif(not BENCHMARK.is_dir(), reason=f"evaluation pages not present at {BENCHMARK}")
def test_body_matches_ground_truth_on_real_benchmark_pages():
    truth = json.loads((BENCHMARK / "ground-truth.json").read_text(encoding="utf-8"))
    sample = sorted(truth)[:12]
    predictions = {
        page_id: extract_article(
            gzip.decompress((BENCHMARK / "html" / f"{page_id}.html.gz").read_bytes()), truth[page_id]["url"]
        ).body_text
        for page_id in sample
    }
    score = score_bodies({page_id: truth[page_id]["articleBody"] for page_id in sample}, predictions)
    assert score.f1 > 0.9


def test_declared_language_breaks_a_close_call_but_not_a_clear_detection():
    from pipeline.extract.page import choose_language

    spanish = " ".join(
        ["La presidenta rechazó la intervención militar extranjera en el territorio nacional."] * 4
    )
    assert choose_language(spanish, "en") == ("es", "detector")  # clear Spanish text beats a wrong label
    assert choose_language("Corto.", "es") == ("es", "declared")  # too short to detect
    assert choose_language("", None) == (None, None)


def test_feed_full_text_stands_in_when_the_page_shows_no_text():
    entry = FeedEntry(url="https://outlet.example/f", content="\n\n".join(STORY_PARAGRAPHS))
    article = extract_article(page("", '<div id="app"></div>'), "https://outlet.example/f", feed_entry=entry)
    assert article.body_paragraphs == tuple(STORY_PARAGRAPHS)
    assert article.sources["body_paragraphs"] == "feed" and 0 < article.body_confidence < 1


# ---------------------------------------------------------------- credited organisations


@pytest.mark.parametrize(
    ("byline", "organisations"),
    [
        ("Jane Doe und John Roe, dpa", ("dpa",)),
        ("Associated Press", ("Associated Press",)),
        ("Jane Doe (Reuters)", ("Reuters",)),
        ("Jane Doe, Staff Writer", ()),
        ("Senior Correspondent", ()),
        ("By Jane Doe and John Roe", ()),
        ("https://outlet.example/authors/jane", ()),
    ],
)
def test_byline_organisations_are_the_credits_that_are_not_people(byline, organisations):
    assert byline_organisations(byline) == organisations


def test_a_newsroom_code_after_a_name_is_not_an_organisation():
    assert byline_organisations("Jane Doe (jdo)") == ()
    assert byline_organisations("Jane Doe (dpa)") == ("dpa",)  # letters not taken from the name


def test_korean_reporter_title_is_not_part_of_the_name():
    assert parse_byline("김민수 기자") == ("김민수",)


def test_a_credit_naming_the_outlet_is_not_a_person():
    assert isinstance(parse_byline("Outlet Nord", ("Outlet",)), ParseFailure)
    assert parse_byline("Jane Doe", ("Outlet",)) == ("Jane Doe",)


def _jsonld_head(author: object, publisher: str = "Daily Example") -> str:
    jsonld = {
        "@context": "https://schema.org",
        "@type": "NewsArticle",
        "headline": "Mexico rejects foreign military action against cartels",
        "author": author,
        "publisher": {"@type": "NewsMediaOrganization", "name": publisher},
    }
    return f'<script type="application/ld+json">{json.dumps(jsonld)}</script>'


def test_agency_credits_are_kept_apart_from_people():
    author = [{"@type": "Person", "name": "Associated Press"}, {"@type": "Person", "name": "Jane Doe"}]
    article = extract_article(page(_jsonld_head(author), story_body_html()), "https://outlet.example/a")
    assert article.authors == ("Jane Doe",)
    assert article.credited_organisations == ("Associated Press",)
    assert article.sources["credited_organisations"] == "json-ld"


def test_the_outlet_crediting_itself_counts_only_when_no_person_is_named():
    alone = {"@type": "Organization", "name": "Daily Example"}
    with_person = [alone, {"@type": "Person", "name": "Jane Doe"}]
    article = extract_article(page(_jsonld_head(alone), story_body_html()), "https://outlet.example/a")
    assert article.authors == () and article.credited_organisations == ("Daily Example",)
    article = extract_article(page(_jsonld_head(with_person), story_body_html()), "https://outlet.example/a")
    assert article.authors == ("Jane Doe",) and article.credited_organisations == ()


def test_link_preview_label_names_the_author():
    head = (
        '<meta name="twitter:label1" content="Written by"><meta name="twitter:data1" content="Jane Doe">'
        '<meta name="twitter:label2" content="Est. reading time"><meta name="twitter:data2" content="4 minutes">'
    )
    article = extract_article(page(head, story_body_html()), "https://outlet.example/a")
    assert article.authors == ("Jane Doe",)
    assert article.sources["authors"] == "meta"


def test_a_repeated_author_tag_is_read_past_the_site_name():
    head = (
        '<meta property="og:site_name" content="Daily Example">'
        '<meta name="author" content="Daily Example"><meta name="author" content="Jane Doe">'
    )
    article = extract_article(page(head, story_body_html()), "https://outlet.example/a")
    assert article.authors == ("Jane Doe",)


# ---------------------------------------------------------------- headlines


@pytest.mark.parametrize(
    "title",
    [
        "Sheinbaum rejects intervention | World News | Daily Example",
        "Daily Example - Sheinbaum rejects intervention",
        "Sheinbaum rejects intervention - Daily Example Online",
    ],
)
def test_outlet_name_known_from_the_page_is_cut_from_a_lone_title(title):
    head = f'<meta property="og:site_name" content="Daily Example"><title>{title}</title>'
    article = extract_article(page(head, story_body_html()), "https://outlet.example/a")
    assert article.headline == "Sheinbaum rejects intervention"


def test_a_title_part_not_naming_the_outlet_stays():
    head = '<meta property="og:site_name" content="Daily Example"><title>Sheinbaum: no - a la intervención</title>'
    article = extract_article(page(head, story_body_html()), "https://outlet.example/a")
    assert article.headline == "Sheinbaum: no - a la intervención"


def test_an_ellipsis_ending_a_headline_is_not_taken_for_a_site_name():
    head = _jsonld_head({"@type": "Person", "name": "Jane Doe"}).replace(
        "against cartels", "against cartels..."
    )
    body = "<h1>Mexico rejects foreign military action against cartels</h1>" + story_body_html()
    article = extract_article(page(head, body), "https://outlet.example/a")
    assert article.headline == "Mexico rejects foreign military action against cartels..."


def test_a_body_signed_with_a_name_paragraph_credits_that_person():
    signed = story_body_html() + "<p>Jane Doe</p>"
    article = extract_article(page("", f"<article>{signed}</article>"), "https://outlet.example/a")
    assert article.authors == ("Jane Doe",)
    assert article.sources["authors"] == "visible-text"


def test_a_closing_credit_line_is_not_a_signature():
    credited = story_body_html() + "<p>With reports from Daily Example</p>"
    article = extract_article(page("", f"<article>{credited}</article>"), "https://outlet.example/a")
    assert article.authors == ()


@pytest.mark.parametrize("byline", ["Fact check: Jane Doe", "Thanks Junior!"])
def test_labels_and_sentences_are_not_names(byline):
    assert isinstance(parse_byline(byline), ParseFailure)
