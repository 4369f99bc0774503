"""Drift of an outlet's measures against its own recent cycles, and the incidents it opens and closes.

Each measure is compared with the same outlet's last ``BASELINE_CYCLES`` cycles in which it was in
band (a cycle spent in an incident is not "usual"; otherwise a lasting break would become the
baseline and close itself). The band is the baseline's median plus or minus ``MAD_FACTOR`` robust
standard deviations (1.4826 x the median absolute deviation, the consistent estimator for normal data:
Rousseeuw and Croux 1993; Leys et al. 2013 recommend 2.5 to 3), widened to a floor of its own per
measure, so an outlet whose share is always 0 does not alarm on one odd page, and an outlet that never
has authors or dates is never an incident for it: its own baseline says so. Only the harmful direction
opens an incident (more empty bodies, shorter bodies; never fewer).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
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
    volume: str  # the row's count that must reach MIN_VOLUME for the value to be assessed
    min_volume: int = 3


RULES: Mapping[str, MeasureRule] = {
    "failed_extraction_share": MeasureRule(UP, 0.25, False, "pages"),
    "undated_share": MeasureRule(UP, 0.3, False, "articles"),
    "blocked_share": MeasureRule(UP, 0.2, False, "requests"),
    "listing_failure_share": MeasureRule(UP, 0.5, False, "listing_requests", 1),
    "median_body_words": MeasureRule(DOWN, 0.5, True, "articles"),
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
    if value is None or int(row.get(rule.volume) or 0) < rule.min_volume:
        return None
    return float(value)  # type: ignore[arg-type]


def assess(measure: str, value: float, baseline_values: Sequence[float]) -> Assessment | None:
    """The value against its band; None while the baseline has fewer than ``MIN_BASELINE_CYCLES``."""
    if len(baseline_values) < MIN_BASELINE_CYCLES:
        return None
    rule = RULES[measure]
    centre = median(baseline_values)
    spread = MAD_FACTOR * MAD_TO_SIGMA * median(abs(v - centre) for v in baseline_values)
    half_width = max(spread, rule.floor * centre if rule.relative else rule.floor)
    limit = centre + rule.direction * half_width
    breached = (value - limit) * rule.direction > 0
    return Assessment(measure, value, centre, limit, breached)


def assess_outlet(current: Mapping[str, object], history: Sequence[Mapping[str, object]]) -> list[Assessment]:
    """Every measure of the outlet's current row against its history (newest first), each measure's
    baseline made of the last cycles in which that measure was in band (``breaches`` of a row)."""
    found = []
    for measure in RULES:
        value = measure_value(current, measure)
        if value is None:
            continue
        baseline = [
            v for row in history
            if measure not in (row.get("breaches") or ()) and (v := measure_value(row, measure)) is not None
        ][:BASELINE_CYCLES]  # fmt: skip
        assessment = assess(measure, value, baseline)
        if assessment is not None:
            found.append(assessment)
    silence = assess_silence(current, history)
    return [*found, silence] if silence else found


def assess_silence(
    current: Mapping[str, object], history: Sequence[Mapping[str, object]]
) -> Assessment | None:
    """Cycles in a row without a new article against the outlet's usual gap between cycles that had
    some (median over its baseline); None until it has had new articles in ``MIN_BASELINE_CYCLES``."""
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
