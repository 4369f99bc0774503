"""Pages that are not articles, recognised by general rules (never by site): each has its own outcome.

An outlet that changes its consent flow, puts a paywall in front of its pages, answers the crawler with
a bot challenge, a login wall or an error page served with status 200 still returns HTML with some
text; stored as an article, that text would pass for the outlet's coverage. The rules read what would
be stored (headline and extracted body) and, for a page too short to be an article anyway, the page's
visible text too (then only the outcome's name changes), in English and Spanish. A long article that merely carries a cookie banner or a
"subscribe" box is an article: only a short page, or a body that is itself mostly such text, is not.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import lxml.html
from lxml.etree import ParserError

CONSENT_PAGE = "consent-page"
PAYWALL_STUB = "paywall-stub"
BOT_CHALLENGE = "bot-challenge"
LOGIN_WALL = "login-wall"
ERROR_PAGE = "error-page"
NON_ARTICLE_KINDS = (BOT_CHALLENGE, ERROR_PAGE, LOGIN_WALL, PAYWALL_STUB, CONSENT_PAGE)

# A body under this many words is a stub: its page's visible text decides what the page is.
SHORT_PAGE_WORDS = 150
# A body whose paragraphs holding a kind's cues make up at least this share of its words is that kind.
CUE_SHARE = 0.5


def _cues(*phrases: str) -> re.Pattern[str]:
    return re.compile("|".join(f"(?:{phrase})" for phrase in phrases), re.IGNORECASE)


CUES: dict[str, re.Pattern[str]] = {
    BOT_CHALLENGE: _cues(
        r"checking (?:if the site connection is secure|your browser)",
        r"verify(?:ing)? (?:that )?you are (?:a )?human",
        r"are you a (?:robot|human)",
        r"i'?m not a robot",
        r"attention required",
        r"(?:please )?(?:enable|turn on) javascript(?: and cookies)? to continue",
        r"unusual traffic from your (?:computer|network)",
        r"(?:comprobando|verificando) (?:su|tu|el) navegador",
        r"verifi(?:ca|que) que (?:eres|es) (?:un )?humano",
        r"no soy un robot",
        r"(?:habilita|habilite|activa|active) (?:el )?javascript(?: y las cookies)? para continuar",
        r"tr[aá]fico inusual",
    ),
    ERROR_PAGE: _cues(
        r"\bpage not found\b",
        r"\b404\b.{0,20}\bnot found\b",
        r"\berror 404\b",
        r"\bthe page you (?:are looking for|requested) (?:does not|doesn't|could not|can't|cannot)",
        r"\binternal server error\b",
        r"\bservice (?:temporarily )?unavailable\b",
        r"p[aá]gina no encontrada",
        r"la p[aá]gina (?:que (?:buscas|busca|has solicitado)|solicitada) no (?:existe|est[aá] disponible)",
        r"(?:se ha producido|ha ocurrido) un error",
    ),
    LOGIN_WALL: _cues(
        r"(?:sign|log) in to (?:continue|read|keep reading|access|view)",
        r"you must be (?:logged|signed) in",
        r"(?:create|register for) a free account to (?:continue|read|keep reading)",
        r"(?:inicia|inicie) sesi[oó]n para (?:continuar|seguir|leer|acceder|ver)",
        r"(?:debes|debe) (?:iniciar sesi[oó]n|estar registrado)",
        r"(?:reg[ií]strate|reg[ií]strese) (?:gratis )?para (?:continuar|seguir leyendo|leer)",
    ),
    PAYWALL_STUB: _cues(
        r"subscribe (?:now )?to (?:continue|keep) reading",
        r"to continue reading,? (?:please )?(?:subscribe|become a subscriber)",
        r"(?:this|the rest of this) (?:article|story|content) is (?:only )?(?:available|reserved|exclusive) (?:to|for) (?:our )?subscribers",
        r"\bsubscribers only\b",
        r"(?:suscr[ií]bete|suscr[ií]base) para (?:seguir|continuar) leyendo",
        r"para (?:seguir|continuar) leyendo,? (?:suscr[ií]bete|suscr[ií]base|hazte suscriptor)",
        r"(?:contenido|art[ií]culo|noticia) (?:exclusivo |reservado )?(?:para|solo para) (?:suscriptores|abonados)",
        r"\bsolo para (?:suscriptores|abonados)\b",
    ),
    CONSENT_PAGE: _cues(
        r"we value your privacy",
        r"we and our (?:\d+ )?(?:partners|vendors)",
        r"(?:accept|allow|reject) (?:all )?cookies",
        r"(?:cookie|privacy) (?:settings|preferences|choices)",
        r"(?:we|this (?:site|website)) uses? cookies",
        r"store and/or access information on a device",
        r"(?:utilizamos|usamos) cookies",
        r"(?:aceptar|rechazar|permitir) (?:todas )?(?:las )?cookies",
        r"(?:nosotros y nuestros|nuestros) (?:socios|proveedores)",
        r"(?:valoramos|respetamos) (?:tu|su) privacidad",
        r"(?:configuraci[oó]n|preferencias) de (?:cookies|privacidad)",
        r"almacenar (?:la )?informaci[oó]n en un dispositivo",
    ),
}


# Words one of which every cue above contains (lower case): most articles hold none, and substring
# tests tell so at a fraction of the cost of the patterns' alternations (about 7 ms for a long article).
CUE_WORDS = (
    "checking", "human", "are you a", "robot", "attention required", "javascript", "unusual traffic",
    "navegador", "inusual", "not found", "404", "the page you", "server error", "unavailable",
    "no encontrada", "página", "pagina", "un error", "sign in", "log in", "you must be", "free account",
    "sesi", "iniciar sesi", "estar registrad", "strate", "strese", "subscribe", "continue reading",
    "subscribers", "suscr", "leyendo", "abonados", "privacy", "we and our", "cookie", "device", "nuestros",
    "privacidad", "dispositivo",
)  # fmt: skip


def mentions_a_cue(text: str) -> bool:
    """False when ``text`` cannot hold any cue (a necessary condition, never a sufficient one)."""
    lowered = text.lower()
    return any(word in lowered for word in CUE_WORDS)


@dataclass(frozen=True)
class PageReading:
    """What the rules read of one page: what would be stored, and (for a stub) its visible text."""

    headline: str
    body_paragraphs: Sequence[str]
    # title and visible text of the whole page: given only for a page too short to be stored anyway, so
    # a short real brief under a cookie banner is judged by its own text, never by the banner
    visible_text: str = ""

    @property
    def body_words(self) -> int:
        return sum(len(paragraph.split()) for paragraph in self.body_paragraphs)


def non_article_kind(reading: PageReading) -> str | None:
    """The kind of non-article page this is (``NON_ARTICLE_KINDS``), or None for an article.

    A stub (under ``SHORT_PAGE_WORDS``) is named by the first kind whose cues its headline or visible
    text holds; a longer body only when most of its words are a kind's text (a consent dialog extracted
    as the body)."""
    if reading.body_words < SHORT_PAGE_WORDS:
        text = "\n".join((reading.headline, *reading.body_paragraphs, reading.visible_text))
        if not mentions_a_cue(text):
            return None
        return next((kind for kind in NON_ARTICLE_KINDS if CUES[kind].search(text)), None)
    # Only paragraphs with a cue word can be cued: when they are too few, no pattern needs to run.
    candidates = [p for p in reading.body_paragraphs if mentions_a_cue(p)]
    if _word_share(candidates, reading.body_words) < CUE_SHARE:
        return None
    return next(
        (kind for kind in NON_ARTICLE_KINDS
         if _word_share([p for p in candidates if CUES[kind].search(p)], reading.body_words) >= CUE_SHARE),
        None,
    )  # fmt: skip


def _word_share(paragraphs: Sequence[str], body_words: int) -> float:
    return sum(len(p.split()) for p in paragraphs) / max(1, body_words)


def visible_text(html: bytes, limit: int = 20_000) -> str:
    """The page's title and visible text (scripts and styles left out; ``noscript`` kept: a challenge
    says "enable JavaScript" there), at most ``limit`` characters."""

    try:
        root = lxml.html.fromstring(html[:500_000])
    except (ParserError, ValueError):
        return ""
    for element in root.iter("script", "style", "template"):
        element.text = ""
    return " ".join(root.text_content().split())[:limit]
