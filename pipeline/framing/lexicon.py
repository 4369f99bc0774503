"""The framing codebooks (``config/framing/*.yaml``), validated on load, and how their terms match text.

Matching rules, shared by every codebook: case- and accent-insensitive, on word boundaries; a trailing
``*`` matches any word ending; a multi-word or hyphenated term matches its words separated by spaces or hyphens;
where matches overlap the longest wins, so "military intervention" is not also counted as
"intervention".
"""

from __future__ import annotations

import functools
import hashlib
import re
from collections import Counter
from collections.abc import Iterable, Mapping
from functools import lru_cache
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from pipeline.config import PROJECT_ROOT
from pipeline.text import fold
from schemas.framing_records import TermCount

FRAMING_CONFIG_DIR = PROJECT_ROOT / "config" / "framing"
LANGUAGES = ("en", "es")

# The 15 dimensions of the Policy Frames Codebook / Media Frames Corpus, in codebook order.
MFC_FRAMES = (
    "economic",
    "capacity_and_resources",
    "morality",
    "fairness_and_equality",
    "legality_constitutionality_jurisprudence",
    "policy_prescription_and_evaluation",
    "crime_and_punishment",
    "security_and_defense",
    "health_and_safety",
    "quality_of_life",
    "cultural_identity",
    "public_opinion",
    "political",
    "external_regulation_and_reputation",
    "other",
)


class FramingConfigError(ValueError):
    """A framing codebook file is missing, malformed or incomplete."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _non_empty_terms(terms: list[str]) -> list[str]:
    if not terms or any(not str(t).strip() for t in terms):
        raise ValueError("term lists must be non-empty and hold no blank term")
    return [str(t) for t in terms]


class BilingualTerms(_Strict):
    en: list[str]
    es: list[str]

    _check = field_validator("en", "es", mode="before")(_non_empty_terms)


class FrameEntry(_Strict):
    label: str
    description: str
    terms: BilingualTerms


class FramesCodebook(_Strict):
    version: int
    frames: dict[str, FrameEntry]

    @model_validator(mode="after")
    def _all_fifteen_dimensions(self) -> FramesCodebook:
        if tuple(self.frames) != MFC_FRAMES:
            raise ValueError(f"frames must be exactly the 15 MFC dimensions in order: {MFC_FRAMES}")
        return self


class LoadedTerm(_Strict):
    term: str = Field(min_length=1)
    note: str = Field(min_length=1)


class LoadedTermsCodebook(_Strict):
    version: int
    terms: dict[Literal["en", "es"], list[LoadedTerm]]


class CertaintyCues(_Strict):
    hedges: list[str]
    assertions: list[str]
    commitments: list[str]
    negations: list[str]

    _check = field_validator("hedges", "assertions", "commitments", "negations", mode="before")(
        _non_empty_terms
    )


class CertaintyCodebook(_Strict):
    version: int
    cues: dict[Literal["en", "es"], CertaintyCues]


class VoicesCodebook(_Strict):
    version: int
    speech_verbs: BilingualTerms
    according_to: BilingualTerms
    anonymity_cues: BilingualTerms
    kinds: dict[Literal["mexican_government", "us_government", "expert", "other_media"], BilingualTerms]


class ToneLexiconFile(_Strict):
    version: int
    glosses: dict[str, str]
    negations: list[str]
    boosters: list[str]
    dampeners: list[str]
    contrastive: list[str]


@lru_cache(maxsize=8)
def load_tone_lexicon_file(directory: Path = FRAMING_CONFIG_DIR) -> ToneLexiconFile:
    return load_yaml_model(directory / "tone_es.yaml", ToneLexiconFile)


@functools.lru_cache(maxsize=4)
def measures_version(directory: Path = FRAMING_CONFIG_DIR) -> str:
    """A short fingerprint of every codebook file and of the scoring code: stored with each article's
    measures so that changing either re-frames the articles measured before."""
    digest = hashlib.sha256()
    for path in sorted(directory.glob("*.yaml")):
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    # The framing stage's modules, and the shared text folding every codebook term is matched through.
    for module in [*sorted(Path(__file__).parent.glob("*.py")), PROJECT_ROOT / "pipeline" / "text.py"]:
        digest.update(module.name.encode() + b"\0" + module.read_bytes())
    return digest.hexdigest()[:16]


def load_yaml_model(path: Path, model: type[BaseModel]) -> BaseModel:
    """Read one codebook file; any problem becomes a FramingConfigError naming the file."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
        return model.model_validate(raw)
    except (OSError, yaml.YAMLError, ValueError) as error:
        raise FramingConfigError(f"{path}: {error}") from error


@lru_cache(maxsize=8)
def load_frames(directory: Path = FRAMING_CONFIG_DIR) -> FramesCodebook:
    return load_yaml_model(directory / "frames.yaml", FramesCodebook)


@lru_cache(maxsize=8)
def load_loaded_terms(directory: Path = FRAMING_CONFIG_DIR) -> LoadedTermsCodebook:
    return load_yaml_model(directory / "loaded_terms.yaml", LoadedTermsCodebook)


@lru_cache(maxsize=8)
def load_certainty(directory: Path = FRAMING_CONFIG_DIR) -> CertaintyCodebook:
    return load_yaml_model(directory / "certainty.yaml", CertaintyCodebook)


@lru_cache(maxsize=8)
def load_voices(directory: Path = FRAMING_CONFIG_DIR) -> VoicesCodebook:
    return load_yaml_model(directory / "voices.yaml", VoicesCodebook)


def check_language(language: str) -> str:
    """The framing measures exist for English and Spanish; anything else is a clear error."""
    code = (language or "").lower()[:2]
    if code not in LANGUAGES:
        raise ValueError(f"framing measures support {LANGUAGES}, not {language!r}")
    return code


def term_pattern(term: str) -> str:
    """Regex source for one codebook term (see the module docstring for the rules)."""
    folded = fold(term.strip())
    wildcard = folded.endswith("*")
    words = re.split(r"[\s\-]+", folded.rstrip("*"))
    body = r"[\s\-]+".join(re.escape(word) for word in words)
    ending = r"\w*" if wildcard else ""
    return rf"(?<!\w){body}{ending}(?!\w)"


def required_word(term: str) -> str:
    """The longest word a match of ``term`` must contain verbatim (after folding): a plain substring
    test on it rules a term out before its regex runs, and most terms are absent from most sentences."""
    return max(re.split(r"[\s\-]+", fold(term.strip()).rstrip("*")), key=len)


@lru_cache(maxsize=64)
def compile_terms(terms: tuple[str, ...]) -> tuple[tuple[str, str, re.Pattern[str]], ...]:
    return tuple((term, required_word(term), re.compile(term_pattern(term))) for term in terms)


def find_terms(text: str, terms: Iterable[str]) -> list[tuple[int, int, str]]:
    """Non-overlapping (start, end, term) matches in ``text``; where matches overlap the longest wins."""
    folded = fold(text)
    found = [
        (match.start(), match.end(), term)
        for term, word, pattern in compile_terms(tuple(terms))
        if word in folded
        for match in pattern.finditer(folded)
    ]
    found.sort(key=lambda hit: (hit[0], -(hit[1] - hit[0])))
    kept: list[tuple[int, int, str]] = []
    for start, end, term in found:
        if not kept or start >= kept[-1][1]:
            kept.append((start, end, term))
    return kept


def count_terms(text: str, terms: Iterable[str]) -> tuple[TermCount, ...]:
    """Each matched term with its count, most frequent first (ties alphabetical)."""
    counts = Counter(term for _, _, term in find_terms(text, terms))
    return tuple(TermCount(term, n) for term, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))


def count_by_group(text: str, groups: Mapping[str, Iterable[str]]) -> dict[str, tuple[TermCount, ...]]:
    """Match the terms of several groups together (overlaps resolved across groups), counted per group."""
    owner = {term: group for group, terms in groups.items() for term in terms}
    hits = find_terms(text, tuple(owner))
    per_group: dict[str, Counter[str]] = {group: Counter() for group in groups}
    for _, _, term in hits:
        per_group[owner[term]][term] += 1
    return {
        group: tuple(TermCount(t, n) for t, n in sorted(c.items(), key=lambda kv: (-kv[1], kv[0])))
        for group, c in per_group.items()
    }


_SENTENCE_END = re.compile(r"([.!?…][\"”»’')]*)\s+(?=[\"“«'¿¡(]?[A-ZÁÉÍÓÚÑÜ0-9])")
_ABBREVIATIONS = {
    "mr",
    "mrs",
    "ms",
    "dr",
    "gen",
    "sen",
    "rep",
    "gov",
    "lt",
    "col",
    "st",
    "sr",
    "sra",
    "u.s",
    "ee.uu",
    "jr",
    "adm",
    "sgt",
    "capt",
    "maj",
}


def split_sentences(text: str) -> list[str]:
    """Sentences of a news text: paragraphs first, then sentence ends not preceded by an abbreviation."""
    sentences: list[str] = []
    for paragraph in re.split(r"\n\s*\n|\r?\n", text):
        start = 0
        for match in _SENTENCE_END.finditer(paragraph):
            last_word = paragraph[start : match.start()].split()[-1:] or [""]
            if last_word[0].lower().rstrip(".") in _ABBREVIATIONS:
                continue
            sentences.append(paragraph[start : match.end(1)].strip())
            start = match.end()
        sentences.append(paragraph[start:].strip())
    return [s for s in sentences if s]


_WORD = re.compile(r"[^\W\d_]+(?:['’\-][^\W\d_]+)*")


def word_tokens(text: str) -> list[str]:
    """Lower-cased word tokens (letters, inner apostrophes and hyphens), digits and punctuation dropped."""
    return [token.lower() for token in _WORD.findall(text)]
