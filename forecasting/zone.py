"""One zone's online forecaster: raw observations in, a Forecast with intervals and crossings out."""

from __future__ import annotations

import copy
import math
from collections.abc import Mapping

import numpy as np

from forecasting.calibration import CrossingCalibrator
from forecasting.crossing import any_step_probability, first_crossing_time, max_step_probability
from forecasting.engine import OnlineEngine
from forecasting.grid import ForecastGrid
from forecasting.models.damped import DampedParams, fit_damped_params
from forecasting.models.inflow import InflowParams, fit_inflow_params
from forecasting.resample import bin_index
from forecasting.seasons import LocalClock
from forecasting.types import Forecast, ThresholdCrossing

FIT_MIN_OBS = 30
FIT_WINDOW_BINS = 1024  # recent enough to follow the zone, short enough for a ~100 ms statsmodels fit


class ZoneForecaster:
    """Bins raw readings onto the step grid (mean per bin) and forecasts `horizon_s` ahead.

    Each closed bin costs a few vector operations; the damped-trend parameters are refitted with
    statsmodels only every `refit_every` bins (or when `refit()` is called, e.g. from a background
    worker). A reading for a bin that is already closed is kept in the history for the next refit but
    cannot change the online state any more.
    """

    def __init__(
        self,
        *,
        step_s: float = 60.0,
        horizon_s: float = 600.0,
        season_s: float | None = None,
        min_history: int = 3,
        tz: str | None = None,
        refit_every: int = 360,
        history_bins: int = 4096,
        nonnegative: bool = True,
        min_scale: float = 0.0,
        auto_refit: bool = True,
    ) -> None:
        grid = ForecastGrid.make(step_s, horizon_s, season_s)
        self.step_s, self.horizon_steps, self.season = grid.step_s, grid.horizon_steps, grid.season
        self.clock = LocalClock(tz)
        self.engine = OnlineEngine(
            1,
            grid.engine_settings(
                min_history=min_history, nonnegative=nonnegative, min_scale=min_scale, with_inflow=True
            ),
        )
        self.refit_every = max(1, refit_every)
        self.auto_refit = auto_refit
        self._hist_len = max(history_bins, 64)
        self._hist_bin = np.full(self._hist_len, -1, dtype=np.int64)
        self._hist_sum = np.zeros(self._hist_len)
        self._hist_cnt = np.zeros(self._hist_len, dtype=np.int64)
        self._hist_in_sum = np.zeros(self._hist_len)
        self._hist_in_cnt = np.zeros(self._hist_len, dtype=np.int64)
        self._open_in_sum = 0.0  # the open bin's inflow readings
        self._open_in_cnt = 0
        self._open_bin: int | None = None  # the newest bin; still collecting readings
        self._open_sum = 0.0
        self._open_cnt = 0
        self._next_bin: int | None = None  # first bin the engine has not stepped through
        self._n_raw = 0
        self._bins_since_fit = 0
        self._fitted = False
        # One online calibrator per threshold name (calibration.py); each sees every closed bin.
        self._calibrators: dict[str, CrossingCalibrator] = {}

    @property
    def n_observations(self) -> int:
        """Raw readings accepted so far (late ones included)."""
        return self._n_raw

    @property
    def refit_due(self) -> bool:
        n_obs = int(self.engine.n_obs[0])
        return n_obs >= FIT_MIN_OBS and (not self._fitted or self._bins_since_fit >= self.refit_every)

    # ---- input ----------------------------------------------------------------------------------
    def update(self, t_s: float, value: float, inflow: float | None = None) -> None:
        t, v = float(t_s), float(value)
        if not math.isfinite(t):
            raise ValueError(f"t_s must be a finite number of seconds, got {t_s!r}")
        if not math.isfinite(v):
            raise ValueError(f"value must be a finite number, got {value!r} at t_s={t}")
        if inflow is not None and not math.isfinite(float(inflow)):
            raise ValueError(f"inflow must be a finite number or None, got {inflow!r}")
        b = bin_index(t, self.step_s)
        self._n_raw += 1
        if self._open_bin is None or b > self._open_bin:
            if self._open_bin is not None:
                self._close_through(b - 1)
            self._reset_open(b)
        if b == self._open_bin:
            self._open_sum += v
            self._open_cnt += 1
            if inflow is not None:
                self._open_in_sum += float(inflow)
                self._open_in_cnt += 1
        self._record(b, v, inflow)

    def _record(self, b: int, v: float, inflow: float | None) -> None:
        i = b % self._hist_len
        if self._hist_bin[i] != b:
            if self._hist_bin[i] > b:
                return  # older than the history window: nothing left to attach it to
            self._hist_bin[i], self._hist_sum[i], self._hist_cnt[i] = b, 0.0, 0
            self._hist_in_sum[i], self._hist_in_cnt[i] = 0.0, 0
        self._hist_sum[i] += v
        self._hist_cnt[i] += 1
        if inflow is not None:
            self._hist_in_sum[i] += float(inflow)
            self._hist_in_cnt[i] += 1

    def _open_inflow(self) -> float:
        return self._open_in_sum / self._open_in_cnt if self._open_in_cnt else math.nan

    def _reset_open(self, b: int) -> None:
        self._open_bin, self._open_sum, self._open_cnt = b, 0.0, 0
        self._open_in_sum, self._open_in_cnt = 0.0, 0

    def _close_through(self, last_bin: int) -> None:
        """Steps the engine through every bin up to `last_bin` (NaN for empty ones)."""
        if self._open_bin is None:
            return
        if self._next_bin is None:
            self._next_bin = self._open_bin
        while self._next_bin <= last_bin:
            b = self._next_bin
            if b == self._open_bin and self._open_cnt > 0:
                self._step(b, self._open_sum / self._open_cnt, self._open_inflow())
            else:
                gap_left = last_bin - b
                if gap_left > self.engine.reset_gap + 1:
                    # A long silence restarts the short-term state anyway: no need to walk it bin by bin.
                    skip = gap_left - self.engine.reset_gap
                    self.engine.skip(skip)
                    self._next_bin = b + skip
                    continue
                self._step(b, math.nan, math.nan)
            self._next_bin = b + 1
        if self._open_bin <= last_bin:
            self._reset_open(self._open_bin)
        if self.auto_refit and self.refit_due:
            self.refit()

    def _slots(self, b: int) -> tuple[int | None, np.ndarray | None]:
        if self.season is None:
            return None, None
        times = (b + np.arange(0, self.horizon_steps + 1)) * self.step_s
        local = self.clock.to_local(times)
        slots = self.season.slots(local)
        return int(slots[0]), slots[1:]

    def _step(self, b: int, value: float, inflow: float) -> None:
        slot, future = self._slots(b)
        self.engine.step(np.array([value]), slot, future, np.array([inflow]))
        self._bins_since_fit += 1
        for cal in self._calibrators.values():
            cal.observe(b, np.array([value]))

    # ---- refits ---------------------------------------------------------------------------------
    def history(self) -> tuple[np.ndarray, np.ndarray]:
        """(bin start times, bin means) of the stored history, oldest first, NaN for empty bins."""
        times, values, _ = self.history_with_inflow()
        return times, values

    def history_with_inflow(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(bin start times, value means, inflow means), oldest first, NaN where a bin had none."""
        have = self._hist_bin >= 0
        if not have.any():
            return np.empty(0), np.empty(0), np.empty(0)
        lo, hi = int(self._hist_bin[have].min()), int(self._hist_bin[have].max())
        bins = np.arange(lo, hi + 1)
        idx = bins % self._hist_len
        ok = self._hist_bin[idx] == bins
        with np.errstate(invalid="ignore", divide="ignore"):
            means = np.where(
                ok & (self._hist_cnt[idx] > 0), self._hist_sum[idx] / np.maximum(self._hist_cnt[idx], 1), np.nan
            )
            inflow = np.where(
                ok & (self._hist_in_cnt[idx] > 0),
                self._hist_in_sum[idx] / np.maximum(self._hist_in_cnt[idx], 1),
                np.nan,
            )
        return bins * self.step_s, means, inflow

    def refit(self) -> bool:
        """Refits the damped trend (and the inflow model where there is inflow) on the stored history.

        Returns False if the damped-trend fit failed and the old parameters were kept.
        """
        _, values, inflow = self.history_with_inflow()
        self._bins_since_fit = 0
        values, inflow = values[-FIT_WINDOW_BINS:], inflow[-FIT_WINDOW_BINS:]
        if self.engine.inflow is not None and np.count_nonzero(np.isfinite(inflow)) >= FIT_MIN_OBS:
            inflow_params = fit_inflow_params(values, inflow, min_pairs=FIT_MIN_OBS)
            if inflow_params is not None:
                self.engine.inflow.set_params(slice(None), inflow_params)
        params = fit_damped_params(values, min_observed=FIT_MIN_OBS)
        if params is None:
            return False
        self.set_damped_params(params)
        return True

    def set_inflow_params(self, params: InflowParams) -> None:
        """Installs inflow-model parameters fitted elsewhere (see `set_damped_params`)."""
        if self.engine.inflow is not None:
            self.engine.inflow.set_params(slice(None), params)

    def set_damped_params(self, params: DampedParams) -> None:
        """Installs parameters fitted elsewhere, e.g. by a background worker that ran
        `fit_damped_params` on a `history_with_inflow()` snapshot: the forecaster itself is not
        thread-safe, so only the owner thread should call this (and update/forecast)."""
        self.engine.damped.set_params(slice(None), params)
        self._fitted = True
        self._bins_since_fit = 0

    # ---- output ---------------------------------------------------------------------------------
    def _issued(
        self, names: list[str], origin_bin: int, thr: np.ndarray, raw: np.ndarray, engine: OnlineEngine, last: float
    ) -> np.ndarray:
        """The raw crossing probabilities through each threshold's online calibrator (recorded for scoring
        once the horizon has passed); at or over a threshold the raw probability stands."""
        # Persistence's flat path widens with the lead: its crossing chance is largest at the horizon's end.
        ref_bands = engine.horizon_end_bands(np.zeros(1, dtype=np.int64))
        p_ref = max_step_probability(np.repeat(ref_bands, thr.size, axis=0), thr)
        out = raw.copy()
        for j, name in enumerate(names):
            cal = self._calibrators.get(name)
            if cal is None:
                cal = self._calibrators[name] = CrossingCalibrator(1, 1, self.horizon_steps)
            if not last < thr[j]:
                continue
            pj, qj = raw[j : j + 1, None], p_ref[j : j + 1, None]
            out[j] = cal.apply(pj, qj)[0, 0]
            cal.record(origin_bin, pj, qj, thr[j : j + 1, None], np.ones((1, 1), dtype=bool))
        return out

    def forecast(self, thresholds: Mapping[str, float] | None = None, now_s: float | None = None) -> Forecast:
        thresholds = dict(thresholds or {})
        for name, level in thresholds.items():
            if not math.isfinite(float(level)):
                raise ValueError(f"threshold {name!r} must be a finite number, got {level!r}")
        if self._open_bin is None:
            raise ValueError("no observations yet: call update() before forecast()")
        if now_s is not None and math.isfinite(now_s):
            now_bin = bin_index(float(now_s), self.step_s)
            if now_bin > self._open_bin:
                self._close_through(now_bin - 1)
                self._reset_open(now_bin)
        engine = self.engine
        origin_bin = (self._next_bin if self._next_bin is not None else self._open_bin) - 1
        if self._open_cnt > 0 and (self._next_bin is None or self._next_bin <= self._open_bin):
            # Peek: use the bin still filling without committing it, so the forecast is current.
            engine = copy.deepcopy(self.engine)
            slot, future = self._slots(self._open_bin)
            engine.step(np.array([self._open_sum / self._open_cnt]), slot, future, np.array([self._open_inflow()]))
            origin_bin = self._open_bin
        if engine.t == 0:
            raise ValueError("no complete observation yet")
        out = engine.forecast()
        origin_s = origin_bin * self.step_s
        times = origin_s + self.step_s * np.arange(1, self.horizon_steps + 1)
        crossings = []
        if thresholds:
            thr = np.array([float(v) for v in thresholds.values()])
            bands = np.repeat(out.bands, thr.size, axis=0)
            probs = self._issued(
                list(thresholds), origin_bin, thr, any_step_probability(bands, thr), engine, float(out.last[0])
            )
            first = first_crossing_time(
                np.repeat(out.last, thr.size), np.repeat(out.yhat, thr.size, axis=0), thr, origin_s, self.step_s
            )
            for j, name in enumerate(thresholds):
                tj = float(first[j])
                crossings.append(
                    ThresholdCrossing(name, float(thr[j]), float(probs[j]), tj if math.isfinite(tj) else None)
                )
        b = out.bands[0]
        return Forecast(
            origin_s=origin_s,
            step_s=self.step_s,
            times_s=times,
            yhat=b[:, 2].copy(),
            lo80=b[:, 1].copy(),
            hi80=b[:, 3].copy(),
            lo95=b[:, 0].copy(),
            hi95=b[:, 4].copy(),
            crossings=tuple(crossings),
            model=engine.model_names[int(out.model_index[0])],
        )
