"""The JSON shapes of docs/api.md (pure): zones, alerts, patrols, cameras."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from central.alerts import Alert
from central.patrols import PatrolDistance, PatrolPosition
from central.store import CameraRow, MetricRow
from central.zones import Zone


def latest_json(m: MetricRow) -> dict[str, Any]:
    return {
        "measured_at": m.measured_at,
        "count": m.count,
        "count_max": m.count_max,
        "density": m.density,
        "speed_p50": m.speed_p50,
        "speed_p85": m.speed_p85,
        "los": m.los,
        "stale": m.stale,
    }


def history_point(m: MetricRow) -> dict[str, Any]:
    return {
        "measured_at": m.measured_at,
        "count": m.count,
        "density": m.density,
        "speed_p50": m.speed_p50,
        "speed_p85": m.speed_p85,
        "los": m.los,
        "stale": m.stale,
    }


def zone_json(z: Zone, latest: MetricRow | None, forecast: dict[str, Any] | None) -> dict[str, Any]:
    return {
        "id": z.id,
        "name": z.name,
        "camera": z.camera,
        "edge_zone": z.edge_zone,
        "polygon": [list(p) for p in z.polygon],
        "area_m2": round(z.area_m2, 2),
        "thresholds": {"warning": z.thresholds.warning, "critical": z.thresholds.critical},
        "latest": None if latest is None else latest_json(latest),
        "forecast": forecast,
    }


def alert_json(a: Alert, patrols: Sequence[PatrolDistance]) -> dict[str, Any]:
    return {
        **a.record(),
        "patrols": [p.as_json() for p in patrols],
        "history": [{"at": h.at_s, "action": h.action, "by": h.by, "detail": h.detail} for h in a.history],
    }


def patrol_json(latest: PatrolPosition, track: Sequence[PatrolPosition], stale: bool) -> dict[str, Any]:
    return {
        "id": latest.patrol_id,
        "name": latest.name,
        "lat": latest.lat,
        "lon": latest.lon,
        "acc_m": latest.acc_m,
        "at": latest.at_s,
        "stale": stale,
        "track": [[p.lon, p.lat, p.at_s] for p in track],
    }


def camera_json(c: CameraRow, stale: bool, lon_lat: tuple[float, float] | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {
        "site": c.site,
        "camera": c.camera,
        "state": "stale" if stale and c.state == "online" else c.state,
        "last_seen": c.last_seen,
        "processed_fps": c.processed_fps,
        "capture_fps": c.capture_fps,
    }
    if lon_lat is not None:  # only where the config gives the camera's position
        out["lon"], out["lat"] = lon_lat
    return out
