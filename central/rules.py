"""Rules stage, conditions (pure): observations into alert `Condition`s: current level, forecast crossing, stop-and-go, stale."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from central.alerts import Condition, Level, Outlook
from contract.pedestrian import weidmann_speed_mps


@dataclass(frozen=True)
class ThresholdsPpm2:
    warning: float
    critical: float


@dataclass(frozen=True)
class CrossingIn:
    name: str
    threshold: float
    probability: float
    expected_time_s: float | None


def utc_hhmm(t_s: float) -> str:
    """ISO-8601 time of day in UTC, to the minute ("14:05Z"): what an operator reads in a message."""
    return datetime.fromtimestamp(t_s, UTC).strftime("%H:%MZ")


# Walking speed a crowd of this density usually keeps (Weidmann 1993).
expected_speed_mps = weidmann_speed_mps


def current_level(density: float, th: ThresholdsPpm2, clear_ratio: float) -> Condition:
    level: Level | None = None
    threshold = th.warning
    if density >= th.critical:
        level, threshold = "critical", th.critical
    elif density >= th.warning:
        level = "warning"
    return Condition(
        level=level,
        clear=density < th.warning * clear_ratio,
        value=density,
        threshold=threshold,
        message=f"density {density:.2f} persons/m² over the {level or 'warning'} level {threshold:g}",
    )


def forecast_crossing(
    crossings: Sequence[CrossingIn], th: ThresholdsPpm2, p_min: float, clear_ratio: float
) -> Condition:
    """Fire at the highest threshold that the drawn path reaches within the horizon and whose crossing
    probability reaches p_min; clear when every probability is well below p_min.

    Both from the same forecast: an alert whose probability is high while the drawn line stays under the
    threshold would say "expected over" next to a chart that shows otherwise (a wide band on a flat path).
    """
    best: CrossingIn | None = None
    for c in crossings:
        if c.name not in ("warning", "critical") or c.probability < p_min or c.expected_time_s is None:
            continue
        if best is None or c.threshold > best.threshold:
            best = c
    outlooks = tuple(Outlook(c.threshold, c.probability, c.expected_time_s) for c in crossings)
    top_p = max((c.probability for c in crossings), default=0.0)
    clear = top_p < p_min * clear_ratio
    if best is None:
        return Condition(level=None, clear=clear, value=top_p, threshold=None, outlooks=outlooks)
    level: Level = "critical" if best.name == "critical" else "warning"
    assert best.expected_time_s is not None  # only crossings on the drawn path fire
    return Condition(
        level=level,
        clear=clear,
        value=best.probability,
        threshold=best.threshold,
        message=f"forecast: {best.probability:.0%} chance to cross {best.threshold:g} persons/m² "
        f"around {utc_hhmm(best.expected_time_s)}",
        expected_crossing_at_s=best.expected_time_s,
        probability=best.probability,
        outlooks=outlooks,
    )


def stop_and_go(
    density: float,
    speed_p50: float | None,
    th: ThresholdsPpm2,
    *,
    min_density: float,
    speed_ratio: float,
    clear_ratio: float,
) -> Condition:
    """Speed far below what the density predicts: the crowd stops and starts (a precursor of crushes)."""
    expected = expected_speed_mps(density)
    if speed_p50 is None or expected <= 0:
        return Condition(level=None, clear=density < min_density * clear_ratio, value=None, threshold=None)
    ratio = speed_p50 / expected
    firing = density >= min_density and ratio < speed_ratio
    clear = density < min_density * clear_ratio or ratio > speed_ratio / clear_ratio
    level: Level | None = None
    if firing:
        level = "critical" if density >= th.critical else "warning"
    return Condition(
        level=level,
        clear=clear,
        value=ratio,
        threshold=speed_ratio,
        message=f"stop-and-go: {speed_p50:.2f} m/s where {density:.2f} persons/m² usually walk {expected:.2f} m/s",
    )


def camera_stale(stale: bool, camera: str, reason: str, display_name: str | None = None) -> Condition:
    """A silent camera, named as operators know it (config `cameras[].display_name`) with its id once in
    parentheses for the technician: "camera North gate (cam2) silent for 21 s (zones: ...)"."""
    name = camera if not display_name or display_name == camera else f"{display_name} ({camera})"
    return Condition(
        level="warning" if stale else None,
        clear=not stale,
        value=None,
        threshold=None,
        message=f"camera {name} {reason}" if stale else "",
    )
