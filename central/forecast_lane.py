"""Forecast lane stage: every owned zone's forecaster fed and forecast in bounded time slices, off the rules' path.

The evaluator runs the alert rules of a metric row at once and hands the row to this lane. Each zone
keeps its rows in arrival order; when a row enters a new bin, the previous bin is complete and the zone
is forecast (at that bin's last data time) before the row goes into the forecaster, so the forecaster
sees exactly the stream it would have seen inline, and a replay gets the same forecasts.

Live rows are worked through by `run_slice()`: round-robin over the zones with work, one forecast per
zone per turn, until the slice's time is spent. A bin that closes for 1,000 zones at once is thus
spread over several evaluator steps, and rows that arrive meanwhile get their rules evaluated between
slices. `drain()` does one zone's whole queue at once (the backlog lane, which has its own time slice).

Overload: when a zone's oldest waiting row has waited longer than `overload_after_s` (wall clock) and
its queue holds a later bin too, the forecast that the later bin would supersede is skipped (the data
still goes into the forecaster). A zone is then forecast less often than once per bin rather than ever
later; `skipped` counts those, `oldest_wait_s()` is exported as a gauge.
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from central.forecasts import SeriesForecaster


@dataclass(frozen=True)
class LaneItem:
    row_id: int  # metrics table id; 0 for rows that are not in the table's evaluation order
    t_s: float  # measured_at, data time
    value: float  # density, persons/m²
    inflow: float | None  # line crossings into the zone in the interval
    queued_mono: float  # time.monotonic() when it was queued


@dataclass
class _Feed:
    forecaster: SeriesForecaster
    queue: deque[LaneItem] = field(default_factory=deque)
    forecast_bin: int | None = None
    forecast_t: float | None = None  # newest data time fed
    first_t: float | None = None  # earliest data time fed
    due: bool = False  # in the round-robin


class ForecastLane:
    def __init__(
        self,
        step_s: float,
        *,
        slice_s: float,
        overload_after_s: float,
        forecast: Callable[[str, float], None],
        mono: Callable[[], float] = time.monotonic,
    ) -> None:
        if step_s <= 0 or slice_s <= 0 or overload_after_s < 0:
            raise ValueError("step_s and slice_s must be positive and overload_after_s not negative")
        self.step_s = step_s
        self.slice_s = slice_s
        self.overload_after_s = overload_after_s
        self._forecast = forecast
        self._mono = mono
        self._feeds: dict[str, _Feed] = {}
        self._round: deque[str] = deque()
        self.forecasts = 0  # forecasts made
        self.skipped = 0  # bins not forecast because the zone was overloaded

    def add_zone(self, zone: str, forecaster: SeriesForecaster) -> None:
        self._feeds[zone] = _Feed(forecaster)

    def __contains__(self, zone: object) -> bool:
        return zone in self._feeds

    def first_t(self, zone: str) -> float | None:
        return self._feeds[zone].first_t

    def seed(self, zone: str, t_s: float, value: float, inflow: float | None = None) -> None:
        """History read back at start-up: fed without forecasting (those forecasts were made before)."""
        feed = self._feeds[zone]
        self._feed(feed, t_s, value, inflow)

    def push(self, zone: str, row_id: int, t_s: float, value: float, inflow: float | None = None) -> None:
        feed = self._feeds[zone]
        feed.queue.append(LaneItem(row_id, t_s, value, inflow, self._mono()))
        if not feed.due:
            feed.due = True
            self._round.append(zone)

    def drain(self, zone: str) -> int:
        """Work through one zone's whole queue now, every bin forecast; returns the forecasts made."""
        feed = self._feeds[zone]
        made = 0
        while feed.queue:
            made += self._turn(zone, feed, allow_skip=False)
        return made

    def run_slice(self) -> set[str]:
        """Round-robin over zones with work until the slice is spent; returns the zones worked on."""
        deadline = self._mono() + self.slice_s
        touched: set[str] = set()
        while self._round and self._mono() < deadline:
            zone = self._round.popleft()
            feed = self._feeds[zone]
            if feed.queue:
                self._turn(zone, feed, allow_skip=True)
                touched.add(zone)
            if feed.queue:
                self._round.append(zone)
            else:
                feed.due = False
        return touched

    @property
    def has_work(self) -> bool:
        return any(self._feeds[z].queue for z in self._round)

    def zones_waiting(self) -> int:
        return sum(1 for z in self._round if self._feeds[z].queue)

    def oldest_wait_s(self) -> float:
        now = self._mono()
        return max(
            (now - self._feeds[z].queue[0].queued_mono for z in self._round if self._feeds[z].queue), default=0.0
        )

    def min_pending_id(self) -> int | None:
        """The lowest metrics id still waiting here (its forecast work is not done)."""
        ids = [item.row_id for f in self._feeds.values() for item in f.queue if item.row_id > 0]
        return min(ids, default=None)

    # -- internals -----------------------------------------------------------------------------
    def _turn(self, zone: str, feed: _Feed, *, allow_skip: bool) -> int:
        """Feed rows until one forecast is made (or the queue is empty); returns 1 if one was made."""
        while feed.queue:
            item = feed.queue[0]
            made = 0
            b = math.floor(item.t_s / self.step_s)
            if feed.forecast_bin is not None and b > feed.forecast_bin and feed.forecast_t is not None:
                if allow_skip and self._overloaded(feed, b):
                    self.skipped += 1
                else:
                    self._forecast(zone, feed.forecast_t)
                    self.forecasts += 1
                    made = 1
            self._feed(feed, item.t_s, item.value, item.inflow)
            feed.queue.popleft()
            if made:
                return 1
        return 0

    def _overloaded(self, feed: _Feed, closing_into_bin: int) -> bool:
        """This zone has waited too long and a later bin is queued, which will be forecast instead."""
        if self._mono() - feed.queue[0].queued_mono <= self.overload_after_s:
            return False
        return math.floor(feed.queue[-1].t_s / self.step_s) > closing_into_bin

    def _feed(self, feed: _Feed, t_s: float, value: float, inflow: float | None) -> None:
        b = math.floor(t_s / self.step_s)
        if feed.forecast_bin is None or b > feed.forecast_bin:
            feed.forecast_bin = b
        feed.forecaster.update(t_s, value, inflow=inflow)
        feed.first_t = t_s if feed.first_t is None else min(feed.first_t, t_s)
        feed.forecast_t = t_s if feed.forecast_t is None else max(feed.forecast_t, t_s)
