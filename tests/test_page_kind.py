"""Non-article pages (issue 16): consent interstitials, paywall stubs, bot challenges, login walls and
error pages served with 200 each get an outcome of their own and are never stored as articles."""

from __future__ import annotations

import gzip
from datetime import UTC, datetime
from pathlib import Path

import pytest

from pipeline.extract.page_kind import (
    BOT_CHALLENGE,
    CONSENT_PAGE,
    CUES,
    ERROR_PAGE,
    LOGIN_WALL,
    PAYWALL_STUB,
    PageReading,
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
