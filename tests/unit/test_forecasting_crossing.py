"""Threshold crossing: per-step scores, any-step probability against simulation, first crossing time."""

from __future__ import annotations

import numpy as np

from forecasting.crossing import Z_KNOTS, any_step_probability, first_crossing_time, threshold_scores


def gaussian_bands(yhat: np.ndarray, sigma: np.ndarray) -> np.ndarray:
    return np.stack([yhat + z * sigma for z in Z_KNOTS], axis=-1)


def test_scores_hit_the_knots() -> None:
    bands = gaussian_bands(np.array([[10.0, 10.0]]), np.array([[1.0, 2.0]]))
    z = threshold_scores(bands, np.array([10.0 + 1.281552]))
    np.testing.assert_allclose(z[0], [1.281552, 0.640776], atol=1e-6)


def test_probability_matches_a_simulated_random_walk() -> None:
    rng = np.random.default_rng(7)
    horizon, sigma, drift = 30, 1.0, 0.05
    steps = np.arange(1, horizon + 1)
    walks = np.cumsum(rng.normal(drift, sigma, size=(20_000, horizon)), axis=1)
    yhat = drift * steps
    bands = gaussian_bands(yhat[None, :], sigma * np.sqrt(steps)[None, :])
    for thr in (2.0, 4.0, 7.0):
        expected = float((walks >= thr).any(axis=1).mean())
        got = float(any_step_probability(bands, np.array([thr]))[0])
        assert abs(got - expected) < 0.06, (thr, got, expected)


def test_probability_bounds_and_clear_cases() -> None:
    bands = gaussian_bands(np.array([[1.0, 2.0, 3.0]] * 3), np.full((3, 3), 0.1))
    p = any_step_probability(bands, np.array([100.0, 0.0, 2.5]))
    assert p[0] < 1e-4
    assert p[1] > 0.999
    # Step 3 sits 5 sigma above 2.5, so reaching it at some step is near certain.
    assert 0.99 < p[2] <= 1.0


def test_first_crossing_interpolates_and_reports_none_as_nan() -> None:
    yhat = np.array([[2.0, 4.0, 6.0], [1.0, 1.0, 1.0], [9.0, 9.0, 9.0]])
    last = np.array([0.0, 1.0, 8.0])
    t = first_crossing_time(last, yhat, np.array([5.0, 5.0, 5.0]), origin_s=100.0, step_s=10.0)
    assert t[0] == 100.0 + 10.0 * 2.5
    assert np.isnan(t[1])
    assert t[2] == 100.0  # already over the threshold at the origin
