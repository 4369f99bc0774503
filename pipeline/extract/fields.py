"""Pure field parsers for the extraction stage: dates, bylines, URLs.

Each parser takes one raw value as found on a page and returns the parsed value or a
``ParseFailure`` naming why it could not (sqlite-utils' "explicit error policy"): callers decide
what a failure means, nothing is raised for bad page data.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urljoin, urlsplit, urlunsplit

import dateparser

from pipeline.text import drop_bracketed
from schemas.timestamps import as_utc


@dataclass(frozen=True)
class ParseFailure:
    value: object
    reason: str

    def __bool__(self) -> bool:  # a failure is falsy so ``parsed or fallback`` reads naturally
        return False


# ---------------------------------------------------------------- dates

_ISO_LIKE = re.compile(r"^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?\s*(Z|[+-]\d{2}:?\d{2})?$")
_DATEPARSER_SETTINGS = {
    "RETURN_AS_TIMEZONE_AWARE": True,
    "TIMEZONE": "UTC",  # a date written without a zone is read as UTC: the page gave no better evidence
    "TO_TIMEZONE": "UTC",
    "PREFER_DAY_OF_MONTH": "first",
    "STRICT_PARSING": False,
}
# Phrases that tie a date to its time with a word ("24 de noviembre de 2025 a las 10:32", "at 10:32")
_DATE_TIME_JOINERS = re.compile(r"\s*(?:,|\ba las\b|\bà\b|\bat\b|\bum\b|\bàs\b|\s-\s|\|)\s*", re.IGNORECASE)
EARLIEST_PLAUSIBLE_YEAR = 1995  # news sites with machine-readable dates do not predate the web


def parse_datetime(value: str | None, languages: tuple[str, ...] | None = None) -> datetime | ParseFailure:
    """An ISO-8601 or free-text date ("24 de noviembre de 2025, 10:32") as a tz-aware UTC datetime."""
    if not value or not str(value).strip():
        return ParseFailure(value, "empty")
    text = " ".join(str(value).split())
    parsed = _parse_iso(text) or _parse_free_text(text, languages)
    if parsed is None:
        return ParseFailure(value, "not a date")
    if parsed.year < EARLIEST_PLAUSIBLE_YEAR:
        return ParseFailure(value, "implausible year")
    return parsed


def parse_iso_datetime(value: str | None) -> datetime | ParseFailure:
    """Only the ISO-8601 forms (cheap); ``parse_datetime`` also reads free text."""
    parsed = _parse_iso(" ".join(str(value or "").split()))
    return parsed if parsed is not None else ParseFailure(value, "not ISO-8601")


def _parse_iso(text: str) -> datetime | None:
    if not _ISO_LIKE.match(text):
        return None
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return as_utc(parsed)


def _parse_free_text(text: str, languages: tuple[str, ...] | None) -> datetime | None:
    cleaned = _DATE_TIME_JOINERS.sub(" ", text).strip()
    if len(cleaned) > 80 or not re.search(r"\d", cleaned):
        return None  # dateparser reads a date into almost any sentence; keep it to short date strings
    try:
        parsed = dateparser.parse(
            cleaned, languages=list(languages) if languages else None, settings=_DATEPARSER_SETTINGS
        )
    except (ValueError, OverflowError, TypeError):
        return None
    return as_utc(parsed) if parsed else None


_URL_DATE = re.compile(r"/(20\d{2}|19\d{2})[/-]?(0[1-9]|1[0-2])[/-]?(0[1-9]|[12]\d|3[01])(?:/|\b|[^\d])")


def date_from_url(url: str | None) -> datetime | ParseFailure:
    """The publication day many outlets put in their article paths (/2025/11/24/ or /20251124/)."""
    match = _URL_DATE.search(urlsplit(url or "").path + "/")
    if not match:
        return ParseFailure(url, "no date in URL")
    try:
        return datetime(int(match[1]), int(match[2]), int(match[3]), tzinfo=UTC)
    except ValueError:
        return ParseFailure(url, "impossible date in URL")


# ---------------------------------------------------------------- bylines

# Words that introduce the names in a byline, in the languages of the story's coverage.
_BYLINE_PREFIX = re.compile(
    r"^\s*(?:written\s+by|reported\s+by|story\s+by|words\s+by|by|por|par|von|door|autor(?:a|es)?|"
    r"author(?:s)?|redacci[oó]n|escrito\s+por|text|texto)\s*[:\-–—]?\s+",
    re.IGNORECASE,
)
# Separators between names: punctuation and "and" in the languages outlets write bylines in
# (en, es, pt/it, de, fr, da/no, nl, tr).
_NAME_SEPARATORS = re.compile(
    r"\s*(?:,|;|&|\||/|\+|·|•|\b(?:and|y|e|und|et|og|en|ve)\b)\s*",
    re.IGNORECASE,
)
# Roles and titles that follow or precede a name in bylines ("A, Reporter", "Staff Writer B").
_ROLE_WORDS = {
    "reporter",
    "reporters",
    "correspondent",
    "correspondents",
    "editor",
    "editors",
    "writer",
    "writers",
    "staff",
    "contributor",
    "contributing",
    "columnist",
    "senior",
    "chief",
    "national",
    "political",
    "white",
    "house",
    "washington",
    "bureau",
    "associated",
    "press",
    "reuters",
    "afp",
    "ap",
    "efe",
    "agencia",
    "agencias",
    "agency",
    "redacción",
    "redaccion",
    "corresponsal",
    "enviado",
    "enviada",
    "especial",
    "periodista",
    "newsroom",
    "desk",
    "staff writer",
    "photographer",
    "photos",
    "photo",
    "updated",
    "published",
    "correspondiente",
    "journalist",
    "journalists",
    "analyst",
    "opinion",
    "columnista",
    "editora",
    "editor-in-chief",
    "team",
    "news",
    "investigative",
    "international",
    "foreign",
    "affairs",
    "security",
    "defense",
    "defence",
    "mexico",
    "city",
    "the",
    "for",
    "in",
    # what organisations and outlets are called: an outlet in a byline is not a person
    "inc",
    "ltd",
    "llc",
    "gmbh",
    "corp",
    "group",
    "media",
    "times",
    "post",
    "daily",
    "herald",
    "tribune",
    "journal",
    "gazette",
    "shimbun",
    "zeitung",
    "diario",
    "noticias",
    "redaktion",
    "online",
    "digital",
    "기자",  # Korean "reporter", written after the name
}
# Job titles alone: a byline part made only of these credits no one ("Staff", "Senior Editor").
_JOB_WORDS = {
    "reporter", "reporters", "correspondent", "correspondents", "editor", "editors", "writer",
    "writers", "staff", "contributor", "contributing", "columnist", "senior", "chief", "photographer",
    "photos", "photo", "updated", "published", "journalist", "journalists", "analyst", "opinion",
    "periodista", "corresponsal", "enviado", "enviada", "especial", "columnista", "editora", "desk",
    "newsroom", "redacción", "redaccion", "redaktion", "team", "by", "and", "the", "for", "in", "기자",
}  # fmt: skip
# A newsroom crediting itself as a group ("The Editorial Board", "MND Staff", "Redaktion X"): not a
# person, and kept as written rather than cut down to something that reads like a name.
_COLLECTIVE = re.compile(
    r"\b(?:board|staff|desk|team|newsroom|editors|editorial|redacci[oó]n|redaktion|r[ée]daction|"
    r"redazione|reda[cç][aã]o|equipo|[ée]quipe)\b",
    re.IGNORECASE,
)
# Words that name organisations, agencies and outlets, never people ("Agence France-Presse").
_ORGANISATION_WORDS = {
    "agence", "agencia", "agenzia", "agência", "agentur", "agency", "presse", "press", "news",
    "newsource", "newswire", "wire", "network", "broadcasting", "corporation", "company", "magazine",
    "radio", "television", "tv", "channel", "newspaper", "publishing", "media", "online", "digital",
}  # fmt: skip
# A definite article opens an outlet's name ("La Jornada", "Der Spiegel", "The Guardian"), not a
# person's ("Le" and "Al" are left out: they begin Vietnamese and Arabic names).
_LEADING_ARTICLES = {"the", "el", "la", "los", "las", "der", "die", "das", "il", "lo"}
_HONORIFICS = re.compile(r"^(?:dr|mr|mrs|ms|prof|sr|sra|lic|ing)\.?\s+", re.IGNORECASE)
# ":" "!" "?" end labels and sentences ("Faktencheck: A B", "Thanks Junior!"), never a name.
_NOT_NAME_CHARS = re.compile(r"[@#\d<>{}=\[\]:!?]|https?:|www\.|\.com\b|\.org\b|\.mx\b|\.es\b", re.IGNORECASE)
_MAX_NAME_WORDS = 5


def parse_byline(value: str | None, outlet_names: tuple[str, ...] = ()) -> tuple[str, ...] | ParseFailure:
    """The person names in a byline: "By A and B", "Por A y B", "A, Reporter" -> ("A", "B")."""
    if not value or not str(value).strip():
        return ParseFailure(value, "empty")
    text = unicodedata.normalize("NFC", " ".join(str(value).split()))
    if _PHOTO_CREDIT.match(text):
        return ParseFailure(value, "photo credit")
    text = _BYLINE_PREFIX.sub("", _collapse_repetition(text))
    text = drop_bracketed(text)  # "(Reuters)", "[Staff]"
    text = re.split(r"\s+[|–—]\s+|\s+-\s+", text)[0]  # "A - El Universal": outlet after a dash
    names = [_clean_name(part, outlet_names) for part in _NAME_SEPARATORS.split(text)]
    people = tuple(dict.fromkeys(name for name in names if name))
    return people or ParseFailure(value, "no person name")


_PHOTO_CREDIT = re.compile(
    r"^\s*(?:foto|fotos|photo|photos|photograph|image|imagen|bild|video|illustration)s?\b", re.IGNORECASE
)


def _collapse_repetition(text: str) -> str:
    """'Jane Doe Jane Doe' -> 'Jane Doe': screen-reader and visible copies of one name side by side."""
    words = text.split()
    half = len(words) // 2
    if len(words) % 2 == 0 and half and words[:half] == words[half:]:
        return " ".join(words[:half])
    return text


def _clean_name(part: str, outlet_names: tuple[str, ...]) -> str | None:
    candidate = _BYLINE_PREFIX.sub("", part.strip(" .:-–—·")).strip()
    candidate = _HONORIFICS.sub("", _strip_role_words(candidate))
    if not candidate or _NOT_NAME_CHARS.search(candidate):
        return None
    if any(_names_outlet(candidate, outlet) for outlet in outlet_names):
        return None
    return candidate if is_person_name(candidate) else None


def _names_outlet(candidate: str, outlet: str) -> bool:
    """'MDR THÜRINGEN' names the outlet 'MDR': an outlet's name as a whole word marks an outlet credit."""
    return bool(re.search(rf"(?<!\w){re.escape(outlet)}(?!\w)", candidate, re.IGNORECASE))


_NOT_CREDIT_CHARS = re.compile(r"[@#<>{}=\[\]]|https?:|www\.", re.IGNORECASE)
MAX_CREDIT_WORDS = 6


def byline_organisations(value: str | None, outlet_names: tuple[str, ...] = ()) -> tuple[str, ...]:
    """The credits in a byline that are not people: "A und B, dpa" -> ("dpa",); "Associated Press".

    The complement of ``parse_byline``: parts that are not a person's name, yet are a short name
    rather than a job title, a URL or a sentence.
    """
    if not value or not str(value).strip():
        return ()
    text = unicodedata.normalize("NFC", " ".join(str(value).split()))
    if _PHOTO_CREDIT.match(text) or _NOT_CREDIT_CHARS.search(text):
        return ()
    text = re.sub(r"[()\[\]]", ",", _BYLINE_PREFIX.sub("", _drop_name_codes(text)))  # "Jane Doe (Reuters)"
    pieces = re.split(r"\s+[|–—]\s+|\s+-\s+", text)  # "Jane Doe - El Universal"
    credits = [part.strip(" .:-–—·") for piece in pieces for part in _NAME_SEPARATORS.split(piece)]
    return tuple(
        dict.fromkeys(
            credit
            for credit in credits
            if is_organisation_credit(credit)
            and not _clean_name(credit, outlet_names)
            and not _COLLECTIVE.search(credit)
        )
    )


_NAME_CODE = re.compile(r"\(\s*([a-z]{2,4})\.?\s*\)")


def _drop_name_codes(text: str) -> str:
    """'Elena Ober (obe)': newsrooms sign with a short code abbreviating the name before it."""

    def code_or_nothing(match: re.Match) -> str:
        return "" if _abbreviates(match[1], text[: match.start()].casefold()) else match[0]

    return _NAME_CODE.sub(code_or_nothing, text)


def _abbreviates(code: str, name: str) -> bool:
    letters = iter(name)
    return all(letter in letters for letter in code)  # the code's letters appear in order


def is_organisation_credit(text: str) -> bool:
    words = text.split()
    if not words or len(words) > MAX_CREDIT_WORDS or _NOT_CREDIT_CHARS.search(text):
        return False
    if not any(ch.isalpha() for ch in text):
        return False
    return not all(word.casefold().strip(".,:") in _JOB_WORDS for word in words)


def _names_organisation(words: list[str]) -> bool:
    parts = (part.casefold().strip(".,") for word in words for part in word.split("-"))
    return any(part in _ORGANISATION_WORDS for part in parts)


def collective_bylines(value: str | None) -> tuple[str, ...]:
    """The group credits in a byline, as written: "By The Editorial Board" -> ("The Editorial Board",)."""
    if not value or not str(value).strip():
        return ()
    text = unicodedata.normalize("NFC", " ".join(str(value).split()))
    if _PHOTO_CREDIT.match(text) or _NOT_CREDIT_CHARS.search(text):
        return ()
    pieces = re.split(r"\s+[|–—]\s+|\s+-\s+|[()\[\]]", _BYLINE_PREFIX.sub("", text))
    credits = (part.strip(" .:-–—·") for piece in pieces for part in re.split(r"\s*[,;&|/+·•]\s*", piece))
    return tuple(
        dict.fromkeys(
            credit
            for credit in credits
            if _COLLECTIVE.search(credit)
            and len(credit.split()) <= MAX_CREDIT_WORDS
            and not _only_job_words(credit)
        )
    )


def _only_job_words(text: str) -> bool:
    return all(word.casefold().strip(".,:") in _JOB_WORDS for word in text.split())


def _strip_role_words(text: str) -> str:
    """'Staff Writer Jane Doe' -> 'Jane Doe': roles sit at either end of a name, never inside it."""
    words = text.split()
    while words and words[0].casefold().strip(".,") in _ROLE_WORDS:
        words.pop(0)
    while words and words[-1].casefold().strip(".,") in _ROLE_WORDS:
        words.pop()
    return " ".join(words)


_UNCASED_NAME = re.compile(r"^[\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af]{2,4}$")  # CJK, kana, Hangul


def is_person_name(text: str) -> bool:
    """Two to five capitalised words, none of them a byline role or title: a plausible person name.

    Scripts without letter case (Chinese, Japanese, Korean) write a name as one short run of
    characters, so there a name is two to four such characters.
    """
    if _UNCASED_NAME.match(text):
        return True
    words = text.split()
    if not 1 < len(words) <= _MAX_NAME_WORDS or _COLLECTIVE.search(text):
        return False
    if words[0].casefold() in _LEADING_ARTICLES or _names_organisation(words):
        return False
    if sum(word.casefold().strip(".,") in _ROLE_WORDS for word in words) >= max(1, len(words) - 1):
        return False
    if all(word.isupper() and len(word) > 3 for word in words) and len(words) > 3:
        return False  # shouting headlines, not names
    particles = {
        "de",
        "del",
        "la",
        "las",
        "los",
        "van",
        "von",
        "der",
        "da",
        "do",
        "dos",
        "di",
        "le",
        "y",
        "bin",
        "al",
        "el",
    }
    return (
        all(word[0].isupper() or word.casefold() in particles for word in words if word[0].isalpha())
        and words[0][0].isalpha()
    )


# ---------------------------------------------------------------- URLs


def parse_url(value: str | None, base_url: str | None = None) -> str | ParseFailure:
    """An absolute http(s) URL without its fragment, resolved against the page URL."""
    if not value or not str(value).strip():
        return ParseFailure(value, "empty")
    absolute = urljoin(base_url or "", str(value).strip())
    parts = urlsplit(absolute)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return ParseFailure(value, "not an absolute http(s) URL")
    if any(ch.isspace() for ch in parts.netloc):
        return ParseFailure(value, "whitespace in host")
    return urlunsplit((parts.scheme, parts.netloc.lower(), parts.path or "/", parts.query, ""))
