"""The online engine: all models for `n` series stepped together on one grid, scored and chosen per series.

Every bin, each model's forecasts at a few tracked horizons are stored in a ring buffer; when the
target bin arrives they are scored (per model, series and horizon). Those scores give both the
prediction intervals (see intervals.py) and the per-series model choice: the model with the lowest
recent mean absolute error over the horizon wins, so the choice is a rolling backtest per zone.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from forecasting.intervals import (
    PRIOR_INFLATION,
    ResidualTracker,
    build_bands,
    interpolate_over_horizon,
    tracked_horizons,
)
from forecasting.models.base import VectorModel
from forecasting.models.damped import DampedTrend
from forecasting.models.inflow import InflowModel
from forecasting.models.persistence import Persistence
from forecasting.models.profile import SeasonalProfile
from forecasting.models.window_trend import WindowTrend

SELECT_RATE = 0.02  # slower than the interval scale so the choice does not flap
MIN_SCORED = 8  # errors a model needs at the shortest horizon before it can be chosen
OUTLIER_CAP = 6.0  # errors beyond this many mean absolute errors count as this many
PRIOR_FRACTION_OF_LEVEL = 0.1


@dataclass(frozen=True)
class EngineSettings:
    horizon_steps: int
    season_slots: int | None = None  # bins per seasonal period (profile model) or None for no profile
    sub_season_slots: int | None = None  # a coarser fallback period, e.g. a day inside a week
    reset_gap_steps: int = 0  # a gap longer than this restarts the short-term state; 0 = max(H, 6)
    min_history: int = 3  # observations before any model but persistence is used
    nonnegative: bool = True
    min_scale: float = 0.0  # floor on the interval scale, in the series' units
    with_inflow: bool = False  # add the SARIMAX-with-inflow candidate (needs exog in step())


@dataclass(frozen=True)
class EngineForecast:
    yhat: np.ndarray  # (n, H)
    bands: np.ndarray  # (n, H, 5): lo95, lo80, yhat, hi80, hi95
    model_index: np.ndarray  # (n,)
    last: np.ndarray  # (n,) last observed value (the start of the path)


class OnlineEngine:
    def __init__(self, n_series: int, settings: EngineSettings) -> None:
        if n_series < 1:
            raise ValueError("n_series must be at least 1")
        if settings.horizon_steps < 1:
            raise ValueError("the horizon must be at least one step")
        self.settings = settings
        self.n = n_series
        self.H = settings.horizon_steps
        self.damped = DampedTrend(n_series)
        # A fit on a calm history makes the damped trend slow (alpha, beta and phi at their bounds), and a
        # ramp must still be picked up within minutes. A line through the last half horizon does that: it
        # sees a sustained rise (a queue growing) through bin noise. It replaced a second damped trend with
        # fixed responsive parameters, which followed the noise and extrapolated steps (a false forecast
        # alert after concourse-blocked's gates failed; another after square-release had emptied).
        # Damping in time, not per bin: the trend keeps half its weight over twice the horizon.
        phi = 0.5 ** (1.0 / (2 * max(self.H, 10)))
        trend = WindowTrend(n_series, max(6, self.H // 3), phi)
        self.models: list[VectorModel] = [Persistence(n_series), self.damped, trend]
        if settings.season_slots:
            self.models.append(
                SeasonalProfile(n_series, settings.season_slots, sub_period_slots=settings.sub_season_slots)
            )
        self.inflow: InflowModel | None = None
        if settings.with_inflow:
            self.inflow = InflowModel(n_series)
            self.models.append(self.inflow)
        names = [m.name for m in self.models]
        # Averaging the trend and profile forecasts hedges between them (a classic forecast combination).
        self.combine = (names.index("ets_damped"), names.index("profile")) if "profile" in names else None
        self.profile_ready = np.zeros(n_series, dtype=bool)
        if self.combine:
            names.append("ets_profile_mean")
        self.model_names = tuple(names)
        self.horizons = tracked_horizons(self.H)
        m, k = len(self.model_names), self.horizons.shape[0]
        self.ring = int(self.horizons[-1]) + 1
        self.buffer = np.full((m, self.ring, n_series, k), np.nan, dtype=np.float32)
        self.tracker = ResidualTracker(m, n_series, self.horizons)
        self.select_err = np.zeros((m, n_series, k))
        self.t = 0
        self.n_obs = np.zeros(n_series, dtype=np.int64)
        self.since_obs = np.zeros(n_series, dtype=np.int64)
        self.last = np.zeros(n_series)
        self.diff_scale = np.zeros(n_series)
        self.n_diffs = np.zeros(n_series, dtype=np.int64)
        self.prev_observed = np.zeros(n_series, dtype=bool)
        self._paths: np.ndarray | None = None
        # The forecast issued after the previous bin (point path and 80% width per step) and after this one.
        self._anchor: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
        self._issued: EngineForecast | None = None
        self.reset_gap = settings.reset_gap_steps or max(self.H, 6)

    # ---- stepping -------------------------------------------------------------------------------
    def step(
        self,
        y: np.ndarray,
        slot: int | None = None,
        future_slots: np.ndarray | None = None,
        exog: np.ndarray | None = None,
    ) -> None:
        """One grid bin for every series; NaN marks a missing bin. `future_slots` are slots t+1..t+H;
        `exog` (n,) this bin's inflow (NaN where unknown), used by the inflow model."""
        y = np.asarray(y, dtype=float).reshape(-1)
        if y.shape[0] != self.n:
            raise ValueError(f"expected {self.n} values, got {y.shape[0]}")
        if np.any(np.isinf(y)):
            raise ValueError("values must be finite numbers or NaN for a missing bin")
        observed = np.isfinite(y)
        prior = self._prior_scale()

        restart = observed & (self.since_obs > self.reset_gap) & (self.n_obs > 0)
        if restart.any():
            self.buffer[:, :, restart, :] = np.nan
            for model in self.models:
                model.reset(restart)

        due = self.buffer[:, (self.t - self.horizons) % self.ring, :, np.arange(self.horizons.shape[0])]
        # fancy indexing moved the k axis first: (k, m, n) -> (m, n, k)
        due = np.moveaxis(due, 0, -1).astype(float)
        # Huber-style caps: one wild reading must neither drag a model's state nor blow up its
        # error scale for hours. A model needs a track record before its cap applies.
        cap = np.where(self.tracker.count >= MIN_SCORED, OUTLIER_CAP * self.tracker.effective_scale(prior), np.inf)
        resid = np.clip(y[None, :, None] - due, -cap, cap)
        self.tracker.update(resid, prior)
        ok = np.isfinite(resid)
        self.select_err += np.where(ok, SELECT_RATE * (np.abs(np.where(ok, resid, 0.0)) - self.select_err), 0.0)
        one_step = due[:, :, 0] if self.horizons[0] == 1 else np.full((len(self.models), self.n), np.nan)

        both = observed & self.prev_observed
        change = np.abs(np.where(both, y - self.last, 0.0))
        rate = np.maximum(0.05, 1.0 / (self.n_diffs + 1.0))
        self.diff_scale = np.where(both, self.diff_scale + rate * (change - self.diff_scale), self.diff_scale)
        self.n_diffs += both

        if self.inflow is not None:
            self.inflow.set_exog(np.full(self.n, np.nan) if exog is None else np.asarray(exog, dtype=float))
        for i, model in enumerate(self.models):
            lo, hi = one_step[i] - cap[i, :, 0], one_step[i] + cap[i, :, 0]
            y_model = np.where(np.isfinite(one_step[i]), np.clip(y, lo, hi), y)
            model.update(np.where(observed, y_model, 0.0), observed, slot)
        self.last = np.where(observed, y, self.last)
        self.n_obs += observed
        self.since_obs = np.where(observed, 0, self.since_obs + 1)
        self.prev_observed = observed

        each = [model.paths(self.H, future_slots) for model in self.models]
        if self.combine:
            each.append(0.5 * (each[self.combine[0]] + each[self.combine[1]]))
            profile = self.models[self.combine[1]]
            assert isinstance(profile, SeasonalProfile)
            self.profile_ready = profile.learned(future_slots)
        paths = np.stack(each)
        self._paths = paths
        self.buffer[:, self.t % self.ring] = paths[:, :, self.horizons - 1].astype(np.float32)
        self.t += 1
        prev = self._issued
        self._issued = None
        if prev is not None:
            width = prev.bands[..., 3] - prev.bands[..., 1]
            # Only a forecast made one bin ago from an observed bin, followed by an observed bin, anchors.
            self._anchor = (prev.yhat, width, observed & both & ~restart)
        else:
            self._anchor = None
        self._issued = self._issue()

    def skip(self, n_bins: int) -> None:
        """Jumps the clock over `n_bins` empty bins at once; forecasts stored before are dropped."""
        if n_bins <= 0:
            return
        self.buffer[:] = np.nan
        self._anchor = None
        self._issued = None
        self.since_obs += n_bins
        self.t += n_bins
        self.prev_observed[:] = False

    # ---- forecasting ----------------------------------------------------------------------------
    def choose(self) -> np.ndarray:
        """(n,) index of the model with the lowest recent error; persistence while history is short."""
        counts = self.tracker.count[:, :, 0]
        score = self.select_err.mean(axis=2)
        score = np.where(counts >= MIN_SCORED, score, np.inf)
        # Persistence is the fallback, not a candidate: the damped trend nests it (alpha -> 1, no trend)
        # and, unlike it, reacts when a ramp starts after a long flat spell.
        score[0] = np.inf
        if self.inflow is not None:
            i = self.model_names.index(self.inflow.name)
            score[i] = np.where(self.inflow.ready, score[i], np.inf)  # unfitted, it is just persistence
        if self.combine:
            # An unlearned profile is a smoothed level: flat through a ramp. It competes once it knows the
            # coming slots (a day of history for these times of day).
            for i in (self.combine[1], len(self.model_names) - 1):
                score[i] = np.where(self.profile_ready, score[i], np.inf)
        best = np.argmin(score, axis=0)
        nothing_scored = ~np.isfinite(score).any(axis=0)
        # Without a track record a damped trend is the safer default: it follows ramps, and damping
        # keeps it from running away; persistence only while there is next to no history.
        best = np.where(nothing_scored, 1, best)
        return np.where(self.n_obs < self.settings.min_history, 0, best)

    def forecast(self, model_index: np.ndarray | None = None) -> EngineForecast:
        """The chosen models' forecasts, or those of `model_index` (n,) (e.g. persistence's, a reference).

        The chosen forecast is the one issued at the last step: each step of its point path moves from the
        previous bin's forecast at the same lead by at most that forecast's 80% interval width, so one
        update never swings the forecast by more than the interval it had (a reference is left as it is)."""
        if self._paths is None:
            raise ValueError("no observations yet: nothing to forecast from")
        if model_index is None:
            if self._issued is None:
                self._issued = self._issue()
            return self._issued
        return self._bands(np.asarray(model_index, dtype=np.int64), None)

    def horizon_end_bands(self, model_index: np.ndarray) -> np.ndarray:
        """(n, 1, 5) the bands of `model_index`'s forecast at the horizon's last step only (cheap)."""
        return self._bands(np.asarray(model_index, dtype=np.int64), None, last_step_only=True).bands

    def _issue(self) -> EngineForecast:
        return self._bands(self.choose(), self._anchor)

    def _bands(
        self,
        idx: np.ndarray,
        anchor: tuple[np.ndarray, np.ndarray, np.ndarray] | None,
        last_step_only: bool = False,
    ) -> EngineForecast:
        assert self._paths is not None
        rows = np.arange(self.n)
        yhat = self._paths[idx, rows]
        steps = np.arange(1, self.H + 1)
        if last_step_only:
            yhat, steps = yhat[:, -1:], steps[-1:]
        if anchor is not None:
            prev, width, ok = anchor
            ok = ok & (self.n_obs >= self.settings.min_history)
            # A hair inside the width, so float rounding cannot put a swing over the bound.
            reach = width * (1.0 - 1e-9)
            yhat = np.where(ok[:, None], np.clip(yhat, prev - reach, prev + reach), yhat)
        if self.settings.nonnegative:
            yhat = np.maximum(yhat, 0.0)
        prior = self._prior_scale()
        scale_k = self.tracker.effective_scale(prior)[idx, rows]  # (n, k)
        q_k = self.tracker.q[idx, rows]  # (n, k, 4)
        # The common case (every series observed this bin) shares one set of horizon weights.
        h_eff = steps + self.since_obs[:, None] if self.since_obs.any() else steps
        scale = interpolate_over_horizon(scale_k, self.horizons, h_eff, grow=True)
        q = interpolate_over_horizon(q_k, self.horizons, h_eff, grow=False)
        scale = np.maximum(scale, self.settings.min_scale)
        bands = build_bands(yhat, scale, q, self.settings.nonnegative)
        return EngineForecast(yhat=bands[..., 2], bands=bands, model_index=idx, last=self.last.copy())

    def _prior_scale(self) -> np.ndarray:
        """(n, k) deliberately generous error scale for forecasts with no track record."""
        level = PRIOR_FRACTION_OF_LEVEL * np.abs(self.last)
        base = np.where(self.n_diffs > 0, np.maximum(self.diff_scale, 0.5 * level), np.maximum(level, 2.5 * level))
        base = np.maximum(base, self.settings.min_scale)
        return PRIOR_INFLATION * base[:, None] * np.sqrt(self.horizons.astype(float))[None, :]
