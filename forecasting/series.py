"""One-shot forecasting of a whole series, sharing the online machinery with the zone forecaster."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np

from forecasting.models.damped import fit_damped_params
from forecasting.resample import resample_to_grid
from forecasting.types import Forecast
from forecasting.zone import FIT_MIN_OBS, FIT_WINDOW_BINS, ZoneForecaster


def forecast_series(
    times_s: Sequence[float] | np.ndarray,
    values: Sequence[float] | np.ndarray,
    *,
    step_s: float,
    horizon_s: float,
    thresholds: Mapping[str, float] | None = None,
    season_s: float | None = None,
    tz: str | None = None,
) -> Forecast:
    """Forecast `horizon_s` ahead of the last observation.

    Duplicated or out-of-order timestamps are fine (mean per bin); NaN readings are dropped; an empty
    series, infinite values or mismatched lengths raise ValueError.
    """
    grid = resample_to_grid(times_s, values, step_s)
    zf = ZoneForecaster(step_s=step_s, horizon_s=horizon_s, season_s=season_s, tz=tz, auto_refit=False)
    # One fit on the recent history, then one online pass with those parameters.
    params = fit_damped_params(grid.values[-FIT_WINDOW_BINS:], min_observed=FIT_MIN_OBS)
    if params is not None:
        zf.set_damped_params(params)
    for t, v in zip(grid.times_s, grid.values, strict=True):
        if math.isfinite(v):
            zf.update(float(t), float(v))
    return zf.forecast(thresholds or {})
