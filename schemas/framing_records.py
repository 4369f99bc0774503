"""Typed records of the framing stage: what an article's framing measures are, with their evidence.

Each measure carries the words or sentences it was computed from, so an analyst can see why a score
is what it is. Methods and sources are in ``docs/framing.md``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class TermCount:
    """A codebook term and how often it matched (``term`` is the codebook's spelling)."""

    term: str
    count: int


@dataclass(frozen=True)
class ToneCue:
    """A word that moved the tone score, with the valence it contributed (VADER scale, -4..+4)."""

    word: str
    valence: float


@dataclass(frozen=True)
class ToneScore:
    """Tone on VADER's normalised compound scale, -1 (negative) .. +1 (positive), in both languages."""

    compound: float  # mean of the sentence compounds of headline + body
    headline_compound: float
    method: str  # "vader-en" | "vader-es-adapted"
    lexicon_coverage: float  # share of word tokens found in the lexicon: low coverage means a weak signal
    cues: tuple[ToneCue, ...]  # the strongest lexicon words found, most extreme first


@dataclass(frozen=True)
class FrameShare:
    """One Media Frames Corpus dimension: its share of all frame cues in the article, and the cues."""

    frame: str  # codebook key, e.g. "security_and_defense"
    label: str
    share: float  # 0..1; shares of an article sum to 1 when any cue matched
    terms: tuple[TermCount, ...]


@dataclass(frozen=True)
class CertaintyScore:
    """-1 (only hedged claims) .. +1 (only assertive claims); 0 when balanced or no cue matched."""

    score: float
    hedges: tuple[TermCount, ...]
    assertions: tuple[TermCount, ...]


@dataclass(frozen=True)
class Voice:
    """Someone quoted or cited. ``voice_kind``: anonymous, us_government, mexican_government, expert,
    other_media, named_person or other."""

    name: str | None
    role: str | None
    voice_kind: str
    evidence: str  # the sentence the attribution was found in


@dataclass(frozen=True)
class ArticleFraming:
    """Every framing measure of one article."""

    language: str  # "en" | "es"
    tone: ToneScore
    frames: tuple[FrameShare, ...]  # all 15 dimensions, in codebook order
    primary_frame: str | None  # key of the largest share; None when no frame cue matched
    certainty: CertaintyScore
    voices: tuple[Voice, ...]
    loaded_terms: tuple[TermCount, ...]


@dataclass(frozen=True)
class DistinctiveTerm:
    """A word or bigram with its log-odds z-score (Monroe, Colaresi & Quinn 2008): > 0 means the
    outlet uses it more than the rest of the coverage."""

    term: str
    z_score: float
    log_odds_ratio: float
    count_in_outlet: int
    count_in_rest: int


@dataclass(frozen=True)
class CoverageRow:
    """One article as the outlet/story aggregations need it (already queried from the warehouse)."""

    outlet: str
    url_hash: str
    headline: str
    lede: str
    published_at: datetime | None
    language: str | None = None
    country: str | None = None
    syndicated_from: str | None = None  # url_hash of the original when this is wire/syndicated copy


@dataclass(frozen=True)
class OutletSyndication:
    outlet: str
    articles: int
    original: int
    syndicated: int
    original_share: float  # original / articles


@dataclass(frozen=True)
class FirstCoverage:
    outlet: str
    first_published_at: datetime
    url_hash: str
    headline: str


@dataclass(frozen=True)
class OutletComparison:
    """One row of the per-outlet comparison (CLI table, CSV, JSON, HTML report)."""

    outlet: str
    country: str | None
    language: str | None
    articles: int
    original_share: float | None
    mean_tone: float | None
    mean_certainty: float | None
    primary_frame: str | None
    top_loaded_terms: tuple[str, ...] = ()
    voice_kinds: tuple[TermCount, ...] = ()  # e.g. (TermCount("us_government", 4), ...)
    # Articles rendering another outlet's story in another language, by that outlet (issue 17).
    translations_of: tuple[TermCount, ...] = ()


@dataclass(frozen=True)
class MentionTone:
    """The tone of one sentence toward one mention of an actor (pipeline/framing/tone_model.py)."""

    mention: str  # the text that named the actor
    label: str  # negative | neutral | positive: the model's most probable class
    score: float  # P(positive) - P(negative), -1..+1
    probabilities: tuple[float, float, float]  # negative, neutral, positive
    evidence: tuple[ToneCue, ...]  # the words that pushed hardest toward ``label``, with that push
    sentence: str


@dataclass(frozen=True)
class ActorTone:
    """How an article portrays one of the story's actors: the mean over the sentences naming it."""

    actor: str  # the story entity, as the story's configuration spells it
    mentions: int
    score: float  # mean MentionTone.score, -1 (negative) .. +1 (positive)
    negative: int
    neutral: int
    positive: int
    evidence: tuple[MentionTone, ...]


@dataclass(frozen=True)
class OutletActorTone:
    """One outlet's portrayal of one actor over its articles on a story."""

    outlet: str
    actor: str
    articles: int  # articles naming the actor
    mentions: int
    mean_score: float  # mean of the articles' ActorTone.score, -1..+1
    negative: int  # mention labels, summed over the articles
    neutral: int
    positive: int
