"""Translated copies: is article B (one language) a translation or close adaptation of earlier article A
(another language)?

A translation keeps what no translator translates, in the same order: numbers, names, acronyms, dates
(weekdays and months are mapped to one token in either language) and the count of quotations per
passage. Two independent reports of one event share many of those facts too, but not their order nor
their spread over the passages, so the decision rests on two measures of alignment:

- ``anchor_order``: the longest common subsequence of the two texts' anchor sequences (restricted to
  the anchors both share) over the shorter sequence: a translation keeps the sequence, an independent
  report tells the same facts in its own order;
- ``passage_alignment``: passages (paragraphs) aligned in order, each pair scored by the overlap of
  their anchors, their length ratio and their quotation counts; the share of the shorter text's
  passages so aligned (a trimmed ending or an added local paragraph costs a passage or two, not the
  link).

A close adaptation breaks both: its lede is rewritten, sentences and paragraphs move, a paragraph is
cut to a sentence. Where the anchors neither link a pair nor rule it out (``anchors_undecided``), the
multilingual encoder (``pipeline.encoder``) reads the passages themselves: ``rendered_passages`` is the
share of the shorter text's paragraphs that have a counterpart in the other text with a cosine of at
least ``RENDERING_COSINE``, matched one to one in any order. A translation renders most of its original's
paragraphs; two agencies' reports of one press conference share its quotations, and so a paragraph or
two, but not most (measured: ``make bench-translation``, the replay world and two held-out sets).

Candidates are blocked cheaply (``candidate_originals``): earlier articles in another language within a
time window that share enough rare anchors, looked up in an inverted index, so the cost is linear in
the new articles; only the articles of an undecided pair are encoded.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

import numpy as np

from pipeline.encoder import ENCODER_NAME, texts_vectors
from pipeline.text import fold

WINDOW = timedelta(days=4)  # a translation runs within days of its original
MIN_SHARED_ANCHORS = 6  # blocking: fewer shared anchors than this is never a translation
# Blocking: a translation keeps most of its original's distinct anchors (the replay world's: 0.6 and
# above), an unrelated text in the window shares a few common ones ("usa", "mexic").
MIN_SHARED_SHARE = 0.4
ANCHOR_ORDER_THRESHOLD = 0.75  # measured on the replay world: translations 0.82-0.96, others below
PASSAGE_ALIGNMENT_THRESHOLD = 0.7  # translations 0.71-1.0; independent reports with ordered anchors <= 0.67
# Below these the anchors rule a pair out without the encoder: a translation keeps at least half its
# anchors in order and aligns at least a third of its paragraphs by them, however loosely adapted
# (held-out adaptations: order 0.54-0.71, alignment 0.50-0.75). Above, the encoder decides.
UNDECIDED_ANCHOR_ORDER = 0.5
UNDECIDED_PASSAGE_ALIGNMENT = 0.3
# Chosen on the replay world in the comparison of methods, before the held-out sets existed: there
# translated paragraphs meet at 0.65 and above, and translations render 0.71-1.0 of their paragraphs,
# blocked non-translations 0.17 at most.
RENDERING_COSINE = 0.65
RENDERED_SHARE = 0.5
PASSAGE_MATCH = 0.35  # a passage pair counts as aligned at this similarity or above
MAX_PASSAGES = 60
MAX_PASSAGE_ANCHORS = 40
# Quotation marks in either language: straight, curly and angle quotes.
QUOTATION = re.compile(r"[\"“”«»]([^\"“”«»]{3,})[\"“”«»]")

_WEEKDAYS = {
    **dict.fromkeys(("monday", "lunes"), 1),
    **dict.fromkeys(("tuesday", "martes"), 2),
    **dict.fromkeys(("wednesday", "miercoles"), 3),
    **dict.fromkeys(("thursday", "jueves"), 4),
    **dict.fromkeys(("friday", "viernes"), 5),
    **dict.fromkeys(("saturday", "sabado"), 6),
    **dict.fromkeys(("sunday", "domingo"), 7),
}
_MONTHS = {
    name: number
    for number, names in enumerate(
        (
            ("january", "enero"), ("february", "febrero"), ("march", "marzo"), ("april", "abril"),
            ("may", "mayo"), ("june", "junio"), ("july", "julio"), ("august", "agosto"),
            ("september", "septiembre", "setiembre"), ("october", "octubre"),
            ("november", "noviembre"), ("december", "diciembre"),
        ),
        start=1,
    )
    for name in names
}  # fmt: skip
_SCALE_WORDS = {"thousand": 1_000, "mil": 1_000, "million": 1_000_000, "millones": 1_000_000,
                "millon": 1_000_000, "billion": 1_000_000_000}  # fmt: skip
# Capitalised words that are grammar, not names (sentence starts are skipped anyway; these open
# clauses after a colon or a quotation, or are capitalised by English convention).
_NOT_NAMES = frozenset({
    "a", "an", "and", "as", "at", "but", "by", "el", "en", "for", "he", "her", "his", "i", "in", "it",
    "its", "la", "las", "los", "no", "of", "on", "or", "our", "she", "so", "the", "their", "they", "this",
    "to", "un", "una", "we", "y", "yo",
})  # fmt: skip
_TOKEN = re.compile(r"\$?\d(?:[\d.,]*\d)?|[^\W\d_][\w\-]*", re.UNICODE)
NAME_PREFIX = 5  # names compared by their first letters: "Pentagon"/"Pentágono", "Caribbean"/"Caribe"
# The few names every translation renders differently, as one token (Spanish and English spellings).
_RENDERED_NAMES = (
    (re.compile(r"\b(?:Estados Unidos|United States|EE\.\s?UU\.?|EEUU|EUA|EU|U\.S\.|US)\b"), "USA"),
    (re.compile(r"\b(?:Casa Blanca|White House)\b"), "Whitehouse"),
)
_SENTENCE_END = re.compile(r"[.!?:;—\"“”«»(]\s*$")
# Spanish writes weekdays and months in lower case; scale words follow a number.
_LOWERCASE_ANCHORS = frozenset([*_WEEKDAYS, *_MONTHS, *_SCALE_WORDS, "miércoles", "sábado", "millón"])


@dataclass(frozen=True)
class Passage:
    """One paragraph's anchors in order, its length in characters and its quotation count."""

    anchors: tuple[str, ...]
    length: int
    quotations: int


@dataclass(frozen=True)
class TranslationEvidence:
    """Why B is (or is not) read as a translation of A: the measures and the aligned anchors."""

    is_translation: bool
    score: float  # mean of anchor_order and passage_alignment, 0..1
    anchor_order: float
    passage_alignment: float
    shared_anchors: int
    aligned_anchors: tuple[str, ...]  # the anchors both texts hold, in the order both keep them
    aligned_passages: tuple[tuple[int, int, float], ...] = field(default=())  # (A's, B's, similarity)
    reason: str = ""
    # The encoder's reading, when the anchors left the pair open: the share of paragraphs rendered and
    # the paragraph pairs (A's, B's, cosine). None: the encoder was not needed.
    rendered_passages: float | None = None
    rendered_pairs: tuple[tuple[int, int, float], ...] = field(default=())

    def as_dict(self) -> dict:
        return {
            "score": round(self.score, 3),
            "anchor_order": round(self.anchor_order, 3),
            "passage_alignment": round(self.passage_alignment, 3),
            "shared_anchors": self.shared_anchors,
            "aligned_anchors": list(self.aligned_anchors),
            "aligned_passages": [[a, b, round(s, 3)] for a, b, s in self.aligned_passages],
            "reason": self.reason,
            **(
                {
                    "rendered_passages": round(self.rendered_passages, 3),
                    "rendered_pairs": [[a, b, round(s, 3)] for a, b, s in self.rendered_pairs],
                    "encoder": ENCODER_NAME,
                }
                if self.rendered_passages is not None
                else {}
            ),
        }


def _number(token: str) -> str:
    """A number as one canonical token: "$600,000", "600.000" and "600000" are all "600000"."""
    digits = token.lstrip("$")
    if re.fullmatch(r"\d{1,3}([.,]\d{3})+", digits):
        return digits.replace(",", "").replace(".", "")
    return digits.replace(",", ".")


def paragraph_anchors(paragraph: str) -> tuple[str, ...]:
    """The paragraph's language-independent anchors in order: numbers (with "mil"/"thousand" scaled),
    names and acronyms (capitalised words not opening a sentence, folded, cut to ``NAME_PREFIX``
    letters), weekdays and months."""
    anchors: list[str] = []
    previous_end = 0
    for pattern, name in _RENDERED_NAMES:
        paragraph = pattern.sub(name, paragraph)
    for match in _TOKEN.finditer(paragraph):
        token, before = match.group(), paragraph[previous_end : match.start()]
        sentence_start = previous_end == 0 or bool(_SENTENCE_END.search(before))
        previous_end = match.end()
        if not token[0].isalpha():
            anchors.append("#" + _number(token))
        elif token[0].isupper() or token in _LOWERCASE_ANCHORS:
            _add_word_anchor(anchors, token, before, sentence_start)
    return tuple(anchors)


def _add_word_anchor(anchors: list[str], token: str, before: str, sentence_start: bool) -> None:
    folded = fold(token)
    if folded in _SCALE_WORDS and anchors and anchors[-1].startswith("#") and not before.strip():
        anchors[-1] = "#" + _scaled(anchors[-1][1:], _SCALE_WORDS[folded])
    elif folded in _WEEKDAYS:
        anchors.append(f"@day{_WEEKDAYS[folded]}")
    elif folded in _MONTHS and (token[0].isupper() or folded != "may"):
        anchors.append(f"@month{_MONTHS[folded]}")
    elif token[0].isupper() and not sentence_start and folded not in _NOT_NAMES:
        anchors.append(folded[:NAME_PREFIX])


def _scaled(number: str, factor: int) -> str:
    try:
        value = float(number) * factor
    except ValueError:
        return number
    return str(int(value)) if value.is_integer() else str(value)


def paragraphs(body_text: str) -> list[str]:
    return [p.strip() for p in re.split(r"\n\s*\n", body_text) if p.strip()]


def passages(body_text: str) -> tuple[Passage, ...]:
    """The first ``MAX_PASSAGES`` paragraphs, each with at most ``MAX_PASSAGE_ANCHORS`` anchors: the
    alignments are quadratic, and a hostile page must not make them slow (a news article has tens)."""
    return _passages_of(paragraphs(body_text)[:MAX_PASSAGES])


def _passages_of(texts: Sequence[str]) -> tuple[Passage, ...]:
    return tuple(
        Passage(paragraph_anchors(p)[:MAX_PASSAGE_ANCHORS], len(p), len(QUOTATION.findall(p))) for p in texts
    )


def rendered_passages(first: np.ndarray, second: np.ndarray) -> tuple[float, list[tuple[int, int, float]]]:
    """The share of the shorter text's paragraphs with a counterpart in the other at ``RENDERING_COSINE``
    or above, matched one to one in any order (an adaptation moves paragraphs), greedily by cosine, and
    the matched pairs (first's index, second's, cosine)."""
    if not len(first) or not len(second):
        return 0.0, []
    cosine = first @ second.T
    order = np.argsort(-cosine, axis=None)
    used_first, used_second, pairs = set(), set(), []
    for flat in order:
        i, j = divmod(int(flat), cosine.shape[1])
        if cosine[i, j] < RENDERING_COSINE:
            break
        if i not in used_first and j not in used_second:
            used_first.add(i)
            used_second.add(j)
            pairs.append((i, j, float(cosine[i, j])))
    return len(pairs) / min(cosine.shape), sorted(pairs)


def article_anchors(body_text: str) -> frozenset[str]:
    """Every anchor of the text: the blocking key set."""
    return frozenset(a for p in passages(body_text) for a in p.anchors)


def _lcs(first: Sequence[str], second: Sequence[str]) -> list[str]:
    """Longest common subsequence (dynamic programming; anchor sequences are tens long)."""
    rows, cols = len(first), len(second)
    table = [[0] * (cols + 1) for _ in range(rows + 1)]
    for i in range(rows - 1, -1, -1):
        for j in range(cols - 1, -1, -1):
            table[i][j] = (
                table[i + 1][j + 1] + 1 if first[i] == second[j] else max(table[i + 1][j], table[i][j + 1])
            )
    common, i, j = [], 0, 0
    while i < rows and j < cols:
        if first[i] == second[j]:
            common.append(first[i])
            i, j = i + 1, j + 1
        elif table[i + 1][j] >= table[i][j + 1]:
            i += 1
        else:
            j += 1
    return common


def passage_similarity(first: Passage, second: Passage) -> float:
    """Overlap of two passages' anchors (Dice, counted with multiplicity), damped by an unlikely length
    ratio for a translation (English to Spanish runs about 1.2 times longer) and unequal quotations."""
    if not first.anchors or not second.anchors:
        return 0.0
    shared = sum((Counter(first.anchors) & Counter(second.anchors)).values())
    dice = 2 * shared / (len(first.anchors) + len(second.anchors))
    ratio = min(first.length, second.length) / max(first.length, second.length)
    length_factor = 1.0 if ratio >= 0.6 else ratio / 0.6
    quote_factor = 1.0 if first.quotations == second.quotations else 0.7
    return dice * length_factor * quote_factor


def align_passages(first: Sequence[Passage], second: Sequence[Passage]) -> list[tuple[int, int, float]]:
    """The in-order alignment of passages that maximises the summed similarity of aligned pairs."""
    rows, cols = len(first), len(second)
    best = [[0.0] * (cols + 1) for _ in range(rows + 1)]
    similarity = [[passage_similarity(a, b) for b in second] for a in first]
    for i in range(rows - 1, -1, -1):
        for j in range(cols - 1, -1, -1):
            pair = similarity[i][j] if similarity[i][j] >= PASSAGE_MATCH else 0.0
            best[i][j] = max(best[i + 1][j + 1] + pair, best[i + 1][j], best[i][j + 1])
    aligned, i, j = [], 0, 0
    while i < rows and j < cols:
        pair = similarity[i][j] if similarity[i][j] >= PASSAGE_MATCH else 0.0
        if pair and best[i][j] == best[i + 1][j + 1] + pair:
            aligned.append((i, j, similarity[i][j]))
            i, j = i + 1, j + 1
        elif best[i + 1][j] >= best[i][j + 1]:
            i += 1
        else:
            j += 1
    return aligned


def judge_translation(original_text: str, candidate_text: str) -> TranslationEvidence:
    """Is ``candidate_text`` a translation or close adaptation of ``original_text``? (Languages and
    order in time are the caller's: see ``candidate_originals``.)"""
    original = TranslationCandidate.of("original", "", datetime.min, original_text)
    candidate = TranslationCandidate.of("candidate", "", datetime.min, candidate_text)
    return judge_pair(original, candidate)


def judge_pair(
    original: TranslationCandidate,
    candidate: TranslationCandidate,
    by_anchors: TranslationEvidence | None = None,
) -> TranslationEvidence:
    """The anchors' verdict (``by_anchors`` when already computed), and where they leave the pair
    open, the encoder's."""
    evidence = by_anchors or judge_passages(original.passages, candidate.passages)
    if evidence.is_translation or not anchors_undecided(evidence):
        return evidence
    share, pairs = rendered_passages(original.passage_vectors(), candidate.passage_vectors())
    rendered = share >= RENDERED_SHARE
    reason = "paragraphs render each other (encoder)" if rendered else "paragraphs do not render each other"
    return replace(
        evidence,
        is_translation=rendered,
        score=(evidence.anchor_order + share) / 2,
        reason=reason,
        rendered_passages=share,
        rendered_pairs=tuple(pairs),
    )


def anchors_undecided(evidence: TranslationEvidence) -> bool:
    """Enough shared anchors, and order and alignment too high to rule out a loose adaptation."""
    return (
        evidence.shared_anchors >= MIN_SHARED_ANCHORS
        and evidence.anchor_order >= UNDECIDED_ANCHOR_ORDER
        and evidence.passage_alignment >= UNDECIDED_PASSAGE_ALIGNMENT
    )


def judge_passages(first: Sequence[Passage], second: Sequence[Passage]) -> TranslationEvidence:
    sequence_a = [a for p in first for a in p.anchors]
    sequence_b = [a for p in second for a in p.anchors]
    shared = set(sequence_a) & set(sequence_b)
    if len(shared) < MIN_SHARED_ANCHORS:
        return TranslationEvidence(False, 0.0, 0.0, 0.0, len(shared), (), (), "too few shared anchors")
    kept_a = [a for a in sequence_a if a in shared]
    kept_b = [a for a in sequence_b if a in shared]
    common = _lcs(kept_a, kept_b)
    anchor_order = len(common) / min(len(kept_a), len(kept_b))
    aligned = align_passages(first, second)
    with_anchors = min(sum(1 for p in first if p.anchors), sum(1 for p in second if p.anchors))
    passage_alignment = len(aligned) / with_anchors if with_anchors else 0.0
    is_translation = (
        anchor_order >= ANCHOR_ORDER_THRESHOLD and passage_alignment >= PASSAGE_ALIGNMENT_THRESHOLD
    )
    reason = (
        "anchors and passages aligned in order"
        if is_translation
        else "anchors out of order"
        if anchor_order < ANCHOR_ORDER_THRESHOLD
        else "passages do not align"
    )
    return TranslationEvidence(
        is_translation, (anchor_order + passage_alignment) / 2, anchor_order, passage_alignment,
        len(shared), tuple(common), tuple(aligned), reason,
    )  # fmt: skip


@dataclass(frozen=True)
class TranslationCandidate:
    """What blocking and judging need of an article: its passages' anchors, computed once, and its
    paragraphs' text for the encoder (read only for a pair the anchors leave open)."""

    key: str
    language: str
    published: datetime
    passages: tuple[Passage, ...]
    anchors: frozenset[str] = frozenset()
    texts: tuple[str, ...] = ()

    @classmethod
    def of(cls, key: str, language: str, published: datetime, body_text: str) -> TranslationCandidate:
        texts = tuple(paragraphs(body_text)[:MAX_PASSAGES])  # split once: for the anchors and the encoder
        found = _passages_of(texts)
        return cls(key, language, published, found, frozenset(a for p in found for a in p.anchors), texts)

    def passage_vectors(self) -> np.ndarray:
        return texts_vectors(self.texts)


class AnchorIndex:
    """Earlier articles by anchor, for blocking: a new article is compared only with those in another
    language, published before it within ``WINDOW``, that share at least ``MIN_SHARED_ANCHORS``."""

    def __init__(self, articles: Iterable[TranslationCandidate] = ()) -> None:
        self.articles: dict[str, TranslationCandidate] = {}
        self.postings: dict[str, set[str]] = defaultdict(set)
        for article in articles:
            self.add(article)

    def add(self, article: TranslationCandidate) -> None:
        self.articles[article.key] = article
        for anchor in article.anchors:
            self.postings[anchor].add(article.key)

    def candidate_originals(self, article: TranslationCandidate) -> list[TranslationCandidate]:
        counts: Counter[str] = Counter()
        for anchor in article.anchors:
            counts.update(self.postings.get(anchor, ()))
        return [
            other
            for key, shared in counts.items()
            if shared >= MIN_SHARED_ANCHORS
            and shared
            >= MIN_SHARED_SHARE * min(len(article.anchors), len((other := self.articles[key]).anchors))
            and other.language != article.language
            and timedelta(0) <= article.published - other.published <= WINDOW
        ]


def best_original(
    article: TranslationCandidate,
    candidates: Iterable[TranslationCandidate],
    by_anchors: Mapping[tuple[str, str], TranslationEvidence] | None = None,
) -> tuple[TranslationCandidate, TranslationEvidence] | None:
    """The candidate ``article`` translates, with the evidence, when any passes the test (the best
    scored; the earlier on a tie). ``by_anchors``: the anchors' verdicts, by (original, article) key."""
    by_anchors = by_anchors or {}
    judged = [
        (other, judge_pair(other, article, by_anchors.get((other.key, article.key))))
        for other in sorted(candidates, key=lambda c: (c.published, c.key))
    ]
    passing = [(other, evidence) for other, evidence in judged if evidence.is_translation]
    return max(passing, key=lambda pair: pair[1].score) if passing else None


@dataclass(frozen=True)
class TranslationLink:
    """``translation`` (the key of the translated copy) renders ``original`` (another language)."""

    translation: str
    original: str
    evidence: TranslationEvidence


def link_translations(
    articles: Iterable[TranslationCandidate],
    copies: frozenset[str] = frozenset(),
    index: AnchorIndex | None = None,
) -> list[TranslationLink]:
    """Each article, in publication order, linked to the earlier article in another language it
    translates, if any. Same-language copies (``copies``: keys the syndication stage put in a cluster
    under another original) are neither linked nor indexed: their cluster's original carries the link,
    and is the one a later translation is linked to (a copy dated before its original would otherwise
    make the original look like a translation of it). ``index`` holds the earlier articles (history);
    the batch is added to it."""
    index = index if index is not None else AnchorIndex()
    blocked = []
    for article in sorted(articles, key=lambda a: (a.published, a.key)):
        if article.key in copies:
            continue
        blocked.append((article, index.candidate_originals(article)))
        index.add(article)
    by_anchors = {
        (other.key, article.key): judge_passages(other.passages, article.passages)
        for article, others in blocked
        for other in others
    }
    # The paragraphs the encoder must read, in one batch (a third faster than one by one).
    undecided = {key for pair, verdict in by_anchors.items() if _encoder_needed(verdict) for key in pair}
    texts_vectors([text for key in sorted(undecided) for text in index.articles[key].texts])
    links = []
    for article, others in blocked:
        found = best_original(article, others, by_anchors)
        if found is not None:
            links.append(TranslationLink(article.key, found[0].key, found[1]))
    return links


def _encoder_needed(verdict: TranslationEvidence) -> bool:
    return not verdict.is_translation and anchors_undecided(verdict)


LANGUAGE_NAMES = {"en": "English", "es": "Spanish"}


def rendering_note(language: str | None, original_outlet: str, original_headline: str | None = None) -> str:
    """How a digest and the report name a translation: "Spanish rendering of Continental Wire's story"."""
    name = LANGUAGE_NAMES.get(language or "", language or "Translated")
    note = f"{name} rendering of {original_outlet}'s story"
    return f"{note}: {original_headline}" if original_headline else note
