"""Putting irregular observations onto a regular time grid (mean per bin), with gaps kept as NaN.

Bins are labelled by their start, aligned to multiples of `step_s` on the input clock (for UNIX seconds
that is the same alignment as pandas' `resample`). An empty bin stays NaN: the models treat it as a
missing observation and never invent a value for it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class GridSeries:
    """A series on a regular grid: `values[i]` is the mean of the observations in bin `start_s + i*step_s`."""

    start_s: float
    step_s: float
    values: np.ndarray  # (N,) float, NaN where the bin had no observation
    counts: np.ndarray  # (N,) int, observations per bin

    @property
    def times_s(self) -> np.ndarray:
        return self.start_s + self.step_s * np.arange(self.values.shape[0], dtype=float)

    @property
    def n_observed(self) -> int:
        return int(np.count_nonzero(self.counts))


def check_step(step_s: float) -> float:
    step = float(step_s)
    if not math.isfinite(step) or step <= 0:
        raise ValueError(f"step_s must be a positive number of seconds, got {step_s!r}")
    return step


def bin_index(t_s: float, step_s: float) -> int:
    return math.floor(t_s / step_s)


def as_clean_arrays(
    times_s: Sequence[float] | np.ndarray, values: Sequence[float] | np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Validates raw inputs; NaN values are dropped (a missing reading), infinite ones are an error."""
    t = np.asarray(times_s, dtype=float).reshape(-1)
    v = np.asarray(values, dtype=float).reshape(-1)
    if t.shape != v.shape:
        raise ValueError(f"times_s and values differ in length ({t.shape[0]} vs {v.shape[0]})")
    if not np.all(np.isfinite(t)):
        raise ValueError("times_s contains NaN or infinite timestamps")
    if np.any(np.isinf(v)):
        raise ValueError("values contains infinite numbers")
    keep = ~np.isnan(v)
    return t[keep], v[keep]


def resample_to_grid(
    times_s: Sequence[float] | np.ndarray, values: Sequence[float] | np.ndarray, step_s: float
) -> GridSeries:
    """Mean per bin over the whole span; duplicated and out-of-order timestamps simply share or find their bin."""
    step = check_step(step_s)
    t, v = as_clean_arrays(times_s, values)
    if t.size == 0:
        raise ValueError("the series has no finite observations to forecast from")
    idx = np.floor(t / step).astype(np.int64)
    first = int(idx.min())
    n_bins = int(idx.max()) - first + 1
    if n_bins > 50_000_000:
        raise ValueError(f"the series spans {n_bins} bins of {step} s; use a coarser step")
    pos = idx - first
    sums = np.bincount(pos, weights=v, minlength=n_bins)
    counts = np.bincount(pos, minlength=n_bins)
    with np.errstate(invalid="ignore", divide="ignore"):
        means = np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)
    return GridSeries(start_s=first * step, step_s=step, values=means, counts=counts)
