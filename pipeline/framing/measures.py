"""Framing measures of one article: tone, frame dimensions, certainty, sourcing and loaded terms.

Each function is pure: text and language in, a record with its evidence out. The codebooks are the
YAML files in ``config/framing/``; methods, sources and limits are documented in ``docs/framing.md``.
"""

from __future__ import annotations

from collections import Counter

from pipeline.framing.lexicon import (
    check_language,
    count_by_group,
    count_terms,
    find_terms,
    load_certainty,
    load_frames,
    load_loaded_terms,
    word_tokens,
)
from pipeline.framing.sources import voices_in
from pipeline.framing.tone import article_tone
from pipeline.text import fold
from schemas.framing_records import ArticleFraming, CertaintyScore, FrameShare, TermCount


def full_text(headline: str, body_text: str) -> str:
    # A blank line keeps the headline a sentence of its own for every matcher.
    return f"{headline.strip()}\n\n{body_text.strip()}"


def frame_shares(text: str, language: str) -> tuple[FrameShare, ...]:
    """All 15 MFC dimensions with their share of the article's frame cues and the cues matched."""
    code = check_language(language)
    codebook = load_frames().frames
    terms = {key: getattr(entry.terms, code) for key, entry in codebook.items()}
    matched = count_by_group(text, terms)
    total = sum(tc.count for counts in matched.values() for tc in counts)
    return tuple(
        FrameShare(
            frame=key,
            label=codebook[key].label,
            share=round(sum(tc.count for tc in counts) / total, 4) if total else 0.0,
            terms=counts,
        )
        for key, counts in matched.items()
    )


def primary_frame(frames: tuple[FrameShare, ...]) -> str | None:
    """The dimension with the largest share (earliest in codebook order on a tie); None if no cue."""
    best = max(frames, key=lambda frame: frame.share, default=None)
    return best.frame if best is not None and best.share > 0 else None


NEGATION_WINDOW = 3  # words before a cue, as in VADER's negation rule
NEGATED_SUFFIX = " (negated)"


def certainty_of(text: str, language: str) -> CertaintyScore:
    """(assertions - hedges) / (assertions + hedges): -1 all hedged, +1 all assertive, 0 balanced/none.

    Commitments ("will", "va a") count as assertions; an assertion with a negation in the three words
    before it ("has not confirmed") counts as a hedge (docs/framing.md, Certainty).
    """
    code = check_language(language)
    cues = load_certainty().cues[code]
    groups = {"hedges": cues.hedges, "assertions": cues.assertions, "commitments": cues.commitments}
    owner = {term: group for group, terms in groups.items() for term in terms}
    folded = fold(text)
    found: dict[str, Counter[str]] = {"hedges": Counter(), "assertions": Counter()}
    for start, _, term in find_terms(text, tuple(owner)):
        group = owner[term]
        if group == "assertions" and is_negated(folded, start, cues.negations):
            found["hedges"][term + NEGATED_SUFFIX] += 1
        else:
            found["hedges" if group == "hedges" else "assertions"][term] += 1
    hedges, assertions = sum(found["hedges"].values()), sum(found["assertions"].values())
    total = hedges + assertions
    score = round((assertions - hedges) / total, 4) if total else 0.0
    return CertaintyScore(score=score, hedges=ranked(found["hedges"]), assertions=ranked(found["assertions"]))


def is_negated(folded_text: str, cue_start: int, negations: list[str]) -> bool:
    """A negation among the few words before a cue ("did not confirm", "no ha confirmado")."""
    before = word_tokens(folded_text[:cue_start])[-NEGATION_WINDOW:]
    negators = {fold(word) for word in negations}
    return any(word in negators or word.endswith("n't") for word in before)


def ranked(counts: Counter[str]) -> tuple[TermCount, ...]:
    return tuple(TermCount(t, n) for t, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))


def loaded_terms_in(text: str, language: str) -> tuple[TermCount, ...]:
    code = check_language(language)
    return count_terms(text, [entry.term for entry in load_loaded_terms().terms[code]])


def article_framing(headline: str, body_text: str, language: str) -> ArticleFraming:
    """Every framing measure of one article, each with the evidence it was computed from."""
    code = check_language(language)
    text = full_text(headline, body_text)
    frames = frame_shares(text, code)
    return ArticleFraming(
        language=code,
        tone=article_tone(headline, body_text, code),
        frames=frames,
        primary_frame=primary_frame(frames),
        certainty=certainty_of(text, code),
        voices=voices_in(headline, body_text, code),
        loaded_terms=loaded_terms_in(text, code),
    )


def warehouse_fields(framing: ArticleFraming) -> dict[str, object]:
    """The ``article_framing`` table's measure columns: JSON-ready, evidence kept beside the scores."""
    return {
        "tone": framing.tone.compound,
        "tone_method": framing.tone.method,
        "certainty": framing.certainty.score,
        "frame_shares": {f.frame: f.share for f in framing.frames if f.share > 0},
        "primary_frame": framing.primary_frame,
        "loaded_terms": {tc.term: tc.count for tc in framing.loaded_terms},
        "evidence": {
            "headline_tone": framing.tone.headline_compound,
            "lexicon_coverage": framing.tone.lexicon_coverage,
            "tone_cues": [[cue.word, cue.valence] for cue in framing.tone.cues],
            "hedges": {tc.term: tc.count for tc in framing.certainty.hedges},
            "assertions": {tc.term: tc.count for tc in framing.certainty.assertions},
            "frame_terms": {
                f.frame: {tc.term: tc.count for tc in f.terms} for f in framing.frames if f.terms
            },
        },
    }
