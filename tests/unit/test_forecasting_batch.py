"""BatchForecaster: the vectorised path agrees with the per-zone one and validates its inputs."""

from __future__ import annotations

import numpy as np
import pytest

from forecasting import BatchForecaster, ZoneForecaster


def test_batch_matches_zone_forecasters_series_by_series() -> None:
    rng = np.random.default_rng(21)
    n_series, n_bins, step = 4, 300, 10.0
    data = 5 + np.cumsum(rng.normal(0, 0.2, (n_bins, n_series)), axis=0)
    data[100:104, 1] = np.nan  # a short gap in one series only
    batch = BatchForecaster(n_series, step_s=step, horizon_s=120)
    zones = [ZoneForecaster(step_s=step, horizon_s=120, auto_refit=False) for _ in range(n_series)]
    for i in range(n_bins):
        batch.update(data[i], t_s=i * step)
        for j, zf in enumerate(zones):
            if np.isfinite(data[i, j]):
                zf.update(i * step, float(data[i, j]))
    thresholds = np.array([6.0, 8.0])
    out = batch.forecast(thresholds)
    assert out.yhat.shape == (n_series, 12) and out.probability.shape == (n_series, 2)
    for j, zf in enumerate(zones):
        fc = zf.forecast({"a": 6.0, "b": 8.0}, now_s=(n_bins - 1) * step + 1)
        np.testing.assert_allclose(out.yhat[j], fc.yhat, rtol=1e-9)
        np.testing.assert_allclose(out.hi80[j], fc.hi80, rtol=1e-9)
        np.testing.assert_allclose(out.probability[j], [c.probability for c in fc.crossings], atol=1e-9)
        assert out.model_names[out.model_index[j]] == fc.model
    assert out.origin_s == (n_bins - 1) * step


def test_batch_rejects_bad_shapes_and_values() -> None:
    batch = BatchForecaster(3, step_s=60, horizon_s=600)
    with pytest.raises(ValueError, match="shape"):
        batch.update(np.zeros(2))
    with pytest.raises(ValueError, match="finite"):
        batch.update(np.array([1.0, np.inf, 2.0]))
    with pytest.raises(ValueError, match="no observations"):
        batch.forecast()
    batch.update(np.array([1.0, np.nan, 2.0]))
    with pytest.raises(ValueError, match="thresholds"):
        batch.forecast(np.zeros((2, 1)))
    out = batch.forecast(np.array([1.5]))
    assert np.all(np.isfinite(out.yhat)) and np.all(np.isfinite(out.probability))


def test_seasonal_batch_needs_the_bin_time() -> None:
    batch = BatchForecaster(2, step_s=600, horizon_s=600, season_s=86400)
    with pytest.raises(ValueError, match="t_s"):
        batch.update(np.ones(2))
