"""Process, clocks: where wall-clock time comes from, behind a Protocol so tests can drive it."""

from __future__ import annotations

import threading
import time
from typing import Protocol


class Clock(Protocol):
    def now(self) -> float:
        """UNIX time in seconds."""
        ...


class SleepingClock(Clock, Protocol):
    """A clock one can also wait on (the replayer schedules messages with it)."""

    def sleep(self, seconds: float) -> None: ...


class SystemClock:
    """The wall clock; `sleep` is an Event wait, so setting `stop` interrupts a long gap at once (Ctrl-C)."""

    def __init__(self, stop: threading.Event | None = None) -> None:
        self._stop = stop or threading.Event()

    def now(self) -> float:
        return time.time()

    def sleep(self, seconds: float) -> None:
        self._stop.wait(max(0.0, seconds))


class FakeClock:
    """A clock that moves only when told to (or slept on, which `sleeps` records); thread-safe."""

    def __init__(self, t: float = 1_700_000_000.0) -> None:
        self._t = t
        self._lock = threading.Lock()
        self.sleeps: list[float] = []

    def now(self) -> float:
        with self._lock:
            return self._t

    @property
    def t(self) -> float:
        return self.now()

    @t.setter
    def t(self, t_s: float) -> None:
        self.set(t_s)

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.advance(max(0.0, seconds))

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
