"""Local linear trend: a least-squares line through the last W bins, extended over the horizon (damped in time).

A queue that grows behind a bottleneck shows as a sustained rise over minutes, buried in bin-to-bin noise
(count noise of a few people). Exponential smoothing fitted by one-step likelihood on a calm start learns
"noise around a level" (alpha, beta and phi at their bounds) and then lags such a rise; a fixed responsive
smoother follows the noise. A line through a window of half the horizon estimates the slope from W points
at once: its standard error shrinks like W^-1.5, so a rise of a fraction of the noise per minute is seen
within minutes, and a single odd bin moves it little. Missing bins are left out of the fit.
"""

from __future__ import annotations

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

    def update(self, y: np.ndarray, observed: np.ndarray, slot: int | None) -> None:
        self.buf[:, self.pos] = np.where(observed, y, 0.0)
        self.ok[:, self.pos] = observed
        self.pos = (self.pos + 1) % self.w
        # x = age in bins relative to the newest (0 newest, -(W-1) oldest), in ring order.
        x = ((np.arange(self.w) - self.pos) % self.w - (self.w - 1)).astype(float)
        m = self.ok.astype(float)
        n = m.sum(axis=1)
        sx = m @ x
        sy = (m * self.buf).sum(axis=1)
        sxx = m @ (x * x)
        sxy = (m * self.buf) @ x
        den = n * sxx - sx * sx
        fit = (n >= 3) & (den > 0)
        with np.errstate(divide="ignore", invalid="ignore"):
            slope = np.where(fit, (n * sxy - sx * sy) / np.where(fit, den, 1.0), 0.0)
            mean_y = np.where(n > 0, sy / np.maximum(n, 1.0), self.level)
            mean_x = np.where(n > 0, sx / np.maximum(n, 1.0), 0.0)
        # The line's value now (x = 0), or the last value while the window holds too few points.
        level = np.where(fit, mean_y - slope * mean_x, np.where(observed, y, self.level))
        has = n > 0
        self.level = np.where(has, level, self.level)
        self.slope = np.where(has, slope, self.slope)

    def reset(self, mask: np.ndarray) -> None:
        self.ok[mask] = False
        self.slope[mask] = 0.0

    def paths(self, horizon_steps: int, future_slots: np.ndarray | None) -> np.ndarray:
        steps = np.cumsum(self.phi ** np.arange(1, horizon_steps + 1))
        return self.level[:, None] + self.slope[:, None] * steps[None, :]
