"""The numpy damped-trend recursion against statsmodels, and interval coverage on simulated data."""

from __future__ import annotations

import warnings

import numpy as np

from forecasting.backtest import run_backtest, score
from forecasting.models.damped import DampedParams, DampedTrend, fit_damped_params
from forecasting.resample import GridSeries


def test_online_recursion_reproduces_statsmodels_forecasts() -> None:
    from statsmodels.tsa.statespace.exponential_smoothing import ExponentialSmoothing

    rng = np.random.default_rng(11)
    y = 50 + np.cumsum(rng.normal(0.2, 1.0, 600)) + rng.normal(0, 1.0, 600)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = ExponentialSmoothing(y, trend=True, damped_trend=True).fit(disp=False)
    alpha, beta, phi = (float(p) for p in np.asarray(res.params)[:3])
    model = DampedTrend(1)
    model.set_params(slice(None), DampedParams(alpha, max(beta, 0.02), phi))
    model.beta[:] = beta  # compare the exact recursion, without the library's floor on beta
    for v in y:
        model.update(np.array([v]), np.array([True]), None)
    ours = model.paths(12, None)[0]
    theirs = np.asarray(res.forecast(12))
    # Different initial states wash out over 600 bins; what is left is far below the noise (sd 1).
    np.testing.assert_allclose(ours, theirs, atol=0.05)


def test_fit_returns_none_instead_of_raising_on_degenerate_series() -> None:
    assert fit_damped_params(np.full(100, 3.0)) is None
    assert fit_damped_params(np.array([1.0, 2.0, np.nan])) is None
    assert fit_damped_params(np.full(100, np.nan)) is None
    rng = np.random.default_rng(0)
    params = fit_damped_params(np.cumsum(rng.normal(size=300)))
    assert params is not None and 0 < params.alpha <= 1 and 0.8 <= params.phi <= 0.98


def test_intervals_cover_about_nominal_on_simulated_series() -> None:
    rng = np.random.default_rng(12)
    n = 6000
    # Random-walk level, heavy-tailed noise and a gap: nothing Gaussian for the intervals to lean on.
    level = 100 + np.cumsum(rng.normal(0, 0.5, n))
    y = level + rng.standard_t(4, n) * 2.0
    y[3000:3100] = np.nan
    grid = GridSeries(start_s=0.0, step_s=60.0, values=y, counts=np.isfinite(y).astype(np.int64))
    rep = score(grid, run_backtest(grid, 5, season_s=None, refit_every=2000))
    assert 0.75 <= rep.coverage80 <= 0.85, rep.coverage80
    assert 0.91 <= rep.coverage95 <= 0.98, rep.coverage95
    assert rep.ratio("persistence") < 1.0
