"""The online change regression: what theory says it can gain, where it starts, and bad input."""

from __future__ import annotations

import numpy as np

from forecasting.backtest import run_backtest, score
from forecasting.engine import EngineSettings, OnlineEngine
from forecasting.models.regression import MAX_WEIGHT, PRIOR_VARIANCE, ChangeRegression
from forecasting.resample import GridSeries


def one_bin(model: ChangeRegression, y: np.ndarray, inputs: np.ndarray) -> np.ndarray:
    """Steps the model the way the engine does and returns its paths from this origin."""
    observed = np.isfinite(y)
    model.update(np.where(observed, y, 0.0), observed, None)
    model.set_inputs(inputs)
    return model.paths(inputs.shape[2], None)


def test_beats_persistence_on_a_random_walk_plus_noise_as_theory_says() -> None:
    # y = level + noise, level a random walk: step variance q = 1, noise variance r = 4. The changes are
    # MA(1) with autocovariances 9, -4, 0, ..., so persistence's one-step MSE is q + 2r = 9 and the best
    # linear forecast from d1, d2 alone (Yule-Walker: weights -36/65, -16/65) has MSE 9 - 144/65 = 6.785:
    # an error ratio of sqrt(6.785 / 9) = 0.868 (errors are Gaussian, so for MAE as for RMSE). Nothing
    # linear in the past does better than the Kalman filter's sqrt(6.562 / 9) = 0.854.
    rng = np.random.default_rng(3)
    n_series, n_bins, burn_in = 100, 3000, 1000
    level = np.cumsum(rng.normal(0.0, 1.0, (n_bins, n_series)), axis=0)
    y = 100.0 + level + rng.normal(0.0, 2.0, (n_bins, n_series))
    model = ChangeRegression(n_series, np.array([1]), ())
    no_inputs = np.zeros((0, n_series, 1))
    err_model, err_persistence = [], []
    for t in range(n_bins - 1):
        path = one_bin(model, y[t], no_inputs)
        if t >= burn_in:
            err_model.append(np.abs(y[t + 1] - path[:, 0]))
            err_persistence.append(np.abs(y[t + 1] - y[t]))
    ratio = np.mean(err_model) / np.mean(err_persistence)
    # 200,000 errors: the sampling error is a few tenths of a percent; forgetting adds about d/1000.
    assert 0.855 < ratio < 0.885, ratio
    w = model.w[0]
    np.testing.assert_allclose(w.mean(axis=0), [-36 / 65, -16 / 65], atol=0.03)


def test_weights_reach_an_input_that_knows_the_future_at_every_tracked_horizon() -> None:
    # The input's path is the realised future, so the right weights are 1 on it and 0 on the lags. A
    # ring that filed a feature vector one bin off would pair it with the wrong target and stay far away.
    rng = np.random.default_rng(4)
    n_series, n_bins, horizon = 5, 800, 4
    steps = rng.normal(0.0, 1.0, (n_bins + horizon, n_series))
    y = np.cumsum(steps, axis=0)
    model = ChangeRegression(n_series, np.array([1, 2, 4]), ("oracle",))
    for t in range(n_bins):
        oracle = y[t + 1 : t + 1 + horizon].T[None]  # (1, n, H)
        path = one_bin(model, y[t], oracle)
    np.testing.assert_allclose(model.w[..., 2], 1.0, atol=0.01)
    np.testing.assert_allclose(model.w[..., :2], 0.0, atol=0.01)
    # Step 3 is not tracked: its weights are interpolated between steps 2 and 4, both 1 here.
    np.testing.assert_allclose(path, y[n_bins : n_bins + horizon].T, atol=0.05)


def test_starts_as_persistence_with_no_history() -> None:
    model = ChangeRegression(3, np.array([1, 2]), ("trend",))
    np.testing.assert_array_equal(model.paths(2, None), np.zeros((3, 2)))
    y = np.array([5.0, np.nan, 0.1])
    trend = np.array([[[9.0, 12.0], [1.0, 2.0], [0.3, 0.6]]])  # an input that points far away
    path = one_bin(model, y, trend)
    np.testing.assert_array_equal(path, [[5.0, 5.0], [0.0, 0.0], [0.1, 0.1]])

    engine = OnlineEngine(2, EngineSettings(horizon_steps=3, season_slots=6))
    engine.step(np.array([4.0, 7.0]), 0, np.array([1, 2, 3]))
    i = engine.model_names.index("regression")
    assert engine._paths is not None
    np.testing.assert_array_equal(engine._paths[i], [[4.0] * 3, [7.0] * 3])


def test_missing_bins_resets_and_wild_values_never_give_nan() -> None:
    rng = np.random.default_rng(5)
    n_series, n_bins, horizon = 40, 1500, 6
    y = 50.0 + np.cumsum(rng.normal(0.0, 1.0, (n_bins, n_series)), axis=0)
    y[rng.random((n_bins, n_series)) < 0.3] = np.nan  # scattered missing bins
    y[200:500, :5] = np.nan  # a long gap in a few series
    y[:, 5] = 3.0  # a constant series: its change scale is 0, so it must not learn at all
    y[700, 6] = 1e12  # absurd readings, once and then a step of that size
    y[900:, 7] = -1e9
    y[:, 8] = np.where(np.arange(n_bins) % 2 == 0, 1e-9, 1e9)  # alternating extremes
    model = ChangeRegression(n_series, np.array([1, 2, 4, 6]), ("a", "b"))
    for t in range(n_bins):
        last = np.where(np.isfinite(y[t]), y[t], model.last)
        inputs = np.stack([last[:, None] + rng.normal(0.0, 2.0, (n_series, horizon)) for _ in range(2)])
        inputs[0, rng.random(n_series) < 0.05] = np.nan  # a broken input must not leak through
        if t == 600:
            model.reset(np.arange(n_series) < 10)
        if t == 1000:
            model.skip(50)
        path = one_bin(model, y[t], inputs)
        assert np.isfinite(path).all(), t
    assert np.isfinite(model.w).all() and np.abs(model.w).max() <= MAX_WEIGHT
    assert np.isfinite(model.P).all()
    np.testing.assert_array_equal(model.P, np.swapaxes(model.P, -1, -2))
    trace = np.trace(model.P, axis1=-2, axis2=-1)
    assert trace.max() <= PRIOR_VARIANCE * model.d * (1 + 1e-9)
    np.testing.assert_array_equal(model.w[:, 5], 0.0)  # the constant series stayed at persistence
    np.testing.assert_array_equal(model.paths(horizon, None)[5], 3.0)


def test_the_engine_picks_it_and_keeps_intervals_honest_on_noisy_random_walks() -> None:
    # Five steps ahead on the random walk plus noise above, persistence's MSE is 5q + 2r = 13 and the
    # Kalman filter's 1.562 + 5q + r = 10.56: no forecast gets below sqrt(10.56 / 13) = 0.90 of its error.
    rng = np.random.default_rng(6)
    n = 6000
    y = 200.0 + np.cumsum(rng.normal(0.0, 1.0, n)) + rng.normal(0.0, 2.0, n)
    y[3000:3020] = np.nan
    grid = GridSeries(start_s=0.0, step_s=60.0, values=y, counts=np.isfinite(y).astype(np.int64))
    preds = run_backtest(grid, 5, season_s=None, refit_every=2000)
    rep = score(grid, preds)
    assert 0.90 < rep.ratio("persistence") < 0.95, rep.ratio("persistence")
    assert max(rep.model_share, key=lambda name: rep.model_share[name]) == "regression", rep.model_share
    assert 0.75 <= rep.coverage80 <= 0.85 and 0.90 <= rep.coverage95 <= 0.98
