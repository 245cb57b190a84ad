"""Read-model stage, view models: the typed shapes of docs/api.md (zones, alerts, patrols, cameras).

The API returns these models and the live stream sends them as JSON; an alert's view is contract's
`AlertView`, the body of the MQTT `AlertMessage` too, and a zone's forecast is contract's `ForecastView`.
Built from the evaluator's state by central/read_model.py (pure functions here).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict, SerializerFunctionWrapHandler, model_serializer

from central.alerts import Alert
from central.patrols import PatrolDistance, PatrolPosition
from central.store import CameraRow, MetricRow
from central.zones import Zone
from contract.central_messages import AlertView, AuditEntry, ForecastView


class View(BaseModel):
    """Base of the API's response models: built from central's own state, never from a request."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    def json_dict(self) -> dict[str, Any]:
        """The JSON object the API and the live stream send."""
        return self.model_dump(mode="json")


class HistoryPoint(View):
    """One stored metric row of a zone's history (read from a `MetricRow`'s attributes of the same names)."""

    model_config = ConfigDict(extra="forbid", frozen=True, from_attributes=True)

    measured_at: float
    count: float
    density: float
    speed_p50: float | None
    speed_p85: float | None
    los: str
    stale: bool


class LatestView(HistoryPoint):
    """A zone's latest row: a history point with the interval's highest count."""

    count_max: int


class Thresholds(View):
    warning: float
    critical: float


class ZoneView(View):
    id: str
    name: str
    camera: str
    edge_zone: str
    polygon: list[list[float]]
    area_m2: float
    thresholds: Thresholds
    latest: LatestView | None
    forecast: ForecastView | None


class PatrolView(View):
    id: str
    name: str
    lat: float
    lon: float
    acc_m: float | None
    at: float
    stale: bool
    track: list[list[float]]  # [lon, lat, at] per position, oldest first
    # Central's age limit: between two fixes the page ages `at` on central's clock and shows the patrol
    # stale past this, as central does (a patrol that stops sending sends no event saying so).
    stale_after_s: float | None = None


class CameraView(View, CameraRow):
    """A camera's stored row (its state `stale` where an online camera went silent) and its position."""

    # Central's silence limit: between two announcements the page ages `last_seen` on central's clock
    # and calls an online camera stale past this, as central does.
    stale_after_s: float | None = None
    # What the console calls the camera (config `cameras[].display_name`); the id when none is given.
    # A default so that a row read back without it (snapshot_api, old clients) still validates.
    display_name: str = ""
    lon: float | None = None  # only where the config gives the camera's position
    lat: float | None = None

    @model_serializer(mode="wrap")
    def _position_only_when_known(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        out: dict[str, Any] = handler(self)
        if self.lon is None or self.lat is None:
            out.pop("lon", None)
            out.pop("lat", None)
        return out


def history_point(m: MetricRow) -> HistoryPoint:
    return HistoryPoint.model_validate(m)


def latest_view(m: MetricRow) -> LatestView:
    return LatestView.model_validate(m)


def zone_view(z: Zone, latest: MetricRow | None, forecast: ForecastView | None) -> ZoneView:
    return ZoneView(
        id=z.id,
        name=z.name,
        camera=z.camera,
        edge_zone=z.edge_zone,
        polygon=[list(p) for p in z.polygon],
        area_m2=round(z.area_m2, 2),
        thresholds=Thresholds(warning=z.thresholds.warning, critical=z.thresholds.critical),
        latest=None if latest is None else latest_view(latest),
        forecast=forecast,
    )


def alert_view(a: Alert, patrols: Sequence[PatrolDistance]) -> AlertView:
    return AlertView(
        id=a.id,
        zone=a.zone,
        kind=a.kind,
        level=a.level,
        state=a.state,
        opened_at=a.opened_at_s,
        updated_at=a.updated_at_s,
        ended_at=a.ended_at_s,
        value=a.value,
        threshold=a.threshold,
        expected_crossing_at=a.expected_crossing_at_s,
        probability=a.probability,
        message=a.message,
        assigned_patrol=a.assigned_patrol,
        patrols=[p.ref() for p in patrols],
        history=[AuditEntry(at=h.at_s, action=h.action, by=h.by, detail=h.detail) for h in a.history],
    )


def patrol_view(
    latest: PatrolPosition, track: Sequence[PatrolPosition], stale: bool, stale_after_s: float | None = None
) -> PatrolView:
    return PatrolView(
        id=latest.patrol_id,
        name=latest.name,
        lat=latest.lat,
        lon=latest.lon,
        acc_m=latest.acc_m,
        at=latest.at_s,
        stale=stale,
        track=[[p.lon, p.lat, p.at_s] for p in track],
        stale_after_s=stale_after_s,
    )


def camera_view(
    c: CameraRow,
    stale: bool,
    lon_lat: tuple[float, float] | None = None,
    stale_after_s: float | None = None,
    display_name: str | None = None,
) -> CameraView:
    lon, lat = lon_lat if lon_lat is not None else (None, None)
    state = "stale" if stale and c.state == "online" else c.state
    return CameraView.model_validate(
        {
            **c.model_dump(),
            "state": state,
            "lon": lon,
            "lat": lat,
            "stale_after_s": stale_after_s,
            "display_name": display_name or c.camera,
        }
    )


class HistoryView(View):
    zone: str
    points: list[HistoryPoint]


class RegionZone(View):
    id: str
    overlap: float
    people: float
    density: float | None
    forecast_people: float | None


class RegionSummary(View):
    """People inside a drawn polygon (POST /api/region)."""

    people: float
    mean_density: float
    forecast_people: float
    zones: list[RegionZone]


class ForecastSettings(View):
    step_s: float
    horizon_s: float


class SiteView(View):
    name: str
    id: str
    center: list[float]
    basemap: Any
    tile_url: str | None
    thresholds_default: Thresholds
    los_bands: Any
    forecast: ForecastSettings
    timezone: str  # IANA name (config site.timezone): the console shows every clock time in it


class LoginOut(View):
    token: str
    role: str
    username: str
    display_name: str  # config users[].display_name, else the username
    expires_at: float


class MeOut(View):
    username: str
    role: str
    display_name: str  # config users[].display_name, else the username


class OkOut(View):
    ok: bool


class HealthView(View):
    """GET /healthz (503 with status `degraded` when the database does not answer)."""

    status: str
    database: bool
    mqtt_connected: bool | None
    forecast_model: str
    worker: int
    workers: int
    started_at: float
    now: float
    clock_speed: float
    clock_start_s: float | None
