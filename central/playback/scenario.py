"""The scenario format: a site, its zones with a timeline of crowd levels, patrol routes and the
alerts a correct central must raise.

YAML, validated by pydantic with unknown keys rejected, so a typo in a test scenario fails loudly
instead of silently testing something else. Times are seconds from the scenario's start.
Geometry is written either in WGS-84 (`polygon`, `route`: [[lon, lat], ...]) or in local metres east/north
of the site origin (`polygon_m`, `route_m`), whichever is easier to author.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

import configio
from central.playback.geo import LocalFrame, polygon_area_m2

Pair = Annotated[list[float], Field(min_length=2, max_length=2)]
_ID = Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_.-]+$")


class ScenarioError(ValueError):
    """A scenario file that cannot be used; the message names the file and the key."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class Site(_Model):
    name: str = Field(default="Scenario site", min_length=1)
    id: str = Field(default="site", min_length=1, pattern=r"^[A-Za-z0-9_.-]+$", description="MQTT site id.")
    origin: Pair = Field(description="[lon, lat] of the local metric frame's origin.")
    topic_prefix: str = Field(default="crowd/v1", min_length=1)

    @property
    def frame(self) -> LocalFrame:
        return LocalFrame(origin_lon=self.origin[0], origin_lat=self.origin[1])


class Thresholds(_Model):
    warning: float = Field(gt=0, description="persons/m2")
    critical: float = Field(gt=0, description="persons/m2")

    @model_validator(mode="after")
    def _ordered(self) -> Thresholds:
        if self.critical <= self.warning:
            raise ValueError(f"critical ({self.critical}) must be above warning ({self.warning})")
        return self


class LevelPoint(_Model):
    t_s: float = Field(ge=0)
    density: float = Field(ge=0, le=10, description="persons/m2")


class LevelsTimeline(_Model):
    """Density scripted as a piecewise-linear curve, plus seeded multiplicative noise."""

    kind: Literal["levels"] = "levels"
    points: list[LevelPoint] = Field(min_length=1)
    noise: float = Field(default=0.05, ge=0, le=1, description="Relative standard deviation of the noise.")
    seed: int = 0

    @model_validator(mode="after")
    def _sorted(self) -> LevelsTimeline:
        ts = [p.t_s for p in self.points]
        if ts != sorted(ts) or len(set(ts)) != len(ts):
            raise ValueError(f"points must have strictly increasing t_s, got {ts}")
        return self


class LayerPoint(_Model):
    t_s: float = Field(ge=0)
    layers: float = Field(ge=0, le=50, description="How many time-shifted copies of the recorded crowd walk at once.")


class TrajectoriesTimeline(_Model):
    """Real ETH/UCY walkers (shared data), stacked in layers: the zone is the scenario polygon in
    dataset metres after subtracting `offset_m`."""

    kind: Literal["trajectories"] = "trajectories"
    dataset: Literal["students03", "zara01", "zara02", "seq_eth", "seq_hotel"] = "students03"
    offset_m: Pair = Field(default=[0.0, 0.0], description="Site metres of the dataset's origin.")
    layers: list[LayerPoint] = Field(min_length=1)
    seed: int = 0


class GymTimeline(_Model):
    """The shared campus-gym occupancy series over one local day window, spread over the zone's area."""

    kind: Literal["gym"] = "gym"
    date: str = Field(pattern=r"^\d{4}-\d{2}-\d{2}$", description="Local date of the series to use.")
    from_hour: float = Field(ge=0, lt=24)
    max_gap_s: float = Field(default=1800, gt=0, description="Refuse a window with a longer hole in the data.")


class RecordedTimeline(_Model):
    """A recorded JSONL stream (crowd-central record); relative paths are relative to the scenario file."""

    kind: Literal["recorded"] = "recorded"
    path: str = Field(min_length=1)


class SimulatedTimeline(_Model):
    """A crowd simulated with JuPedSim on one of `crowdsim.sites`' layouts, the zone measured by PedPy.

    `demand` is checked by `crowdsim.demand.Demand` when the scenario is built (the `sim` extra)."""

    kind: Literal["simulated"] = "simulated"
    site: str = Field(
        min_length=1, description="A layout of crowdsim.sites: square_street, concourse_gates, event_egress."
    )
    zone: str = Field(min_length=1, description="The site's zone this scenario zone shows.")
    demand: dict[str, object] = Field(description="Arrivals, releases and blocked exits (crowdsim.demand.Demand).")


Timeline = Annotated[
    LevelsTimeline | TrajectoriesTimeline | GymTimeline | RecordedTimeline | SimulatedTimeline,
    Field(discriminator="kind"),
]


class Zone(_Model):
    id: str = _ID
    name: str | None = None
    camera: str = _ID
    edge_zone: str = _ID
    polygon: list[Pair] | None = Field(default=None, min_length=3, description="[[lon, lat], ...]")
    polygon_m: list[Pair] | None = Field(default=None, min_length=3, description="[[x_m, y_m], ...] from the origin")
    thresholds: Thresholds
    timeline: Timeline

    @model_validator(mode="after")
    def _one_polygon(self) -> Zone:
        if (self.polygon is None) == (self.polygon_m is None):
            raise ValueError("give exactly one of 'polygon' (lon/lat) or 'polygon_m' (metres)")
        return self

    @field_validator("polygon", "polygon_m")
    @classmethod
    def _not_crossing(cls, ring: list[list[float]] | None) -> list[list[float]] | None:
        if ring is not None and (edges := configio.crossing_edges(ring)) is not None:
            raise ValueError(configio.crossing_message(edges, len(ring)))
        return ring


class Patrol(_Model):
    user: str = _ID
    device: str = Field(default="phone", min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")
    tid: str = Field(min_length=1, max_length=2, description="OwnTracks tracker id (2 characters).")
    speed_mps: float = Field(default=1.3, gt=0, le=10)
    acc_m: float = Field(default=8.0, gt=0, description="Reported GPS accuracy.")
    period_s: float = Field(default=30.0, gt=0, description="Seconds between position reports.")
    loop: bool = Field(default=True, description="Walk the route again from the start; else go back and forth.")
    start_offset_m: float = Field(default=0.0, ge=0, description="Distance along the route at t=0.")
    route: list[Pair] | None = Field(default=None, min_length=2)
    route_m: list[Pair] | None = Field(default=None, min_length=2)

    @model_validator(mode="after")
    def _one_route(self) -> Patrol:
        if (self.route is None) == (self.route_m is None):
            raise ValueError("give exactly one of 'route' (lon/lat) or 'route_m' (metres)")
        return self


class ExpectedAlert(_Model):
    kind: Literal["current", "forecast"]
    zone: str = _ID
    level: Literal["warning", "critical"] = "warning"
    crossing_s: float | None = Field(
        default=None, ge=0, description="Scripted crossing time; absent: computed from the zone's timeline."
    )
    window_s: Pair = Field(description="[earliest, latest] seconds relative to the crossing time.")

    @model_validator(mode="after")
    def _window(self) -> ExpectedAlert:
        if self.window_s[1] < self.window_s[0]:
            raise ValueError(f"window_s must be [earliest, latest], got {self.window_s}")
        return self


class Scenario(_Model):
    name: str = _ID
    description: str = ""
    kind: Literal["buildup", "calm", "other"] = Field(description="Build-ups are scored for lead time.")
    site: Site
    duration_s: float = Field(gt=0, le=7 * 86400)
    interval_s: float = Field(default=10.0, gt=0, le=3600, description="Metrics interval of the generated streams.")
    zones: list[Zone] = Field(min_length=1)
    patrols: list[Patrol] = Field(default_factory=list)
    expected_alerts: list[ExpectedAlert] = Field(default_factory=list)

    @model_validator(mode="after")
    def _consistent(self) -> Scenario:
        ids = [z.id for z in self.zones]
        if len(set(ids)) != len(ids):
            raise ValueError(f"zones: duplicate ids in {ids}")
        pairs = [(z.camera, z.edge_zone) for z in self.zones]
        if len(set(pairs)) != len(pairs):
            raise ValueError("zones: two zones share one (camera, edge_zone)")
        users = [(p.user, p.device) for p in self.patrols]
        if len(set(users)) != len(users):
            raise ValueError("patrols: duplicate (user, device)")
        for i, e in enumerate(self.expected_alerts):
            if e.zone not in ids:
                raise ValueError(f"expected_alerts.{i}: unknown zone {e.zone!r}")
        if self.kind == "calm" and self.expected_alerts:
            raise ValueError("a calm scenario expects no alerts")
        if self.kind == "buildup" and not self.expected_alerts:
            raise ValueError("a build-up scenario must expect at least one alert")
        for z in self.zones:
            if isinstance(z.timeline, TrajectoriesTimeline) and z.polygon_m is None:
                raise ValueError(f"zones.{z.id}: a trajectories timeline needs 'polygon_m'")
        return self

    def zone(self, zone_id: str) -> Zone:
        for z in self.zones:
            if z.id == zone_id:
                return z
        raise KeyError(zone_id)

    def polygon_m(self, zone: Zone) -> list[tuple[float, float]]:
        if zone.polygon_m is not None:
            return [(p[0], p[1]) for p in zone.polygon_m]
        assert zone.polygon is not None
        return [self.site.frame.to_local(p[0], p[1]) for p in zone.polygon]

    def polygon_lonlat(self, zone: Zone) -> list[tuple[float, float]]:
        if zone.polygon is not None:
            return [(p[0], p[1]) for p in zone.polygon]
        return [self.site.frame.to_lonlat(x, y) for x, y in self.polygon_m(zone)]

    def area_m2(self, zone: Zone) -> float:
        return polygon_area_m2(self.polygon_m(zone))

    def route_m(self, patrol: Patrol) -> list[tuple[float, float]]:
        if patrol.route_m is not None:
            return [(p[0], p[1]) for p in patrol.route_m]
        assert patrol.route is not None
        return [self.site.frame.to_local(p[0], p[1]) for p in patrol.route]

    def central_site_config(self) -> dict[str, object]:
        """The `site` and `zones` sections of central's config (central/config.py) for this scenario."""
        return {
            "site": {"id": self.site.id, "name": self.site.name, "center": list(self.site.origin)},
            "zones": [
                {
                    "id": z.id,
                    "name": z.name or z.id,
                    "camera": z.camera,
                    "edge_zone": z.edge_zone,
                    "polygon": [[round(lon, 7), round(lat, 7)] for lon, lat in self.polygon_lonlat(z)],
                    "thresholds": {"warning": z.thresholds.warning, "critical": z.thresholds.critical},
                }
                for z in self.zones
            ],
        }


def _format(origin: str | Path, err: ValidationError) -> str:
    return configio.format_validation_error(origin, err, "scenario")


def parse(data: object, origin: str | Path = "<scenario>") -> Scenario:
    return configio.validate(Scenario, data, origin, what="scenario", error=ScenarioError)


def load(path: str | Path) -> Scenario:
    """Read and validate a scenario file (a recorded timeline's relative path is resolved by the builders)."""
    return configio.load(Scenario, path, what="scenario", error=ScenarioError, resolve_paths=False)
