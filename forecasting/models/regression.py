"""Online linear regression of the coming change on a few features of the origin (recursive least squares).

Per series and tracked horizon h it learns weights w_h such that

    y[t+h] - y[t]  ~  w_h . x_h(t),   x_h(t) = [d1, d2, path_m(t, h) - y[t] for each input m]

where d1 = y[t] - y[t-1] and d2 = y[t-1] - y[t-2] carry the short-lag (often negative)
autocorrelation of the changes, and the inputs (the engine's other models) say where the trend and the
seasonal profile point. There is no constant: all weights at zero is persistence, which is where it
starts, and a weight of one on an input reproduces that model, so the fit nests every input.

Recursive least squares with a forgetting factor keeps the fit current at a few small matrix
operations per bin for all series at once. A forecast made at t for h bins ahead meets its target h
bins later, so the feature vectors wait in a ring of h slots per tracked horizon. Features and
targets are divided by the series' typical change per bin, so the prior and the caps mean the same for
a density of 0.1 and a count of 1000. Steps between the tracked horizons interpolate the weights
linearly in log(h), as the intervals do.
"""

from __future__ import annotations

import numpy as np

from forecasting.intervals import horizon_weights

FORGETTING = 0.999  # per bin: the fit remembers about the last 1000 bins
PRIOR_VARIANCE = 10.0  # P0 = this * I in scaled units: a weak ridge prior pulling towards persistence
MAX_WEIGHT = 3.0  # |w| beyond this is a runaway fit, not a signal: clipped
ERROR_CAP = 4.0  # scaled errors beyond this many typical changes count as this many (Huber-style)
SCALE_RATE = 0.01  # slow on purpose: the scale sets the units; it should not reweight busy and calm hours
# Changes seen before learning starts: a scale from one or two (possibly tiny) changes would blow the
# first scaled features up, and P would shrink so far that the weights then barely move for hundreds of bins.
MIN_CHANGES = 10
LAG_FEATURES = ("d1", "d2")


class ChangeRegression:
    name = "regression"

    def __init__(self, n_series: int, horizons: np.ndarray, input_names: tuple[str, ...]) -> None:
        self.n = n_series
        self.horizons = np.asarray(horizons, dtype=np.int64)
        self.feature_names = (*LAG_FEATURES, *input_names)  # the columns of `w`
        self.d = len(self.feature_names)
        k = self.horizons.shape[0]
        # Layout (k, n, ...): tracked horizon first, so the ring's slots for one bin gather in one go.
        self.w = np.zeros((k, n_series, self.d))
        self.P = np.broadcast_to(PRIOR_VARIANCE * np.eye(self.d), (k, n_series, self.d, self.d)).copy()
        # One ring of h slots per tracked horizon h, stored end to end: slot offset[j] + t % h holds the
        # features of origin t (written at t, read back at t + h). NaN marks an origin not to learn from.
        self.offsets = np.concatenate([[0], np.cumsum(self.horizons)[:-1]])
        n_slots = int(self.horizons.sum())
        self.ring_x = np.full((n_slots, n_series, self.d), np.nan, dtype=np.float32)
        self.ring_y0 = np.full((n_slots, n_series), np.nan)
        self.t = 0
        self.last = np.zeros(n_series)
        self.y1 = np.full(n_series, np.nan)  # values at t, t-1, t-2 (NaN = missing bin)
        self.y2 = np.full(n_series, np.nan)
        self.y3 = np.full(n_series, np.nan)
        self.change_scale = np.zeros(n_series)  # mean absolute change per bin
        self.n_changes = np.zeros(n_series, dtype=np.int64)
        self.observed = np.zeros(n_series, dtype=bool)
        self.lags = np.zeros((n_series, len(LAG_FEATURES)))  # features of the current origin
        self.ahead: np.ndarray | None = None  # (m, n, H) input paths minus the last value
        self._interp: dict[int, np.ndarray] = {}

    def _slots(self) -> np.ndarray:
        return self.offsets + self.t % self.horizons

    # ---- learning -------------------------------------------------------------------------------
    def update(self, y: np.ndarray, observed: np.ndarray, slot: int | None) -> None:
        """Learns from the forecasts whose target is this bin, then shifts the lags."""
        scale = self.change_scale
        learn = observed & (scale > 0) & (self.n_changes >= MIN_CHANGES)
        if learn.any():
            slots = self._slots()
            x = self.ring_x[slots].astype(float)  # (k, n, d)
            y0 = self.ring_y0[slots]  # (k, n)
            ok = learn[None, :] & np.isfinite(y0) & np.isfinite(x).all(axis=2)
            if ok.any():
                inv = 1.0 / np.where(scale > 0, scale, 1.0)
                target = np.where(ok, (y - np.where(ok, y0, 0.0)) * inv, 0.0)
                self._rls_step(np.where(ok[..., None], x, 0.0) * inv[:, None], target, ok)

        both = observed & np.isfinite(self.y1)
        change = np.abs(np.where(both, y - np.where(both, self.y1, 0.0), 0.0))
        rate = np.maximum(SCALE_RATE, 1.0 / (self.n_changes + 1.0))
        self.change_scale = np.where(both, scale + rate * (change - scale), scale)
        self.n_changes += both
        self.y3, self.y2 = self.y2, self.y1
        self.y1 = np.where(observed, y, np.nan)
        self.last = np.where(observed, y, self.last)
        self.observed = observed

    def _rls_step(self, x: np.ndarray, target: np.ndarray, ok: np.ndarray) -> None:
        """One RLS step on (k, n) problems at once; where `ok` is False the state stays as it was."""
        P, w = self.P, self.w
        px = np.einsum("knij,knj->kni", P, x)
        denom = FORGETTING + np.einsum("knd,knd->kn", x, px)
        err = np.maximum(np.minimum(target - np.einsum("knd,knd->kn", w, x), ERROR_CAP), -ERROR_CAP)
        new_w = np.maximum(np.minimum(w + px * (err / denom)[..., None], MAX_WEIGHT), -MAX_WEIGHT)
        # P - px px'/denom written as v v' keeps P exactly symmetric: v_i v_j and v_j v_i round alike.
        v = px / np.sqrt(denom)[..., None]
        new_P = v[..., :, None] * v[..., None, :]
        np.subtract(P, new_P, out=new_P)
        new_P *= 1.0 / FORGETTING
        # Forgetting inflates P along directions the data never excites (an input that stays 0): cap its
        # trace at the prior's, or the first change there would swing the weights wildly.
        diag = np.diagonal(new_P, axis1=-2, axis2=-1)
        trace = diag.sum(axis=-1)
        limit = PRIOR_VARIANCE * self.d
        if (trace > limit).any():
            new_P *= np.minimum(1.0, limit / np.where(trace > 0, trace, limit))[..., None, None]
        if np.isnan(new_w).any() or not np.isfinite(trace).all() or not (diag > 0).all():
            # Rounding or wild inputs broke a fit: start that one over rather than carry garbage.
            broken = np.isnan(new_w).any(axis=-1) | ~np.isfinite(trace) | ~(diag > 0).all(axis=-1)
            new_w[broken] = 0.0
            new_P[broken] = PRIOR_VARIANCE * np.eye(self.d)
        if ok.all():
            self.w, self.P = new_w, new_P
        else:
            self.w = np.where(ok[..., None], new_w, w)
            self.P = np.where(ok[..., None, None], new_P, P)

    def set_inputs(self, input_paths: np.ndarray) -> None:
        """`input_paths` (m, n, H): the input models' forecasts from this origin (after this bin's update).

        Keeps this origin's features for `paths` and files them to be learned from when the targets arrive.
        """
        if input_paths.shape[:2] != (self.d - len(LAG_FEATURES), self.n) or input_paths.shape[2] < self.horizons[-1]:
            raise ValueError(f"input paths of shape {input_paths.shape} do not fit {self.feature_names}")
        lags = np.stack([self.y1 - self.y2, self.y2 - self.y3], axis=1)
        self.lags = np.where(np.isfinite(lags), lags, 0.0)  # a missing neighbour says nothing about the change
        ahead = input_paths - self.last[None, :, None]
        self.ahead = np.where(np.isfinite(ahead), ahead, 0.0)
        k, n_lags = self.horizons.shape[0], len(LAG_FEATURES)
        x = np.empty((k, self.n, self.d))
        x[:, :, :n_lags] = self.lags[None]
        x[:, :, n_lags:] = self.ahead[:, :, self.horizons - 1].transpose(2, 1, 0)
        slots = self._slots()
        keep = self.observed
        self.ring_x[slots] = np.where(keep[None, :, None], x, np.nan)
        self.ring_y0[slots] = np.where(keep, self.last, np.nan)[None]
        self.t += 1

    def reset(self, mask: np.ndarray) -> None:
        """After a long gap: forget the lags and the pending origins, keep the learned weights."""
        self.ring_x[:, mask] = np.nan
        self.ring_y0[:, mask] = np.nan
        self.y1[mask] = np.nan
        self.y2[mask] = np.nan
        self.y3[mask] = np.nan

    def skip(self, n_bins: int) -> None:
        """The engine jumped its clock over `n_bins` empty bins: nothing pending can be learned any more."""
        self.reset(np.ones(self.n, dtype=bool))
        self.t += n_bins

    # ---- forecasting ----------------------------------------------------------------------------
    def _interpolation(self, horizon_steps: int) -> np.ndarray:
        """(k, H) weights taking per-tracked-horizon values to every step 1..H."""
        m = self._interp.get(horizon_steps)
        if m is None:
            j, j1, frac, _ = horizon_weights(self.horizons, np.arange(1, horizon_steps + 1))
            m = np.zeros((self.horizons.shape[0], horizon_steps))
            cols = np.arange(horizon_steps)
            np.add.at(m, (j, cols), 1.0 - frac)
            np.add.at(m, (j1, cols), frac)
            self._interp[horizon_steps] = m
        return m

    def paths(self, horizon_steps: int, future_slots: np.ndarray | None) -> np.ndarray:
        if self.ahead is None or self.ahead.shape[2] < horizon_steps:
            return np.repeat(self.last[:, None], horizon_steps, axis=1)  # no inputs yet: persistence
        interp = self._interpolation(horizon_steps)
        n_lags = len(LAG_FEATURES)
        lag_change = np.einsum("knd,nd->nk", self.w[:, :, :n_lags], self.lags) @ interp  # (n, H)
        w_ahead = self.w[:, :, n_lags:].transpose(2, 1, 0) @ interp  # (m, n, H)
        change = lag_change + np.sum(w_ahead * self.ahead[:, :, :horizon_steps], axis=0)
        return self.last[:, None] + np.where(np.isfinite(change), change, 0.0)
