"""forecast_series (one shot) on messy input, and seasonal slots on local time."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from forecasting import forecast_series
from forecasting.seasons import LocalClock, SeasonGrid


def test_messy_series_gives_a_finite_forecast() -> None:
    rng = np.random.default_rng(8)
    t = np.arange(0, 7200, 20.0)
    v = 10 + 0.01 * t + rng.normal(0, 0.5, t.size)
    v[::17] = np.nan
    order = rng.permutation(t.size)  # shuffled, with duplicated timestamps appended
    t2 = np.r_[t[order], t[:50]]
    v2 = np.r_[v[order], v[:50]]
    fc = forecast_series(t2, v2, step_s=60, horizon_s=600, thresholds={"near": 85.0, "far": 120.0})
    assert fc.times_s.shape == (10,)
    assert np.all(np.isfinite(fc.yhat)) and np.all(np.isfinite(fc.lo95)) and np.all(np.isfinite(fc.hi95))
    assert fc.origin_s == 7140.0
    assert fc.yhat[-1] > fc.yhat[0]  # the slope goes on
    # The level is about 81.4 and climbs 0.6 a minute: 85 is reached in about six minutes, 120 never.
    assert fc.crossing("near").probability > 0.8
    assert fc.crossing("far").probability < 0.01


def test_single_point_and_constant_series() -> None:
    one = forecast_series([5.0], [3.0], step_s=10, horizon_s=60)
    assert np.all(one.yhat == 3.0) and one.hi95[0] > 3.0
    flat = forecast_series(np.arange(100.0), np.full(100, 2.0), step_s=10, horizon_s=60)
    assert np.all(np.isfinite(flat.lo95)) and np.allclose(flat.yhat, 2.0)


def test_empty_or_invalid_series_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="no finite observations"):
        forecast_series([], [], step_s=10, horizon_s=60)
    with pytest.raises(ValueError, match="infinite"):
        forecast_series([0.0, 1.0], [1.0, float("inf")], step_s=10, horizon_s=60)
    with pytest.raises(ValueError, match="horizon_s"):
        forecast_series([0.0], [1.0], step_s=60, horizon_s=10)


def test_week_slots_follow_local_time_across_daylight_saving() -> None:
    grid = SeasonGrid.make(7 * 86400.0, 600.0)
    assert grid.n_slots == 1008 and grid.sub_slots == 144
    clock = LocalClock("America/Los_Angeles")
    tz = ZoneInfo("America/Los_Angeles")
    # 18:00 local on the Friday before and the Friday after the March 2016 switch (offset -8 h, then -7 h).
    before = datetime(2016, 3, 11, 18, 0, tzinfo=tz).timestamp()
    after = datetime(2016, 3, 18, 18, 0, tzinfo=tz).timestamp()
    assert after - before == 7 * 86400 - 3600
    slots = grid.slots(clock.to_local(np.array([before, after])))
    assert slots[0] == slots[1]
