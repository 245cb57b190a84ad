"""Evaluator stage loop: one thread's `poll()` runs the lanes, rules, liveness, patrol fusion, forecast
lane and publication stages in order; other threads hand it typed commands and read the read model.

Every worker follows the whole metrics table (by id, in commit order) to keep every zone's latest values
for its own console clients; only the worker that owns a zone (crc32(zone) % workers) forecasts it and
runs its alert rules, so two workers sharing the MQTT subscription never raise the same alert twice.

All state here is mutated by one thread (the evaluator loop, `poll()`); other threads hand work over
through `submit()` (see central/commands.py), and the API reads copies of the views.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from typing import Any

from pydantic import ValidationError

from central import alerts as al
from central import views
from central.clock import Clock
from central.commands import Command, OperatorStep, RemoteAlert, RemoteForecast
from central.config import CentralConfig
from central.events import EventBus
from central.forecast_lane import ForecastLane
from central.forecasts import BackgroundRefitter, InlineRefitter, Refitter, make_forecaster
from central.lanes import Lanes
from central.liveness import CameraLiveness, CameraStats, CameraStatus
from central.mqtt.communicator import Publisher
from central.obs import Telemetry
from central.patrol_fusion import PatrolFusion
from central.patrols import PatrolPosition
from central.publication import Publication
from central.read_model import ReadModel
from central.rule_stage import RuleStage
from central.store import Store
from central.zone_state import ZoneRuntime, ZoneStates
from central.zones import ZoneRegistry
from contract.central_messages import AlertView, ForecastView

log = logging.getLogger(__name__)


class Evaluator:
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
        self.clock = clock
        self.bus = bus
        self.telemetry = telemetry
        self.registry = ZoneRegistry(cfg)
        self._zones: ZoneStates = {z.id: ZoneRuntime(z, self.registry.owned(z.id)) for z in self.registry}
        self._inbox: queue.Queue[Command] = queue.Queue()
        self.wake = threading.Event()
        fc = cfg.forecast
        self.lane = ForecastLane(
            fc.step_s,
            slice_s=fc.slice_ms / 1000.0,
            overload_after_s=fc.overload_after_s,
            forecast=lambda zone, t: self.rules.on_forecast_due(self._zones[zone], t),
        )
        self.liveness = CameraLiveness(cfg, self.registry, store, bus)
        self.patrols = PatrolFusion(cfg, self.registry, store, clock)
        self.read_model = ReadModel(self._zones, self.liveness, self.patrols, clock)
        self.publication = Publication(
            self.registry.site, cfg.mqtt.topic_prefix, store, publisher, clock, bus, self.patrols, self.read_model
        )
        self.rules = RuleStage(cfg, store, self._zones, self.lane, self.liveness, telemetry, self.publication.alert)
        self.lanes = Lanes(cfg, store, clock, telemetry, self.lane, self.rules.on_metric)
        self.cursor_key = self.lanes.cursor_key
        self.refitter = BackgroundRefitter(
            on_done=lambda ok: self.telemetry.refits.labels(result="ok" if ok else "failed").inc()
        )
        # On an accelerated clock a background refit lands (0.1-0.8 s) x speed later in data time than at real
        # speed, so forecasts (and scores) would depend on the speed; refitting inline keeps them the same.
        self._fit_with: Refitter = self.refitter if cfg.clock.speed == 1.0 else InlineRefitter()
        # One handler per command type (see central/commands.py), run on this thread by `poll()`.
        self._handlers: dict[type[Any], Callable[[Any, float], None]] = {
            PatrolPosition: self._on_patrol_position,
            CameraStatus: lambda c, now: self.liveness.on_status(c, now),
            CameraStats: lambda c, now: self.liveness.on_stats(c, now),
            OperatorStep: self._on_operator_step,
            RemoteAlert: lambda c, _now: self.publication.remote_alert(c.message),
            RemoteForecast: self._on_remote_forecast,
        }

    # -- start-up: rebuild from the store ----------------------------------------------------------
    def start_up(self) -> None:
        start = self.lanes.start()
        latest = self.store.latest_metric_per_zone()
        forecasts = self.store.latest_forecasts()
        self.refitter.start()
        fc = self.cfg.forecast
        for zid, zr in self._zones.items():
            zr.latest = latest.get(zid)
            zr.forecast = _forecast_view(zid, forecasts.get(zid))
            if zr.owned:
                zr.forecaster = make_forecaster(
                    fc.step_s, fc.horizon_s, season_s=fc.season_s, tz=self.cfg.site.timezone, refitter=self._fit_with
                )
                self.lane.add_zone(zid, zr.forecaster)
                if zr.latest is not None:
                    # Only rows already evaluated: the ones after the cursor are fed when they are evaluated.
                    since = zr.latest.measured_at - 3 * fc.horizon_s
                    for m in self.store.zone_metrics_since(zid, since, upto_id=start):
                        if not m.stale:
                            self.lane.seed(zid, m.measured_at, m.density, float(m.inflow))
        self.rules.restore()
        self.patrols.restore()
        self.liveness.restore()
        self._update_alert_gauge()

    def close(self) -> None:
        self._save_cursor(force=True)
        self.refitter.stop()

    # -- hand-over from other threads --------------------------------------------------------------
    def submit(self, item: Command) -> None:
        self._inbox.put(item)
        self.wake.set()

    def note_backlog(self, zone: str) -> None:
        """Ingest received a backlog message for this zone (called on the MQTT thread, before it is stored)."""
        self.lanes.note_backlog(zone)

    # -- the loop body -----------------------------------------------------------------------------
    def poll(self, batch: int = 5000) -> int:
        """One step; returns how many metric rows it consumed.

        Two lanes (central/lanes.py): every live row stored so far is evaluated first; then the backlog
        (rows received more than `backlog.lag_s` after they were measured) gets at most `backlog.slice_ms`,
        in id order. A backlog of any size therefore delays live rows by one slice at most. Late rows land
        at their measured time in the forecaster's history; a rule ignores data older than what it has
        seen, so a backlog processed after newer live data cannot reopen or duplicate an alert.
        """
        now = self.clock.now()
        self._drain_inbox(now)
        touched: set[str] = set()
        n_rows = self.lanes.step(now, touched, batch)
        if self.liveness.due(now):
            self._check_cameras(now)
        self.rules.merge_operator_steps()
        # Then forecasts, for at most one slice: a bin closing for every zone at once is spread over steps.
        touched |= self.lane.run_slice()
        for zid in touched:
            zr = self._zones[zid]
            if zr.unpublished is not None:
                assert zr.forecast is not None  # set with `unpublished`
                self.publication.forecast(zr.zone, zr.unpublished, zr.forecast)
                zr.unpublished = None
            self.publication.zone(zid)
        if self.patrols.dirty:
            self.publication.patrols_moved(self._zones)
        self._update_alert_gauge()
        self._update_lane_gauges()
        self._save_cursor()
        return n_rows + (1 if self.lane.has_work else 0)

    def _check_cameras(self, now: float) -> None:
        self.rules.check_cameras(now)

    def _save_cursor(self, force: bool = False) -> None:
        self.lanes.save_cursor(force)

    def _update_lane_gauges(self) -> None:
        self.telemetry.forecast_zones_waiting.set(self.lane.zones_waiting())
        self.telemetry.forecast_wait.set(self.lane.oldest_wait_s())
        self.telemetry.forecast_bins_skipped.set(self.lane.skipped)

    def _update_alert_gauge(self) -> None:
        self.telemetry.alerts_open.set(self.rules.open_alert_count())

    # -- commands ----------------------------------------------------------------------------------
    def _drain_inbox(self, now: float) -> None:
        while True:
            try:
                item = self._inbox.get_nowait()
            except queue.Empty:
                return
            handler = self._handlers.get(type(item))
            if handler is None:
                log.error("the evaluator has no handler for %s", type(item).__name__)
                continue
            try:
                handler(item, now)
            except Exception:
                log.exception("the evaluator could not handle %s", type(item).__name__)

    def _on_patrol_position(self, pos: PatrolPosition, now: float) -> None:
        if self.patrols.on_position(pos):
            self.bus.publish("patrol", self.read_model.patrol_view(pos.patrol_id, now).json_dict())

    def _on_operator_step(self, step: OperatorStep, _now: float) -> None:
        self.publication.alert("update" if step.alert.is_open else "end", step.alert)

    def _on_remote_forecast(self, cmd: RemoteForecast, _now: float) -> None:
        remote = self._zones.get(cmd.zone)
        if remote is not None and not remote.owned and cmd.site == self.registry.site:
            remote.forecast = cmd.message.view()
            self.publication.zone(cmd.zone)

    # -- read side for the API and the tests -------------------------------------------------------
    @property
    def cursor(self) -> int:
        """Every stored row with an id up to this one has been evaluated (both lanes)."""
        return self.lanes.cursor

    @property
    def backlog_rows_done(self) -> int:
        return self.lanes.backlog_rows_done

    @property
    def forecast_model(self) -> str:
        return self.rules.forecast_model

    def backlog_pending(self) -> int:
        return self.lanes.backlog_pending()

    def zone_view(self, zone_id: str) -> views.ZoneView:
        return self.read_model.zone_view(zone_id)

    def zones_view(self) -> list[views.ZoneView]:
        return self.read_model.zones_view()

    def alert_view(self, a: al.Alert) -> AlertView:
        return self.read_model.alert_view(a)

    def patrols_view(self) -> list[views.PatrolView]:
        return self.read_model.patrols_view()

    def cameras_view(self) -> list[views.CameraView]:
        return self.read_model.cameras_view()

    def open_alert_count(self) -> int:
        return self.rules.open_alert_count()


def _forecast_view(zone: str, body: dict[str, Any] | None) -> ForecastView | None:
    """A stored forecast as the zone's view; one that no longer matches the contract is left out."""
    if body is None:
        return None
    try:
        return ForecastView.model_validate(body)
    except ValidationError:
        log.warning("the stored forecast of zone %s does not match the contract; not shown", zone)
        return None
