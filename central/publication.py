"""Publication stage: alert and forecast messages out over the communicator, and onto the live stream.

Alerts go out retained while open (the retained copy is removed when they end), with their nearest
patrols, and again when those patrols move; forecasts are stored and published retained, the newest
per evaluator step. Other workers' alerts reach this worker's live stream unless they are our own echo.
Runs on the evaluator's thread.
"""

from __future__ import annotations

import logging
from collections import deque

from central import alerts as al
from central.clock import Clock
from central.events import EventBus
from central.forecasts import ZoneForecast
from central.mqtt.communicator import Publisher
from central.patrol_fusion import PatrolFusion
from central.read_model import ReadModel
from central.store import Store
from central.zone_state import ZoneStates
from central.zones import Zone
from contract.central_messages import AlertEventType, AlertMessage, ForecastMessage, ForecastView
from contract.topics import alert_topic, forecast_topic
from contract.wire import encode

log = logging.getLogger(__name__)


class Publication:
    def __init__(
        self,
        site: str,
        prefix: str,
        store: Store,
        publisher: Publisher,
        clock: Clock,
        bus: EventBus,
        patrols: PatrolFusion,
        read_model: ReadModel,
    ) -> None:
        self.site = site
        self.prefix = prefix
        self.store = store
        self.publisher = publisher
        self.clock = clock
        self.bus = bus
        self.patrols = patrols
        self.read_model = read_model
        self._own_echoes: deque[tuple[str, float, str, str]] = deque(maxlen=2000)

    def alert(self, event: AlertEventType, a: al.Alert) -> None:
        """MQTT (retained while open, retained copy removed at the end) and the live stream."""
        view = self.read_model.alert_view(a)
        self.patrols.sent(a.id, view.patrols)
        topic = alert_topic(self.prefix, a.id)
        self._own_echoes.append((a.id, a.updated_at_s, a.state, a.level))
        message = AlertMessage.wrap(view, event, self.site)
        self.publisher.publish(topic, encode(message), qos=1, retain=a.is_open)
        if not a.is_open:
            self.publisher.publish(topic, b"", qos=1, retain=True)
            self.patrols.sent(a.id, None)
        self.bus.publish("alert", {**view.model_dump(mode="json"), "event": event})
        log.info("alert %s", event, extra={"fields": {"alert": a.id, "state": a.state, "level": a.level}})

    def remote_alert(self, msg: AlertMessage) -> None:
        if (msg.id, msg.updated_at, msg.state, msg.level) in self._own_echoes:
            return
        self.bus.publish("alert", {**msg.view().model_dump(mode="json"), "event": msg.event})

    def forecast(self, zone: Zone, f: ZoneForecast, view: ForecastView) -> None:
        try:
            self.store.save_forecast(zone.id, f.origin_s, f.model, f.as_json(), self.clock.now())
        except Exception:
            log.exception("could not store the forecast of zone %s", zone.id)
        msg = ForecastMessage.wrap(view, self.site, zone.id)
        self.publisher.publish(forecast_topic(self.prefix, self.site, zone.id), encode(msg), qos=1, retain=True)

    def zone(self, zone_id: str) -> None:
        self.bus.publish("zone", self.read_model.zone_view(zone_id).json_dict())

    def patrols_moved(self, zones: ZoneStates) -> None:
        """Publish again every open alert whose nearest patrols changed."""
        self.patrols.dirty = False
        for zr in zones.values():
            for st in zr.rules.values():
                a = st.alert
                # A stale-camera alert lists no patrols (read_model.alert_view): nothing to follow.
                if a is None or a.kind == "stale" or not self.patrols.moved(a.id, a.zone):
                    continue
                try:
                    stored = self.store.get_alert(a.id)
                except KeyError:
                    continue
                if stored.is_open:
                    self.alert("update", stored)
