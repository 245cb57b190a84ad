"""Read-model stage: the views the API and the live stream show (zones, alerts, patrols, cameras).

Built from the evaluator's zone state, camera liveness and patrol fusion; the API's HTTP threads read
them as copies and never mutate anything.
"""

from __future__ import annotations

from typing import Any

from central import alerts as al
from central import views
from central.clock import Clock
from central.liveness import CameraLiveness
from central.patrol_fusion import PatrolFusion
from central.zone_state import ZoneStates


class ReadModel:
    def __init__(self, zones: ZoneStates, liveness: CameraLiveness, patrols: PatrolFusion, clock: Clock) -> None:
        self._zones = zones
        self.liveness = liveness
        self.patrols = patrols
        self.clock = clock

    def zone_view(self, zone_id: str) -> dict[str, Any]:
        zr = self._zones[zone_id]
        return views.zone_json(zr.zone, zr.latest, zr.forecast)

    def zones_view(self) -> list[dict[str, Any]]:
        return [self.zone_view(zid) for zid in list(self._zones)]

    def alert_view(self, a: al.Alert) -> dict[str, Any]:
        return views.alert_json(a, self.patrols.nearest(a.zone))

    def patrols_view(self) -> list[dict[str, Any]]:
        return self.patrols.views()

    def patrol_view(self, patrol_id: str, now: float) -> dict[str, Any]:
        return self.patrols.view(patrol_id, now)

    def cameras_view(self) -> list[dict[str, Any]]:
        return self.liveness.views(self.clock.now())
