"""Probability that the level reaches a threshold at any step within the horizon, and when.

Each step's predictive distribution is the piecewise-linear quantile function through the band
[lo95, lo80, yhat, hi80, hi95] at standard-normal scores; steps are tied together like a random walk
(forecast errors accumulate), using a fixed set of simulated normal paths so results are
reproducible. Clear-cut cases (every step far below, or surely above) skip the simulation.
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np

Z_KNOTS = np.array([-1.959964, -1.281552, 0.0, 1.281552, 1.959964])
N_PATHS = 256
TRIVIAL_P = 1e-4
_SQRT2 = math.sqrt(2.0)


@lru_cache(maxsize=8)
def _paths(horizon_steps: int) -> np.ndarray:
    """(P, H) standard-normal marginals with random-walk correlation corr(Z_i, Z_j) = sqrt(i/j)."""
    rng = np.random.default_rng(20_240_601)
    steps = rng.standard_normal((N_PATHS, horizon_steps))
    z = np.cumsum(steps, axis=1) / np.sqrt(np.arange(1, horizon_steps + 1))
    z.setflags(write=False)
    return z.astype(np.float32)


def _norm_sf(z: np.ndarray) -> np.ndarray:
    from scipy.special import erfc

    return np.asarray(0.5 * erfc(z / _SQRT2))


def threshold_scores(bands: np.ndarray, threshold: np.ndarray) -> np.ndarray:
    """(n, H) the normal score z* with P(level >= threshold) = P(Z >= z*) at each step.

    `bands` (n, H, 5) non-decreasing; `threshold` (n,). Flat tails give +-inf (certainly / never).
    """
    thr = threshold[:, None]
    v = bands
    # The threshold lies in the segment [knot c - 1, knot c) where c knots are below it (knots non-decreasing).
    c = (v < thr[..., None]).sum(axis=-1)
    i = np.clip(c - 1, 0, 3)[..., None]
    lo = np.take_along_axis(v, i, axis=-1)[..., 0]
    hi = np.take_along_axis(v, i + 1, axis=-1)[..., 0]
    zi = Z_KNOTS[i[..., 0]]
    width = np.where(hi > lo, hi - lo, 1.0)
    z = zi + (thr - lo) / width * (Z_KNOTS[i[..., 0] + 1] - zi)
    left_slope = (v[..., 1] - v[..., 0]) / (Z_KNOTS[1] - Z_KNOTS[0])
    right_slope = (v[..., 4] - v[..., 3]) / (Z_KNOTS[4] - Z_KNOTS[3])
    with np.errstate(divide="ignore", invalid="ignore"):
        left = np.where(left_slope > 0, Z_KNOTS[0] - (v[..., 0] - thr) / left_slope, -np.inf)
        right = np.where(right_slope > 0, Z_KNOTS[4] + (thr - v[..., 4]) / right_slope, np.inf)
    z = np.where(c == 0, left, z)
    return np.where(c == 5, right, z)


def max_step_probability(bands: np.ndarray, threshold: np.ndarray) -> np.ndarray:
    """(n,) the largest single-step P(level >= threshold) over the steps in `bands` (n, H', 5): a lower bound
    of the any-step probability, exact for one step, and cheap (no simulation)."""
    return np.asarray(_norm_sf(threshold_scores(bands, threshold)).max(axis=1))


def any_step_probability(bands: np.ndarray, threshold: np.ndarray) -> np.ndarray:
    """(n,) P(level >= threshold at any of the H steps)."""
    horizon = bands.shape[1]
    z = threshold_scores(bands, threshold)
    per_step = _norm_sf(z)
    p_max = per_step.max(axis=1)
    # Bonferroni bound for the never-close case keeps it honest without simulating.
    prob = np.where(p_max < TRIVIAL_P, np.minimum(per_step.sum(axis=1), 1.0), p_max)
    hard = np.flatnonzero((p_max >= TRIVIAL_P) & (p_max <= 1.0 - TRIVIAL_P))
    if hard.size:
        paths = _paths(horizon)
        chunk = max(1, 4_000_000 // (N_PATHS * horizon))
        for start in range(0, hard.size, chunk):
            rows = hard[start : start + chunk]
            zs = z[rows].astype(np.float32)
            hit = (paths[None, :, :] >= zs[:, None, :]).any(axis=2)
            prob[rows] = np.maximum(hit.mean(axis=1), p_max[rows])
    return np.clip(prob, 0.0, 1.0)


def first_crossing_time(
    last: np.ndarray, yhat: np.ndarray, threshold: np.ndarray, origin_s: float, step_s: float
) -> np.ndarray:
    """(n,) time where the point path (starting at `last`) first reaches the threshold; NaN if never.

    Already at or over the threshold at the origin counts as crossing at the origin.
    """
    path = np.concatenate([last[:, None], yhat], axis=1)
    above = path >= threshold[:, None]
    any_above = above.any(axis=1)
    i = np.argmax(above, axis=1)
    prev = np.take_along_axis(path, np.maximum(i - 1, 0)[:, None], axis=1)[:, 0]
    cur = np.take_along_axis(path, i[:, None], axis=1)[:, 0]
    rise = cur - prev
    frac = np.where(rise > 0, (threshold - prev) / np.where(rise > 0, rise, 1.0), 1.0)
    frac = np.clip(frac, 0.0, 1.0)
    t = origin_s + step_s * np.where(i == 0, 0.0, (i - 1) + frac)
    return np.where(any_above, t, np.nan)
