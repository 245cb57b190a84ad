"""Scoring raised alerts against a scenario's expected ones. Pure.

A raised alert matches an expected alert when zone and kind agree, its level is at least the expected
one, and it opened within the expected [earliest, latest] window. Detection probability is the share of expected alerts with at least
one match; the false alarm ratio is the share of raised alerts (of the scored kinds) that match nothing;
the lead time of a crossing is its scripted time minus the first matching alert of any kind, so a
forecast alert that warned early counts for the crossing even when the current-level alert came late.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

SCORED_KINDS = frozenset({"current", "forecast"})


@dataclass(frozen=True)
class ResolvedExpectedAlert:
    kind: str
    zone: str
    level: str
    crossing_s: float
    earliest_s: float
    latest_s: float


@dataclass(frozen=True)
class RaisedAlert:
    """An alert as central raised it, its opening time on the scenario clock."""

    kind: str
    zone: str
    level: str
    opened_s: float
    id: str = ""

    @classmethod
    def from_api(cls, alert: Mapping[str, object], t0: float = 0.0, speed: float = 1.0) -> RaisedAlert:
        """From a `/api/alerts` object: `opened_at` (UNIX s) onto the scenario clock of a replay that
        started at wall time `t0` at `speed` x."""
        opened = alert["opened_at"]
        if not isinstance(opened, int | float):
            raise ValueError(f"alert {alert.get('id')!r}: opened_at is not a number: {opened!r}")
        return cls(
            kind=str(alert["kind"]),
            zone=str(alert["zone"]),
            level=str(alert["level"]),
            opened_s=(float(opened) - t0) * speed,
            id=str(alert.get("id", "")),
        )


@dataclass(frozen=True)
class CrossingLead:
    zone: str
    level: str
    crossing_s: float
    first_alert_s: float
    lead_s: float


@dataclass(frozen=True)
class Score:
    expected: int
    detected: int
    raised: int
    false_alarms: int
    detection_probability: float | None
    false_alarm_ratio: float
    leads: tuple[CrossingLead, ...]
    median_lead_s: float | None
    missed: tuple[ResolvedExpectedAlert, ...]
    unmatched: tuple[RaisedAlert, ...]

    def summary(self) -> str:
        pd = "n/a" if self.detection_probability is None else f"{self.detection_probability:.2f}"
        lead = "n/a" if self.median_lead_s is None else f"{self.median_lead_s / 60:.1f} min"
        return (
            f"expected={self.expected} detected={self.detected} raised={self.raised} "
            f"false_alarms={self.false_alarms} POD={pd} FAR={self.false_alarm_ratio:.2f} median_lead={lead}"
        )

    def passes(self, *, min_pod: float = 0.9, max_far: float = 0.2, min_median_lead_s: float | None = None) -> bool:
        if self.detection_probability is not None and self.detection_probability < min_pod:
            return False
        if self.false_alarm_ratio > max_far:
            return False
        if min_median_lead_s is not None:
            return self.median_lead_s is not None and self.median_lead_s >= min_median_lead_s
        return True


# Central escalates an open alert in place (warning -> critical keeps its id and opening time), so an
# alert at or above the expected level answers the expectation.
_LEVEL_RANK = {"warning": 0, "critical": 1}


def _level_ok(expected: str, raised: str) -> bool:
    if expected in _LEVEL_RANK and raised in _LEVEL_RANK:
        return _LEVEL_RANK[raised] >= _LEVEL_RANK[expected]
    return expected == raised


def _matches(e: ResolvedExpectedAlert, r: RaisedAlert) -> bool:
    return (
        e.zone == r.zone
        and e.kind == r.kind
        and _level_ok(e.level, r.level)
        and e.earliest_s <= r.opened_s <= e.latest_s
    )


def score(
    expected: Sequence[ResolvedExpectedAlert], raised: Iterable[RaisedAlert], kinds: frozenset[str] = SCORED_KINDS
) -> Score:
    scored = [r for r in raised if r.kind in kinds]
    matched_raised: set[int] = set()
    missed: list[ResolvedExpectedAlert] = []
    first_by_crossing: dict[tuple[str, str, float], float] = {}
    for e in expected:
        hits = [i for i, r in enumerate(scored) if _matches(e, r)]
        if not hits:
            missed.append(e)
            continue
        matched_raised.update(hits)
        first = min(scored[i].opened_s for i in hits)
        key = (e.zone, e.level, e.crossing_s)
        first_by_crossing[key] = min(first, first_by_crossing.get(key, first))
    leads = tuple(
        CrossingLead(zone=z, level=lv, crossing_s=c, first_alert_s=t, lead_s=c - t)
        for (z, lv, c), t in sorted(first_by_crossing.items())
    )
    unmatched = tuple(r for i, r in enumerate(scored) if i not in matched_raised)
    detected = len(expected) - len(missed)
    return Score(
        expected=len(expected),
        detected=detected,
        raised=len(scored),
        false_alarms=len(unmatched),
        detection_probability=None if not expected else detected / len(expected),
        false_alarm_ratio=0.0 if not scored else len(unmatched) / len(scored),
        leads=leads,
        median_lead_s=statistics.median(c.lead_s for c in leads) if leads else None,
        missed=tuple(missed),
        unmatched=unmatched,
    )
