"""Rows of the analyst HTML report: plain records, already queried, that the renderer only lays out."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from schemas.framing_records import OutletComparison, TermCount


@dataclass(frozen=True)
class TimelineBucket:
    day: date
    articles: int
    outlets: int


@dataclass(frozen=True)
class StoryDefinition:
    """What the story is, as its config defined it when the warehouse last loaded it."""

    summary: tuple[tuple[str, str], ...] = ()  # (language, text)
    window_start: datetime | None = None
    window_end: datetime | None = None
    key_terms: tuple[tuple[str, tuple[str, ...]], ...] = ()  # (language, terms)
    entities: tuple[tuple[str, tuple[str, ...]], ...] = ()
    negative_terms: tuple[tuple[str, tuple[str, ...]], ...] = ()


@dataclass(frozen=True)
class OutletHealthNote:
    """An outlet health incident open during the story's window (issue 16): that outlet's silence in
    the story may be a crawler gap, not the outlet's choice."""

    outlet: str
    measure: str
    opened_at: datetime
    closed_at: datetime | None = None


@dataclass(frozen=True)
class ArticleRow:
    """One relevant article as the report's article table lists it."""

    headline: str
    url: str  # "" when the stored URL is not http(s): it is then shown, never linked
    outlet: str
    language: str | None
    published_at: datetime | None
    copy_of_outlet: str | None = None  # None: original reporting; else the outlet of the original
    copy_of_headline: str | None = None
    tone: float | None = None  # -1..1; None when framing was not measured
    certainty: float | None = None  # -1..1
    primary_frame: str | None = None  # MFC dimension key


@dataclass(frozen=True)
class OutletRow:
    outlet: str
    country: str | None
    language: str | None
    articles: int


@dataclass(frozen=True)
class FrameCell:
    outlet: str
    frame: str  # MFC dimension key
    share: float  # 0..1, mean share over the outlet's articles


@dataclass(frozen=True)
class OutletToneRow:
    outlet: str
    mean_tone: float  # -1..1
    mean_certainty: float  # -1..1
    articles: int
    language: str | None = None  # tone and certainty compare within a language (docs/framing.md)


@dataclass(frozen=True)
class VoiceCount:
    outlet: str
    voice_kind: str
    count: int


@dataclass(frozen=True)
class QuotedVoice:
    outlet: str
    name: str | None
    role: str | None
    voice_kind: str
    count: int


@dataclass(frozen=True)
class SyndicatedCopy:
    outlet: str
    headline: str
    url: str
    similarity: float


@dataclass(frozen=True)
class SyndicationGroup:
    original_outlet: str
    original_headline: str
    original_url: str
    copies: tuple[SyndicatedCopy, ...]


@dataclass(frozen=True)
class TranslationPair:
    """An original and its translation into another language, shown side by side (issue 17)."""

    original_outlet: str
    original_language: str | None
    original_headline: str
    original_url: str
    outlet: str
    language: str | None
    headline: str
    url: str
    score: float
    note: str  # "Spanish rendering of Continental Wire's story"


@dataclass(frozen=True)
class HeadlineEdit:
    outlet: str
    url: str
    previous_headline: str
    new_headline: str
    changed_at: datetime | None


@dataclass(frozen=True)
class HeadlineRow:
    outlet: str
    published_at: datetime | None
    headline: str
    lede: str
    url: str
    language: str | None = None
    syndicated: bool = False


@dataclass(frozen=True)
class DistinctiveTermRow:
    """An outlet's distinctive term on the story (log-odds z-score, docs/framing.md)."""

    outlet: str
    term: str
    z_score: float
    rank: int


@dataclass(frozen=True)
class PortrayalEvidence:
    """One sentence behind an outlet's figure for an actor: what the model read, and why."""

    sentence: str
    mention: str  # the name of the actor in the sentence
    label: str  # negative | neutral | positive
    score: float  # P(positive) - P(negative) toward the mention
    words: tuple[str, ...]  # the words that pushed hardest toward the label
    headline: str
    url: str  # "" when not http(s)


@dataclass(frozen=True)
class ActorPortrayal:
    """How one outlet portrayed one of the story's actors (``v_outlet_actor_tone``), with evidence."""

    outlet: str
    language: str | None
    actor: str
    articles: int  # the outlet's articles naming the actor
    outlet_articles: int  # the outlet's articles on the story
    mentions: int
    mean_score: float  # mean of the articles' scores, -1..+1
    negative: int  # mention labels, summed
    neutral: int
    positive: int
    evidence: tuple[PortrayalEvidence, ...] = ()  # its most negative and most positive sentences


@dataclass(frozen=True)
class OutletEvidence:
    """The words behind an outlet's descriptive figures, summed over its articles on the story."""

    outlet: str
    tone_words: tuple[TermCount, ...] = ()  # lexicon words most often among its articles' strongest cues
    hedges: tuple[TermCount, ...] = ()
    assertions: tuple[TermCount, ...] = ()
    frame_terms: tuple[TermCount, ...] = ()  # cue terms of its main frame


@dataclass(frozen=True)
class ReportData:
    """Everything the report shows. ``generated_at`` is passed in so a re-render is reproducible."""

    story_title: str
    story_slug: str
    generated_at: datetime
    timeline: tuple[TimelineBucket, ...] = ()
    outlets: tuple[OutletRow, ...] = ()
    frames: tuple[FrameCell, ...] = ()
    tone: tuple[OutletToneRow, ...] = ()
    voices: tuple[VoiceCount, ...] = ()
    quoted: tuple[QuotedVoice, ...] = ()
    syndication: tuple[SyndicationGroup, ...] = ()
    translations: tuple[TranslationPair, ...] = ()
    headline_edits: tuple[HeadlineEdit, ...] = ()
    headlines: tuple[HeadlineRow, ...] = ()
    distinctive_terms: tuple[DistinctiveTermRow, ...] = ()
    comparisons: tuple[OutletComparison, ...] = field(default=())
    definition: StoryDefinition = StoryDefinition()
    articles: tuple[ArticleRow, ...] = ()
    # Outlets found by query discovery rather than configured: the report marks them.
    discovered_outlets: frozenset[str] = frozenset()
    # Why the story has no coverage yet and what to check; None when it has some.
    empty_reason: str | None = None
    distinctive_threshold: float = 1.96  # z above which a term is shown as distinctive
    # Outlet health incidents open during the story's window (its crawl gaps).
    outlet_health: tuple[OutletHealthNote, ...] = ()
    # Tone toward the story's actors, per outlet and actor (issue 21), and the actors in story order.
    portrayals: tuple[ActorPortrayal, ...] = ()
    actors: tuple[str, ...] = ()
    outlet_evidence: tuple[OutletEvidence, ...] = ()
