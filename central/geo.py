"""Shared by the stages, geometry (pure): WGS-84 for zones and patrols: distances, areas, point-in-polygon, overlap.

Zones are a few hundred metres at most, so a local equirectangular projection around each
polygon is accurate to well under a percent and needs no projection library.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

EARTH_RADIUS_M = 6_371_008.8

LonLat = Sequence[float]


def haversine_m(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    """Great-circle distance in metres."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp = p2 - p1
    dl = math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(a)))


def _project(ring: Sequence[LonLat], lat0: float, lon0: float) -> list[tuple[float, float]]:
    kx = math.radians(1.0) * EARTH_RADIUS_M * math.cos(math.radians(lat0))
    ky = math.radians(1.0) * EARTH_RADIUS_M
    return [((p[0] - lon0) * kx, (p[1] - lat0) * ky) for p in ring]


def centroid(ring: Sequence[LonLat]) -> tuple[float, float]:
    """Mean of the vertices, (lon, lat): good enough for distances to a zone a patrol walks to."""
    n = len(ring)
    return (sum(p[0] for p in ring) / n, sum(p[1] for p in ring) / n)


def area_m2(ring: Sequence[LonLat]) -> float:
    lon0, lat0 = centroid(ring)
    pts = _project(ring, lat0, lon0)
    s = 0.0
    for (x1, y1), (x2, y2) in zip(pts, pts[1:] + pts[:1], strict=True):
        s += x1 * y2 - x2 * y1
    return abs(s) / 2.0


def contains(ring: Sequence[LonLat], lon: float, lat: float) -> bool:
    """Even-odd rule; works in degrees since the test only compares coordinates."""
    inside = False
    n = len(ring)
    j = n - 1
    for i in range(n):
        xi, yi = ring[i][0], ring[i][1]
        xj, yj = ring[j][0], ring[j][1]
        if (yi > lat) != (yj > lat) and lon < (xj - xi) * (lat - yi) / (yj - yi) + xi:
            inside = not inside
        j = i
    return inside


def overlap_fraction(zone: Sequence[LonLat], region: Sequence[LonLat], grid: int = 48) -> float:
    """Fraction of the zone's area inside `region` (any simple polygon), by sampling a regular grid.

    A grid keeps this exact for any concave drawing a user makes, with error ~1/grid, which is far
    below the uncertainty of a people count.
    """
    lons = [p[0] for p in zone]
    lats = [p[1] for p in zone]
    x0, x1, y0, y1 = min(lons), max(lons), min(lats), max(lats)
    inside_zone = 0
    inside_both = 0
    for i in range(grid):
        lon = x0 + (x1 - x0) * (i + 0.5) / grid
        for j in range(grid):
            lat = y0 + (y1 - y0) * (j + 0.5) / grid
            if contains(zone, lon, lat):
                inside_zone += 1
                if contains(region, lon, lat):
                    inside_both += 1
    return inside_both / inside_zone if inside_zone else 0.0


def distance_to_polygon_m(ring: Sequence[LonLat], lon: float, lat: float) -> float:
    """0 inside the polygon, else the distance to its nearest edge, in metres."""
    if contains(ring, lon, lat):
        return 0.0
    pts = _project(ring, lat, lon)  # the query point is the origin
    best = math.inf
    for (x1, y1), (x2, y2) in zip(pts, pts[1:] + pts[:1], strict=True):
        dx, dy = x2 - x1, y2 - y1
        seg2 = dx * dx + dy * dy
        t = 0.0 if seg2 == 0 else max(0.0, min(1.0, -(x1 * dx + y1 * dy) / seg2))
        best = min(best, math.hypot(x1 + t * dx, y1 + t * dy))
    return best
