"""Shared by the stages, zone registry (pure): zone ids, their edge mapping, areas, thresholds and owning worker."""

from __future__ import annotations

import zlib
from dataclasses import dataclass

from central import geo
from central.config import CentralConfig, ZoneConfig
from central.rules import ThresholdsPpm2


@dataclass(frozen=True)
class Zone:
    id: str
    name: str
    camera: str
    edge_zone: str
    polygon: tuple[tuple[float, float], ...]  # [lon, lat]
    area_m2: float
    thresholds: ThresholdsPpm2


def owner_of(zone_id: str, worker_count: int) -> int:
    """Stable across processes and restarts (unlike hash()), so every worker agrees who owns a zone."""
    return zlib.crc32(zone_id.encode("utf-8")) % worker_count


class ZoneRegistry:
    def __init__(self, cfg: CentralConfig) -> None:
        self.site = cfg.site.id
        self._by_id: dict[str, Zone] = {}
        self._by_edge: dict[tuple[str, str], Zone] = {}
        self._worker = cfg.worker
        for zc in cfg.zones:
            z = _zone(zc, cfg)
            self._by_id[z.id] = z
            self._by_edge[(z.camera, z.edge_zone)] = z

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(self._by_id.values())

    def __len__(self) -> int:
        return len(self._by_id)

    def get(self, zone_id: str) -> Zone | None:
        return self._by_id.get(zone_id)

    def for_edge(self, camera: str, edge_zone: str) -> Zone | None:
        return self._by_edge.get((camera, edge_zone))

    def owned(self, zone_id: str) -> bool:
        return owner_of(zone_id, self._worker.count) == self._worker.index

    def cameras(self) -> set[str]:
        return {z.camera for z in self._by_id.values()}

    def zones_of_camera(self, camera: str) -> list[Zone]:
        return [z for z in self._by_id.values() if z.camera == camera]

    def center(self) -> tuple[float, float]:
        pts = [p for z in self._by_id.values() for p in z.polygon]
        if not pts:
            return (0.0, 0.0)
        return geo.centroid(pts)


def _zone(zc: ZoneConfig, cfg: CentralConfig) -> Zone:
    th = cfg.zone_thresholds(zc)
    ring = tuple((float(p[0]), float(p[1])) for p in zc.polygon)
    return Zone(
        id=zc.id,
        name=zc.name or zc.id,
        camera=zc.camera,
        edge_zone=zc.edge_zone,
        polygon=ring,
        area_m2=geo.area_m2(ring),
        thresholds=ThresholdsPpm2(th.warning, th.critical),
    )
