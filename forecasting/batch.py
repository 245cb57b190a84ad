"""Thousands of series at once: one call steps every series one grid bin, vectorised in numpy.

Meant for the period between background refits: parameters fitted elsewhere (see
`fit_damped_params`) are installed with `set_damped_params`; every bin costs a handful of array
operations for all series together.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from forecasting.calibration import CrossingCalibrator
from forecasting.crossing import any_step_probability, first_crossing_time, max_step_probability
from forecasting.engine import OnlineEngine
from forecasting.grid import ForecastGrid
from forecasting.seasons import LocalClock


@dataclass(frozen=True)
class BatchForecast:
    origin_s: float
    step_s: float
    times_s: np.ndarray  # (H,)
    yhat: np.ndarray  # (n, H)
    lo80: np.ndarray
    hi80: np.ndarray
    lo95: np.ndarray
    hi95: np.ndarray
    probability: np.ndarray  # (n, k) P(level >= threshold at any step within the horizon)
    first_crossing_s: np.ndarray  # (n, k) expected first crossing of the point path; NaN if none
    model_index: np.ndarray  # (n,) into model_names
    model_names: tuple[str, ...]
    n_observations: np.ndarray  # (n,) bins observed per series; 0 means the row is only a placeholder


class BatchForecaster:
    def __init__(
        self,
        n_series: int,
        *,
        step_s: float = 60.0,
        horizon_s: float = 600.0,
        season_s: float | None = None,
        tz: str | None = None,
        min_history: int = 3,
        nonnegative: bool = True,
    ) -> None:
        grid = ForecastGrid.make(step_s, horizon_s, season_s)
        self.step_s, self.horizon_steps, self.season = grid.step_s, grid.horizon_steps, grid.season
        self.clock = LocalClock(tz)
        self.engine = OnlineEngine(n_series, grid.engine_settings(min_history=min_history, nonnegative=nonnegative))
        self.n_series = n_series
        self._origin_s = math.nan
        self._calibrator: CrossingCalibrator | None = None  # (n, k) once forecast() is given k thresholds

    def set_damped_params(self, alpha: np.ndarray, beta: np.ndarray, phi: np.ndarray) -> None:
        """Per-series parameters (each (n,) or scalar), e.g. from a background `fit_damped_params` pass."""
        d = self.engine.damped
        d.alpha[:] = np.clip(alpha, 1e-4, 1.0)
        d.beta[:] = np.clip(beta, 0.02, 1.0)
        d.phi[:] = np.clip(phi, 0.5, 1.0)

    def update(self, values: np.ndarray, t_s: float | None = None) -> None:
        """One grid bin for every series (NaN = no reading). `t_s` is the bin's time, needed for seasons."""
        v = np.asarray(values, dtype=float)
        if v.shape != (self.n_series,):
            raise ValueError(f"values must have shape ({self.n_series},), got {v.shape}")
        if np.any(np.isinf(v)):
            raise ValueError("values must be finite or NaN (missing)")
        slot, future = None, None
        if t_s is not None:
            if not math.isfinite(t_s):
                raise ValueError("t_s must be finite")
            self._origin_s = math.floor(t_s / self.step_s) * self.step_s
        elif math.isfinite(self._origin_s):
            self._origin_s += self.step_s
        else:
            self._origin_s = 0.0
        if self.season is not None:
            if t_s is None:
                raise ValueError("t_s is required when the forecaster has a season")
            times = self._origin_s + self.step_s * np.arange(self.horizon_steps + 1)
            slots = self.season.slots(self.clock.to_local(times))
            slot, future = int(slots[0]), slots[1:]
        self.engine.step(v, slot, future)
        if self._calibrator is not None:
            self._calibrator.observe(self._bin(), v)

    def _bin(self) -> int:
        return round(self._origin_s / self.step_s)

    def forecast(self, thresholds: np.ndarray | None = None) -> BatchForecast:
        """`thresholds` (n, k) or (k,) for every series; probabilities and times come back as (n, k)."""
        out = self.engine.forecast()
        n, horizon = self.n_series, self.horizon_steps
        thr = np.zeros((n, 0)) if thresholds is None else np.asarray(thresholds, dtype=float)
        if thr.ndim == 1:
            thr = np.broadcast_to(thr, (n, thr.shape[0]))
        if thr.ndim != 2 or thr.shape[0] != n or not np.all(np.isfinite(thr)):
            raise ValueError(f"thresholds must be finite with shape ({n}, k) or (k,)")
        k = thr.shape[1]
        raw = np.zeros((n, k))
        p_ref = np.zeros((n, k))
        first = np.full((n, k), np.nan)
        # Persistence's flat path widens with the lead: its crossing chance is largest at the horizon's end.
        ref_bands = self.engine.horizon_end_bands(np.zeros(n, dtype=np.int64)) if k else out.bands
        for j in range(k):
            raw[:, j] = any_step_probability(out.bands, thr[:, j])
            p_ref[:, j] = max_step_probability(ref_bands, thr[:, j])
            first[:, j] = first_crossing_time(out.last, out.yhat, thr[:, j], self._origin_s, self.step_s)
        # Each threshold column has its own online calibrator (calibration.py); a new column count restarts it.
        if self._calibrator is None or self._calibrator.k != k:
            self._calibrator = CrossingCalibrator(n, k, horizon)
        below = out.last[:, None] < thr
        prob = np.where(below, self._calibrator.apply(raw, p_ref), raw)
        self._calibrator.record(self._bin(), raw, p_ref, thr, below)
        b = out.bands
        return BatchForecast(
            origin_s=self._origin_s,
            step_s=self.step_s,
            times_s=self._origin_s + self.step_s * np.arange(1, horizon + 1),
            yhat=b[..., 2],
            lo80=b[..., 1],
            hi80=b[..., 3],
            lo95=b[..., 0],
            hi95=b[..., 4],
            probability=prob,
            first_crossing_s=first,
            model_index=out.model_index,
            model_names=self.engine.model_names,
            n_observations=self.engine.n_obs.copy(),
        )
