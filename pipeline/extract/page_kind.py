"""Pages that are not articles, recognised by general rules (never by site): each has its own outcome.

An outlet that changes its consent flow, puts a paywall in front of its pages, answers the crawler with
a bot challenge, a login wall or an error page served with status 200 still returns HTML with some
text; stored as an article, that text would pass for the outlet's coverage. The rules read what would
be stored (headline and extracted body) and, for a page too short to be an article anyway, the page's
visible text too (then only the outcome's name changes), in English and Spanish. A short body may be a
teaser a paywall or login wall left: the page's text is read for the walls' cues then, since extractors
drop the wall's box as boilerplate. A long article that merely carries a cookie banner or a "subscribe"
box is an article: only a short page, or a body that is itself mostly such text, is not; and a short
page is a consent page only when consent is what it says, not a banner beside a failed article.
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
# A body under this many words is no article at all (the process stage stores none): any kind's cues in
# the page's text name it. Between this and SHORT_PAGE_WORDS it may be a teaser left by a wall, whose
# box extractors drop as boilerplate, so the page's text is read for the walls' cues only.
STUB_WORDS = 40
WALL_KINDS = (LOGIN_WALL, PAYWALL_STUB)
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
        # "...to continue", not "...to post a comment": a comment form's notice is no wall
        r"you must be (?:logged|signed) in to (?:continue|read|keep reading|access|view|see)",
        r"(?:create|register for) a free account to (?:continue|read|keep reading)",
        r"(?:inicia|inicie) sesi[oó]n para (?:continuar|seguir|leer|acceder|ver)",
        r"(?:debes|debe) (?:iniciar sesi[oó]n|estar registrado) para (?:continuar|seguir|leer|acceder|ver)",
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


# Of those, the words one of which every wall's cue (LOGIN_WALL, PAYWALL_STUB) contains, as the page's
# bytes carry them: a teaser's page is parsed for its text only when one is there (``may_hold_a_wall``).
WALL_CUE_WORDS = tuple(
    word.encode()
    for word in ("sign in", "log in", "you must be", "free account", "sesi", "registrad", "strate", "strese",
                 "subscri", "continue reading", "suscr", "leyendo", "abonados")
)  # fmt: skip


def may_hold_a_wall(html: bytes) -> bool:
    """False when the page cannot hold a wall's cue (a necessary condition, never a sufficient one)."""
    lowered = html.lower()
    return any(word in lowered for word in WALL_CUE_WORDS)


def mentions_a_cue(text: str) -> bool:
    """False when ``text`` cannot hold any cue (a necessary condition, never a sufficient one)."""
    lowered = text.lower()
    return any(word in lowered for word in CUE_WORDS)


@dataclass(frozen=True)
class PageReading:
    """What the rules read of one page: what would be stored, and (for a stub) its visible text."""

    headline: str
    body_paragraphs: Sequence[str]
    # title and visible text of the whole page: given only for a short page (under SHORT_PAGE_WORDS),
    # read for a wall's cues, and for any kind's only when the body is too short to be stored anyway
    visible_text: str = ""

    @property
    def body_words(self) -> int:
        return sum(len(paragraph.split()) for paragraph in self.body_paragraphs)


def non_article_kind(reading: PageReading) -> str | None:
    """The kind of non-article page this is (``NON_ARTICLE_KINDS``), or None for an article.

    A stub (under ``SHORT_PAGE_WORDS``) is named by the first kind whose cues its headline, body or
    (under ``STUB_WORDS``, or for a wall's teaser) visible text holds; a longer body only when most of its
    words are a kind's text (a consent dialog extracted as the body)."""
    if reading.body_words < SHORT_PAGE_WORDS:
        stored = "\n".join((reading.headline, *reading.body_paragraphs))
        if not mentions_a_cue(f"{stored}\n{reading.visible_text}"):
            return None
        return next(
            (kind for kind in NON_ARTICLE_KINDS if _stub_is(kind, stored, _page_text(reading, kind))), None
        )
    # Only paragraphs with a cue word can be cued: when they are too few, no pattern needs to run.
    candidates = [p for p in reading.body_paragraphs if mentions_a_cue(p)]
    if _word_share(candidates, reading.body_words) < CUE_SHARE:
        return None
    return next(
        (kind for kind in NON_ARTICLE_KINDS
         if _word_share([p for p in candidates if CUES[kind].search(p)], reading.body_words) >= CUE_SHARE),
        None,
    )  # fmt: skip


def _page_text(reading: PageReading, kind: str) -> str:
    """The page's text as evidence of a kind: always for a body too short to be an article; for a
    teaser, only of a wall (a challenge or an error page leaves no teaser behind)."""
    return reading.visible_text if reading.body_words < STUB_WORDS or kind in WALL_KINDS else ""


def _stub_is(kind: str, stored: str, page_text: str) -> bool:
    """A stub is of a kind when what would be stored holds its cues, or the page's text does; for
    consent only when the cued sentences are most of that text. A cookie banner is chrome on nearly
    every page, so a page whose article failed to extract (a changed layout) still carries one; a
    consent interstitial is the page."""
    cues = CUES[kind]
    if cues.search(stored):
        return True
    if kind != CONSENT_PAGE:
        return bool(cues.search(page_text))
    sentences = SENTENCE_END.split(page_text)
    return _word_share([s for s in sentences if cues.search(s)], len(page_text.split())) >= CUE_SHARE


SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


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
