"""Seasonal slots on local time: which part of the day / week a grid bin falls in."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import numpy as np

DAY_S = 86_400.0
MAX_SLOTS = 2016  # 5-minute slots over a week: finer than that the profile never fills


@dataclass(frozen=True)
class SeasonGrid:
    season_s: float
    slot_s: float
    n_slots: int
    sub_slots: int | None  # slots per day inside a longer season, for the fallback profile

    @staticmethod
    def make(season_s: float, step_s: float) -> SeasonGrid:
        if not math.isfinite(season_s) or season_s < 2 * step_s:
            raise ValueError(f"season_s must be at least two steps, got {season_s!r}")
        per_slot = max(1, math.ceil(season_s / step_s / MAX_SLOTS))
        slot_s = per_slot * step_s
        n_slots = max(1, round(season_s / slot_s))
        sub = None
        if season_s > DAY_S and season_s % DAY_S == 0 and DAY_S % slot_s == 0:
            sub = round(DAY_S / slot_s)
        return SeasonGrid(season_s=season_s, slot_s=slot_s, n_slots=n_slots, sub_slots=sub)

    def slots(self, local_s: np.ndarray) -> np.ndarray:
        """Slot index of local-clock times (seconds whose day boundaries are local midnights)."""
        return (np.floor(np.mod(local_s, self.season_s) / self.slot_s).astype(np.int64)) % self.n_slots


class LocalClock:
    """UTC seconds to local seconds for a time zone, so a profile follows opening hours across DST."""

    def __init__(self, tz: str | None) -> None:
        self._zone = ZoneInfo(tz) if tz else None

    def offset_s(self, t_s: float) -> float:
        if self._zone is None:
            return 0.0
        off = datetime.fromtimestamp(t_s, UTC).astimezone(self._zone).utcoffset()
        return off.total_seconds() if off is not None else 0.0

    def to_local(self, t_s: np.ndarray) -> np.ndarray:
        if self._zone is None:
            return np.asarray(t_s, dtype=float)
        return np.array([t + self.offset_s(float(t)) for t in np.asarray(t_s, dtype=float).reshape(-1)])
