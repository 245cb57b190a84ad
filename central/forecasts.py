"""Adapter to the forecasting library: one forecaster per zone, forecasts as the API's JSON object.

The library (`forecasting.ZoneForecaster`) is the real model. Where it cannot be imported this adapter
says so loudly and uses a persistence forecast with widening intervals, marked `model: "persistence-fallback"`
in every forecast it makes, so the console and /healthz show it was not the real model.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from typing import Any, Protocol

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CrossingOut:
    name: str
    threshold: float
    probability: float
    expected_time_s: float | None


@dataclass(frozen=True)
class ZoneForecast:
    origin_s: float
    step_s: float
    times_s: tuple[float, ...]
    yhat: tuple[float, ...]
    lo80: tuple[float, ...]
    hi80: tuple[float, ...]
    lo95: tuple[float, ...]
    hi95: tuple[float, ...]
    model: str
    crossings: tuple[CrossingOut, ...]

    def as_json(self) -> dict[str, Any]:
        def r(xs: tuple[float, ...]) -> list[float]:
            return [round(x, 4) for x in xs]

        return {
            "origin": self.origin_s,
            "step_s": self.step_s,
            "times": list(self.times_s),
            "yhat": r(self.yhat),
            "lo80": r(self.lo80),
            "hi80": r(self.hi80),
            "lo95": r(self.lo95),
            "hi95": r(self.hi95),
            "model": self.model,
            "crossings": [
                {
                    "name": c.name,
                    "threshold": c.threshold,
                    "probability": round(c.probability, 4),
                    "expected_time": c.expected_time_s,
                }
                for c in self.crossings
            ],
        }


class SeriesForecaster(Protocol):
    def update(self, t_s: float, value: float) -> None: ...

    def forecast(self, thresholds: dict[str, float], now_s: float | None) -> ZoneForecast | None: ...


class LibraryForecaster:
    """forecasting.ZoneForecaster behind the SeriesForecaster protocol."""

    def __init__(self, step_s: float, horizon_s: float) -> None:
        from forecasting import ZoneForecaster

        self._fc = ZoneForecaster(step_s=step_s, horizon_s=horizon_s)
        self._n = 0

    def update(self, t_s: float, value: float) -> None:
        self._fc.update(t_s, value)
        self._n += 1

    def forecast(self, thresholds: dict[str, float], now_s: float | None) -> ZoneForecast | None:
        if self._n == 0:
            return None
        f = self._fc.forecast(thresholds, now_s=now_s)
        return ZoneForecast(
            origin_s=float(f.origin_s),
            step_s=float(f.step_s),
            times_s=tuple(float(x) for x in f.times_s),
            yhat=tuple(float(x) for x in f.yhat),
            lo80=tuple(float(x) for x in f.lo80),
            hi80=tuple(float(x) for x in f.hi80),
            lo95=tuple(float(x) for x in f.lo95),
            hi95=tuple(float(x) for x in f.hi95),
            model=str(f.model),
            crossings=tuple(
                CrossingOut(
                    c.name,
                    float(c.threshold),
                    float(c.probability),
                    None if c.expected_time_s is None else float(c.expected_time_s),
                )
                for c in f.crossings
            ),
        )


class PersistenceForecaster:
    """Last value, intervals widening with the square root of the lead time. Also the unit tests' twin."""

    def __init__(self, step_s: float, horizon_s: float, sigma_per_step: float = 0.05) -> None:
        self.step_s = step_s
        self.steps = max(1, round(horizon_s / step_s))
        self.sigma = sigma_per_step
        self._last: tuple[float, float] | None = None

    def update(self, t_s: float, value: float) -> None:
        if self._last is None or t_s >= self._last[0]:
            self._last = (t_s, value)

    def forecast(self, thresholds: dict[str, float], now_s: float | None) -> ZoneForecast | None:
        if self._last is None:
            return None
        t0, y = self._last
        origin = math.floor(t0 / self.step_s) * self.step_s
        times = tuple(origin + self.step_s * (k + 1) for k in range(self.steps))
        sd = [self.sigma * math.sqrt(k + 1) * max(y, 0.1) for k in range(self.steps)]
        crossings = []
        for name, th in thresholds.items():
            z = (th - y) / sd[-1]
            p = 1.0 if y >= th else 0.5 * math.erfc(z / math.sqrt(2))
            crossings.append(CrossingOut(name, th, min(1.0, 2 * p) if y < th else 1.0, t0 if y >= th else None))
        return ZoneForecast(
            origin_s=origin,
            step_s=self.step_s,
            times_s=times,
            yhat=tuple(y for _ in times),
            lo80=tuple(max(0.0, y - 1.2816 * s) for s in sd),
            hi80=tuple(y + 1.2816 * s for s in sd),
            lo95=tuple(max(0.0, y - 1.96 * s) for s in sd),
            hi95=tuple(y + 1.96 * s for s in sd),
            model="persistence-fallback",
            crossings=tuple(crossings),
        )


def library_available() -> bool:
    try:
        from forecasting import ZoneForecaster  # noqa: F401
    except ImportError:
        return False
    return True


def make_forecaster(step_s: float, horizon_s: float) -> SeriesForecaster:
    if library_available():
        return LibraryForecaster(step_s, horizon_s)
    log.warning("forecasting library not importable: using the persistence fallback")
    return PersistenceForecaster(step_s, horizon_s)
