"""Rules stage: steps each owned zone's alert rules on metrics, forecasts and camera liveness, and stores
the alerts they raise before publication sends them.

Current level and stop-and-go run on every metric row (data time), the forecast-crossing rule on every
forecast the forecast lane makes, and `stale` on the camera checks (wall clock). Alert ids come from the
data, and the store refuses a second insert, so rows evaluated twice after a restart add nothing.
Operators' steps (from the audit log) are merged into the rule states here. Runs on the evaluator's thread.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from central import alerts as al
from central import rules
from central.config import CentralConfig
from central.forecast_lane import ForecastLane
from central.liveness import CameraLiveness
from central.obs import Telemetry
from central.store import Store, StoredMetric
from central.zone_state import ZoneRuntime, ZoneStates
from contract.central_messages import AlertEventType, ForecastView

log = logging.getLogger(__name__)

PublishAlert = Callable[[AlertEventType, al.Alert], None]


class RuleStage:
    def __init__(
        self,
        cfg: CentralConfig,
        store: Store,
        zones: ZoneStates,
        forecasts: ForecastLane,
        liveness: CameraLiveness,
        telemetry: Telemetry,
        publish: PublishAlert,
    ) -> None:
        self.cfg = cfg
        self.store = store
        self._zones = zones
        self.forecasts = forecasts
        self.liveness = liveness
        self.telemetry = telemetry
        self.publish = publish  # the publication stage's alert sender
        a = cfg.alerts
        self._timing = al.RuleTiming(a.pending_s, a.keep_firing_s)
        self._timings = {
            "forecast": al.RuleTiming(a.forecast_pending_s, a.forecast_keep_firing_s),
            "stale": al.RuleTiming(0.0, 0.0),
        }
        self._audit_cursor = 0
        self.forecast_model = "none yet"

    def restore(self) -> None:
        """Open alerts back into their owners' rule states (start-up)."""
        self._audit_cursor = self.store.max_audit_id()
        for a in self.store.open_alert_rows():
            owner = self._zones.get(a.zone)
            if owner is None or not owner.owned:
                continue
            old = owner.rules.get(a.kind)
            if old is None or old.alert is None or old.alert.opened_at_s < a.opened_at_s:
                owner.rules[a.kind] = al.restore(a)

    # -- metrics -----------------------------------------------------------------------------------
    def on_metric(self, stored: StoredMetric, now: float) -> None:
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
        if zr.zone.id in self.forecasts:
            # Forecast every bin, in data time (see central.forecast_lane), after the rules below.
            self.forecasts.push(zr.zone.id, stored.id, m.measured_at, m.density, float(m.inflow))
        a = self.cfg.alerts
        th = zr.zone.thresholds
        self.step(zr, "current", rules.current_level(m.density, th, a.clear_ratio), m.measured_at)
        cond = rules.stop_and_go(
            m.density,
            m.speed_p50,
            th,
            min_density=a.stop_go_min_density,
            speed_ratio=a.stop_go_speed_ratio,
            clear_ratio=a.clear_ratio,
        )
        self.step(zr, "stop_and_go", cond, m.measured_at)

    # -- forecasts ---------------------------------------------------------------------------------
    def on_forecast_due(self, zr: ZoneRuntime, t: float) -> None:
        """The forecast lane's call: forecast the zone at data time `t` and step its forecast rule."""
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
        zr.forecast = ForecastView.model_validate(f.as_json())
        # Stored and published once per poll (the newest): a backlog's intermediate forecasts only feed the rules.
        zr.unpublished = f
        crossings = [rules.CrossingIn(c.name, c.threshold, c.probability, c.expected_time_s) for c in f.crossings]
        a = self.cfg.alerts
        cond = rules.forecast_crossing(crossings, th, a.forecast_probability, a.clear_ratio)
        first_t = self.forecasts.first_t(zr.zone.id)
        if first_t is None or t - first_t < a.forecast_min_history_s:
            return
        self.step(zr, "forecast", cond, t)

    # -- cameras -----------------------------------------------------------------------------------
    def check_cameras(self, now: float) -> None:
        """One `stale` alert per silent camera, not one per zone: it is carried by the camera's first zone
        (by id, so every worker picks the same one and only its owner raises it) and names the others."""
        self.liveness.checked(now)
        self.liveness.announce_changes(now)
        site = self.liveness.registry.site
        by_camera: dict[str, list[ZoneRuntime]] = {}
        for zr in sorted(self._zones.values(), key=lambda z: z.zone.id):
            by_camera.setdefault(zr.zone.camera, []).append(zr)
        for camera, zones in by_camera.items():
            carrier, others = zones[0], zones[1:]
            for zr in others:
                # A per-zone stale alert from before this rule (restored from the store) clears now.
                if zr.owned and "stale" in zr.rules:
                    self.step(zr, "stale", rules.camera_stale(False, camera, ""), now)
            if not carrier.owned:
                continue
            cam = self.liveness.get(site, camera)
            if cam is None or (cam.last_seen_wall is None and "stale" not in carrier.rules):
                continue
            stale, reason = self.liveness.stale(cam, now)
            if not stale and any(zr.latest is not None and zr.latest.stale for zr in zones):
                stale, reason = True, "reports no frames"
            names = ", ".join(zr.zone.name for zr in zones)
            shown = next(
                (c.display_name for c in self.cfg.cameras if c.id == camera and (c.site or self.cfg.site.id) == site),
                None,
            )
            self.step(carrier, "stale", rules.camera_stale(stale, camera, f"{reason} (zones: {names})", shown), now)

    # -- operators ---------------------------------------------------------------------------------
    def merge_operator_steps(self) -> None:
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

    # -- stepping and storing ----------------------------------------------------------------------
    def step(self, zr: ZoneRuntime, kind: al.Kind, cond: al.Condition, t: float) -> None:
        timing = self._timings.get(kind, self._timing)
        state = zr.rules.get(kind, al.RuleState())
        new_state, events = al.evaluate(state, cond, t, zr.zone.id, kind, timing)
        zr.rules[kind] = new_state
        for ev in events:
            self._store_and_publish(zr, ev)

    def _store_and_publish(self, zr: ZoneRuntime, ev: al.AlertEvent) -> None:
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
                step = step if step is not None and step.action in ("escalated", "de-escalated") else None
                if not self.store.update_alert_from_rules(a, step):
                    return  # it has ended (resolved, or cleared before a restart): nothing to publish
            elif ev.type == "end" and not self.store.clear_alert(a):
                return  # an operator resolved it first; that end was already published
            stored = self.store.get_alert(a.id)
        except Exception:
            log.exception("could not store alert %s", a.id)
            stored = a
        self.publish(ev.type, stored)

    def open_alert_count(self) -> int:
        return sum(1 for zr in self._zones.values() for st in zr.rules.values() if st.alert is not None)
