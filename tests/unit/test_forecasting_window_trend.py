"""The local linear trend (forecasting/models/window_trend.py): slope through noise, missing bins, reset."""

from __future__ import annotations

import numpy as np

from forecasting.models.window_trend import WindowTrend


def test_line_recovers_a_noisy_ramp_and_ignores_missing_bins() -> None:
    rng = np.random.default_rng(3)
    m = WindowTrend(2, window=20, phi=1.0)
    for t in range(60):
        y = np.array([0.5 + 0.01 * t, 1.0]) + 0.03 * rng.normal(size=2)
        observed = np.array([t % 7 != 3, True])  # series 0 misses a bin now and then
        m.update(np.where(observed, y, np.nan), observed, None)
    assert abs(m.slope[0] - 0.01) < 0.004  # the slope, through noise 3x the per-bin rise (SE about 0.0012)
    assert abs(m.slope[1]) < 0.004  # flat stays flat
    path = m.paths(10, None)
    np.testing.assert_allclose(path[0, -1] - path[0, 0], 9 * m.slope[0])  # undamped: a straight line
    assert abs(path[0, 0] - (0.5 + 0.01 * 60)) < 0.06


def test_damping_and_reset() -> None:
    m = WindowTrend(1, window=6, phi=0.9)
    for t in range(6):
        m.update(np.array([float(t)]), np.array([True]), None)
    assert abs(m.slope[0] - 1.0) < 1e-9
    path = m.paths(30, None)[0]
    assert path[-1] - path[0] < 9.0  # damped: far less than 29 more steps of slope 1
    m.reset(np.array([True]))
    m.update(np.array([10.0]), np.array([True]), None)
    assert m.slope[0] == 0.0 and m.level[0] == 10.0  # one point after a reset: no slope, its value
