"""Stable nearest-patrol order (pure): hysteresis against GPS jitter, swaps on real changes."""

from __future__ import annotations

from central.patrol_order import overtakes, stable_order
from central.patrols import PatrolDistance


def _d(pid: str, m: float, stale: bool = False) -> PatrolDistance:
    return PatrolDistance(pid, m, m / 1.4, stale)


def _ids(order: list[PatrolDistance]) -> list[str]:
    return [p.patrol_id for p in order]


def test_first_order_is_by_distance() -> None:
    assert _ids(stable_order([], [_d("a", 20), _d("b", 25), _d("c", 300)])) == ["a", "b", "c"]


def test_small_jitter_keeps_the_order() -> None:
    order = ["a", "b"]
    # b is now 8 m nearer than a: under 10 m, no swap; 40 m vs 48 m: under 20 %, no swap either.
    assert _ids(stable_order(order, [_d("b", 12), _d("a", 20)])) == ["a", "b"]
    assert _ids(stable_order(order, [_d("b", 40), _d("a", 48)])) == ["a", "b"]


def test_a_real_change_swaps() -> None:
    order = ["a", "b"]
    assert _ids(stable_order(order, [_d("b", 5), _d("a", 20)])) == ["b", "a"]  # 15 m > max(10, 4)
    assert _ids(stable_order(order, [_d("b", 300), _d("a", 400)])) == ["b", "a"]  # 100 m > 20 % of 400


def test_staleness_change_follows_distance() -> None:
    # a goes stale while b is only 3 m nearer: the order follows the distance at once.
    assert _ids(stable_order(["a", "b"], [_d("b", 17), _d("a", 20, stale=True)])) == ["b", "a"]
    assert overtakes(_d("b", 17), _d("a", 20, stale=True))
    assert not overtakes(_d("b", 25), _d("a", 20, stale=True))  # never moves a farther one up


def test_new_and_gone_patrols() -> None:
    order = stable_order(["a", "gone", "b"], [_d("new", 1), _d("b", 30), _d("a", 35)])
    assert _ids(order) == ["new", "a", "b"]


def test_jitter_over_many_rounds_never_reorders() -> None:
    order: list[str] = []
    for i in range(50):
        wobble = 3.0 if i % 2 else -3.0
        ranked = sorted([_d("a", 50 + wobble), _d("b", 50 - wobble), _d("c", 120)], key=lambda p: p.distance_m)
        shown = _ids(stable_order(order, ranked))
        if order:
            assert shown == order
        order = shown
