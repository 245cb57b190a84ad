"""Prediction intervals from the models' own past errors, learned online (conformal-style).

Per model, series and tracked horizon h we keep an exponentially weighted mean absolute error (the
scale) and four quantiles of the error divided by that scale, moved by a stochastic pinball-loss step
each time a forecast made h bins ago meets its truth. Quantile tracking keeps long-run coverage close
to nominal whatever the error distribution, and the fast scale follows calm and busy hours. Until
errors have been seen, a deliberately wide prior (from the series' own bin-to-bin changes) is blended in.
"""

from __future__ import annotations

import numpy as np

LEVELS = np.array([0.025, 0.10, 0.90, 0.975])  # lo95, lo80, hi80, hi95
GAUSS_Z = np.array([-1.959964, -1.281552, 1.281552, 1.959964])
MAE_TO_SIGMA = 1.2533  # for Gaussian errors sigma = MAE * sqrt(pi/2)
SCALE_RATE = 0.05
QUANTILE_RATE = 0.02
PRIOR_WEIGHT = 5.0  # the prior counts as this many observed errors
PRIOR_INFLATION = 1.5  # wide on purpose: with no track record we should not sound sure


def tracked_horizons(horizon_steps: int) -> np.ndarray:
    """1, 2, 4, ... up to H (inclusive): enough points to interpolate error growth over the horizon."""
    hs = {horizon_steps}
    h = 1
    while h < horizon_steps:
        hs.add(h)
        h *= 2
    return np.array(sorted(hs), dtype=np.int64)


class ResidualTracker:
    def __init__(self, n_models: int, n_series: int, horizons: np.ndarray) -> None:
        k = horizons.shape[0]
        self.horizons = horizons
        self.scale = np.zeros((n_models, n_series, k))
        self.count = np.zeros((n_models, n_series, k))
        self.q = np.broadcast_to(GAUSS_Z * MAE_TO_SIGMA, (n_models, n_series, k, 4)).copy()

    def update(self, resid: np.ndarray, prior: np.ndarray) -> None:
        """`resid` (m, n, k), NaN where no forecast met an observation; `prior` (n, k) prior scales."""
        ok = np.isfinite(resid)
        if not ok.any():
            return
        r = np.where(ok, resid, 0.0)
        scale_now = self.effective_scale(prior)
        z = r / np.maximum(scale_now, 1e-12)
        below = z[..., None] < self.q
        step = QUANTILE_RATE * (LEVELS - below)
        self.q += np.where(ok[..., None], step, 0.0)
        rate = np.maximum(SCALE_RATE, 1.0 / (self.count + 1.0))
        self.scale += np.where(ok, rate * (np.abs(r) - self.scale), 0.0)
        self.count += ok

    def effective_scale(self, prior: np.ndarray) -> np.ndarray:
        """(m, n, k) the learned MAE blended with the prior while there are few errors."""
        return (self.count * self.scale + PRIOR_WEIGHT * prior[None]) / (self.count + PRIOR_WEIGHT)


def horizon_weights(horizons: np.ndarray, h_eff: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Where each effective horizon falls between tracked ones: (j, j+1, weight, sqrt growth past the end)."""
    logh = np.log(horizons.astype(float))
    x = np.log(np.maximum(h_eff, 1).astype(float))
    j = np.clip(np.searchsorted(logh, x, side="right") - 1, 0, len(horizons) - 1)
    j1 = np.minimum(j + 1, len(horizons) - 1)
    span = logh[j1] - logh[j]
    w = np.where(span > 0, (np.minimum(x, logh[-1]) - logh[j]) / np.where(span > 0, span, 1.0), 0.0)
    grow = np.sqrt(np.maximum(h_eff / horizons[-1], 1.0))
    return j, j1, np.clip(w, 0.0, 1.0), grow


def interpolate_over_horizon(per_k: np.ndarray, horizons: np.ndarray, h_eff: np.ndarray, grow: bool) -> np.ndarray:
    """Linear in log(h) between tracked horizons; beyond the last one scales grow like sqrt(h).

    `per_k` (n, k, ...) values at `horizons`; `h_eff` (H,) shared or (n, H) per series. Returns (n, H, ...).
    """
    j, j1, w, extra = horizon_weights(horizons, h_eff)
    tail = (1,) * (per_k.ndim - 2)
    if h_eff.ndim == 1:
        a, b = per_k[:, j], per_k[:, j1]
        wexp = w.reshape((1, -1, *tail))
        out = a + wexp * (b - a)
        return out * extra.reshape((1, -1, *tail)) if grow else out
    a = np.take_along_axis(per_k, j.reshape(j.shape + tail), axis=1)
    b = np.take_along_axis(per_k, j1.reshape(j1.shape + tail), axis=1)
    out = a + w.reshape(w.shape + tail) * (b - a)
    return out * extra.reshape(extra.shape + tail) if grow else out


def build_bands(yhat: np.ndarray, scale: np.ndarray, q: np.ndarray, nonnegative: bool) -> np.ndarray:
    """(n, H, 5) ordered [lo95, lo80, yhat, hi80, hi95] from scales (n, H) and quantiles (n, H, 4)."""
    off = scale[..., None] * q
    lo95 = yhat + off[..., 0]
    lo80 = np.minimum(yhat + off[..., 1], yhat)
    hi80 = np.maximum(yhat + off[..., 2], yhat)
    hi95 = yhat + off[..., 3]
    lo95 = np.minimum(lo95, lo80)
    hi95 = np.maximum(hi95, hi80)
    bands = np.stack([lo95, lo80, yhat, hi80, hi95], axis=-1)
    if nonnegative:
        bands = np.maximum(bands, 0.0)
    return bands
