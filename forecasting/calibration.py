"""Crossing probabilities recalibrated online from the forecaster's own track record.

The raw probability (crossing.py) comes from the bands, whose coverage is tracked over all origins. What
the bands do not promise is that, among the origins where the path heads for a level, the level is
reached as often as the path says: on a noisy series a forecast rise is often noise, and the raw
probabilities above about 0.5 are over-confident. So each raw probability is mapped through a per-series,
per-threshold reliability curve learned from past origins whose outcome is known:

- Records: at each origin below the threshold, the raw probability; the outcome (did any of the next H
  bins reach the threshold) is known H bins later and only then counted (no look-ahead). A window with a
  missing bin is dropped, as in the skill score.
- Curve: raw probabilities fall into fixed bins; in each, the observed frequency is shrunk towards the
  bin's mean raw probability by `prior` pseudo-outcomes, so with no evidence the map is the identity and
  a bin moves only as its own evidence accumulates. Consecutive origins share H - 1 of their H target
  bins, so a record counts as 1/H of an independent outcome (with a 60-step horizon, a minute of
  records at 10 s is one outcome, not six). The bin values are made non-decreasing by weighted isotonic
  regression (`isotonic`, weights = each bin's evidence), and a probability is mapped by linear interpolation between the bins' (mean raw, calibrated) points, with 0 mapped to 0:
  the map is continuous, monotone, and the identity until evidence says otherwise.
- Memory: every counted outcome discounts that curve's older evidence by 1 - 1/`memory`.

Vectorised over series and thresholds: `n` series share one bin clock (`observe` once per bin).
"""

from __future__ import annotations

import numpy as np

__all__ = ["CrossingCalibrator", "isotonic"]

EDGES = np.array([0.0, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0 + 1e-9])
PRIOR = 8.0  # pseudo-outcomes at the raw probability in every bin
MEMORY = 2000.0  # independent outcomes; older evidence fades by 1 - 1/MEMORY per counted outcome
# Hedge with the persistence-based probability: the weight on the forecast's own probability is the
# exponentially weighted average (Vovk's aggregating rule) over these candidate weights, by their
# discounted Brier losses. The forecast's own probability starts far ahead (HEAD_START outcomes' worth
# of loss), so a zone with little track record is left as it is.
HEDGE_WEIGHTS = np.array([1.0, 0.75, 0.5, 0.25, 0.0])
HEDGE_ETA = 2.0
HEAD_START = 4.0


def isotonic(values: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Weighted isotonic (non-decreasing) regression along the last axis, vectorised over the others:
    the min-max formula, value_b = max over i <= b of min over j >= b of the weighted mean of i..j."""
    bad = (np.diff(values, axis=-1) < 0).any(axis=-1)
    if not bad.all():  # most curves are monotone already: only the others need the (B, B) table
        out = values.copy()
        if bad.any():
            out[bad] = isotonic(values[bad], weights[bad])
        return out
    b = values.shape[-1]
    cw = np.concatenate([np.zeros((*weights.shape[:-1], 1)), np.cumsum(weights, axis=-1)], axis=-1)
    cv = np.concatenate([np.zeros((*values.shape[:-1], 1)), np.cumsum(values * weights, axis=-1)], axis=-1)
    i, j = np.meshgrid(np.arange(b), np.arange(b), indexing="ij")
    upper = j >= i
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = (cv[..., j + 1] - cv[..., i]) / (cw[..., j + 1] - cw[..., i])  # (..., B, B) over i..j
    mean = np.where(upper, mean, np.inf)
    low = np.minimum.accumulate(mean[..., ::-1], axis=-1)[..., ::-1]  # min over j >= b, indexed [i, b]
    low = np.where(upper, low, -np.inf)
    return np.asarray(np.max(low, axis=-2))


class CrossingCalibrator:
    """Per series and threshold column: records raw probabilities, learns their reliability, maps new ones."""

    def __init__(
        self,
        n_series: int,
        n_thresholds: int,
        horizon_steps: int,
        *,
        prior: float = PRIOR,
        memory: float = MEMORY,
        eta: float = HEDGE_ETA,
        head_start: float = HEAD_START,
    ) -> None:
        if horizon_steps < 1:
            raise ValueError("the horizon must be at least one step")
        self.n, self.k, self.h = n_series, n_thresholds, horizon_steps
        self.prior, self.memory, self.eta = float(prior), float(memory), float(eta)
        b = EDGES.shape[0] - 1
        self.centres = 0.5 * (EDGES[:-1] + np.minimum(EDGES[1:], 1.0))
        self.count = np.zeros((n_series, n_thresholds, b))  # discounted independent outcomes per bin
        self.sum_p = np.zeros((n_series, n_thresholds, b))
        self.sum_hit = np.zeros((n_series, n_thresholds, b))
        self.loss = np.broadcast_to(
            np.where(HEDGE_WEIGHTS == 1.0, 0.0, float(head_start)), (n_series, n_thresholds, HEDGE_WEIGHTS.size)
        ).copy()
        self.any_counted = False
        self._since_refresh = 0
        self._refresh_every = max(1, -(-horizon_steps // 10))
        self._cache: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None = None  # weight, knots
        ring = horizon_steps + 1
        self._values = np.full((ring, n_series), np.nan)
        self._value_bin = np.full(ring, -1, dtype=np.int64)
        self._rec = np.full((ring, 3, n_series, n_thresholds), np.nan)  # own p, reference p, issued mix
        self._rec_thr = np.zeros((ring, n_series, n_thresholds))
        self._rec_bin = np.full(ring, -1, dtype=np.int64)

    # ---- track record ---------------------------------------------------------------------------
    def record(
        self, origin_bin: int, p: np.ndarray, p_ref: np.ndarray, threshold: np.ndarray, below: np.ndarray
    ) -> None:
        """The raw probabilities (n, k), the forecast's own and the persistence-based one, issued at
        `origin_bin` (a later call for the same bin replaces them); only entries where the level was
        `below` the threshold at the origin are scored."""
        r = origin_bin % (self.h + 1)
        self._rec_bin[r] = origin_bin
        self._rec[r, 0] = np.where(below, p, np.nan)
        self._rec[r, 1] = np.where(below, p_ref, np.nan)
        self._rec[r, 2] = np.where(below, self.mix(p, p_ref), np.nan)
        self._rec_thr[r] = threshold

    def observe(self, bin_index: int, y: np.ndarray) -> None:
        """Bin `bin_index` closed with values `y` (n,) (NaN = missing); resolves the origin H bins back."""
        ring = self.h + 1
        r = bin_index % ring
        self._values[r] = y
        self._value_bin[r] = bin_index
        origin = bin_index - self.h
        ro = origin % ring
        if origin < 0 or self._rec_bin[ro] != origin:
            return
        self._rec_bin[ro] = -1
        window = [(origin + j) % ring for j in range(1, self.h + 1)]
        if not all(self._value_bin[w] == origin + j for j, w in enumerate(window, start=1)):
            return
        vals = self._values[window]  # (H, n)
        complete = np.isfinite(vals).all(axis=0)
        if not complete.any():
            return
        peak = np.max(np.where(complete[None, :], vals, -np.inf), axis=0)
        p, p_ref, issued = self._rec[ro]
        ok = np.isfinite(p) & np.isfinite(p_ref) & complete[:, None]
        if not ok.any():
            return
        hit = (peak[:, None] >= self._rec_thr[ro]).astype(float)
        self._count(np.where(ok, p, 0.0), np.where(ok, p_ref, 0.0), np.where(ok, issued, 0.0), hit, ok)

    def _count(self, p: np.ndarray, p_ref: np.ndarray, issued: np.ndarray, hit: np.ndarray, ok: np.ndarray) -> None:
        self.any_counted = True
        # A record is 1/H of an outcome: the curve is refreshed every ceil(H / 10) counted bins (each bin
        # for short horizons), which keeps thousands of series cheap and changes the map by a hair at most.
        self._since_refresh += 1
        if self._since_refresh >= self._refresh_every or self._cache is None:
            self._cache = None
            self._since_refresh = 0
        w = np.where(ok, 1.0 / self.h, 0.0)  # (n, k)
        keep = np.where(ok, 1.0 - w / self.memory, 1.0)
        cand = HEDGE_WEIGHTS * p[..., None] + (1.0 - HEDGE_WEIGHTS) * p_ref[..., None]
        self.loss = self.loss * keep[..., None] + w[..., None] * (cand - hit[..., None]) ** 2
        idx = np.clip(np.searchsorted(EDGES, issued, side="right") - 1, 0, self.centres.shape[0] - 1)
        onehot = (idx[..., None] == np.arange(self.centres.shape[0])) * w[..., None]
        self.count = self.count * keep[..., None] + onehot
        self.sum_p = self.sum_p * keep[..., None] + onehot * issued[..., None]
        self.sum_hit = self.sum_hit * keep[..., None] + onehot * hit[..., None]

    # ---- the map --------------------------------------------------------------------------------
    def _state(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        if self._cache is None:
            x, c = self.curve()
            zero = np.zeros((*x.shape[:-1], 1))
            self._cache = (self._weight(), np.concatenate([zero, x], axis=-1), np.concatenate([zero, c], axis=-1), x)
        return self._cache

    def weight(self) -> np.ndarray:
        """(n, k) the weight on the forecast's own probability (the rest on the persistence-based one)."""
        return self._state()[0]

    def _weight(self) -> np.ndarray:
        lo = self.loss - self.loss.min(axis=-1, keepdims=True)
        pi = np.exp(-self.eta * lo)
        return np.asarray((pi * HEDGE_WEIGHTS).sum(axis=-1) / pi.sum(axis=-1))

    def mix(self, p: np.ndarray, p_ref: np.ndarray) -> np.ndarray:
        w = self.weight()
        return np.clip(w * p + (1.0 - w) * p_ref, 0.0, 1.0)

    def curve(self) -> tuple[np.ndarray, np.ndarray]:
        """(n, k, B) each bin's mean raw probability and its calibrated value (non-decreasing over bins)."""
        mean_p = np.where(self.count > 0, self.sum_p / np.maximum(self.count, 1e-300), self.centres)
        weight = self.count + self.prior
        cal = (self.sum_hit + self.prior * mean_p) / weight
        return mean_p, isotonic(cal, weight)

    def apply(self, p: np.ndarray, p_ref: np.ndarray) -> np.ndarray:
        """(n, k) the issued probability: the hedge of the forecast's own (n, k) and the persistence-based
        one (n, k), through the learned reliability curve. The identity until outcomes have been counted."""
        p = np.clip(np.asarray(p, dtype=float), 0.0, 1.0)
        if not self.any_counted:
            return p
        return self.calibrate(self.mix(p, np.clip(np.asarray(p_ref, dtype=float), 0.0, 1.0)))

    def calibrate(self, m: np.ndarray) -> np.ndarray:
        """(n, k) raw probabilities through the reliability curve (linear between the bins' points, 0 -> 0)."""
        _, xs, cs, _ = self._state()
        j = np.clip((xs <= m[..., None]).sum(axis=-1) - 1, 0, xs.shape[-1] - 1)
        j1 = np.minimum(j + 1, xs.shape[-1] - 1)
        x0 = np.take_along_axis(xs, j[..., None], axis=-1)[..., 0]
        x1 = np.take_along_axis(xs, j1[..., None], axis=-1)[..., 0]
        c0 = np.take_along_axis(cs, j[..., None], axis=-1)[..., 0]
        c1 = np.take_along_axis(cs, j1[..., None], axis=-1)[..., 0]
        span = x1 - x0
        inside = span > 0
        # Above the top bin's point the map keeps slope one.
        out = np.where(inside, c0 + (m - x0) / np.where(inside, span, 1.0) * (c1 - c0), c0 + (m - x0))
        return np.clip(out, 0.0, 1.0)
