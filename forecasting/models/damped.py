"""Damped-trend exponential smoothing (ETS A,Ad,N) run online in numpy, parameters fitted by statsmodels.

The recursion is the error-correction form statsmodels' state-space `ExponentialSmoothing` uses:
    e = y - (l + phi*b);  l <- l + phi*b + alpha*e;  b <- phi*b + beta*e
so parameters fitted there carry over unchanged. Refits are rare (they cost tens of ms); every bin in
between costs a few vector operations for all series at once.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

# Start values before any fit: responsive enough that a steady ramp is followed within a few bins.
DEFAULT_ALPHA = 0.5
DEFAULT_BETA = 0.15
DEFAULT_PHI = 0.98
# A level that never moves (alpha -> 0 on a flat noisy history) cannot follow a sudden change.
MIN_ALPHA = 0.05
# "estimated": the "simple" start (first values) was no faster here and gave noisier parameters;
# "concentrated" would break statsmodels' own extend/append, should anyone switch to those.
FIT_INIT = "estimated"
# A trend that never learns (beta -> 0 on a flat history) would miss the ramp the product alerts on.
MIN_BETA = 0.02


@dataclass(frozen=True)
class DampedParams:
    alpha: float
    beta: float
    phi: float


DEFAULT_PARAMS = DampedParams(DEFAULT_ALPHA, DEFAULT_BETA, DEFAULT_PHI)


class DampedTrend:
    name = "ets_damped"

    def __init__(self, n_series: int) -> None:
        self.level = np.zeros(n_series)
        self.trend = np.zeros(n_series)
        self.alpha = np.full(n_series, DEFAULT_ALPHA)
        self.beta = np.full(n_series, DEFAULT_BETA)
        self.phi = np.full(n_series, DEFAULT_PHI)
        self.n_seen = np.zeros(n_series, dtype=np.int64)  # observations since the last reset
        self.prev_missing = np.zeros(n_series, dtype=bool)

    def set_params(self, index: np.ndarray | slice, params: DampedParams) -> None:
        self.alpha[index] = params.alpha
        self.beta[index] = max(params.beta, MIN_BETA)
        self.phi[index] = params.phi

    def update(self, y: np.ndarray, observed: np.ndarray, slot: int | None) -> None:
        pred = self.level + self.phi * self.trend
        err = np.where(observed, y - pred, 0.0)
        new_level = pred + self.alpha * err
        new_trend = self.phi * self.trend + self.beta * err
        first = observed & (self.n_seen == 0)
        # The second value right after the first gives the trend directly: ramps are followed from bin two.
        second = observed & (self.n_seen == 1) & ~self.prev_missing
        new_trend = np.where(second, y - self.level, new_trend)
        new_level = np.where(second | first, y, new_level)
        new_trend = np.where(first, 0.0, new_trend)
        self.level = new_level
        self.trend = new_trend
        self.n_seen = self.n_seen + observed
        self.prev_missing = ~observed

    def reset(self, mask: np.ndarray) -> None:
        self.n_seen[mask] = 0
        self.trend[mask] = 0.0

    def paths(self, horizon_steps: int, future_slots: np.ndarray | None) -> np.ndarray:
        powers = np.cumprod(np.repeat(self.phi[:, None], horizon_steps, axis=1), axis=1)
        return self.level[:, None] + self.trend[:, None] * np.cumsum(powers, axis=1)


def fit_damped_params(values: np.ndarray, min_observed: int = 20) -> DampedParams | None:
    """Maximum-likelihood alpha, beta, phi for one series on a grid (NaN = missing bin).

    Returns None when there is too little data or statsmodels cannot produce sane parameters; the
    caller then keeps its current ones. Any statsmodels failure stays in here.
    """
    y = np.asarray(values, dtype=float)
    if np.count_nonzero(np.isfinite(y)) < min_observed:
        return None
    finite = y[np.isfinite(y)]
    if float(np.ptp(finite)) == 0.0:
        return None  # a constant series has no likelihood surface to speak of
    from statsmodels.tsa.statespace.exponential_smoothing import ExponentialSmoothing

    # Rescaling keeps the optimiser well conditioned for densities (~0.1) and counts (~1000) alike.
    scale = float(np.nanstd(y)) or 1.0
    try:
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            model = ExponentialSmoothing(
                (y - np.nanmean(y)) / scale,
                trend=True,
                damped_trend=True,
                initialization_method=FIT_INIT,
                bounds=[(MIN_ALPHA, 0.9999), (1e-4, 0.9999), (1e-4, 0.9999), (0.8, 0.98)],
            )
            res = model.fit(disp=False, maxiter=200)
        fitted = dict(zip(model.param_names, np.asarray(res.params, dtype=float), strict=True))
        alpha, beta, phi = fitted["smoothing_level"], fitted["smoothing_trend"], fitted["damping_trend"]
    except Exception:
        return None
    if not all(np.isfinite([alpha, beta, phi])) or not (0 < alpha <= 1 and 0 <= beta <= 1 and 0 < phi <= 1):
        return None
    return DampedParams(alpha=float(alpha), beta=float(beta), phi=float(phi))
