"""The online crossing-probability calibrator, the engine's bounded update swing, the profile's robust slots."""

from __future__ import annotations

import numpy as np
import pytest

from forecasting.calibration import CrossingCalibrator
from forecasting.engine import EngineSettings, OnlineEngine
from forecasting.models.profile import SeasonalProfile

YES = np.ones((1, 1), dtype=bool)
THR = np.array([[10.0]])


def _feed(cal: CrossingCalibrator, n: int, p: float, p_ref: float, hit_rate: float, seed: int = 0) -> None:
    """n origins with raw probability p (reference p_ref); the level (10) is reached a share hit_rate of times."""
    rng = np.random.default_rng(seed)
    h = cal.h
    hits = rng.random(n) < hit_rate
    for b in range(n + h):
        # The window after origin o is bins o+1..o+h: put the hit (or not) at its last bin.
        o = b - h
        y = 11.0 if (o >= 0 and hits[o]) else 0.0
        cal.observe(b, np.array([y]))
        if b < n:
            cal.record(b, np.array([[p]]), np.array([[p_ref]]), THR, YES)


def test_identity_until_an_outcome_is_known() -> None:
    cal = CrossingCalibrator(1, 1, 3)
    p = np.array([[0.7]])
    for b in range(3):
        cal.observe(b, np.array([0.0]))
        cal.record(b, p, np.array([[0.1]]), THR, YES)
        assert cal.apply(p, np.array([[0.1]]))[0, 0] == pytest.approx(0.7)
    # The first origin's window closes at bin 3: only then does anything change.
    cal.observe(3, np.array([0.0]))
    assert cal.apply(p, np.array([[0.1]]))[0, 0] < 0.7


def test_over_confident_probabilities_are_pulled_to_what_happened() -> None:
    cal = CrossingCalibrator(1, 1, 1, head_start=1e9)  # no hedging: the curve alone
    _feed(cal, 2000, p=0.7, p_ref=0.7, hit_rate=0.4)
    assert cal.apply(np.array([[0.7]]), np.array([[0.7]]))[0, 0] == pytest.approx(0.4, abs=0.05)
    # A bin without evidence keeps its raw value (here above the learned one, so the map stays monotone).
    assert cal.apply(np.array([[0.95]]), np.array([[0.95]]))[0, 0] == pytest.approx(0.95, abs=0.01)


def test_a_record_counts_one_over_h_of_an_outcome() -> None:
    """Consecutive origins share H - 1 of their H bins: with H = 10 the same records move the map far less."""
    one, ten = CrossingCalibrator(1, 1, 1, head_start=1e9), CrossingCalibrator(1, 1, 10, head_start=1e9)
    _feed(one, 40, p=0.7, p_ref=0.7, hit_rate=0.0)
    _feed(ten, 40, p=0.7, p_ref=0.7, hit_rate=0.0)
    p = np.array([[0.7]])
    assert one.apply(p, p)[0, 0] < 0.3
    assert ten.apply(p, p)[0, 0] > 0.45


def test_isotonic_matches_pool_adjacent_violators() -> None:
    from forecasting.calibration import isotonic

    v = np.array([0.1, 0.5, 0.3, 0.2, 0.9])
    w = np.array([1.0, 1.0, 1.0, 2.0, 1.0])
    # PAV: 0.5, 0.3, 0.2 (weights 1, 1, 2) pool to 0.3.
    assert isotonic(v, w) == pytest.approx([0.1, 0.3, 0.3, 0.3, 0.9])
    assert isotonic(np.array([0.2, 0.4]), np.ones(2)) == pytest.approx([0.2, 0.4])


def test_the_map_is_monotone() -> None:
    cal = CrossingCalibrator(1, 1, 1, head_start=1e9)
    rng = np.random.default_rng(3)
    for b in range(3000):
        p = float(rng.random())
        cal.observe(b, np.array([11.0 if rng.random() < 0.5 else 0.0]))  # outcome unrelated to p
        cal.record(b, np.array([[p]]), np.array([[p]]), THR, YES)
    grid = np.linspace(0, 1, 101)[:, None]
    big = CrossingCalibrator(101, 1, 1)
    big.count, big.sum_p, big.sum_hit = (np.repeat(a, 101, axis=0) for a in (cal.count, cal.sum_p, cal.sum_hit))
    big.any_counted = True
    out = big.apply(grid, grid)[:, 0]
    assert np.all(np.diff(out) >= -1e-12)
    assert out[0] == 0.0


def test_hedge_moves_to_the_better_reference() -> None:
    cal = CrossingCalibrator(1, 1, 1)
    assert cal.weight()[0, 0] > 0.95  # a new zone trusts its own forecast
    _feed(cal, 3000, p=0.9, p_ref=0.3, hit_rate=0.3)
    assert cal.weight()[0, 0] < 0.3


def test_a_window_with_a_missing_bin_is_not_scored() -> None:
    cal = CrossingCalibrator(1, 1, 3, head_start=1e9)
    for b in range(400):
        y = np.nan if b % 3 == 0 else 0.0  # every 3-bin window has a gap
        cal.observe(b, np.array([y]))
        cal.record(b, np.array([[0.8]]), np.array([[0.8]]), THR, YES)
    assert not cal.any_counted
    assert cal.apply(np.array([[0.8]]), np.array([[0.8]]))[0, 0] == pytest.approx(0.8)


def test_origins_at_or_over_the_level_are_not_scored() -> None:
    cal = CrossingCalibrator(1, 1, 1)
    for b in range(50):
        cal.observe(b, np.array([0.0]))
        cal.record(b, np.array([[0.8]]), np.array([[0.8]]), THR, np.zeros((1, 1), dtype=bool))
    assert not cal.any_counted


def test_one_update_never_swings_the_forecast_beyond_its_previous_80_interval() -> None:
    eng = OnlineEngine(1, EngineSettings(horizon_steps=6))
    rng = np.random.default_rng(0)
    prev = None
    for i in range(200):
        y = 50.0 + rng.normal(0, 1.0) + (40.0 if i in (120, 121, 150) else 0.0)  # a few wild readings
        eng.step(np.array([y]))
        f = eng.forecast()
        if prev is not None and i > 20:
            width = prev.bands[0, :, 3] - prev.bands[0, :, 1]
            assert np.all(np.abs(f.yhat[0] - prev.yhat[0]) <= width + 1e-9), i
        prev = f
    # The reference (persistence) is not held back: it is at the last reading.
    assert eng.forecast(np.zeros(1, dtype=np.int64)).yhat[0, 0] == pytest.approx(y)


def test_profile_slot_resists_one_odd_week() -> None:
    period = 7
    prof = SeasonalProfile(1, period)
    rng = np.random.default_rng(1)
    y = 50.0
    for week in range(4):
        for s in range(period):
            change = rng.normal(0, 2.0)
            if week == 3 and s in (3, 4):
                change = -45.0 if s == 3 else 45.0  # one glitch, in the slot's fourth week (learning rate 1/4)
            y += change
            prof.update(np.array([y]), np.ones(1, dtype=bool), s)
    # Unclipped, the slot would hold about -45 / 4 = -11; clipped at 3 typical changes it moves a few.
    assert prof.delta[0, 3] > -5.0
    # A change that recurs every week is still learned.
    prof2 = SeasonalProfile(1, period)
    y = 50.0
    for _ in range(30):
        for s in range(period):
            y += -20.0 if s == 3 else (20.0 if s == 4 else rng.normal(0, 2.0))
            prof2.update(np.array([y]), np.ones(1, dtype=bool), s)
    assert prof2.delta[0, 3] == pytest.approx(-20.0, abs=3.0)


def _sawtooth(n_bins: int) -> np.ndarray:
    """Rises 1 per bin from 0 to 9, then drops back: a trend that always stops short of 10."""
    return np.arange(n_bins, dtype=float) % 10


def test_zone_forecaster_learns_that_its_crossings_do_not_happen() -> None:
    from forecasting import ZoneForecaster
    from forecasting.crossing import any_step_probability

    zf = ZoneForecaster(step_s=60, horizon_s=300, auto_refit=False)
    thr = {"warning": 10.0}
    issued, raw = [], []
    for i, v in enumerate(_sawtooth(3000)):
        zf.update(i * 60.0 + 1.0, float(v))
        f = zf.forecast(thr)
        if i % 10 == 8:  # near the top of each tooth, heading up
            c = f.crossing("warning").probability
            bands = np.stack([f.lo95, f.lo80, f.yhat, f.hi80, f.hi95], axis=-1)[None]
            issued.append(c)
            raw.append(float(any_step_probability(bands, np.array([10.0]))[0]))
    early, late = slice(0, 1), slice(-50, None)
    assert np.mean(issued[early]) == pytest.approx(np.mean(raw[early]), abs=0.02)  # a new zone: as raw
    assert np.mean(raw[late]) > 0.1  # the bands still give the crossing a real chance ...
    assert np.mean(issued[late]) < 0.5 * np.mean(raw[late])  # ... which the track record says does not come


def test_batch_forecaster_calibrates_each_threshold_column() -> None:
    from forecasting import BatchForecaster

    bf = BatchForecaster(2, step_s=60, horizon_s=300)
    y = _sawtooth(3000)
    thr = np.array([[10.0, 30.0], [10.0, 30.0]])
    first = last = None
    for i in range(3000):
        bf.update(np.array([y[i], y[i]]), t_s=i * 60.0)
        out = bf.forecast(thr)
        if i == 8:
            first = out.probability.copy()
        if i == 2998:
            last = out.probability.copy()
    assert first is not None and last is not None
    assert np.allclose(last[0], last[1])  # same data, same map
    assert last[0, 0] < first[0, 0]
    assert bf._calibrator is not None and bf._calibrator.any_counted
