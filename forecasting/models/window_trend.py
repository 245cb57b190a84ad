"""Local linear trend: a robust line through the last W bins, extended over the horizon (damped in time).

A queue that grows behind a bottleneck shows as a sustained rise over minutes, buried in bin-to-bin noise
(count noise of a few people). Exponential smoothing fitted by one-step likelihood on a calm start learns
"noise around a level" (alpha, beta and phi at their bounds) and then lags such a rise; a fixed responsive
smoother follows the noise. A line through a window of a third of the horizon estimates the slope from W
points at once. The slope is Theil-Sen's (the median of the pairwise slopes): a sustained rise moves every
pair, while a single odd bin or a jump moves at most the pairs that include it or straddle it, so it is
robust where least squares is not. The line's value now is the median, over the last quarter of the window,
of each point less the slope times its age. Missing bins are left out of the fit.
"""

from __future__ import annotations

import warnings

import numpy as np


class WindowTrend:
    name = "window_trend"

    def __init__(self, n_series: int, window: int, phi: float) -> None:
        if window < 3:
            raise ValueError("the window needs at least 3 bins")
        self.w = window
        self.phi = phi
        self.buf = np.zeros((n_series, window))
        self.ok = np.zeros((n_series, window), dtype=bool)
        self.pos = 0
        self.level = np.zeros(n_series)
        self.slope = np.zeros(n_series)
        self._pairs = np.triu_indices(window, k=1)

    def update(self, y: np.ndarray, observed: np.ndarray, slot: int | None) -> None:
        self.buf[:, self.pos] = np.where(observed, y, 0.0)
        self.ok[:, self.pos] = observed
        self.pos = (self.pos + 1) % self.w
        order = (np.arange(self.w) + self.pos) % self.w  # oldest first
        v = np.where(self.ok[:, order], self.buf[:, order], np.nan)  # (n, W)
        x = np.arange(self.w, dtype=float) - (self.w - 1)  # 0 for the newest bin
        i, j = self._pairs
        with np.errstate(invalid="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN rows: too few points, handled below
            # Theil-Sen: the median of the pairwise slopes. A sustained rise moves every pair; a step moves
            # only the pairs across it (at most half of them), so a level shift is not read as a trend.
            # np.median where the window is full (the common case): nanmedian costs several times more.
            median = np.median if self.ok.all() else np.nanmedian
            slope = median((v[:, j] - v[:, i]) / (x[j] - x[i]), axis=1)
            recent = max(3, self.w // 4)
            level = median(v[:, -recent:] - slope[:, None] * x[None, -recent:], axis=1)
        n = self.ok.sum(axis=1)
        fit = (n >= 3) & np.isfinite(slope) & np.isfinite(level)
        level = np.where(fit, level, np.where(observed, y, self.level))
        slope = np.where(fit, slope, 0.0)
        has = n > 0
        self.level = np.where(has, level, self.level)
        self.slope = np.where(has, slope, self.slope)

    def reset(self, mask: np.ndarray) -> None:
        self.ok[mask] = False
        self.slope[mask] = 0.0

    def paths(self, horizon_steps: int, future_slots: np.ndarray | None) -> np.ndarray:
        steps = np.cumsum(self.phi ** np.arange(1, horizon_steps + 1))
        return self.level[:, None] + self.slope[:, None] * steps[None, :]
