"""Normalise stage: canonical URLs, canonical choice, content hashes and version deltas."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.provisional import urls

from pipeline.normalise.canonical import (
    InvalidUrl,
    canonical_url,
    canonical_url_hash,
    choose_canonical,
    content_hash,
    is_material_change,
    normalise_article,
    normalise_for_hash,
    version_delta,
)
from schemas.records import ExtractedArticle

FETCHED_AT = datetime(2025, 11, 24, 12, 0, tzinfo=UTC)
OUTLET = "127.0.0.1:8001"


# --- canonical_url ---------------------------------------------------------------------------


def test_canonical_url_lowercases_scheme_and_host_and_drops_default_port():
    assert canonical_url("HTTPS://News.Example.COM:443/World/Story") == "https://news.example.com/World/Story"


def test_canonical_url_keeps_a_non_default_port_because_replay_outlets_differ_by_port():
    assert canonical_url("http://127.0.0.1:8001/a") != canonical_url("http://127.0.0.1:8002/a")


@pytest.mark.parametrize(
    "tracker",
    [
        "utm_source=tw",
        "utm_campaign=x",
        "fbclid=abc",
        "gclid=1",
        "mc_cid=9",
        "ocid=msn",
        "cmpid=rss",
        "ref=home",
        "ref_src=twsrc",
    ],
)
def test_canonical_url_drops_tracking_parameters(tracker):
    assert canonical_url(f"https://example.com/story?id=7&{tracker}") == "https://example.com/story?id=7"


def test_canonical_url_keeps_content_parameters_and_sorts_them():
    assert canonical_url("https://example.com/story?page=2&id=7") == "https://example.com/story?id=7&page=2"


def test_canonical_url_drops_fragment():
    assert canonical_url("https://example.com/story#comments") == "https://example.com/story"


@pytest.mark.parametrize("index_page", ["index.html", "index.php", "default.aspx", "INDEX.HTM"])
def test_canonical_url_drops_trailing_index_page(index_page):
    assert canonical_url(f"https://example.com/world/{index_page}") == "https://example.com/world/"


def test_canonical_url_resolves_dot_segments():
    assert canonical_url("https://example.com/a/../b/./story") == "https://example.com/b/story"


@pytest.mark.parametrize(
    "bad", ["", "   ", "mailto:desk@example.com", "javascript:void(0)", "/relative/path", "https://"]
)
def test_canonical_url_rejects_what_cannot_identify_an_article(bad):
    with pytest.raises(InvalidUrl):
        canonical_url(bad)


@given(urls())
def test_canonical_url_is_idempotent(url):
    once = canonical_url(url)
    assert canonical_url(once) == once


@given(urls(), st.sampled_from(["utm_medium=email", "fbclid=x1", "gclid=y2"]))
def test_canonical_url_ignores_an_added_tracker(url, tracker):
    base, hash_sign, fragment = url.partition("#")
    separator = "&" if "?" in base else "?"
    assert canonical_url(f"{base}{separator}{tracker}{hash_sign}{fragment}") == canonical_url(url)


URL_PART = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), max_size=12)


@given(
    st.sampled_from(["http", "HTTPS"]),
    st.sampled_from(["Example.com", "127.0.0.1:8001", "xn--bcher-kva.de", "www.a.b:80", "[::1]:8002"]),
    st.lists(URL_PART, max_size=4),
    st.lists(st.tuples(URL_PART, URL_PART), max_size=4),
    URL_PART,
)
def test_canonical_url_is_idempotent_on_odd_paths_and_queries(scheme, host, segments, query, fragment):
    url = (
        f"{scheme}://{host}/"
        + "/".join(segments)
        + "?"
        + "&".join(f"{k}={v}" for k, v in query)
        + "#"
        + fragment
    )
    try:
        once = canonical_url(url)
    except InvalidUrl:
        return
    assert canonical_url(once) == once


@given(st.text(max_size=60))
def test_canonical_url_returns_a_url_or_raises_invalid_url(text):
    try:
        result = canonical_url(text)
    except InvalidUrl:
        return
    assert result.startswith(("http://", "https://"))


@pytest.mark.parametrize(
    "bad", ["http://[::1", "http://ex.com:abc/", "http://ex.com:99999/", "http://a b.com/"]
)
def test_canonical_url_reports_malformed_hosts_and_ports_as_invalid_url(bad):
    with pytest.raises(InvalidUrl):
        canonical_url(bad)


def test_url_hash_is_sha256_of_the_canonical_url():
    assert canonical_url_hash("HTTPS://Example.com/a?utm_source=x") == canonical_url_hash(
        "https://example.com/a"
    )
    assert len(canonical_url_hash("https://example.com/a")) == 64


# --- choose_canonical ------------------------------------------------------------------------


def test_choose_canonical_follows_rel_canonical_inside_the_outlet():
    page = "http://127.0.0.1:8001/world/story?utm_source=rss"
    assert choose_canonical(page, "http://127.0.0.1:8001/world/story") == "http://127.0.0.1:8001/world/story"


def test_choose_canonical_ignores_rel_canonical_on_another_port():
    page = "http://127.0.0.1:8001/world/story"
    assert choose_canonical(page, "http://127.0.0.1:8002/wire/original") == page


def test_choose_canonical_accepts_another_host_listed_for_the_outlet():
    chosen = choose_canonical(
        "https://m.example.com/a", "https://example.com/a", outlet_hosts=["example.com"]
    )
    assert chosen == "https://example.com/a"


def test_choose_canonical_falls_back_to_og_url_when_rel_canonical_is_foreign():
    page = "http://127.0.0.1:8001/x?id=1"
    assert (
        choose_canonical(page, "http://other.test/x", "http://127.0.0.1:8001/story")
        == "http://127.0.0.1:8001/story"
    )


def test_choose_canonical_takes_an_amp_pages_canonical():
    chosen = choose_canonical("http://127.0.0.1:8001/story/amp/", "http://127.0.0.1:8001/story")
    assert chosen == "http://127.0.0.1:8001/story"


def test_choose_canonical_strips_amp_markers_when_an_amp_page_has_no_canonical():
    assert choose_canonical("http://127.0.0.1:8001/story.amp.html") == "http://127.0.0.1:8001/story.html"


def test_choose_canonical_resolves_a_relative_canonical_against_the_page():
    assert choose_canonical("http://127.0.0.1:8001/x/amp/", "/x/story") == "http://127.0.0.1:8001/x/story"


@given(
    st.sampled_from(
        ["http://127.0.0.1:8001", "http://127.0.0.1:8002", "https://other.test", "http://www.127.0.0.1:8001"]
    ),
    st.sampled_from(["/a", "/world/story.html?utm_source=x", "/b/amp/", ""]),
    st.booleans(),
)
def test_choose_canonical_never_leaves_the_outlet(origin, path, as_og_url):
    page = "http://127.0.0.1:8001/page"
    declared = origin + path
    chosen = choose_canonical(page, None if as_og_url else declared, declared if as_og_url else None)
    assert chosen.startswith(("http://127.0.0.1:8001/", "http://www.127.0.0.1:8001/"))


def test_choose_canonical_ignores_an_unparsable_canonical():
    assert choose_canonical("http://127.0.0.1:8001/a", "javascript:void(0)") == "http://127.0.0.1:8001/a"


# --- normalise_for_hash ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("The  President\tsaid", "the president said"),
        ("Sheinbaum’s “firm” rejection", 'Sheinbaum\'s "firm" rejection'),
        ("Updated 5 minutes ago\nTroops were sent.", "Updated 2 hours ago\nTroops were sent."),
        ("Actualizado hace 3 horas\nSe enviaron tropas.", "Se enviaron tropas."),
        ("Posted at 10:32 a.m. ET, officials said.", "Posted at 4:05 p.m. ET, officials said."),
        ("1,234 shares\nThe strikes killed 64 people.", "The strikes killed 64 people.\n12 comments"),
        ("12 comentarios\nLos ataques mataron a 64 personas.", "Los ataques mataron a 64 personas."),
        ("Advertisement\nThe plan is not final.", "The plan is not final."),
        ("El plan no es definitivo.\nPublicidad", "El plan no es definitivo."),
        ("Sign up for our newsletter today\nText.", "Text."),
        ("Suscríbete a nuestro boletín diario\nTexto.", "Texto."),
    ],
)
def test_normalise_for_hash_ignores_trivial_differences(first, second):
    assert normalise_for_hash(first) == normalise_for_hash(second)


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("The strikes killed 64 people.", "The strikes killed 65 people."),
        ("No final decision has been made.", "A final decision has been made."),
        ("Sheinbaum rejects intervention.", "Sheinbaum accepts intervention."),
        ("El plan no es definitivo.", "El plan es definitivo."),
    ],
)
def test_normalise_for_hash_keeps_editorial_changes(first, second):
    assert normalise_for_hash(first) != normalise_for_hash(second)


def test_normalise_for_hash_keeps_accents():
    assert normalise_for_hash("México") == "méxico"


@given(st.text())
def test_normalise_for_hash_is_idempotent(text):
    once = normalise_for_hash(text)
    assert normalise_for_hash(once) == once


@given(st.text(), st.sampled_from(["  ", "\n", "\t"]))
def test_normalise_for_hash_ignores_whitespace_runs(text, spacer):
    assert normalise_for_hash(text.replace(" ", spacer + " ")) == normalise_for_hash(text)


# --- normalise_article -----------------------------------------------------------------------


def extracted(**changes) -> ExtractedArticle:
    article = ExtractedArticle(
        url="http://127.0.0.1:8001/world/boots-on-the-ground.html",
        canonical_url="http://127.0.0.1:8001/world/boots-on-the-ground.html",
        amp_url="http://127.0.0.1:8001/world/boots-on-the-ground.amp.html",
        headline="US weighs boots on the ground in Mexico",
        body_paragraphs=(
            "Updated 5 minutes ago",
            "The plan would send JSOC units.",
            "Advertisement",
            "Sheinbaum rejected any intervention.",
        ),
        language="en",
    )
    return dataclasses.replace(article, **changes)


def normalise(article: ExtractedArticle, **changes):
    arguments = dict(
        outlet="Replay Herald",
        outlet_hosts=[OUTLET],
        requested_url="http://127.0.0.1:8001/world/boots-on-the-ground.html?utm_source=rss",
        final_url=article.url,
        fetched_at=FETCHED_AT,
        feed_url="http://127.0.0.1:8001/world/boots-on-the-ground.html?ref=feed#top",
    )
    return normalise_article(article, **(arguments | changes))


def test_normalise_article_sets_identity_from_the_canonical_url():
    article = normalise(extracted())
    assert article.canonical_url == "http://127.0.0.1:8001/world/boots-on-the-ground.html"
    assert article.url_hash == canonical_url_hash(article.canonical_url)


def test_normalise_article_lists_every_alias_once_canonical_first():
    article = normalise(extracted())
    assert article.aliases == (
        "http://127.0.0.1:8001/world/boots-on-the-ground.html",
        "http://127.0.0.1:8001/world/boots-on-the-ground.amp.html",
    )


def test_normalise_article_amp_fetch_gets_the_same_identity():
    amp_page = extracted(url="http://127.0.0.1:8001/world/boots-on-the-ground.amp.html", amp_url=None)
    assert normalise(amp_page).url_hash == normalise(extracted()).url_hash


def test_normalise_article_og_url_from_another_outlet_is_not_trusted():
    foreign = extracted(canonical_url="http://127.0.0.1:8009/wire/x", sources={"canonical_url": "opengraph"})
    article = normalise(foreign)
    assert article.canonical_url == "http://127.0.0.1:8001/world/boots-on-the-ground.html"
    # issue 9: nor kept as an alias (article_urls is unique: the alias would claim the other outlet's URL)
    assert "http://127.0.0.1:8009/wire/x" not in article.aliases


def test_normalise_article_counts_words_of_the_body():
    article = normalise(extracted(body_paragraphs=("Uno dos tres.", "Cuatro, cinco.")))
    assert article.word_count == 5


def test_normalise_article_content_hash_survives_a_rerendered_page():
    rerendered = extracted(
        body_paragraphs=(
            "Updated 1 hour ago",
            "The  plan would send JSOC units.",
            "Sheinbaum rejected any intervention.",
            "1,204 shares",
        ),
    )
    assert normalise(rerendered).content_hash == normalise(extracted()).content_hash


def test_normalise_article_content_hash_changes_with_the_headline():
    changed = extracted(headline="US will send troops to Mexico")
    assert normalise(changed).content_hash != normalise(extracted()).content_hash


# --- versions --------------------------------------------------------------------------------


def test_is_material_change_compares_hashes():
    assert is_material_change(content_hash("a", "b"), content_hash("a", "c"))
    assert not is_material_change(content_hash("a", "b"), content_hash("A", "b."))


def test_version_delta_reports_headline_and_paragraph_changes():
    old = normalise(extracted())
    new = normalise(
        extracted(
            headline="US plans boots on the ground in Mexico, officials say",
            body_paragraphs=(
                "Updated 1 minute ago",
                "The plan would send JSOC units.",
                "Sheinbaum rejected any intervention.",
                "The White House declined to comment.",
            ),
        )
    )
    delta = version_delta(old, new)
    assert delta["material"] and delta["headline_changed"]
    assert delta["paragraphs_added"] == ["The White House declined to comment."]
    assert delta["paragraphs_removed"] == []


def test_version_delta_of_a_trivial_rerender_is_empty():
    old = normalise(extracted())
    new = normalise(
        extracted(
            body_paragraphs=(
                "Updated 3 hours ago",
                "The plan would send JSOC units.",
                "Sheinbaum rejected any intervention.",
            )
        )
    )
    delta = version_delta(old, new)
    assert not delta["material"] and not delta["headline_changed"]
    assert delta["paragraphs_added"] == [] and delta["paragraphs_removed"] == []


def test_version_delta_reports_a_removed_paragraph():
    old = normalise(extracted())
    new = normalise(extracted(body_paragraphs=("The plan would send JSOC units.",)))
    assert version_delta(old, new)["paragraphs_removed"] == ["Sheinbaum rejected any intervention."]


def test_angle_brackets_a_reader_sees_are_stored_as_text() -> None:
    """Issue 19: no second tag strip; escaping belongs to the report and the email."""
    from pipeline.normalise.canonical import plain_text_field

    assert (
        plain_text_field("Strikes near <script>alert('fw')</script>")
        == "Strikes near <script>alert('fw')</script>"
    )
    assert plain_text_field("<b>Bold</b> claim") == "<b>Bold</b> claim"


def test_control_characters_are_removed_from_a_text_field() -> None:
    from pipeline.normalise.canonical import plain_text_field

    assert plain_text_field("Bold\x00 claim\x1b[31m\x85 today") == "Bold claim[31m today"


def test_cr_lf_in_a_headline_collapses_to_one_line() -> None:
    from pipeline.normalise.canonical import plain_text_field

    assert (
        plain_text_field("Stop the invasion,\r\nBcc: victim@example.com")
        == "Stop the invasion, Bcc: victim@example.com"
    )
    assert plain_text_field("  \r\n ") is None


def test_text_that_merely_mentions_angle_brackets_is_kept() -> None:
    from pipeline.normalise.canonical import plain_text_field

    assert (
        plain_text_field("Cartel violence < 2024 levels, officials say")
        == "Cartel violence < 2024 levels, officials say"
    )


def test_many_unclosed_script_openings_are_kept_as_the_text_they_are_without_a_backtracking_regex() -> None:
    """Issue 20: 20,000 escaped <script> openings in a description took minutes in a regular expression
    that paired each opening with a closing. Issue 19: a one-line field is the text a reader sees, so
    nothing pairs tags any more (one linear pass); the report and the email escape what looks like markup."""
    from pipeline.normalise.canonical import plain_text_field

    description = "Strikes near the border " + "<script>" * 20_000 + " and more"
    assert plain_text_field(description) == description
    assert (
        plain_text_field("A tag left open\r\n<img src=x onerror=alert(1)//")
        == "A tag left open <img src=x onerror=alert(1)//"
    )
