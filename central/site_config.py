"""Process, config: the site part of central's configuration: the site itself, its zones and cameras.

Split from central/config.py (which re-exports every name here, so `central.config.ZoneConfig` keeps
working) because these models are what the map and the console show, while the rest of config.py is how
central runs. Threshold defaults follow Fruin's walkway levels of service: about 2 persons/m² is where a
moving crowd gets uncomfortable and about 4 persons/m² is critical for a moving crowd.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

import configio

__all__ = [
    "DEFAULT_CRITICAL_PPM2",
    "DEFAULT_WARNING_PPM2",
    "DISPLAY_NAME_MAX",
    "ID_PATTERN",
    "SWAP_KM",
    "CameraConfig",
    "LonLat",
    "Model",
    "SiteConfig",
    "Thresholds",
    "ZoneConfig",
    "swapped_zone_error",
]

DEFAULT_WARNING_PPM2 = 2.0
DEFAULT_CRITICAL_PPM2 = 4.0

LonLat = Annotated[list[float], Field(min_length=2, max_length=2)]
SWAP_KM = 50.0  # a zone this far from the rest of the site, but on it with lat/lon swapped, is written [lat, lon]
ID_PATTERN = r"^[A-Za-z0-9_.-]+$"
# Display names are for people on a wall screen: long enough for "North entrance, upper concourse".
DISPLAY_NAME_MAX = 200


class Model(BaseModel):
    """Base of every central config model: unknown keys are errors, values are frozen and finite."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class Thresholds(Model):
    warning: float = Field(default=DEFAULT_WARNING_PPM2, gt=0, le=100, description="Warning density, persons/m².")
    critical: float = Field(default=DEFAULT_CRITICAL_PPM2, gt=0, le=100, description="Critical density, persons/m².")

    @model_validator(mode="after")
    def _ordered(self) -> Thresholds:
        if self.critical <= self.warning:
            raise ValueError(f"critical ({self.critical}) must be above warning ({self.warning})")
        return self


class ZoneConfig(Model):
    id: str = Field(min_length=1, max_length=128, pattern=ID_PATTERN, description="Site-wide zone id.")
    # A zone's display name has always been `name` (scenario files and the API's ZoneView use it too), so
    # it gets no second `display_name` key that would mean the same thing.
    name: str | None = Field(
        default=None,
        max_length=DISPLAY_NAME_MAX,
        description="Display name the console shows (the id stays in its tooltips); defaults to the id.",
    )
    camera: str = Field(min_length=1, max_length=128, pattern=ID_PATTERN, description="Edge camera id.")
    edge_zone: str = Field(min_length=1, max_length=128, pattern=ID_PATTERN, description="Zone id at the edge.")
    polygon: list[LonLat] = Field(min_length=3, description="WGS-84 ring, GeoJSON order [lon, lat].")
    thresholds: Thresholds | None = Field(default=None, description="Per-zone thresholds; site defaults if absent.")

    @field_validator("polygon")
    @classmethod
    def _wgs84(cls, ring: list[list[float]]) -> list[list[float]]:
        for i, (lon, lat) in enumerate(ring):
            if not (-180.0 <= lon <= 180.0 and -90.0 <= lat <= 90.0):
                raise ValueError(f"point {i} [{lon}, {lat}] is not [lon, lat] in degrees (GeoJSON order)")
        if ring[0] == ring[-1]:
            ring = ring[:-1]
        if len(ring) < 3:
            raise ValueError("a polygon needs at least 3 distinct points")
        if (edges := configio.crossing_edges(ring)) is not None:
            raise ValueError(configio.crossing_message(edges, len(ring)))
        return ring

    def centroid(self) -> tuple[float, float]:
        return (
            sum(p[0] for p in self.polygon) / len(self.polygon),
            sum(p[1] for p in self.polygon) / len(self.polygon),
        )


class SiteConfig(Model):
    id: str = Field(default="site", min_length=1, max_length=128, pattern=ID_PATTERN, description="Edge site id.")
    name: str = Field(default="Site", max_length=DISPLAY_NAME_MAX, description="Display name.")
    center: LonLat | None = Field(default=None, description="Map centre [lon, lat]; default: the zones' centre.")
    tile_url: str | None = Field(default=None, description="XYZ tile URL template for the console map.")
    basemap: str | None = Field(
        default=None,
        description="GeoJSON file drawn under the zones (offline basemap); relative to the config file's folder.",
    )
    thresholds: Thresholds = Field(default_factory=Thresholds, description="Defaults for zones without their own.")
    timezone: str = Field(
        default="UTC",
        description="IANA time zone of the site: the forecasts' time-of-day/week profile follows it, and the "
        "console shows every clock time in it.",
    )

    @field_validator("basemap")
    @classmethod
    def _relative_to_config(cls, v: str | None, info: ValidationInfo) -> str | None:
        return None if v is None else configio.resolve_path(v, configio.base_dir(info.context))

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, tz: str) -> str:
        try:
            ZoneInfo(tz)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {tz!r} (an IANA name such as 'Europe/Zurich')") from None
        return tz


class CameraConfig(Model):
    """What the console shows of a camera: its display name and, optionally, where it stands."""

    id: str = Field(min_length=1, max_length=128, pattern=ID_PATTERN, description="Edge camera id.")
    site: str | None = Field(default=None, max_length=128, pattern=ID_PATTERN, description="Default: site.id.")
    display_name: str | None = Field(
        default=None,
        min_length=1,
        max_length=DISPLAY_NAME_MAX,
        description="Name the console shows (the id stays in its tooltips); defaults to the id.",
    )
    lon: float | None = Field(default=None, ge=-180, le=180, description="Camera position, WGS-84 longitude.")
    # validate_default: a missing lat beside a given lon is an error named `cameras.N.lat`.
    lat: float | None = Field(
        default=None, ge=-90, le=90, validate_default=True, description="Camera position, WGS-84 latitude."
    )

    @field_validator("lat")
    @classmethod
    def _both_or_neither(cls, lat: float | None, info: ValidationInfo) -> float | None:
        if (info.data.get("lon") is None) != (lat is None):
            raise ValueError("give both 'lon' and 'lat', or neither (a camera without a position on the map)")
        return lat

    @property
    def position(self) -> tuple[float, float] | None:
        return None if self.lon is None or self.lat is None else (self.lon, self.lat)


def swapped_zone_error(site: SiteConfig, cameras: Sequence[CameraConfig], zones: Sequence[ZoneConfig]) -> str | None:
    """A zone given as [lat, lon] lands far from the site (tens to thousands of km) while its swapped
    corners land on it: name it instead of drawing it in the sea. The site is where the map centre, the
    cameras and the other zones are."""
    placed = [(c.id, c.position) for c in cameras if c.position is not None]
    for i, z in enumerate(zones):
        refs = [(site.center[0], site.center[1])] if site.center else []
        refs += [p for cid, p in placed if cid == z.camera] or [p for _, p in placed]
        others = [o.centroid() for o in zones if o is not z]
        if others and not refs:
            refs = [(statistics.median([p[0] for p in others]), statistics.median([p[1] for p in others]))]
        if not refs:
            continue
        lon, lat = z.centroid()
        near = min(_km((lon, lat), r) for r in refs)
        near_swapped = min(_km((lat, lon), r) for r in refs)
        if near > SWAP_KM and near_swapped < SWAP_KM:
            return (
                f"zones.{i}.polygon: zone {z.id!r} lies {near:.0f} km from the site but on it with latitude and "
                "longitude swapped: write each point [lon, lat] (GeoJSON order)"
            )
    return None


def _km(a: tuple[float, ...], b: tuple[float, ...]) -> float:
    """Great-circle distance in km between two [lon, lat] points (haversine)."""
    lon1, lat1, lon2, lat2 = map(math.radians, (a[0], a[1], b[0], b[1]))
    h = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    return 2 * 6371.0 * math.asin(min(1.0, math.sqrt(h)))
