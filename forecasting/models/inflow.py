"""Change per bin driven by the zone's inflow (line crossings): a SARIMAX with one exogenous input.

    dy_t = c + b * x_{t-1} + r_t,   r_t = phi * r_{t-1} + e_t

fitted by statsmodels `SARIMAX(dy, exog=x lagged, order=(1, 0, 0), trend="c")` at refit time and run
online in numpy in between. It is a candidate only while the fit finds the inflow driving the change
(gain > 0, significant at `GAIN_P_MAX`): in free flow whoever enters also leaves, the gain is nil, and the
model is then persistence with a drift fitted on calm history, which the selection would still pick on
its short-horizon errors and which lags a queue that starts to grow. The inflow of the last bin is known at the origin and drives the first
step; later bins' inflow is taken as its recent average (bursts do not repeat on cue).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

INFLOW_MEAN_RATE = 0.05
GAIN_P_MAX = 0.05


@dataclass(frozen=True)
class InflowParams:
    const: float  # change per bin with no inflow (people leaving), series units
    gain: float  # change per bin per unit of last bin's inflow
    phi: float  # persistence of the unexplained change
    informative: bool = True  # the inflow drives the change (gain > 0, significant): a candidate model


class InflowModel:
    name = "sarimax_inflow"

    def __init__(self, n_series: int) -> None:
        self.const = np.zeros(n_series)
        self.gain = np.zeros(n_series)
        self.phi = np.zeros(n_series)
        self.ready = np.zeros(n_series, dtype=bool)  # only fitted series are candidates
        self.level = np.zeros(n_series)
        self.prev_y = np.full(n_series, np.nan)
        self.resid = np.zeros(n_series)
        self.x_prev = np.full(n_series, np.nan)  # inflow of the previous bin
        self.x_now = np.full(n_series, np.nan)
        self.x_mean = np.zeros(n_series)
        self.n_x = np.zeros(n_series)

    def set_params(self, index: np.ndarray | slice, params: InflowParams) -> None:
        self.const[index] = params.const
        self.gain[index] = params.gain
        self.phi[index] = params.phi
        self.ready[index] = params.informative

    def set_exog(self, x: np.ndarray) -> None:
        self.x_prev = self.x_now
        self.x_now = np.asarray(x, dtype=float)
        seen = np.isfinite(self.x_now)
        rate = np.maximum(INFLOW_MEAN_RATE, 1.0 / (self.n_x + 1.0))
        self.x_mean = np.where(seen, self.x_mean + rate * (np.where(seen, self.x_now, 0.0) - self.x_mean), self.x_mean)
        self.n_x += seen

    def update(self, y: np.ndarray, observed: np.ndarray, slot: int | None) -> None:
        dy = y - self.prev_y
        x = np.where(np.isfinite(self.x_prev), self.x_prev, 0.0)
        ok = observed & np.isfinite(dy)
        self.resid = np.where(ok, dy - self.const - self.gain * x, self.phi * self.resid)
        self.level = np.where(observed, y, self.level + self.const + self.gain * x + self.phi * self.resid)
        self.prev_y = np.where(observed, y, np.nan)

    def reset(self, mask: np.ndarray) -> None:
        self.resid[mask] = 0.0
        self.prev_y[mask] = np.nan

    def paths(self, horizon_steps: int, future_slots: np.ndarray | None) -> np.ndarray:
        x = np.repeat(self.x_mean[:, None], horizon_steps, axis=1)
        x[:, 0] = np.where(np.isfinite(self.x_now), self.x_now, self.x_mean)
        powers = np.cumprod(np.repeat(self.phi[:, None], horizon_steps, axis=1), axis=1)
        steps = self.const[:, None] + self.gain[:, None] * x + powers * self.resid[:, None]
        return self.level[:, None] + np.cumsum(steps, axis=1)


def fit_inflow_params(values: np.ndarray, inflow: np.ndarray, min_pairs: int = 30) -> InflowParams | None:
    """Fits the model on a grid history (NaN = missing); None if too little data or no sane fit."""
    y = np.asarray(values, dtype=float)
    x = np.asarray(inflow, dtype=float)
    dy = y[1:] - y[:-1]
    x_lag = x[:-1]
    ok = np.isfinite(dy) & np.isfinite(x_lag)
    if ok.sum() < min_pairs or float(np.ptp(x_lag[ok])) == 0.0:
        return None
    from statsmodels.tsa.statespace.sarimax import SARIMAX

    # Missing changes stay NaN (the Kalman filter skips them); missing inflow is filled with 0 there.
    endog = np.where(ok, dy, np.nan)
    exog = np.where(np.isfinite(x_lag), x_lag, 0.0)
    try:
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            model = SARIMAX(endog, exog=exog, order=(1, 0, 0), trend="c")
            res = model.fit(disp=False, maxiter=100)
        fitted = dict(zip(model.param_names, np.asarray(res.params, dtype=float), strict=True))
        const, gain, phi = fitted["intercept"], fitted["x1"], fitted["ar.L1"]
        gain_p = float(dict(zip(model.param_names, np.asarray(res.pvalues, dtype=float), strict=True))["x1"])
    except Exception:  # statsmodels fails in many ways on degenerate input; callers keep the old params
        return None
    if not all(np.isfinite([const, gain, phi])) or abs(phi) >= 1.0:
        return None
    informative = gain > 0 and np.isfinite(gain_p) and gain_p < GAIN_P_MAX
    return InflowParams(const=float(const), gain=float(gain), phi=float(phi), informative=bool(informative))
