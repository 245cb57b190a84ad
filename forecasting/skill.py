"""What a forecast is for: warning early, rarely wrongly, with calibrated probabilities, and steadily.

Scored on a rolling-origin backtest (backtest.py) at one level the user names:
- Crossing probability: at each origin below the level, P(level reached at any step of the horizon)
  (crossing.py) against what happened (the level reached within the horizon). Reliability bins and
  the Brier skill score against persistence-based probabilities: persistence's flat path with its
  own learned intervals, through the same crossing computation, so only the path differs.
- Warnings: an origin warns when its probability is at least `alert_probability` (central's
  `forecast_probability`). An upward crossing of the level at bin t is detected when some origin in
  [t - H, t - 1] warned; its lead is t minus the first origin of the warning run that reached t - 1
  or the latest warning before t. A warning run that no crossing follows within H bins of its end is a
  false alarm. POD = detected / crossings, FAR = false runs / runs.
- Stability on plateaus: where the observed series stays within `plateau_rel` of its mean over
  [o - H, o + H], the change of the H-step forecast between consecutive origins, relative to the
  previous origin's 80% interval width at H. The issue's bound: no swing wider than that interval.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from forecasting.backtest import BacktestPredictions
from forecasting.calibration import CrossingCalibrator
from forecasting.crossing import any_step_probability, max_step_probability
from forecasting.resample import GridSeries

__all__ = ["ReliabilityBin", "SkillReport", "StabilityReport", "issued_probabilities", "score_level", "stability"]

N_BINS = 10
PLATEAU_REL = 0.1


@dataclass(frozen=True)
class ReliabilityBin:
    p_lo: float
    p_hi: float
    n: int
    mean_p: float
    observed: float


@dataclass(frozen=True)
class StabilityReport:
    n_plateau_updates: int
    swing_over_width80_p50: float
    swing_over_width80_p95: float
    swing_over_width80_max: float
    share_beyond_width80: float


@dataclass(frozen=True)
class SkillReport:
    level: float
    alert_probability: float
    n_origins_below: int
    base_rate: float
    brier: float
    brier_persistence: float
    brier_skill_score: float
    brier_skill_score_uncalibrated: float  # the raw probabilities from the bands, before the online map
    reliability: tuple[ReliabilityBin, ...]
    crossings: int
    detected: int
    warning_runs: int
    false_runs: int
    pod: float
    far: float
    lead_s_median: float
    lead_s_all: tuple[float, ...]


def _reached(y: np.ndarray, origins: np.ndarray, h: int) -> tuple[np.ndarray, np.ndarray]:
    """(R,) whether the level series reaches its max over (o, o+h] and whether that window is complete."""
    n = y.shape[0]
    fut = origins[:, None] + np.arange(1, h + 1)[None, :]
    complete = fut[:, -1] < n
    vals = y[np.minimum(fut, n - 1)]
    # A window with missing bins is scored only when it is fully observed: no guessing the truth.
    complete &= np.isfinite(vals).all(axis=1)
    return np.nanmax(np.where(np.isfinite(vals), vals, -np.inf), axis=1), complete


def reliability(p: np.ndarray, event: np.ndarray, n_bins: int = N_BINS) -> tuple[ReliabilityBin, ...]:
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    idx = np.clip(np.digitize(p, edges[1:-1]), 0, n_bins - 1)
    out = []
    for b in range(n_bins):
        m = idx == b
        k = int(m.sum())
        out.append(
            ReliabilityBin(
                float(edges[b]),
                float(edges[b + 1]),
                k,
                float(p[m].mean()) if k else float("nan"),
                float(event[m].mean()) if k else float("nan"),
            )
        )
    return tuple(out)


def score_level(
    grid: GridSeries, preds: BacktestPredictions, level: float, alert_probability: float = 0.6
) -> SkillReport:
    y = grid.values
    h = preds.horizon_steps
    o = preds.origin_index
    thr = np.full(o.shape[0], float(level))
    raw_all = any_step_probability(preds.bands, thr)
    p_all = issued_probabilities(grid, preds, level, raw_all)
    p_ref_all = any_step_probability(preds.persistence_bands, thr)
    below = y[o] < level
    peak, complete = _reached(y, o, h)
    m = below & complete
    event = (peak[m] >= level).astype(float)
    p, p_ref = p_all[m], p_ref_all[m]
    bs = float(np.mean((p - event) ** 2)) if event.size else float("nan")
    bs_ref = float(np.mean((p_ref - event) ** 2)) if event.size else float("nan")
    bss = 1.0 - bs / bs_ref if bs_ref > 0 else float("nan")
    bs_raw = float(np.mean((raw_all[m] - event) ** 2)) if event.size else float("nan")
    bss_raw = 1.0 - bs_raw / bs_ref if bs_ref > 0 else float("nan")
    warn_idx = o[below & (p_all >= alert_probability)]
    det, runs, false_runs, leads, n_cross = _warnings(y, warn_idx, level, h)
    return SkillReport(
        level=float(level),
        alert_probability=float(alert_probability),
        n_origins_below=int(m.sum()),
        base_rate=float(event.mean()) if event.size else float("nan"),
        brier=bs,
        brier_persistence=bs_ref,
        brier_skill_score=bss,
        brier_skill_score_uncalibrated=bss_raw,
        reliability=reliability(p, event),
        crossings=n_cross,
        detected=det,
        warning_runs=runs,
        false_runs=false_runs,
        pod=det / n_cross if n_cross else float("nan"),
        far=false_runs / runs if runs else 0.0,
        lead_s_median=float(np.median(leads)) * grid.step_s if leads else float("nan"),
        lead_s_all=tuple(float(x) * grid.step_s for x in leads),
    )


def issued_probabilities(
    grid: GridSeries, preds: BacktestPredictions, level: float, raw: np.ndarray | None = None
) -> np.ndarray:
    """(R,) the probabilities the forecaster issues at each origin: the raw ones through the online
    calibrator (calibration.py), fed exactly as ZoneForecaster feeds it: every bin closes in order, and
    each origin's outcome is counted only once its H bins have closed (no look-ahead)."""
    y = grid.values
    o = preds.origin_index
    thr = np.full(o.shape[0], float(level))
    p = any_step_probability(preds.bands, thr) if raw is None else raw
    p_ref = max_step_probability(preds.persistence_bands[:, -1:], thr)  # as the forecasters: at the horizon's end
    out = p.copy()
    cal = CrossingCalibrator(1, 1, preds.horizon_steps)
    row = np.full(y.shape[0], -1, dtype=np.int64)
    row[o] = np.arange(o.shape[0])
    level_arr = np.array([[float(level)]])
    for i in range(y.shape[0]):
        cal.observe(i, y[i : i + 1])
        r = row[i]
        if r < 0 or not y[i] < level:
            continue  # at or over the level the raw probability stands (and is not scored)
        pr, qr = p[r : r + 1, None], p_ref[r : r + 1, None]
        out[r] = cal.apply(pr, qr)[0, 0]
        cal.record(i, pr, qr, level_arr, np.ones((1, 1), dtype=bool))
    return out


def _warnings(y: np.ndarray, warn: np.ndarray, level: float, h: int) -> tuple[int, int, int, list[float], int]:
    prev, cur = y[:-1], y[1:]
    cross = np.flatnonzero(np.isfinite(prev) & np.isfinite(cur) & (prev < level) & (cur >= level)) + 1
    warn = np.unique(warn)
    # Runs of consecutive warning origins.
    starts = warn[np.r_[True, np.diff(warn) > 1]] if warn.size else warn
    ends = warn[np.r_[np.diff(warn) > 1, True]] if warn.size else warn
    detected, leads = 0, []
    for t in cross:
        before = warn[(warn >= t - h) & (warn <= t - 1)]
        if before.size:
            detected += 1
            run = int(np.searchsorted(starts, before[-1], side="right")) - 1
            leads.append(float(t - max(starts[run], t - h)))
    false_runs = 0
    for s, e in zip(starts, ends, strict=True):
        if not ((cross > s) & (cross <= e + h)).any():
            false_runs += 1
    return detected, int(starts.size), false_runs, leads, int(cross.size)


def stability(grid: GridSeries, preds: BacktestPredictions, plateau_rel: float = PLATEAU_REL) -> StabilityReport:
    y = grid.values
    h = preds.horizon_steps
    o = preds.origin_index
    n = y.shape[0]
    consecutive = np.r_[False, np.diff(o) == 1]
    ok = np.zeros(o.shape[0], dtype=bool)
    for i in np.flatnonzero(consecutive):
        lo, hi = o[i] - h, o[i] + h
        if lo < 0 or hi >= n:
            continue
        w = y[lo : hi + 1]
        if not np.isfinite(w).all():
            continue
        mean = float(w.mean())
        ok[i] = mean > 0 and float(np.max(np.abs(w - mean))) <= plateau_rel * mean
    idx = np.flatnonzero(ok)
    if idx.size == 0:
        nan = float("nan")
        return StabilityReport(0, nan, nan, nan, nan)
    swing = np.abs(preds.bands[idx, h - 1, 2] - preds.bands[idx - 1, h - 1, 2])
    width = preds.bands[idx - 1, h - 1, 3] - preds.bands[idx - 1, h - 1, 1]
    r = swing / np.maximum(width, 1e-12)
    return StabilityReport(
        n_plateau_updates=int(idx.size),
        swing_over_width80_p50=float(np.median(r)),
        swing_over_width80_p95=float(np.percentile(r, 95)),
        swing_over_width80_max=float(r.max()),
        share_beyond_width80=float(np.mean(r > 1.0)),
    )
