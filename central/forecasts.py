"""Forecast lane stage, forecasters: adapter to the forecasting library: one forecaster per zone, forecasts as the API's JSON object.

The library (`forecasting.ZoneForecaster`) is the real model, with the time-of-day/week profile on the
site's time zone; its statsmodels refits run on a background thread (`BackgroundRefitter`), never inline.
Where it cannot be imported this adapter says so loudly and uses a persistence forecast with widening
intervals, marked `model: "persistence-fallback"` in every forecast it makes, so the console and /healthz
show it was not the real model.
"""

from __future__ import annotations

import logging
import math
import queue
import threading
import time
from collections.abc import Callable
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
    def update(self, t_s: float, value: float, inflow: float | None = None) -> None:
        """One reading; `inflow` is the edge's line crossings into the zone over the reading's interval."""
        ...

    def forecast(self, thresholds: dict[str, float], now_s: float | None) -> ZoneForecast | None: ...


@dataclass(frozen=True)
class RefitResult:
    damped: Any  # forecasting DampedParams, or None when the fit failed
    inflow: Any  # forecasting InflowParams, or None


@dataclass(frozen=True)
class RefitJob:
    """A snapshot of one zone's binned history (oldest first, NaN = empty bin) and where the result goes."""

    values: Any  # np.ndarray
    inflow: Any  # np.ndarray
    deliver: Callable[[RefitResult], None]


class Refitter(Protocol):
    def submit(self, job: RefitJob) -> bool:
        """Queue a refit; False when it cannot be taken now (try again later)."""
        ...

    def queued(self) -> int:
        """Jobs waiting that have not started yet."""
        ...


def run_refit(job: RefitJob) -> RefitResult:
    """The statsmodels fits of `ZoneForecaster.refit()`, on a snapshot instead of the live forecaster."""
    import numpy as np

    from forecasting import fit_damped_params, fit_inflow_params
    from forecasting.zone import FIT_MIN_OBS

    inflow = None
    if np.count_nonzero(np.isfinite(job.inflow)) >= FIT_MIN_OBS:
        inflow = fit_inflow_params(job.values, job.inflow, min_pairs=FIT_MIN_OBS)
    return RefitResult(fit_damped_params(job.values, min_observed=FIT_MIN_OBS), inflow)


class BackgroundRefitter:
    """One daemon thread that runs refits (0.1-0.8 s each) off the evaluator's thread.

    A fit is mostly Python holding the GIL, so after each one the thread rests in proportion
    (`busy_share` 0.5: as long as the fit took), which leaves the evaluator at least its share of the
    interpreter even when a restart makes every zone's first fit due at once.
    """

    def __init__(
        self, max_pending: int = 10_000, on_done: Callable[[bool], None] | None = None, busy_share: float = 0.5
    ) -> None:
        if not 0 < busy_share <= 1:
            raise ValueError(f"busy_share must be in (0, 1], got {busy_share}")
        self._rest_per_busy = (1.0 - busy_share) / busy_share
        self._q: queue.Queue[RefitJob] = queue.Queue(max_pending)
        self._stop = threading.Event()
        self._on_done = on_done
        self._thread = threading.Thread(target=self._run, name="forecast-refits", daemon=True)
        self.done = 0

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout_s: float = 2.0) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout_s)

    def submit(self, job: RefitJob) -> bool:
        try:
            self._q.put_nowait(job)
        except queue.Full:
            return False
        return True

    def queued(self) -> int:
        return self._q.qsize()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                job = self._q.get(timeout=0.2)
            except queue.Empty:
                continue
            started = time.monotonic()
            try:
                result = run_refit(job)
            except Exception:
                log.exception("forecast refit failed")
                result = RefitResult(None, None)
            job.deliver(result)
            self.done += 1
            if self._on_done is not None:
                self._on_done(result.damped is not None)
            self._stop.wait((time.monotonic() - started) * self._rest_per_busy)


class InlineRefitter:
    """The in-memory twin: runs each refit as it is submitted (on the caller's thread)."""

    def __init__(self) -> None:
        self.jobs = 0

    def submit(self, job: RefitJob) -> bool:
        self.jobs += 1
        job.deliver(run_refit(job))
        return True

    def queued(self) -> int:
        return 0


RETRY_AFTER_READINGS = 60  # after a failed or refused refit, wait this many readings before the next try
APPLY_AFTER_BINS = 2  # a refit's parameters go in when the data reaches this many bins past its snapshot
REFIT_WAIT_S = 5.0  # at that point, wait up to this long for a fit that is running or nearly so
WAIT_QUEUE = 4  # ... but not when more fits than this wait ahead (a restart): never stall the evaluator long


class LibraryForecaster:
    """forecasting.ZoneForecaster behind the SeriesForecaster protocol, with refits off the hot path.

    The forecaster never refits inline (`auto_refit=False`: a refit takes 0.1-0.8 s, which with many zones
    would stall the evaluator). When one is due, a copy of the binned history goes to the refitter; its
    result is installed at the next update/forecast, on the evaluator's thread, because the forecaster is
    not thread-safe. Without a refitter the parameters stay at the library's defaults.
    """

    def __init__(
        self,
        step_s: float,
        horizon_s: float,
        *,
        season_s: float | None = None,
        tz: str | None = None,
        refitter: Refitter | None = None,
    ) -> None:
        from forecasting import ZoneForecaster

        # "UTC" needs no conversion; the library's local-time path costs a datetime call per step.
        self._fc = ZoneForecaster(
            step_s=step_s,
            horizon_s=horizon_s,
            season_s=season_s or None,
            tz=None if tz in (None, "UTC", "Etc/UTC") else tz,
            auto_refit=False,
        )
        self._n = 0
        self._refitter = refitter
        self._lock = threading.Lock()
        self._ready: RefitResult | None = None
        self._in_flight = False
        self._arrived = threading.Event()
        self._apply_at_s = math.inf
        self._late = False  # the result missed its data time: install it whenever it comes
        self._next_try_n = 0
        self._step_s = float(step_s)
        self.refits_applied = 0

    def update(self, t_s: float, value: float, inflow: float | None = None) -> None:
        self._apply_ready(t_s)
        self._fc.update(t_s, value, inflow=inflow)
        self._n += 1
        self._maybe_refit(t_s)

    def forecast(self, thresholds: dict[str, float], now_s: float | None) -> ZoneForecast | None:
        if self._n == 0:
            return None
        self._apply_ready(now_s)
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

    @property
    def refit_in_flight(self) -> bool:
        return self._in_flight

    def _maybe_refit(self, t_s: float) -> None:
        if self._refitter is None or self._in_flight or self._n < self._next_try_n or not self._fc.refit_due:
            return
        from forecasting.zone import FIT_WINDOW_BINS

        _, values, inflow = self._fc.history_with_inflow()  # fresh arrays: the snapshot shares nothing
        job = RefitJob(values[-FIT_WINDOW_BINS:].copy(), inflow[-FIT_WINDOW_BINS:].copy(), self._deliver)
        self._arrived.clear()
        if self._refitter.submit(job):
            self._in_flight, self._late = True, False
            # In data time, so a replay of the same stream installs it at the same bin (same forecasts).
            self._apply_at_s = (math.floor(t_s / self._step_s) + APPLY_AFTER_BINS) * self._step_s
        else:
            self._next_try_n = self._n + RETRY_AFTER_READINGS

    def _deliver(self, result: RefitResult) -> None:
        """Called on the refitter's thread: only park the result."""
        with self._lock:
            self._ready = result
        self._arrived.set()

    def _apply_ready(self, t_s: float | None) -> None:
        """The safe point: on the owner's thread, between updates, once the data reaches `_apply_at_s`."""
        if not self._in_flight:
            return
        due = t_s is None or t_s >= self._apply_at_s
        if not self._late:
            if not due:
                return
            if not self._arrived.is_set() and self._refitter is not None and self._refitter.queued() <= WAIT_QUEUE:
                self._arrived.wait(REFIT_WAIT_S)  # running or next in line: a fit takes 0.1-0.8 s
            # Still missing (a queue of fits after a restart): never stall for it, take it when it comes.
            self._late = not self._arrived.is_set()
        with self._lock:
            result, self._ready = self._ready, None
        if result is None:
            return
        self._in_flight = False
        if result.inflow is not None:
            self._fc.set_inflow_params(result.inflow)
        if result.damped is not None:
            self._fc.set_damped_params(result.damped)
            self.refits_applied += 1
        else:
            self._next_try_n = self._n + RETRY_AFTER_READINGS


class PersistenceForecaster:
    """Last value, intervals widening with the square root of the lead time. Also the unit tests' twin."""

    def __init__(self, step_s: float, horizon_s: float, sigma_per_step: float = 0.05) -> None:
        self.step_s = step_s
        self.steps = max(1, round(horizon_s / step_s))
        self.sigma = sigma_per_step
        self._last: tuple[float, float] | None = None

    def update(self, t_s: float, value: float, inflow: float | None = None) -> None:
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


def make_forecaster(
    step_s: float,
    horizon_s: float,
    *,
    season_s: float | None = None,
    tz: str | None = None,
    refitter: Refitter | None = None,
) -> SeriesForecaster:
    if library_available():
        return LibraryForecaster(step_s, horizon_s, season_s=season_s, tz=tz, refitter=refitter)
    log.warning("forecasting library not importable: using the persistence fallback")
    return PersistenceForecaster(step_s, horizon_s)
