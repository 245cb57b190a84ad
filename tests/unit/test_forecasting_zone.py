"""ZoneForecaster on synthetic series with known structure, and on the bad inputs of the issue."""

from __future__ import annotations

import math

import numpy as np
import pytest

from forecasting import Forecast, ZoneForecaster


def feed(zf: ZoneForecaster, t: np.ndarray, v: np.ndarray) -> None:
    for ti, vi in zip(t, v, strict=True):
        zf.update(float(ti), float(vi))


def assert_sane(fc: Forecast) -> None:
    for arr in (fc.yhat, fc.lo80, fc.hi80, fc.lo95, fc.hi95, fc.times_s):
        assert arr.shape == fc.times_s.shape
        assert np.all(np.isfinite(arr))
    assert np.all(fc.lo95 <= fc.lo80) and np.all(fc.lo80 <= fc.yhat)
    assert np.all(fc.yhat <= fc.hi80) and np.all(fc.hi80 <= fc.hi95)
    assert np.all(fc.lo95 >= 0.0)
    np.testing.assert_allclose(np.diff(fc.times_s), fc.step_s)
    assert fc.times_s[0] == pytest.approx(fc.origin_s + fc.step_s)


def ramp_after_flat(rng: np.random.Generator, flat_s: int, ramp_s: int, slope_per_s: float) -> tuple:
    t = np.arange(flat_s + ramp_s, dtype=float)
    v = 1.0 + 0.02 * rng.normal(size=t.size) + np.where(t > flat_s, (t - flat_s) * slope_per_s, 0.0)
    return t, v


def test_ramp_after_a_flat_spell_keeps_rising_and_flags_the_crossing() -> None:
    rng = np.random.default_rng(1)
    slope = 0.5 / 300  # +0.5 persons/m2 over five minutes, readings every second
    t, v = ramp_after_flat(rng, flat_s=1800, ramp_s=240, slope_per_s=slope)
    zf = ZoneForecaster(step_s=10, horizon_s=600)
    feed(zf, t, v)
    level_now = 1.0 + 240 * slope
    fc = zf.forecast({"warning": level_now + 300 * slope, "critical": level_now + 600 * slope, "far": 10.0})
    assert_sane(fc)
    assert np.all(np.diff(fc.yhat) >= 0)
    assert fc.yhat[-1] > level_now + 0.5 * 600 * slope  # keeps at least half the slope over 10 minutes
    warn = fc.crossing("warning")  # reached in 5 minutes if the ramp goes on
    assert warn.probability > 0.7
    # Reached right at the end of the horizon: the damped trend hedges, but the odds are far from nil.
    assert fc.crossing("critical").probability > 0.2
    assert warn.expected_time_s is not None and fc.origin_s < warn.expected_time_s <= fc.times_s[-1]
    assert fc.crossing("far").probability < 0.01 and fc.crossing("far").expected_time_s is None


def test_ramp_from_empty_history_is_followed_within_a_few_bins() -> None:
    zf = ZoneForecaster(step_s=10, horizon_s=600)
    feed(zf, np.arange(0, 60.0, 1.0), 0.5 + np.arange(60) * 0.01)
    fc = zf.forecast({"warning": 2.0})
    assert fc.yhat[-1] > 1.5
    assert fc.crossing("warning").probability > 0.3


def test_flat_noisy_series_gives_narrow_centred_intervals() -> None:
    rng = np.random.default_rng(2)
    t = np.arange(0, 4 * 3600, 5.0)
    zf = ZoneForecaster(step_s=10, horizon_s=600)
    feed(zf, t, 2.0 + 0.05 * rng.normal(size=t.size))
    fc = zf.forecast({"warning": 3.0})
    assert_sane(fc)
    assert np.all(np.abs(fc.yhat - 2.0) < 0.05)
    assert np.all(fc.hi95 - fc.lo95 < 0.3)  # a few bin-mean standard deviations, not a wide guess
    assert fc.crossing("warning").probability < 0.01


def test_single_point_gives_an_honest_wide_forecast() -> None:
    zf = ZoneForecaster(step_s=60, horizon_s=600)
    zf.update(1000.0, 40.0)
    fc = zf.forecast({"warning": 60.0})
    assert_sane(fc)
    assert fc.model == "persistence"
    assert np.all(fc.yhat == 40.0)
    assert fc.hi80[0] - fc.lo80[0] > 10.0
    assert fc.hi95[-1] - fc.lo95[-1] > fc.hi95[0] - fc.lo95[0]


def test_constant_series_has_no_nan_and_tight_bands() -> None:
    zf = ZoneForecaster(step_s=60, horizon_s=600)
    feed(zf, np.arange(0, 6 * 3600, 30.0), np.full(720, 12.0))
    fc = zf.forecast({"warning": 20.0})
    assert_sane(fc)
    np.testing.assert_allclose(fc.yhat, 12.0, atol=1e-6)
    assert fc.hi95[-1] - fc.lo95[-1] < 1.0
    assert fc.crossing("warning").probability < 0.01


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -float("inf")])
def test_non_finite_readings_are_rejected(bad: float) -> None:
    zf = ZoneForecaster()
    with pytest.raises(ValueError, match="finite"):
        zf.update(0.0, bad)
    with pytest.raises(ValueError, match="finite"):
        zf.update(bad, 1.0)
    assert zf.n_observations == 0


def test_forecast_before_any_reading_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="no observations"):
        ZoneForecaster().forecast({})


def test_late_and_duplicate_readings_land_in_their_bin() -> None:
    zf = ZoneForecaster(step_s=60, horizon_s=300, history_bins=64)
    zf.update(0.0, 10.0)
    zf.update(70.0, 20.0)
    zf.update(30.0, 30.0)  # late: its bin (0) is closed already
    zf.update(70.0, 20.0)  # duplicate timestamp
    zf.update(130.0, 5.0)
    times, means = zf.history()
    assert list(times) == [0.0, 60.0, 120.0]
    np.testing.assert_allclose(means, [20.0, 20.0, 5.0])
    assert zf.n_observations == 5
    assert_sane(zf.forecast({}))


def test_huge_outlier_does_not_break_the_forecast() -> None:
    rng = np.random.default_rng(3)
    t = np.arange(0, 3 * 3600, 10.0)
    v = 30 + rng.normal(0, 2, size=t.size)
    v[500] = 1e7
    zf = ZoneForecaster(step_s=60, horizon_s=600)
    feed(zf, t, v)
    fc = zf.forecast({"warning": 50.0})
    assert_sane(fc)
    assert np.all(np.abs(fc.yhat - 30) < 10)


def test_long_gap_restarts_from_the_new_level_with_wider_bands() -> None:
    zf = ZoneForecaster(step_s=60, horizon_s=600)
    feed(zf, np.arange(0, 7200, 30.0), np.full(240, 10.0) + np.tile([0.0, 1.0], 120))
    before = zf.forecast({})
    feed(zf, 7200 + 86400 + np.arange(0, 120, 30.0), np.full(4, 50.0))
    after = zf.forecast({})
    assert_sane(after)
    assert np.all(np.abs(after.yhat - 50.0) < 5.0)
    assert after.origin_s > before.origin_s + 86400


def test_forecast_at_a_later_now_moves_the_origin_and_widens_the_band() -> None:
    zf = ZoneForecaster(step_s=10, horizon_s=120)
    rng = np.random.default_rng(4)
    feed(zf, np.arange(0, 1800.0), 5 + rng.normal(0, 0.3, 1800))
    fresh = zf.forecast({})
    stale = zf.forecast({}, now_s=1800.0 + 45.0)
    assert stale.origin_s == pytest.approx(1830.0)
    assert stale.hi80[0] - stale.lo80[0] > fresh.hi80[0] - fresh.lo80[0]


def test_seasonal_profile_beats_persistence_on_a_daily_pattern() -> None:
    rng = np.random.default_rng(5)
    step = 600.0
    t = np.arange(0, 21 * 86400, step)
    shape = 40 * np.clip(np.sin(2 * math.pi * (t % 86400) / 86400 - 1.0), 0, None) ** 2
    v = shape + rng.normal(0, 1.0, t.size)
    zf = ZoneForecaster(step_s=step, horizon_s=3600, season_s=86400)
    err_model, err_persist = [], []
    for i, (ti, vi) in enumerate(zip(t, v, strict=True)):
        zf.update(float(ti), float(vi))
        if i > 14 * 144 and i % 7 == 0 and i + 6 < t.size:
            fc = zf.forecast({}, now_s=float(ti))
            err_model.append(abs(fc.yhat[-1] - shape[i + 6]))
            err_persist.append(abs(vi - shape[i + 6]))
    assert np.mean(err_model) < 0.5 * np.mean(err_persist)
    assert zf.forecast({}).model in {"profile", "ets_profile_mean"}


def test_inflow_model_is_fitted_and_chosen_when_inflow_drives_the_level() -> None:
    rng = np.random.default_rng(6)
    step, n_bins = 60.0, 600
    # People arrive in bursts (the inflow is known one bin ahead of its effect) and leave steadily.
    inflow = np.where(rng.random(n_bins) < 0.15, rng.uniform(5, 15, n_bins), 0.0)
    level = 20.0 + np.cumsum(np.r_[0.0, 0.8 * inflow[:-1]] - 1.0)
    level = np.maximum(level, 0.0) + rng.normal(0, 0.3, n_bins)
    zf = ZoneForecaster(step_s=step, horizon_s=300, refit_every=120)
    for i in range(n_bins):
        zf.update(i * step, float(level[i]), inflow=float(inflow[i]))
    params = zf.engine.inflow
    assert params is not None and params.ready.all()
    assert 0.6 < params.gain[0] < 1.0
    fc = zf.forecast({}, now_s=n_bins * step)
    assert fc.model == "sarimax_inflow"
    assert_sane(fc)


def test_inflow_that_does_not_drive_the_level_leaves_the_inflow_model_out() -> None:
    from forecasting.models.inflow import fit_inflow_params

    rng = np.random.default_rng(7)
    # Free flow: whoever enters leaves within the bin, so the level is noise around a constant whatever
    # the inflow. A fitted gain of about zero makes the model persistence with a drift: not a candidate.
    n_bins = 300
    inflow = rng.poisson(6.0, n_bins).astype(float)
    level = 12.0 + rng.normal(0, 0.5, n_bins)
    params = fit_inflow_params(level, inflow)
    assert params is not None and not params.informative
    zf = ZoneForecaster(step_s=60.0, horizon_s=300, refit_every=120)
    for i in range(n_bins):
        zf.update(i * 60.0, float(level[i]), inflow=float(inflow[i]))
    assert zf.engine.inflow is not None and not zf.engine.inflow.ready.any()
    assert zf.forecast({}, now_s=n_bins * 60.0).model != "sarimax_inflow"


def test_inflow_must_be_finite() -> None:
    with pytest.raises(ValueError, match="inflow"):
        ZoneForecaster().update(0.0, 1.0, inflow=float("nan"))
