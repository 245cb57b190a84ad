"""Read-model stage: the typed views the API and the live stream show (zones, alerts, patrols, cameras).

Built from the evaluator's zone state, camera liveness and patrol fusion as the models of
central/views.py; the API's HTTP threads read them and never mutate anything.
"""

from __future__ import annotations

import math

from central import alerts as al
from central import geo, views
from central.clock import Clock
from central.liveness import CameraLiveness
from central.patrol_fusion import PatrolFusion
from central.zone_state import ZoneStates
from contract.central_messages import AlertView


class ReadModel:
    def __init__(self, zones: ZoneStates, liveness: CameraLiveness, patrols: PatrolFusion, clock: Clock) -> None:
        self._zones = zones
        self.liveness = liveness
        self.patrols = patrols
        self.clock = clock

    def zone_view(self, zone_id: str) -> views.ZoneView:
        zr = self._zones[zone_id]
        return views.zone_view(zr.zone, zr.latest, zr.forecast)

    def zones_view(self) -> list[views.ZoneView]:
        return [self.zone_view(zid) for zid in list(self._zones)]

    def alert_view(self, a: al.Alert) -> AlertView:
        # A silent camera is for the technicians, not the patrols: no nearest patrols on it.
        return views.alert_view(a, [] if a.kind == "stale" else self.patrols.nearest(a.zone))

    def patrols_view(self) -> list[views.PatrolView]:
        return self.patrols.views()

    def patrol_view(self, patrol_id: str, now: float) -> views.PatrolView:
        return self.patrols.view(patrol_id, now)

    def cameras_view(self) -> list[views.CameraView]:
        return self.liveness.views(self.clock.now())


def region_summary(zones: list[views.ZoneView], polygon: list[list[float]]) -> views.RegionSummary:
    """People inside a drawn polygon: each zone's figures weighted by the share of its area inside it."""
    out = []
    people = forecast_people = area_in = 0.0
    for z in zones:
        overlap = geo.overlap_fraction(z.polygon, polygon)
        if overlap <= 0:
            continue
        latest = z.latest
        zp = (latest.count * overlap) if latest else 0.0
        density = latest.density if latest else None
        fp = None
        if z.forecast and z.forecast.yhat:
            fp = float(z.forecast.yhat[-1]) * z.area_m2 * overlap
            forecast_people += fp
        people += zp
        area_in += z.area_m2 * overlap
        out.append(views.RegionZone(id=z.id, overlap=round(overlap, 4), people=zp, density=density, forecast_people=fp))
    mean = people / area_in if area_in > 0 else 0.0
    return views.RegionSummary(
        people=people,
        mean_density=mean if math.isfinite(mean) else 0.0,
        forecast_people=forecast_people,
        zones=out,
    )
