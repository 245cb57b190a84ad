"""Local metres <-> WGS-84 on a tangent plane at a site origin.

Scenario sites span a few hundred metres, where an equirectangular approximation is good to a few
centimetres; that is all the scenarios need, and it avoids a projection library.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

EARTH_RADIUS_M = 6_371_008.8


@dataclass(frozen=True)
class LocalFrame:
    """A tangent plane at (`origin_lon`, `origin_lat`): x_m points east, y_m north."""

    origin_lon: float
    origin_lat: float

    def __post_init__(self) -> None:
        if not (-180.0 <= self.origin_lon <= 180.0 and -85.0 <= self.origin_lat <= 85.0):
            raise ValueError(f"LocalFrame: origin ({self.origin_lon}, {self.origin_lat}) is not a usable lon/lat")

    @property
    def _m_per_deg_lat(self) -> float:
        return math.pi * EARTH_RADIUS_M / 180.0

    @property
    def _m_per_deg_lon(self) -> float:
        return self._m_per_deg_lat * math.cos(math.radians(self.origin_lat))

    def to_lonlat(self, x_m: float, y_m: float) -> tuple[float, float]:
        return (self.origin_lon + x_m / self._m_per_deg_lon, self.origin_lat + y_m / self._m_per_deg_lat)

    def to_local(self, lon: float, lat: float) -> tuple[float, float]:
        return ((lon - self.origin_lon) * self._m_per_deg_lon, (lat - self.origin_lat) * self._m_per_deg_lat)


def polygon_area_m2(points_m: list[tuple[float, float]]) -> float:
    """Shoelace area of a simple polygon in metres (orientation-free)."""
    n = len(points_m)
    if n < 3:
        raise ValueError(f"a polygon needs at least 3 points, got {n}")
    s = 0.0
    for i in range(n):
        x0, y0 = points_m[i]
        x1, y1 = points_m[(i + 1) % n]
        s += x0 * y1 - x1 * y0
    return abs(s) / 2.0
