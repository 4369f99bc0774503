"""Non-article pages (issue 16): consent interstitials, paywall stubs, bot challenges, login walls and
error pages served with 200 each get an outcome of their own and are never stored as articles."""

from __future__ import annotations

import gzip
import re
from datetime import UTC, datetime
from pathlib import Path

import lxml.etree
import lxml.html
import pytest

from pipeline.extract.page_kind import (
    BOT_CHALLENGE,
    CONSENT_PAGE,
    CUES,
    ERROR_PAGE,
    LOGIN_WALL,
    PAYWALL_STUB,
    PageReading,
    may_hold_a_wall,
    non_article_kind,
    visible_text,
)
from pipeline.run.process import process_page
from schemas.records import FetchedPage, NormalisedArticle, Outcome

EVAL = Path(__file__).resolve().parents[2] / "shared" / "eval"
HOSTS = {"outlet": ("news.example",)}
ARTICLE_PARAGRAPH = (
    "The city council voted on Tuesday to extend the night bus network to the northern districts, "
    "after a year of complaints from shift workers who said the last train left them stranded. "
    "The plan adds four routes and costs about two million a year, paid from the parking levy."
)


def page(html: str | bytes) -> FetchedPage:
    body = html.encode() if isinstance(html, str) else html
    return FetchedPage("https://news.example/a/1", "https://news.example/a/1", 200,
                       {"content-type": "text/html"}, body, datetime(2026, 1, 5, tzinfo=UTC), "outlet", "feed")  # fmt: skip


def html_page(title: str, paragraphs: list[str], extra: str = "") -> str:
    body = "".join(f"<p>{p}</p>" for p in paragraphs)
    return (f"<!doctype html><html><head><title>{title}</title></head><body>{extra}"
            f"<article><h1>{title}</h1>{body}</article></body></html>")  # fmt: skip


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("Just a moment... Checking your browser before accessing news.example.", BOT_CHALLENGE),
        ("Please enable JavaScript and cookies to continue", BOT_CHALLENGE),
        ("Un momento… Comprobando su navegador antes de acceder.", BOT_CHALLENGE),
        ("Verifica que eres un humano para continuar.", BOT_CHALLENGE),
        (
            "We value your privacy. We and our 842 partners store and/or access information on a device.",
            CONSENT_PAGE,
        ),
        (
            "Valoramos tu privacidad. Nosotros y nuestros socios usamos cookies. Aceptar todas las cookies",
            CONSENT_PAGE,
        ),
        ("This article is only available to subscribers. Subscribe to continue reading.", PAYWALL_STUB),
        ("Suscríbete para seguir leyendo. Contenido exclusivo para suscriptores.", PAYWALL_STUB),
        ("Please sign in to continue reading this story.", LOGIN_WALL),
        ("Inicia sesión para continuar leyendo.", LOGIN_WALL),
        ("Page not found. The page you are looking for does not exist.", ERROR_PAGE),
        ("Error 404: página no encontrada", ERROR_PAGE),
    ],
)
def test_a_stub_is_named_by_its_text_in_english_and_spanish(text: str, kind: str) -> None:
    assert non_article_kind(PageReading("", (), text)) == kind


def test_a_long_article_under_a_cookie_banner_is_an_article() -> None:
    banner = "This website uses cookies. Accept all cookies or manage cookie settings."
    reading = PageReading("Night buses", (banner, *[ARTICLE_PARAGRAPH] * 5), banner)
    assert non_article_kind(reading) is None


def test_a_short_brief_is_judged_by_its_own_text_not_the_page_banner() -> None:
    assert non_article_kind(PageReading("Night buses", (ARTICLE_PARAGRAPH,))) is None


def test_a_consent_dialog_extracted_as_the_body_is_a_consent_page() -> None:
    dialog = [
        "We value your privacy. We and our partners store and/or access information on a device, "
        "such as cookies, and process personal data such as unique identifiers. " * 3,
        "You can accept all cookies or manage your cookie preferences at any time. " * 4,
    ]
    assert non_article_kind(PageReading("Before you continue", dialog)) == CONSENT_PAGE


def test_a_page_whose_article_did_not_extract_is_no_text_even_under_a_cookie_banner() -> None:
    """A redesign that moved the body into a script: what is left (a banner, the headline, the page's
    navigation and related links) is a failed extraction, not a consent page."""
    chrome = (
        '<div class="cookie-consent">We use cookies to improve your experience. <button>Accept all</button></div>'
        "<nav>Home World Politics Business Sports Opinion</nav>"
    )
    related = "".join(
        f'<li><a href="/r/{i}">Council weighs the harbour plan, part {i}</a></li>' for i in range(4)
    )
    html = (f"<!doctype html><html><head><title>Night buses reach the north</title></head><body>{chrome}"
            "<main><h1>Night buses reach the north</h1><p>Four new routes from March.</p>"
            f'<div id="story-root"></div><script type="application/json">{{"blocks": ["{ARTICLE_PARAGRAPH}"]}}</script>'
            f"<aside><h2>Related coverage</h2><ul>{related}</ul></aside></main>"
            "<footer>Privacy Terms Contact</footer></body></html>")  # fmt: skip
    result = process_page(page(html), HOSTS)
    assert isinstance(result, Outcome) and result.kind == "no-text"


def test_a_challenge_page_is_counted_as_a_challenge_not_stored() -> None:
    html = ("<html><head><title>Just a moment...</title></head><body><h1>Checking your browser before "
            "accessing news.example</h1><noscript>Please enable JavaScript and cookies to continue"
            "</noscript><script>var challenge = 1;</script></body></html>")  # fmt: skip
    result = process_page(page(html), HOSTS)
    assert isinstance(result, Outcome) and (result.stage, result.kind) == ("extract", BOT_CHALLENGE)


def test_a_consent_interstitial_served_instead_of_the_article_is_not_stored() -> None:
    dialog = [
        "We value your privacy. We and our 842 partners store and/or access information on a device, "
        "such as cookies, and process personal data such as unique identifiers and standard information "
        "sent by a device for personalised advertising and content, audience research and services.",
        "You can accept all cookies, reject them, or manage your cookie settings and privacy choices at "
        "any time by clicking the link in the footer of every page of this website, as the law allows.",
    ]
    result = process_page(page(html_page("Before you continue", dialog)), HOSTS)
    assert isinstance(result, Outcome) and result.kind == CONSENT_PAGE


def test_an_error_page_served_with_200_is_an_error_page() -> None:
    html = html_page("Página no encontrada", ["La página que buscas no existe o ha sido movida."])
    result = process_page(page(html), HOSTS)
    assert isinstance(result, Outcome) and result.kind == ERROR_PAGE


def test_an_article_is_still_an_article() -> None:
    result = process_page(page(html_page("Night buses reach the north", [ARTICLE_PARAGRAPH] * 3)), HOSTS)
    assert isinstance(result, NormalisedArticle)


def test_visible_text_leaves_scripts_out_and_keeps_noscript() -> None:
    text = visible_text(
        b"<html><script>var a='accept all cookies';</script><noscript>enable it</noscript></html>"
    )
    assert "accept" not in text and "enable it" in text


# Real pages (../shared/eval, read in place, never copied): articles that carry cookie banners, consent
# settings, "subscribers only" and "sign in to continue" boxes.


def real_pages_with_cues() -> list[tuple[Path, bytes, str]]:
    if not EVAL.is_dir():
        pytest.skip("../shared/eval is absent (it is on a user's machine): no real pages to read")
    found = []
    for path in sorted(EVAL.glob("**/*.html.gz")):
        html = gzip.decompress(path.read_bytes())
        text = visible_text(html, limit=10**7)
        if any(cue.search(text) for cue in CUES.values()):
            found.append((path, html, text))
    return found


def test_real_articles_with_consent_paywall_or_login_boxes_are_stored_as_articles() -> None:
    pages = real_pages_with_cues()
    assert len(pages) >= 20  # the eval set holds dozens of such pages: the test must read them
    refused = {path.name: r.kind for path, html, _ in pages
               if isinstance(r := process_page(page(html), HOSTS), Outcome) and r.kind != "no-text"}  # fmt: skip
    assert refused == {}


def test_the_cheap_word_filter_never_hides_a_cue_on_real_pages() -> None:
    """``mentions_a_cue`` skips the patterns only when none can match: on every real page where a
    pattern matches, the filter says so too."""
    from pipeline.extract.page_kind import mentions_a_cue

    pages = real_pages_with_cues()
    assert all(mentions_a_cue(text) for _, _, text in pages)
    cued_paragraphs = [
        m.group(0) for _, _, text in pages for cue in CUES.values() for m in cue.finditer(text)
    ]
    assert cued_paragraphs and all(mentions_a_cue(found) for found in cued_paragraphs)


# Real consent dialogs and paywall boxes (../shared/eval, read in place, never copied): the eval pages
# are articles that carry them, so each test builds, in memory, the page a site serves instead of the
# article: the site's own consent dialog alone (an interstitial), or the article's headline and first
# paragraph above the site's own wall (a teaser). Containers are found by what their markup calls them.
CONTAINER_NAMES = {
    CONSENT_PAGE: re.compile(r"consent|cookie|gdpr|privacy|cmp", re.IGNORECASE),
    PAYWALL_STUB: re.compile(r"paywall|premium|subscri|piano|reg-?wall|meter", re.IGNORECASE),
}
WALL_CUES = {CONSENT_PAGE: (CUES[CONSENT_PAGE],), PAYWALL_STUB: (CUES[PAYWALL_STUB], CUES[LOGIN_WALL])}


def real_containers(kind: str) -> list[tuple[str, lxml.html.HtmlElement, lxml.html.HtmlElement]]:
    """(file name, page tree, the outermost element named for the kind whose text holds its cues)."""
    if not EVAL.is_dir():
        pytest.skip("../shared/eval is absent (it is on a user's machine): no real pages to read")
    found = []
    for path in sorted(EVAL.glob("**/*.html.gz")):
        try:
            tree = lxml.html.fromstring(gzip.decompress(path.read_bytes()))
        except (lxml.etree.ParserError, ValueError):
            continue
        for element in tree.iter("script", "style", "template"):
            element.text = ""
        named = [e for e in tree.iter() if isinstance(e.tag, str) and e.tag not in ("html", "body")
                 and CONTAINER_NAMES[kind].search(f"{e.get('id', '')} {e.get('class', '')}")
                 and 12 <= len(e.text_content().split()) <= 400
                 and any(cue.search(" ".join(e.text_content().split())) for cue in WALL_CUES[kind])]  # fmt: skip
        outermost = [e for e in named if not any(e in other.iterdescendants() for other in named)]
        if outermost:
            found.append((path.name, tree, outermost[0]))
    return found


def outer_html(element: lxml.html.HtmlElement) -> str:
    return lxml.html.tostring(element, encoding="unicode", with_tail=False)


def test_real_consent_dialogs_served_instead_of_the_article_are_consent_pages() -> None:
    dialogs = real_containers(CONSENT_PAGE)
    assert len(dialogs) >= 10  # the eval pages carry a dozen sites' own dialogs: the test must read them
    kinds = {}
    for name, tree, dialog in dialogs:
        title = (tree.findtext(".//title") or "").strip()
        interstitial = f"<html><head><title>{title}</title></head><body>{outer_html(dialog)}</body></html>"
        result = process_page(page(interstitial), HOSTS)
        kinds[name] = result.kind if isinstance(result, Outcome) else "stored as an article"
    assert set(kinds.values()) == {CONSENT_PAGE}, kinds


def test_real_paywall_and_registration_walls_over_a_teaser_are_not_stored() -> None:
    walls = real_containers(PAYWALL_STUB)
    assert len(walls) >= 3
    kinds = {}
    for name, tree, wall in walls:
        headline = " ".join(tree.find(".//h1").text_content().split())
        teaser = next(
            " ".join(p.text_content().split()) for p in tree.iter("p") if len(p.text_content().split()) >= 25
        )
        stub = (f"<html><head><title>{headline}</title></head><body><article><h1>{headline}</h1>"
                f"<p>{teaser}</p>{outer_html(wall)}</article></body></html>")  # fmt: skip
        result = process_page(page(stub), HOSTS)
        kinds[name] = result.kind if isinstance(result, Outcome) else "stored as an article"
    assert set(kinds.values()) <= {PAYWALL_STUB, LOGIN_WALL} and PAYWALL_STUB in kinds.values(), kinds


def test_the_cheap_wall_filter_never_hides_a_wall_on_real_pages() -> None:
    """``may_hold_a_wall`` spares short articles a second parse: wherever a wall's pattern matches a
    real page's text, its bytes hold one of the filter's words."""
    walled = [(html, text) for _, html, text in real_pages_with_cues()
              if CUES[PAYWALL_STUB].search(text) or CUES[LOGIN_WALL].search(text)]  # fmt: skip
    assert walled and all(may_hold_a_wall(html) for html, _ in walled)
    assert not may_hold_a_wall(html_page("Night buses reach the north", [ARTICLE_PARAGRAPH]).encode())


def test_a_short_article_whose_comment_form_asks_to_log_in_is_an_article() -> None:
    form = '<div id="respond"><p>You must be logged in to post a comment. Debes iniciar sesión para comentar.</p></div>'
    result = process_page(
        page(html_page("Night buses reach the north", [ARTICLE_PARAGRAPH] * 2, form)), HOSTS
    )
    assert isinstance(result, NormalisedArticle)
