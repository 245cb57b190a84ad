"""Where wall-clock time comes from, behind a Protocol so tests can drive it."""

from __future__ import annotations

import threading
import time
from typing import Protocol


class Clock(Protocol):
    def now(self) -> float:
        """UNIX time in seconds."""
        ...


class SystemClock:
    def now(self) -> float:
        return time.time()


class FakeClock:
    """A clock that moves only when told to; thread-safe."""

    def __init__(self, start_s: float = 1_700_000_000.0) -> None:
        self._t = start_s
        self._lock = threading.Lock()

    def now(self) -> float:
        with self._lock:
            return self._t

    def advance(self, dt_s: float) -> None:
        with self._lock:
            self._t += dt_s

    def set(self, t_s: float) -> None:
        with self._lock:
            self._t = t_s


class ScaledClock:
    """Time running `speed` times faster than the wall clock, equal to it at `start_s` (UNIX s).

    A scenario replayed at 10x stamps its data on this clock, and a central running on the same clock
    measures pending, hold, staleness and forecast horizons in those same scaled seconds, so every
    duration keeps its meaning: 30 s of pending are 30 scenario seconds, not 5 scenario minutes.
    """

    def __init__(self, start_s: float, speed: float, wall: Clock | None = None) -> None:
        if not speed > 0:
            raise ValueError(f"clock speed must be > 0, got {speed}")
        self.start_s = float(start_s)
        self.speed = float(speed)
        self._wall = wall or SystemClock()

    def at(self, wall_s: float) -> float:
        """The scaled time at wall time `wall_s`."""
        return self.start_s + (wall_s - self.start_s) * self.speed

    def wall_at(self, scaled_s: float) -> float:
        """The wall time at which this clock shows `scaled_s`."""
        return self.start_s + (scaled_s - self.start_s) / self.speed

    def now(self) -> float:
        return self.at(self._wall.now())
