"""Patrol fusion stage, stable nearest order (pure): the nearest-patrol list changes order only on a real change.

GPS fixes jitter by metres every few seconds; re-sorting by raw distance made two patrols at similar
distances trade places between two renders, and an operator's Assign click hit the other one. Two
neighbours swap only when the one behind is nearer by more than max(10 m, 20 %) of the one ahead's
distance, or when their staleness differs (a patrol going stale, or coming back, is a real change).
"""

from __future__ import annotations

from collections.abc import Sequence

from central.patrols import PatrolDistance

MIN_GAP_M = 10.0
MIN_GAP_SHARE = 0.2


def overtakes(behind: PatrolDistance, ahead: PatrolDistance) -> bool:
    """Whether `behind` should move in front of `ahead` (always strictly nearer, so sorting terminates)."""
    if behind.distance_m >= ahead.distance_m:
        return False
    if behind.stale != ahead.stale:
        return True
    return ahead.distance_m - behind.distance_m > max(MIN_GAP_M, MIN_GAP_SHARE * ahead.distance_m)


def stable_order(previous: Sequence[str], ranked: Sequence[PatrolDistance]) -> list[PatrolDistance]:
    """`ranked` (every patrol, nearest first) in the previous order, changed only where `overtakes` says.

    Patrols not seen before enter at their distance rank among the known ones' positions by the same rule.
    """
    by_id = {p.patrol_id: p for p in ranked}
    order = [by_id[pid] for pid in previous if pid in by_id]
    known = {p.patrol_id for p in order}
    order += [p for p in ranked if p.patrol_id not in known]
    # Bubble passes: each swap removes one distance inversion, so at most n passes.
    for _ in range(len(order)):
        swapped = False
        for i in range(len(order) - 1):
            if overtakes(order[i + 1], order[i]):
                order[i], order[i + 1] = order[i + 1], order[i]
                swapped = True
        if not swapped:
            break
    return order
