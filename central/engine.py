"""The evaluator: follows the metrics table, forecasts each zone every bin, runs the alert rules, fuses patrols.

Every worker follows the whole metrics table (by id, in commit order) to keep every zone's latest values
for its own console clients; only the worker that owns a zone (crc32(zone) % workers) forecasts it and
runs its alert rules, so two workers sharing the MQTT subscription never raise the same alert twice.
Alert ids come from the data (zone, kind, opening time), and the store refuses a second insert, so a
restart that re-reads recent rows cannot duplicate an alert either.

All state here is mutated by one thread (the engine loop, `poll()`); other threads hand work over through
`submit()`, and the API reads copies of the views.
"""

from __future__ import annotations

import json
import logging
import math
import queue
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from central import alerts as al
from central import rules, views
from central.clock import Clock
from central.config import CentralConfig
from central.events import EventBus
from central.forecast_lane import ForecastLane
from central.forecasts import (
    BackgroundRefitter,
    InlineRefitter,
    Refitter,
    SeriesForecaster,
    ZoneForecast,
    make_forecaster,
)
from central.liveness import CameraLiveness, CameraStats, CameraStatus
from central.mqtt.communicator import Publisher
from central.obs import Telemetry
from central.patrol_fusion import PatrolFusion
from central.patrols import PatrolPosition
from central.store import MetricRow, Store, StoredMetric
from central.zones import Zone, ZoneRegistry
from contract.central_messages import AlertMessage, ForecastMessage
from contract.topics import alert_topic, forecast_topic

log = logging.getLogger(__name__)

DRAIN_HOLD_S = 2.0  # a zone's live rows wait this long after its last backlog message arrived
CURSOR_SAVE_S = 0.5  # the evaluation cursor is written to the store at most this often (wall clock)


@dataclass(frozen=True)
class OperatorStep:
    """An operator changed an alert in the store (API thread): publish it and merge it into the rules."""

    alert: al.Alert


@dataclass(frozen=True)
class RemoteAlert:
    message: AlertMessage


@dataclass(frozen=True)
class RemoteForecast:
    site: str
    zone: str
    message: ForecastMessage


@dataclass
class _ZoneRuntime:
    zone: Zone
    owned: bool
    latest: MetricRow | None = None
    forecast: dict[str, Any] | None = None
    forecaster: SeriesForecaster | None = None
    unpublished: ZoneForecast | None = None
    rules: dict[str, al.RuleState] = field(default_factory=dict)


class Engine:
    def __init__(
        self,
        cfg: CentralConfig,
        store: Store,
        publisher: Publisher,
        clock: Clock,
        bus: EventBus,
        telemetry: Telemetry,
    ) -> None:
        self.cfg = cfg
        self.store = store
        self.publisher = publisher
        self.clock = clock
        self.bus = bus
        self.telemetry = telemetry
        self.registry = ZoneRegistry(cfg)
        self.prefix = cfg.mqtt.topic_prefix
        self._zones = {z.id: _ZoneRuntime(z, self.registry.owned(z.id)) for z in self.registry}
        self.liveness = CameraLiveness(cfg, self.registry, store, bus)
        self._inbox: queue.Queue[object] = queue.Queue()
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
        self._audit_cursor = 0
        self.patrols = PatrolFusion(cfg, self.registry, store, clock)
        self._own_echoes: deque[tuple[str, float, str, str]] = deque(maxlen=2000)
        self.wake = threading.Event()
        self._timing = al.RuleTiming(cfg.alerts.pending_s, cfg.alerts.keep_firing_s)
        self._forecast_timing = al.RuleTiming(cfg.alerts.forecast_pending_s, cfg.alerts.forecast_keep_firing_s)
        self._stale_timing = al.RuleTiming(0.0, 0.0)
        self.forecast_model = "none yet"
        fc = cfg.forecast
        self.lane = ForecastLane(
            fc.step_s,
            slice_s=fc.slice_ms / 1000.0,
            overload_after_s=fc.overload_after_s,
            forecast=lambda zone, t: self._forecast(self._zones[zone], t),
        )
        self._saved_cursor = -1
        self._cursor_saved_mono = -math.inf
        self.cursor_key = f"{cfg.worker.index}/{cfg.worker.count}"
        self.refitter = BackgroundRefitter(
            on_done=lambda ok: self.telemetry.refits.labels(result="ok" if ok else "failed").inc()
        )
        # On an accelerated clock a background refit lands (0.1-0.8 s) x speed later in data time than at real
        # speed, so forecasts (and scores) would depend on the speed; refitting inline keeps them the same.
        self._fit_with: Refitter = self.refitter if cfg.clock.speed == 1.0 else InlineRefitter()

    # -- start-up: rebuild from the store ----------------------------------------------------------
    def start_up(self) -> None:
        # Resume after the last row whose evaluation (rules and forecasts) was complete: rows stored but not
        # evaluated when central stopped are evaluated now. Alert ids come from the data, so rows evaluated
        # twice (after the cursor was last written) find their alerts already stored and add nothing.
        saved = self.store.load_cursor(self.cursor_key)
        start = self.store.max_metric_id() if saved is None else min(saved, self.store.max_metric_id())
        self._cursor = self._backlog_cursor = self._backlog_scan = start
        self._saved_cursor = start
        self._zones_scanned = start
        self._audit_cursor = self.store.max_audit_id()
        latest = self.store.latest_metric_per_zone()
        forecasts = self.store.latest_forecasts()
        self.refitter.start()
        fc = self.cfg.forecast
        for zid, zr in self._zones.items():
            zr.latest = latest.get(zid)
            zr.forecast = forecasts.get(zid)
            if zr.owned:
                zr.forecaster = make_forecaster(
                    fc.step_s, fc.horizon_s, season_s=fc.season_s, tz=self.cfg.site.timezone, refitter=self._fit_with
                )
                self.lane.add_zone(zid, zr.forecaster)
                if zr.latest is not None:
                    # Only rows already evaluated: the ones after the cursor are fed when they are evaluated.
                    since = zr.latest.measured_at - 3 * self.cfg.forecast.horizon_s
                    for m in self.store.zone_metrics_since(zid, since, upto_id=start):
                        if not m.stale:
                            self.lane.seed(zid, m.measured_at, m.density, float(m.inflow))
        for a in self.store.open_alert_rows():
            owner = self._zones.get(a.zone)
            if owner is None or not owner.owned:
                continue
            old = owner.rules.get(a.kind)
            if old is None or old.alert is None or old.alert.opened_at_s < a.opened_at_s:
                owner.rules[a.kind] = al.restore(a)
        self.patrols.restore()
        self.liveness.restore()
        self._update_alert_gauge()

    def close(self) -> None:
        self._save_cursor(force=True)
        self.refitter.stop()

    # -- hand-over from other threads --------------------------------------------------------------
    def submit(self, item: object) -> None:
        self._inbox.put(item)
        self.wake.set()

    # -- the loop body -----------------------------------------------------------------------------
    def poll(self, batch: int = 5000) -> int:
        """One step; returns how many metric rows it consumed.

        Two lanes: every live row stored so far is evaluated first; then the backlog (rows received more
        than `backlog.lag_s` after they were measured) gets at most `backlog.slice_ms`, in id order.
        A backlog of any size therefore delays live rows by one slice at most. Late rows land at their
        measured time in the forecaster's history; a rule ignores data older than what it has seen, so a
        backlog processed after newer live data cannot reopen or duplicate an alert.
        """
        now = self.clock.now()
        self._drain_inbox(now)
        touched: set[str] = set()
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
            self._on_metric(stored, now)
            touched.add(stored.row.zone)
        self._cursor = live[-1].id if len(live) >= batch else max(self._cursor, upto)
        if live:
            self.telemetry.ingest_lag.set(max(0.0, now - live[-1].row.measured_at))
        n_backlog = self._backlog_slice(now, touched)
        self._release_held(now, touched)
        if self.liveness.due(now):
            self._check_cameras(now)
        self._merge_operator_steps()
        # Then forecasts, for at most one slice: a bin closing for every zone at once is spread over steps.
        touched |= self.lane.run_slice()
        for zid in touched:
            zr = self._zones[zid]
            if zr.unpublished is not None:
                self._publish_forecast(zr.zone, zr.unpublished)
                zr.unpublished = None
            self.bus.publish("zone", self.zone_view(zid))
        if self.patrols.dirty:
            self._refresh_patrols(now)
        self._update_alert_gauge()
        self._update_lane_gauges()
        self._save_cursor()
        return len(live) + n_backlog + (1 if self.lane.has_work else 0)

    def _update_lane_gauges(self) -> None:
        self.telemetry.forecast_zones_waiting.set(self.lane.zones_waiting())
        self.telemetry.forecast_wait.set(self.lane.oldest_wait_s())
        self.telemetry.forecast_bins_skipped.set(self.lane.skipped)

    def _save_cursor(self, force: bool = False) -> None:
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

    def _backlog_slice(self, now: float, touched: set[str]) -> int:
        """Backlog rows up to the live cursor, for at most one slice of time; returns how many."""
        deadline = time.monotonic() + self.cfg.backlog.slice_ms / 1000.0
        buf, chunk, done = self._backlog_buf, 500, 0
        while time.monotonic() < deadline:
            if not buf:
                if self._backlog_scan >= self._cursor:
                    break
                upto = self._cursor
                rows = self.store.metrics_in_lane(
                    self._backlog_scan, upto, backlog=True, lag_s=self.cfg.backlog.lag_s, limit=chunk
                )
                self._backlog_scan = rows[-1].id if len(rows) >= chunk else upto
                buf.extend(rows)
                continue
            stored = buf.popleft()
            self._on_metric(stored, now)
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
                self._on_metric(stored, now)
            self._drain_zone(zid)
            del self._held[zid]  # only now: `cursor` (read by other threads) counts held rows as not done
            touched.add(zid)

    def backlog_pending(self) -> int:
        """Backlog rows stored but not evaluated yet (a count query: call it now and then, not per row)."""
        if self._backlog_cursor >= self._cursor:
            return 0
        return self.store.count_backlog(self._backlog_cursor, self._cursor, self.cfg.backlog.lag_s)

    def _drain_inbox(self, now: float) -> None:
        while True:
            try:
                item = self._inbox.get_nowait()
            except queue.Empty:
                return
            try:
                self._handle(item, now)
            except Exception:
                log.exception("engine could not handle %s", type(item).__name__)

    def _handle(self, item: object, now: float) -> None:
        if isinstance(item, PatrolPosition):
            if self.patrols.on_position(item):
                self.bus.publish("patrol", self.patrols.view(item.patrol_id, now))
        elif isinstance(item, CameraStatus):
            self.liveness.on_status(item, now)
        elif isinstance(item, CameraStats):
            self.liveness.on_stats(item, now)
        elif isinstance(item, OperatorStep):
            self.publish_alert("update" if item.alert.is_open else "end", item.alert)
        elif isinstance(item, RemoteAlert):
            self._on_remote_alert(item.message)
        elif isinstance(item, RemoteForecast):
            remote = self._zones.get(item.zone)
            if remote is not None and not remote.owned and item.site == self.registry.site:
                remote.forecast = item.message.view().model_dump(mode="json")
                self.bus.publish("zone", self.zone_view(item.zone))

    # -- metrics, forecasts and rules --------------------------------------------------------------
    def _on_metric(self, stored: StoredMetric, now: float) -> None:
        m = stored.row
        zr = self._zones.get(m.zone)
        if zr is None:
            return
        if zr.latest is None or m.measured_at >= zr.latest.measured_at:
            if zr.latest is not None and zr.latest.stale != m.stale:
                self.liveness.dirty = True
            zr.latest = m
        self.liveness.on_metric(m.site, m.camera, now)
        if not zr.owned or m.stale:
            return
        if zr.zone.id in self.lane:
            # Forecast every bin, in data time (see central.forecast_lane), after the rules below.
            self.lane.push(zr.zone.id, stored.id, m.measured_at, m.density, float(m.inflow))
        a = self.cfg.alerts
        th = zr.zone.thresholds
        self._step_rule(zr, "current", rules.current_level(m.density, th, a.clear_ratio), m.measured_at)
        cond = rules.stop_and_go(
            m.density,
            m.speed_p50,
            th,
            min_density=a.stop_go_min_density,
            speed_ratio=a.stop_go_speed_ratio,
            clear_ratio=a.clear_ratio,
        )
        self._step_rule(zr, "stop_and_go", cond, m.measured_at)

    def _drain_zone(self, zone: str) -> None:
        if zone in self.lane:
            self.lane.drain(zone)

    def _forecast(self, zr: _ZoneRuntime, t: float) -> None:
        assert zr.forecaster is not None
        th = zr.zone.thresholds
        try:
            f = zr.forecaster.forecast({"warning": th.warning, "critical": th.critical}, now_s=t)
        except Exception:
            log.exception("forecast failed for zone %s", zr.zone.id)
            return
        if f is None:
            return
        self.telemetry.forecasts.inc()
        self.forecast_model = f.model
        zr.forecast = f.as_json()
        # Stored and published once per poll (the newest): a backlog's intermediate forecasts only feed the rules.
        zr.unpublished = f
        crossings = [rules.CrossingIn(c.name, c.threshold, c.probability, c.expected_time_s) for c in f.crossings]
        a = self.cfg.alerts
        cond = rules.forecast_crossing(crossings, th, a.forecast_probability, a.clear_ratio)
        first_t = self.lane.first_t(zr.zone.id)
        if first_t is None or t - first_t < a.forecast_min_history_s:
            return
        self._step_rule(zr, "forecast", cond, t)

    def _publish_forecast(self, zone: Zone, f: ZoneForecast) -> None:
        body = f.as_json()
        try:
            self.store.save_forecast(zone.id, f.origin_s, f.model, body, self.clock.now())
        except Exception:
            log.exception("could not store the forecast of zone %s", zone.id)
        msg = ForecastMessage.model_validate(
            {"schema": "crowd.forecast/1", "site": self.registry.site, "zone": zone.id, **body}
        )
        self.publisher.publish(
            forecast_topic(self.prefix, self.registry.site, zone.id),
            msg.model_dump_json(by_alias=True).encode(),
            qos=1,
            retain=True,
        )

    def _step_rule(self, zr: _ZoneRuntime, kind: al.Kind, cond: al.Condition, t: float) -> None:
        timing = {"forecast": self._forecast_timing, "stale": self._stale_timing}.get(kind, self._timing)
        state = zr.rules.get(kind, al.RuleState())
        new_state, events = al.evaluate(state, cond, t, zr.zone.id, kind, timing)
        zr.rules[kind] = new_state
        for ev in events:
            self._emit(zr, ev)

    def _emit(self, zr: _ZoneRuntime, ev: al.AlertEvent) -> None:
        a = ev.alert
        try:
            if ev.type == "new":
                if not self.store.insert_alert(a):
                    # Already stored: a restart evaluates again the rows after its saved cursor. An open or
                    # resolved one takes the stored (operators') state; a cleared one stays open in the rule,
                    # which follows the same data to the same clear while the store ignores its steps.
                    stored = self.store.get_alert(a.id)
                    if stored.state != "cleared":
                        zr.rules[a.kind] = al.merge_operator_state(zr.rules[a.kind], stored)
                    return
            elif ev.type == "update":
                step = a.history[-1] if a.history and a.history[-1].at_s == a.updated_at_s else None
                step = step if step is not None and step.action == "escalated" else None
                if not self.store.update_alert_from_rules(a, step):
                    return  # it has ended (resolved, or cleared before a restart): nothing to publish
            elif ev.type == "end" and not self.store.clear_alert(a):
                return  # an operator resolved it first; that end was already published
            stored = self.store.get_alert(a.id)
        except Exception:
            log.exception("could not store alert %s", a.id)
            stored = a
        self.publish_alert(ev.type, stored)

    def publish_alert(self, event: str, a: al.Alert) -> dict[str, Any]:
        """MQTT (retained while open, retained copy removed at the end) and the live stream."""
        patrols = self.patrols.nearest(a.zone)
        view = views.alert_json(a, patrols)
        self.patrols.sent(a.id, view["patrols"])
        msg = AlertMessage.model_validate(
            {"schema": "crowd.alert/1", "event": event, "site": self.registry.site, **view}
        )
        topic = alert_topic(self.prefix, a.id)
        self._own_echoes.append((a.id, a.updated_at_s, a.state, a.level))
        self.publisher.publish(topic, msg.model_dump_json(by_alias=True).encode(), qos=1, retain=a.is_open)
        if not a.is_open:
            self.publisher.publish(topic, b"", qos=1, retain=True)
            self.patrols.sent(a.id, None)
        self.bus.publish("alert", {**view, "event": event})
        log.info("alert %s", event, extra={"fields": {"alert": a.id, "state": a.state, "level": a.level}})
        return view

    def _on_remote_alert(self, msg: AlertMessage) -> None:
        if (msg.id, msg.updated_at, msg.state, msg.level) in self._own_echoes:
            return
        self.bus.publish("alert", {**msg.view().model_dump(mode="json"), "event": msg.event})

    # -- cameras -----------------------------------------------------------------------------------
    def _check_cameras(self, now: float) -> None:
        self.liveness.checked(now)
        for zr in self._zones.values():
            if not zr.owned:
                continue
            cam = self.liveness.get(self.registry.site, zr.zone.camera)
            if cam is None or (cam.last_seen_wall is None and "stale" not in zr.rules):
                continue
            stale, reason = self.liveness.stale(cam, now)
            if not stale and zr.latest is not None and zr.latest.stale:
                stale, reason = True, "reports no frames"
            self._step_rule(zr, "stale", rules.camera_stale(stale, cam.camera, reason), now)

    # -- operators ---------------------------------------------------------------------------------
    def _merge_operator_steps(self) -> None:
        self._audit_cursor, ids = self.store.operator_steps_after(self._audit_cursor)
        for alert_id in ids:
            try:
                stored = self.store.get_alert(alert_id)
            except KeyError:
                continue
            zr = self._zones.get(stored.zone)
            if zr is None or not zr.owned or stored.kind not in zr.rules:
                continue
            zr.rules[stored.kind] = al.merge_operator_state(zr.rules[stored.kind], stored)

    # -- patrols -----------------------------------------------------------------------------------
    def _refresh_patrols(self, now: float) -> None:
        self.patrols.dirty = False
        for zr in self._zones.values():
            for st in zr.rules.values():
                a = st.alert
                if a is None:
                    continue
                if self.patrols.moved(a.id, a.zone):
                    try:
                        stored = self.store.get_alert(a.id)
                    except KeyError:
                        continue
                    if stored.is_open:
                        self.publish_alert("update", stored)

    # -- read side for the API ---------------------------------------------------------------------
    def patrols_view(self) -> list[dict[str, Any]]:
        return self.patrols.views()

    def zone_view(self, zone_id: str) -> dict[str, Any]:
        zr = self._zones[zone_id]
        return views.zone_json(zr.zone, zr.latest, zr.forecast)

    def zones_view(self) -> list[dict[str, Any]]:
        return [self.zone_view(zid) for zid in list(self._zones)]

    def cameras_view(self) -> list[dict[str, Any]]:
        return self.liveness.views(self.clock.now())

    def alert_view(self, a: al.Alert) -> dict[str, Any]:
        return views.alert_json(a, self.patrols.nearest(a.zone))

    def open_alert_count(self) -> int:
        return sum(1 for zr in self._zones.values() for st in zr.rules.values() if st.alert is not None)

    def _update_alert_gauge(self) -> None:
        self.telemetry.alerts_open.set(self.open_alert_count())

    @property
    def cursor(self) -> int:
        """Every stored row with an id up to this one has been evaluated (both lanes)."""
        held = min((rows[0].id for rows in self._held.values() if rows), default=self._cursor + 1)
        queued = self.lane.min_pending_id()  # rules done, forecast work still waiting
        return min(self._cursor, self._backlog_cursor, held - 1, self._cursor if queued is None else queued - 1)


def dumps(obj: object) -> bytes:
    return json.dumps(obj, separators=(",", ":")).encode()
