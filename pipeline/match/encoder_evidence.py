"""Cross-language evidence: is an article coverage of a story whose definition is in another language?

A story's terms and summary match an article through the stems of the languages the analyst wrote them
in. An analyst who defines a story in English only would otherwise never see its Spanish coverage: the
names cross languages ("Sheinbaum", "México"), what *happens* ("ataques con drones", "soberanía") does
not. For an article in a language the story's key terms are not written in, a multilingual sentence
encoder (``pipeline.encoder``) places the article's lead (headline, dek, first paragraphs) and the
story's own definition in one space, and reads the definition as a contrast:

- ``key_term_affinity``: the cosine of the lead to the story's key terms (the action it is about),
- ``neighbour_affinity``: the cosine of the lead to its negative terms (the neighbouring stories),
- the evidence holds when the first exceeds the second by ``MIN_AFFINITY_MARGIN``: the lead reads
  closer to what the story is about than to what it is not.

The article must still name one of the story's entities in its window (rules 1 and 2, as for any
article); the encoder stands in for rules 3 to 6, since counting terms of another language says nothing.

The margin and the contrast were chosen on the replay world and checked on held-out stories written
apart from it and from the code (``make bench-cross-language``: ``bench/cross_language.py``). The
evidence stored with the decision names the encoder, both affinities, the margin, the languages and
what the terms alone said, so an analyst sees why the article was matched.

The same reading could rescue, in the story's own language, coverage that paraphrases the key terms;
measured (docs/warehouse.md, "Across languages, measured"), it found 3 more of 40 held-out articles
and nearly tripled matching's CPU, and is not used.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from pipeline.config import StoryConfig, StoryTerms
from pipeline.encoder import ENCODER_LANGUAGES, ENCODER_NAME, encode, text_vector

# The contrast that separates coverage from the rest on the replay world: its coverage reads 0.085-0.39
# closer to the key terms than to the negative terms, every other article that names an entity 0.134 at
# most (bench/cross_language.py prints both, and the held-out figures).
MIN_AFFINITY_MARGIN = 0.12
# A story that lists no negative terms has nothing to contrast with: its key-term affinity must then
# reach this on its own (above every replay-world article that is not coverage: 0.43; coverage reads up
# to 0.65). Stricter, so fewer found: list negative terms (bench/cross_language.py compares both).
MIN_KEY_TERM_AFFINITY = 0.43
LEAD_PARAGRAPHS = 3  # headline, dek and the first paragraphs: where a report says what it is about


@dataclass(frozen=True)
class DefinitionVectors:
    """A story's definition in the encoder's space: its key terms and its negative terms (``None``
    when it lists none)."""

    key_terms: np.ndarray
    negative_terms: np.ndarray | None


@dataclass(frozen=True)
class EncoderEvidence:
    key_term_affinity: float
    neighbour_affinity: float | None  # None: the story lists no negative terms
    article_language: str
    story_languages: tuple[str, ...]

    @property
    def crosses_languages(self) -> bool:
        return self.article_language not in self.story_languages

    @property
    def margin(self) -> float:
        """How far the reading passes (positive) or misses (negative) its bar."""
        if self.neighbour_affinity is None:
            return self.key_term_affinity - MIN_KEY_TERM_AFFINITY
        return self.key_term_affinity - self.neighbour_affinity - MIN_AFFINITY_MARGIN

    @property
    def holds(self) -> bool:
        return self.margin >= 0

    def as_dict(self) -> dict:
        return {
            "measure": ENCODER_NAME,
            "crosses_languages": self.crosses_languages,
            "article_language": self.article_language,
            "story_languages": list(self.story_languages),
            "key_term_affinity": round(self.key_term_affinity, 4),
            "neighbour_affinity": None
            if self.neighbour_affinity is None
            else round(self.neighbour_affinity, 4),
            "bar": (
                f"key-term affinity >= {MIN_KEY_TERM_AFFINITY}"
                if self.neighbour_affinity is None
                else f"key-term affinity - neighbour affinity >= {MIN_AFFINITY_MARGIN}"
            ),
            "margin": round(self.margin, 4),  # above (>= 0) or below the bar
        }


def defined_languages(terms: StoryTerms) -> tuple[str, ...]:
    return tuple(language for language in ("en", "es") if getattr(terms, language))


def needs_cross_language(story: StoryConfig, article_language: str) -> bool:
    """True when the story's key terms are not written in the article's language and the encoder
    reads that language: the terms cannot decide, the encoder must."""
    return article_language in ENCODER_LANGUAGES and article_language not in defined_languages(
        story.key_terms
    )


def story_crosses_languages(story: StoryConfig) -> bool:
    """True when the story's key terms leave out English or Spanish, the languages of the outlets."""
    return len(defined_languages(story.key_terms)) < 2


def _term_text(terms: StoryTerms) -> str:
    return ", ".join(dict.fromkeys((*terms.en, *terms.es)))


@lru_cache(maxsize=256)
def _definition_vectors(key_text: str, negative_text: str) -> DefinitionVectors:
    texts = [key_text] + ([negative_text] if negative_text else [])
    vectors = encode(texts)
    return DefinitionVectors(vectors[0], vectors[1] if negative_text else None)


def definition_vectors(story: StoryConfig) -> DefinitionVectors:
    return _definition_vectors(_term_text(story.key_terms), _term_text(story.negative_terms))


def lead_text(headline: str | None, dek: str | None, body_text: str) -> str:
    paragraphs = [p.strip() for p in re.split(r"\n\s*\n", body_text) if p.strip()]
    return "\n".join(part for part in (headline, dek, *paragraphs[:LEAD_PARAGRAPHS]) if part)


def lead_vector(headline: str | None, dek: str | None, body_text: str) -> np.ndarray:
    return text_vector(lead_text(headline, dek, body_text))


def encoder_score(evidence: EncoderEvidence, entity_part: float) -> float:
    """The score of a decision the encoder made (0..1), for ranking like any other: how far above or below
    its bar the reading lies (0.6; just at the bar: half of it) and the entity evidence (0.4)."""
    margin_part = min(1.0, max(0.0, 0.5 + evidence.margin / (2 * MIN_AFFINITY_MARGIN)))
    return round(0.6 * margin_part + 0.4 * entity_part, 4)


def encoder_evidence(story: StoryConfig, lead_vector: np.ndarray, article_language: str) -> EncoderEvidence:
    definition = definition_vectors(story)
    key_affinity = float(lead_vector @ definition.key_terms)
    neighbour = (
        float(lead_vector @ definition.negative_terms) if definition.negative_terms is not None else None
    )
    return EncoderEvidence(key_affinity, neighbour, article_language, defined_languages(story.key_terms))
