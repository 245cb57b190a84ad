"""Conditions from observations: current level, forecast crossing, stop-and-go, stale cameras."""

from __future__ import annotations

import itertools

import pytest

from central import rules

TH = rules.ThresholdsPpm2(warning=2.0, critical=4.0)


@pytest.mark.parametrize(
    ("density", "level", "clear"),
    [(0.5, None, True), (1.8, None, False), (2.0, "warning", False), (3.9, "warning", False), (4.0, "critical", False)],
)
def test_current_level_bands(density: float, level: str | None, clear: bool) -> None:
    cond = rules.current_level(density, TH, clear_ratio=0.85)
    assert cond.level == level and cond.clear is clear and cond.value == density


def test_forecast_fires_at_the_highest_threshold_reaching_the_probability() -> None:
    crossings = [
        rules.CrossingIn("warning", 2.0, 0.9, 1000.0),
        rules.CrossingIn("critical", 4.0, 0.7, 1300.0),
    ]
    cond = rules.forecast_crossing(crossings, TH, p_min=0.6, clear_ratio=0.85)
    assert cond.level == "critical" and cond.probability == 0.7 and cond.expected_crossing_at_s == 1300.0
    cond = rules.forecast_crossing(crossings, TH, p_min=0.8, clear_ratio=0.85)
    assert cond.level == "warning" and cond.expected_crossing_at_s == 1000.0 and not cond.clear


def test_forecast_message_gives_the_crossing_time_in_utc_not_unix_seconds() -> None:
    at = 1_795_381_010.0  # 2026-11-22 20:56:50 UTC
    cond = rules.forecast_crossing([rules.CrossingIn("warning", 2.0, 0.9, at)], TH, p_min=0.6, clear_ratio=0.85)
    assert cond.message == "forecast: 90% chance to cross 2 persons/m² around 20:56Z"
    assert "1795381010" not in cond.message


def test_forecast_clears_only_well_below_the_probability() -> None:
    low = [rules.CrossingIn("warning", 2.0, 0.55, 1000.0)]
    cond = rules.forecast_crossing(low, TH, p_min=0.6, clear_ratio=0.85)
    assert cond.level is None and not cond.clear  # 0.55 >= 0.6 * 0.85
    lower = [rules.CrossingIn("warning", 2.0, 0.2, None)]
    assert rules.forecast_crossing(lower, TH, p_min=0.6, clear_ratio=0.85).clear


def test_expected_speed_falls_with_density() -> None:
    speeds = [rules.expected_speed_mps(d) for d in (0.0, 0.5, 1.0, 2.0, 3.0, 5.0, 6.0)]
    assert speeds[0] == pytest.approx(1.34)
    assert all(a > b for a, b in itertools.pairwise(speeds[:-1]))
    assert speeds[-1] == 0.0
    assert 0.9 < rules.expected_speed_mps(1.0) < 1.3


def test_stop_and_go_needs_density_and_a_slow_crowd() -> None:
    kw = {"min_density": 1.0, "speed_ratio": 0.4, "clear_ratio": 0.85}
    slow_dense = rules.stop_and_go(2.0, 0.1, TH, **kw)
    assert slow_dense.level == "warning" and slow_dense.value is not None and slow_dense.value < 0.4
    assert rules.stop_and_go(4.2, 0.02, TH, **kw).level == "critical"
    assert rules.stop_and_go(2.0, 0.9, TH, **kw).level is None  # about what the density predicts
    assert rules.stop_and_go(0.3, 0.05, TH, **kw).level is None  # nearly empty: people may stand
    assert rules.stop_and_go(2.0, None, TH, **kw).level is None  # nobody moved: no speed measured


def test_camera_stale_condition() -> None:
    c = rules.camera_stale(True, "cam1", "is offline")
    assert c.level == "warning" and not c.clear and "cam1" in c.message
    assert rules.camera_stale(False, "cam1", "").clear


def test_camera_stale_message_names_the_camera_as_operators_know_it() -> None:
    named = rules.camera_stale(True, "cam2", "silent for 21 s (zones: Gate)", "North gate")
    assert named.message == "camera North gate (cam2) silent for 21 s (zones: Gate)"
    # No display name, or one equal to the id: the id once.
    assert rules.camera_stale(True, "cam2", "is offline").message == "camera cam2 is offline"
    assert rules.camera_stale(True, "cam2", "is offline", "cam2").message == "camera cam2 is offline"
    assert rules.camera_stale(False, "cam2", "", "North gate").message == ""


def test_a_forecast_fires_only_where_its_drawn_path_reaches_the_threshold() -> None:
    # A wide band around a flat path can give a high probability; the alert would then say "expected
    # over" beside a chart whose line stays under: the same forecast must carry both.
    flat = [rules.CrossingIn("warning", 2.0, 0.7, None), rules.CrossingIn("critical", 4.0, 0.65, 900.0)]
    cond = rules.forecast_crossing(flat, TH, p_min=0.6, clear_ratio=0.85)
    assert cond.level == "critical" and cond.threshold == 4.0
    cond = rules.forecast_crossing(flat[:1], TH, p_min=0.6, clear_ratio=0.85)
    assert cond.level is None and not cond.clear
    assert [(o.threshold, o.probability) for o in cond.outlooks] == [(2.0, 0.7)]
