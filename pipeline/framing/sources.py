"""Sourcing: who is quoted or cited, from attribution patterns in English and Spanish.

A sentence is searched for reported-speech structures ("said X, the Y", "X, the Y, said", "X said",
"officials who ... said", "according to X", "dijo X", "según X"); each attribution becomes a Voice
with its name (None when unnamed), role, kind and the sentence as evidence. Pronoun speakers ("he
said") are skipped: resolving them needs coreference, which is out of scope (docs/framing.md).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import lru_cache

from pipeline.framing.lexicon import check_language, find_terms, load_voices, split_sentences
from pipeline.text import fold
from schemas.framing_records import Voice

_CAPITALISED = r"[A-ZÁÉÍÓÚÑ][\w'’.\-]*"
_JOINER = r"(?:\s+(?:de\s+la|de\s+los|del|de|y)\s+|\s+)"
NAME = rf"(?P<name>{_CAPITALISED}(?:{_JOINER}{_CAPITALISED}){{0,4}})"
ROLE = r"(?:the\s+|a\s+|an\s+|el\s+|la\s+|los\s+|las\s+)?(?P<role>[^,.;:\"“”«»]{3,80})"
# A speaker named by a one-word role: "la mandataria sostuvo", "dijo el canciller" (Bell 1991: the role
# label stands in for the name once the person is introduced).
ROLE_WORD = r"(?P<role>[a-záéíóúñ]{4,})"
GROUP = (
    r"(?P<group>(?:[\w.'’\-]+\s+){0,3}?(?:officials?|sources?|people|person|analysts?|experts?|"
    r"funcionarios?|fuentes?|analistas?|expertos?|especialistas?)(?:\s+[\w.'’\-]+){0,5}?)"
)
NOT_A_NAME = {
    "he", "she", "they", "we", "i", "it", "this", "that", "the", "el", "la", "él", "ella", "ellos", "este",
    "esta", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday", "lunes",
    "martes", "miércoles", "jueves", "viernes", "sábado", "domingo", "but", "and", "pero", "y", "also",
    "también", "in", "en", "on", "earlier", "later",
}  # fmt: skip
LEADING_ARTICLES = ("The ", "El ", "La ", "Los ", "Las ")
GENERIC_SOURCE_WORDS = ("official", "source", "fuente", "funcionari", "familiar", "person", "people")


@lru_cache(maxsize=2)
def attribution_patterns(language: str) -> tuple[re.Pattern[str], ...]:
    """Patterns in priority order; an earlier pattern's match hides overlapping later ones."""
    codebook = load_voices()
    verbs = "|".join(_accent_tolerant(v) for v in getattr(codebook.speech_verbs, language))
    according = "|".join(_accent_tolerant(p) for p in getattr(codebook.according_to, language))
    verb = rf"(?:{verbs})"
    return tuple(
        re.compile(source, re.IGNORECASE if i in (0, 4) else 0)
        for i, source in enumerate(
            (
                rf"\b(?:{according})\s+(?P<target>(?:[^,.;:\"“”«»]|\.(?=\w|\s+[a-z])){{3,100}})",
                rf"{NAME},\s+{ROLE},\s+{verb}\b",
                rf"\b{verb}\s+{NAME}(?:,\s+{ROLE})?",
                rf"{GROUP}(?:\s+(?:who|que|quienes)\s+[^,]{{3,80}},?)?\s+{verb}\b",
                rf"\b{GROUP}\s+{verb}\b",
                rf"{NAME}\s+{verb}\b",
                rf"^{NAME}:\s*[\"“«]",  # headline: 'Sheinbaum: "No a la injerencia"'
                rf"\b(?:[Tt]he|[Ee]l|[Ll]a)\s+{ROLE_WORD}\s+{verb}\b",
                # Only where the role ends the clause: in "said the government should act" it starts one.
                rf"\b{verb}\s+(?:the|el|la)\s+{ROLE_WORD}(?=\s*[,.;]|\s+(?:en|tras|al|at|in|on|after)\b)",
            )
        )
    )


def _accent_tolerant(word: str) -> str:
    """Codebook verbs are written unaccented; accept the accented vowel in text too ("dijo", "afirmó")."""
    swaps = {"a": "[aá]", "e": "[eé]", "i": "[ií]", "o": "[oó]", "u": "[uú]", "n": "[nñ]"}
    return "".join(swaps.get(char, re.escape(char)) for char in word)


def clean_name(raw: str | None) -> str | None:
    if not raw:
        return None
    name = raw.strip().rstrip(".")
    for article in LEADING_ARTICLES:
        if name.startswith(article):
            name = name[len(article) :]
    return None if not name or name.lower() in NOT_A_NAME else name


def clean_role(raw: str | None) -> str | None:
    role = (raw or "").strip()
    if not role or re.match(r"(?i)(who|which|que|quien|quienes)\b", role):
        return None
    return role


def name_and_role_of_target(target: str) -> tuple[str | None, str | None]:
    """Split "according to Defense Secretary Pete Hegseth" into a capitalised name and the rest."""
    target = target.strip()
    if any(word in fold(target) for word in GENERIC_SOURCE_WORDS):
        return None, target
    run = re.search(rf"{_CAPITALISED}(?:{_JOINER}{_CAPITALISED})*", target)
    name = clean_name(run.group(0)) if run else None
    return name, target


def match_voice(match: re.Match[str]) -> tuple[str | None, str | None]:
    groups = match.groupdict()
    if groups.get("target"):
        return name_and_role_of_target(groups["target"])
    if groups.get("group"):
        return None, groups["group"].strip()
    name = clean_name(groups.get("name"))
    return name, clean_role(groups.get("role"))


def attributions(sentence: str, language: str) -> Iterator[tuple[str | None, str | None, str]]:
    """(name, role, context) for each attribution; context is the matched text with a little before it."""
    taken: list[tuple[int, int]] = []
    for pattern in attribution_patterns(language):
        for match in pattern.finditer(sentence):
            if any(match.start() < end and start < match.end() for start, end in taken):
                continue
            name, role = match_voice(match)
            if name is None and role is None:
                continue
            taken.append(match.span())
            yield name, role, sentence[max(0, match.start() - 40) : match.end()]


def voice_kind(name: str | None, role: str | None, context: str, sentence: str, language: str) -> str:
    codebook = load_voices()
    anonymity = getattr(codebook.anonymity_cues, language)
    generic = role is not None and any(word in fold(role) for word in GENERIC_SOURCE_WORDS)
    if name is None and (generic or find_terms(sentence, anonymity)):
        return "anonymous"
    described = " ".join(part for part in (name, role, context) if part)
    for kind, terms in codebook.kinds.items():
        if find_terms(described, getattr(terms, language)):
            return kind
    return "named_person" if name else "other"


def anonymous_voice(sentence: str, language: str) -> Voice | None:
    """A sentence with an anonymity cue but no attribution pattern still cites an anonymous source."""
    hits = find_terms(sentence, getattr(load_voices().anonymity_cues, language))
    return Voice(None, hits[0][2], "anonymous", sentence) if hits else None


def sentence_voices(sentence: str, language: str) -> list[Voice]:
    voices = [
        Voice(name, role, voice_kind(name, role, context, sentence, language), sentence)
        for name, role, context in attributions(sentence, language)
    ]
    if not voices:
        fallback = anonymous_voice(sentence, language)
        voices = [fallback] if fallback else []
    return voices


def voices_in(headline: str, body_text: str, language: str) -> tuple[Voice, ...]:
    """Every voice quoted or cited in the article, in reading order."""
    code = check_language(language)
    sentences = [s for s in [headline.strip(), *split_sentences(body_text)] if s]
    return tuple(voice for sentence in sentences for voice in sentence_voices(sentence, code))
