"""Seasonal profile of the change per bin (time of day / day of week), added to a smoothed level.

The profile stores, per seasonal slot, an exponentially weighted mean of the change from the previous
bin. The forecast is the smoothed current level plus the profile's cumulative change over the future
slots, so the zone's own level anchors it and the profile only says where it usually goes from here.
A week profile falls back to the time-of-day profile for slots it has not seen often enough yet.
"""

from __future__ import annotations

import numpy as np

PROFILE_RATE = 0.1  # weight of a new change in its slot once the slot has seen 1/rate values
MIN_SLOT_COUNT = 2  # below this the slot's mean is too noisy; use the coarser profile
# A slot learns a change that differs from what it holds by at most this many typical bin-to-bin changes
# (Huber-style): one odd week (a closure, a glitch) cannot teach a slot a 50-person drop that the
# forecast then replays a week later, while a change that recurs is still learned within a few weeks.
HUBER_K = 3.0
SCALE_RATE = 0.02
MIN_SCALE_COUNT = 20  # changes seen before the clip applies


class SeasonalProfile:
    name = "profile"

    def __init__(self, n_series: int, period_slots: int, level_alpha: float = 0.7, sub_period_slots: int | None = None):
        if period_slots < 1:
            raise ValueError("period_slots must be at least 1")
        self.period = period_slots
        self.sub_period = sub_period_slots if sub_period_slots and period_slots % sub_period_slots == 0 else None
        self.alpha = level_alpha
        self.delta = np.zeros((n_series, period_slots))
        self.count = np.zeros((n_series, period_slots), dtype=np.int32)
        sub = self.sub_period or 1
        self.sub_delta = np.zeros((n_series, sub))
        self.sub_count = np.zeros((n_series, sub), dtype=np.int32)
        self.level = np.zeros(n_series)
        self.started = np.zeros(n_series, dtype=bool)
        self.prev_y = np.full(n_series, np.nan)  # last bin's value, NaN if that bin was missing
        self.abs_change = np.zeros(n_series)  # typical |change per bin|, for the Huber clip
        self.n_changes = np.zeros(n_series)

    def _delta_at(self, slots: np.ndarray) -> np.ndarray:
        """(n, len(slots)) expected change per bin at those slots; 0 where nothing was learned yet."""
        s = slots % self.period
        fine = self.delta[:, s]
        if self.sub_period is None:
            return np.where(self.count[:, s] >= 1, fine, 0.0)
        ss = s % self.sub_period
        coarse = np.where(self.sub_count[:, ss] >= 1, self.sub_delta[:, ss], 0.0)
        return np.where(self.count[:, s] >= MIN_SLOT_COUNT, fine, coarse)

    def learned(self, future_slots: np.ndarray | None) -> np.ndarray:
        """(n,) True where every slot ahead has a learned change (its own or the day profile's): before
        that the profile is only a smoothed level and must not be chosen over the trend models."""
        if future_slots is None or len(future_slots) == 0:
            return np.zeros(self.level.shape[0], dtype=bool)
        s = np.asarray(future_slots, dtype=np.int64) % self.period
        seen = self.count[:, s] >= 1
        if self.sub_period is not None:
            seen |= self.sub_count[:, s % self.sub_period] >= 1
        return np.asarray(seen.all(axis=1))

    def update(self, y: np.ndarray, observed: np.ndarray, slot: int | None) -> None:
        delta = self._delta_at(np.array([slot]))[:, 0] if slot is not None else 0.0
        pred = self.level + delta
        new_level = np.where(observed, pred + self.alpha * (y - pred), pred)
        self.level = np.where(observed & ~self.started, y, new_level)
        self.started |= observed
        if slot is not None:
            change = y - self.prev_y
            ok = observed & np.isfinite(change)
            clip = np.where(self.n_changes >= MIN_SCALE_COUNT, HUBER_K * self.abs_change, np.inf)
            self._learn(self.delta, self.count, slot % self.period, change, ok, clip)
            if self.sub_period is not None:
                self._learn(self.sub_delta, self.sub_count, slot % self.sub_period, change, ok, clip)
            rate = np.maximum(SCALE_RATE, 1.0 / (self.n_changes + 1.0))
            mag = np.abs(np.where(ok, change, 0.0))
            self.abs_change = np.where(ok, self.abs_change + rate * (mag - self.abs_change), self.abs_change)
            self.n_changes += ok
        self.prev_y = np.where(observed, y, np.nan)

    @staticmethod
    def _learn(
        table: np.ndarray, count: np.ndarray, s: int, change: np.ndarray, ok: np.ndarray, clip: np.ndarray
    ) -> None:
        if not ok.any():
            return
        n = count[:, s]
        rate = np.maximum(PROFILE_RATE, 1.0 / (n + 1.0))
        step = np.clip(np.where(ok, change, 0.0) - table[:, s], -clip, clip)
        table[:, s] = np.where(ok, table[:, s] + rate * step, table[:, s])
        count[:, s] = n + ok

    def reset(self, mask: np.ndarray) -> None:
        self.started[mask] = False
        self.prev_y[mask] = np.nan

    def paths(self, horizon_steps: int, future_slots: np.ndarray | None) -> np.ndarray:
        if future_slots is None:
            return np.repeat(self.level[:, None], horizon_steps, axis=1)
        steps = self._delta_at(np.asarray(future_slots[:horizon_steps], dtype=np.int64))
        return self.level[:, None] + np.cumsum(steps, axis=1)
