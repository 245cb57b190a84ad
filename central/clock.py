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
