"""Cursor and lanes stage: which stored metric rows the evaluator takes next, live first, then backlog.

Two lanes over the metrics table (by id, in commit order): every live row stored so far, then the
backlog (rows received more than `backlog.lag_s` after they were measured) for at most
`backlog.slice_ms`. While a zone has backlog left its live rows are held and evaluated right after it,
in measured order. The evaluation cursor (every row up to it is done) is saved to the store now and then.
Runs on the evaluator's thread; `note_backlog` is the one call from the ingest thread.
"""

from __future__ import annotations

import logging
import math
import time
from collections import deque
from collections.abc import Callable

from central.clock import Clock
from central.config import CentralConfig
from central.forecast_lane import ForecastLane
from central.obs import Telemetry
from central.store import Store, StoredMetric

log = logging.getLogger(__name__)

DRAIN_HOLD_S = 2.0  # a zone's live rows wait this long after its last backlog message arrived
CURSOR_SAVE_S = 0.5  # the evaluation cursor is written to the store at most this often (wall clock)
BACKLOG_CHUNK = 500  # backlog rows read into the buffer at a time

Evaluate = Callable[[StoredMetric, float], None]


class Lanes:
    def __init__(
        self,
        cfg: CentralConfig,
        store: Store,
        clock: Clock,
        telemetry: Telemetry,
        forecasts: ForecastLane,
        evaluate: Evaluate,
    ) -> None:
        self.cfg = cfg
        self.store = store
        self.clock = clock
        self.telemetry = telemetry
        self.forecasts = forecasts
        self.evaluate = evaluate  # the rules stage's step for one row
        self.cursor_key = f"{cfg.worker.index}/{cfg.worker.count}"
        self._cursor = 0  # live lane: every live row up to this id is evaluated
        self._backlog_cursor = 0  # backlog lane: every backlog row up to this id is evaluated
        self._backlog_scan = 0  # backlog rows up to this id are evaluated or in the buffer
        self._backlog_buf: deque[StoredMetric] = deque()
        # Per zone: the highest backlog row id seen, and when ingest last received a backlog message.
        # While a zone has backlog left, its live rows are held back and evaluated after it, in order:
        # a forecaster cannot take late data into its state, so its stream must not be turned around.
        self._zone_backlog_id: dict[str, int] = {}
        self._zones_scanned = 0
        self._draining: dict[str, float] = {}  # zone -> time.monotonic(), written by the ingest thread
        self._held: dict[str, list[StoredMetric]] = {}
        self._backlog_counted_at = -math.inf
        self.backlog_rows_done = 0  # backlog rows evaluated since start-up
        self._saved_cursor = -1
        self._cursor_saved_mono = -math.inf

    def start(self) -> int:
        """Resume after the saved cursor (or at the table's end on a first start); returns that row id.

        Rows stored but not evaluated when central stopped are evaluated now. Alert ids come from the
        data, so rows evaluated twice (after the cursor was last written) find their alerts already
        stored and add nothing.
        """
        saved = self.store.load_cursor(self.cursor_key)
        start = self.store.max_metric_id() if saved is None else min(saved, self.store.max_metric_id())
        self._cursor = self._backlog_cursor = self._backlog_scan = start
        self._saved_cursor = start
        self._zones_scanned = start
        return start

    def step(self, now: float, touched: set[str], batch: int = 5000) -> int:
        """Live rows, then one backlog slice, then the held rows of zones whose backlog is done; returns
        how many rows were evaluated. Every zone with a row evaluated is added to `touched`."""
        upto = self.store.max_metric_id()
        lag = self.cfg.backlog.lag_s
        if upto > self._zones_scanned:
            for zid, top in self.store.backlog_zones(self._zones_scanned, upto, lag).items():
                self._zone_backlog_id[zid] = max(top, self._zone_backlog_id.get(zid, 0))
            self._zones_scanned = upto
        live = self.store.metrics_in_lane(self._cursor, upto, backlog=False, lag_s=lag, limit=batch)
        # Rules first: every live row's current-level and stop-and-go rules run (and their alerts go out)
        # before any forecasting; the rows' forecast work is queued in the forecast lane.
        for stored in live:
            if self._in_backlog(stored.row.zone):
                self._held.setdefault(stored.row.zone, []).append(stored)
                continue
            self.evaluate(stored, now)
            touched.add(stored.row.zone)
        self._cursor = live[-1].id if len(live) >= batch else max(self._cursor, upto)
        if live:
            self.telemetry.ingest_lag.set(max(0.0, now - live[-1].row.measured_at))
        n_backlog = self._backlog_slice(now, touched)
        self._release_held(now, touched)
        return len(live) + n_backlog

    def _backlog_slice(self, now: float, touched: set[str]) -> int:
        """Backlog rows up to the live cursor, for at most one slice of time; returns how many."""
        deadline = time.monotonic() + self.cfg.backlog.slice_ms / 1000.0
        buf, done = self._backlog_buf, 0
        while time.monotonic() < deadline:
            if not buf:
                if self._backlog_scan >= self._cursor:
                    break
                upto = self._cursor
                rows = self.store.metrics_in_lane(
                    self._backlog_scan, upto, backlog=True, lag_s=self.cfg.backlog.lag_s, limit=BACKLOG_CHUNK
                )
                self._backlog_scan = rows[-1].id if len(rows) >= BACKLOG_CHUNK else upto
                buf.extend(rows)
                continue
            stored = buf.popleft()
            self.evaluate(stored, now)
            self._drain_zone(stored.row.zone)  # the backlog's forecasts inside its own slice, one per bin
            touched.add(stored.row.zone)
            done += 1
        self._backlog_cursor = buf[0].id - 1 if buf else self._backlog_scan
        self.backlog_rows_done += done
        if self._backlog_cursor >= self._cursor:
            self.telemetry.backlog_rows.set(0)
        elif time.monotonic() - self._backlog_counted_at >= 1.0:  # a count query: once a second at most
            self._backlog_counted_at = time.monotonic()
            self.telemetry.backlog_rows.set(self.backlog_pending())
        return done

    def note_backlog(self, zone: str) -> None:
        """Ingest received a backlog message for this zone (called on the MQTT thread, before it is stored)."""
        self._draining[zone] = time.monotonic()

    def _in_backlog(self, zone: str) -> bool:
        if self._zone_backlog_id.get(zone, 0) > self._backlog_cursor:
            return True
        # Covers the moment between receiving a backlog message and seeing it stored.
        return time.monotonic() - self._draining.get(zone, -math.inf) < DRAIN_HOLD_S

    def _release_held(self, now: float, touched: set[str]) -> None:
        for zid in [z for z in self._held if not self._in_backlog(z)]:
            for stored in sorted(self._held[zid], key=lambda m: (m.row.measured_at, m.id)):
                self.evaluate(stored, now)
            self._drain_zone(zid)
            del self._held[zid]  # only now: `cursor` (read by other threads) counts held rows as not done
            touched.add(zid)

    def _drain_zone(self, zone: str) -> None:
        if zone in self.forecasts:
            self.forecasts.drain(zone)

    def backlog_pending(self) -> int:
        """Backlog rows stored but not evaluated yet (a count query: call it now and then, not per row)."""
        if self._backlog_cursor >= self._cursor:
            return 0
        return self.store.count_backlog(self._backlog_cursor, self._cursor, self.cfg.backlog.lag_s)

    @property
    def cursor(self) -> int:
        """Every stored row with an id up to this one has been evaluated (both lanes)."""
        held = min((rows[0].id for rows in self._held.values() if rows), default=self._cursor + 1)
        queued = self.forecasts.min_pending_id()  # rules done, forecast work still waiting
        return min(self._cursor, self._backlog_cursor, held - 1, self._cursor if queued is None else queued - 1)

    def save_cursor(self, force: bool = False) -> None:
        """Persist `cursor` (idempotent: rows after it are evaluated again after a restart)."""
        if not force and time.monotonic() - self._cursor_saved_mono < CURSOR_SAVE_S:
            return
        cur = self.cursor
        if cur == self._saved_cursor:
            return
        try:
            self.store.save_cursor(self.cursor_key, cur, self.clock.now())
        except Exception:
            log.exception("could not store the evaluation cursor")
            return
        self._saved_cursor, self._cursor_saved_mono = cur, time.monotonic()
