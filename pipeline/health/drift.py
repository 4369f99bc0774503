"""Drift of an outlet's measures against its own recent cycles, and the incidents it opens and closes.

Each measure is compared with the same outlet's last ``BASELINE_CYCLES`` cycles in which it was in
band (a cycle spent in an incident is not "usual"; otherwise a lasting break would become the
baseline and close itself). The band is the baseline's median plus or minus ``MAD_FACTOR`` robust
standard deviations (1.4826 x the median absolute deviation, the consistent estimator for normal data:
Rousseeuw and Croux 1993; Leys et al. 2013 recommend 2.5 to 3), widened to a floor of its own per
measure, so an outlet whose share is always 0 does not alarm on one odd page, and an outlet that never
has authors or dates is never an incident for it: its own baseline says so. Only the harmful direction
opens an incident (more empty bodies, shorter bodies; never fewer).

Silence is read from the outlet's feeds and sitemaps: the age of the newest entry they listed against
its own band, whose floor is ``SILENCE_FACTOR`` times the outlet's usual gap between entries (the
median gap its listings show), so an outlet that publishes every 20 minutes is silent after an hour
and one that publishes twice a day only after a day. An outlet whose listings carry no dates (a
homepage alone) is judged by the cycles in a row without a new article instead.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from statistics import median

BASELINE_CYCLES = 10
MIN_BASELINE_CYCLES = 3
MAD_FACTOR = 3.0
MAD_TO_SIGMA = 1.4826  # MAD x this estimates the standard deviation of normal data
UP, DOWN = 1, -1
SILENCE = "silent-cycles"
# A feed silent for this many times its usual gap between cycles with new articles, and at least
# this many cycles, is an incident.
SILENCE_FACTOR, MIN_SILENT_CYCLES = 2, 2


@dataclass(frozen=True)
class MeasureRule:
    direction: int  # UP: a higher value is harmful; DOWN: a lower one
    floor: float  # the band's half-width is at least this (a share), or this share of the median
    relative: bool  # floor relative to the baseline median (body length) rather than absolute
    volume: str  # the row's count that must reach MIN_VOLUME for the value to be assessed ("": none)
    min_volume: int = 3
    # The floor is this times the baseline median of another column of the row (the usual gap
    # between entries, for a listing's silence) rather than of the measure itself.
    floor_basis: str | None = None


RULES: Mapping[str, MeasureRule] = {
    "failed_extraction_share": MeasureRule(UP, 0.25, False, "pages"),
    "undated_share": MeasureRule(UP, 0.3, False, "articles"),
    "blocked_share": MeasureRule(UP, 0.2, False, "answered_afresh"),
    "listing_failure_share": MeasureRule(UP, 0.5, False, "listing_requests", 1),
    "median_body_words": MeasureRule(DOWN, 0.5, True, "articles"),
    "feed_silence_hours": MeasureRule(UP, SILENCE_FACTOR, True, "", 0, "feed_entry_gap_hours"),
    "sitemap_silence_hours": MeasureRule(UP, SILENCE_FACTOR, True, "", 0, "sitemap_entry_gap_hours"),
}


@dataclass(frozen=True)
class Assessment:
    """One measure of one outlet this cycle: its value, its baseline and whether it left the band."""

    measure: str
    value: float
    baseline: float
    limit: float  # the band's edge on the harmful side
    breached: bool


def measure_value(row: Mapping[str, object], measure: str) -> float | None:
    """A measure of an ``outlet_health`` row, or None when the cycle saw too little to tell."""
    if measure == "listing_failure_share":
        requests, ok = int(row.get("listing_requests") or 0), int(row.get("listing_ok") or 0)
        value: object = 1 - ok / requests if requests else None
    else:
        value = row.get(measure)
    rule = RULES[measure]
    if value is None or (rule.volume and _volume(row, rule.volume) < rule.min_volume):
        return None
    return float(value)  # type: ignore[arg-type]


def _volume(row: Mapping[str, object], name: str) -> int:
    if name == "answered_afresh":  # ``OutletCycleHealth.answered_afresh``: requests less 304s
        classes = row.get("fetch_classes") or {}
        return int(row.get("requests") or 0) - int(classes.get("not-modified", 0))  # type: ignore[union-attr]
    return int(row.get(name) or 0)  # type: ignore[call-overload]


def assess(
    measure: str, value: float, baseline_values: Sequence[float], basis_values: Sequence[float] = ()
) -> Assessment | None:
    """The value against its band; None while the baseline has fewer than ``MIN_BASELINE_CYCLES``
    (or, for a measure whose floor has a basis, while that basis is unknown)."""
    rule = RULES[measure]
    if len(baseline_values) < MIN_BASELINE_CYCLES or (rule.floor_basis and not basis_values):
        return None
    centre = median(baseline_values)
    spread = MAD_FACTOR * MAD_TO_SIGMA * median(abs(v - centre) for v in baseline_values)
    basis = median(basis_values) if rule.floor_basis else centre
    half_width = max(spread, rule.floor * basis if rule.relative else rule.floor)
    limit = centre + rule.direction * half_width
    breached = (value - limit) * rule.direction > 0
    return Assessment(measure, value, centre, limit, breached)


def assess_outlet(current: Mapping[str, object], history: Sequence[Mapping[str, object]]) -> list[Assessment]:
    """Every measure of the outlet's current row against its history (newest first), each measure's
    baseline made of the last cycles in which that measure was in band (``breaches`` of a row)."""
    found = []
    for measure, rule in RULES.items():
        value = measure_value(current, measure)
        if value is None:
            continue
        in_band = [row for row in history if measure not in (row.get("breaches") or ())]
        baseline = _recent(measure_value(row, measure) for row in in_band)
        basis = _recent(_number(row.get(rule.floor_basis)) for row in in_band) if rule.floor_basis else []
        assessment = assess(measure, value, baseline, basis)
        if assessment is not None:
            found.append(assessment)
    silence = None if _lists_dated_entries(current) else assess_silence(current, history)
    return [*found, silence] if silence else found


def _recent(values: Iterable[float | None]) -> list[float]:
    return [value for value in values if value is not None][:BASELINE_CYCLES]


def _number(value: object) -> float | None:
    return float(value) if isinstance(value, int | float) else None


def _lists_dated_entries(row: Mapping[str, object]) -> bool:
    """Whether the outlet's feeds or sitemaps give its silence (their newest entry has a date)."""
    return row.get("feed_silence_hours") is not None or row.get("sitemap_silence_hours") is not None


def assess_silence(
    current: Mapping[str, object], history: Sequence[Mapping[str, object]]
) -> Assessment | None:
    """Cycles in a row without a new article against the outlet's usual gap between cycles that had
    some (median over its baseline); None until it has had new articles in ``MIN_BASELINE_CYCLES``.
    For an outlet whose feeds and sitemaps carry no dates: the others' silence is their listings'."""
    rows = [current, *history[: BASELINE_CYCLES * 3]]
    productive = [index for index, row in enumerate(rows) if int(row.get("new_articles") or 0) > 0]
    silent_cycles = productive[0] if productive else len(rows)
    if sum(index > 0 for index in productive) < MIN_BASELINE_CYCLES:  # the history's, not this cycle's
        return None
    usual_gap = median(b - a for a, b in zip(productive, productive[1:], strict=False))
    limit = max(MIN_SILENT_CYCLES, SILENCE_FACTOR * usual_gap)
    return Assessment(SILENCE, float(silent_cycles), float(usual_gap), float(limit), silent_cycles >= limit)


@dataclass(frozen=True)
class IncidentChanges:
    opened: tuple[Assessment, ...]
    closed: tuple[str, ...]  # measures whose open incident ends


def incident_changes(open_measures: set[str], assessments: Sequence[Assessment]) -> IncidentChanges:
    """An incident opens when a measure leaves its band and none is open for it; it closes when the
    measure is assessed back in band. A measure not assessed this cycle changes nothing."""
    opened = tuple(a for a in assessments if a.breached and a.measure not in open_measures)
    closed = tuple(a.measure for a in assessments if not a.breached and a.measure in open_measures)
    return IncidentChanges(opened, closed)
