"""Per-zone, per-interval metrics (pure): people on the ground -> ZoneMetrics.

Feed one `Observation` per processed frame (confirmed people with their ground positions); the
aggregator closes an interval when a frame falls past its end and returns that interval's metrics.
Intervals are aligned to multiples of `interval_s` of the source clock (source seconds for files,
UNIX time for live sources), so two edges' intervals line up.

Speeds come from each track's ground displacement over `speed_window_s` of real time; a speed above
`max_speed_mps` is a tracking glitch (an id switch, a jump), not a walker, and is dropped. Each
person counts once per interval (the median of their speeds), so one slow person tracked on many
frames does not outweigh others.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from contract.pedestrian import FRUIN_WALKWAY_BANDS, los_band
from edge.counting import CountSettings, choose_count
from edge.density.blend import DensityEstimate, blend_count
from edge.flow import DenseSpeed
from edge.geometry import Zone, crossing_sign, heading_deg, points_in_polygon
from edge.types import ZoneMetrics

F64 = npt.NDArray[np.float64]


@dataclass(frozen=True)
class CountLine:
    id: str
    a_m: tuple[float, float]
    b_m: tuple[float, float]
    zone: str


@dataclass(frozen=True)
class MetricsSettings:
    interval_s: float = 1.0
    speed_window_s: float = 2.0
    max_speed_mps: float = 4.0
    los_bands: Mapping[str, float] = field(default_factory=lambda: dict(FRUIN_WALKWAY_BANDS))
    dense_flow_min_count: int = 15
    stale_after_s: float = 5.0
    counting: CountSettings = field(default_factory=CountSettings)
    # A density-map run older than this (s) no longer corrects a zone's count.
    density_max_age_s: float = 15.0


@dataclass(frozen=True)
class Observation:
    """The confirmed people of one frame: ids, foot points in pixels and on the ground (metres).

    On frames the detector ran on, also the foot points of its boxes (`detected_*`; None on frames
    whose boxes were carried by optical flow): the count that does not depend on tracks.
    """

    frame_index: int
    t_s: float
    track_ids: npt.NDArray[np.int64]
    ground_m: F64
    image_px: F64
    detected_ground_m: F64 | None = None
    detected_image_px: F64 | None = None

    @classmethod
    def empty(cls, frame_index: int, t_s: float) -> Observation:
        return cls(frame_index, t_s, np.zeros(0, np.int64), np.zeros((0, 2)), np.zeros((0, 2)))


@dataclass
class _ZoneAcc:
    counts: list[int] = field(default_factory=list)
    detected: list[int] = field(default_factory=list)
    speeds_by_track: dict[int, list[float]] = field(default_factory=dict)
    heading_sum: F64 = field(default_factory=lambda: np.zeros(2))
    dense: list[DenseSpeed] = field(default_factory=list)


@dataclass
class _Interval:
    index: int
    frame_start: int
    frame_end: int
    zones: dict[str, _ZoneAcc]
    line_counts: dict[str, dict[str, int]]
    gaps_s: list[float] = field(default_factory=list)


class ZoneMetricsAggregator:
    def __init__(
        self,
        camera_id: str,
        zones: Sequence[Zone],
        lines: Sequence[CountLine],
        settings: MetricsSettings,
        *,
        live: bool = False,
    ) -> None:
        if not zones:
            raise ValueError("at least one zone is needed")
        self.camera_id = camera_id
        self.zones = list(zones)
        self.lines = list(lines)
        self.settings = settings
        # Live sources report intervals without frames as stale; a file simply has none there.
        self.live = live
        self._origin_index: int | None = None
        self._history: dict[int, deque[tuple[float, float, float]]] = {}  # (t_s, x_m, y_m)
        self._last_pos: dict[int, tuple[float, float]] = {}
        self._crossed: set[tuple[int, str]] = set()
        self._current: _Interval | None = None
        self._last_frame: tuple[int, float] | None = None
        self._last_emitted_index: int | None = None
        self._last_counts: dict[str, float] = {}
        self._last_sources: dict[str, str] = {}
        self._latest_counts: dict[str, int] = {}
        self._density: dict[str, DensityEstimate] = {}

    def _interval_of(self, t_s: float) -> int:
        return math.floor(t_s / self.settings.interval_s + 1e-9)

    def zones_needing_dense_flow(self) -> list[Zone]:
        """Zones whose last frame held too many people to trust per-person tracks."""
        return [z for z in self.zones if self._latest_counts.get(z.id, 0) >= self.settings.dense_flow_min_count]

    def add_density(self, estimates: Sequence[DensityEstimate]) -> None:
        """The latest density-map run per zone; it corrects each interval's count until it grows too old."""
        for estimate in estimates:
            self._density[estimate.zone] = estimate

    def _fresh_density(self, zone_id: str, t_end: float) -> DensityEstimate | None:
        estimate = self._density.get(zone_id)
        if estimate is None or t_end - estimate.t_s > self.settings.density_max_age_s:
            return None
        return estimate

    def add(self, obs: Observation, dense: Mapping[str, DenseSpeed] | None = None) -> list[ZoneMetrics]:
        out: list[ZoneMetrics] = []
        k = self._interval_of(obs.t_s)
        if self._origin_index is None:
            self._origin_index = k
        if self._current is not None and k != self._current.index:
            out.extend(self._close(self._current, stale=False))
            self._current = None
        if self.live and self._current is None:
            out.extend(self._stale_until(k))
        if self._current is None:
            self._current = _Interval(k, obs.frame_index, obs.frame_index, {z.id: _ZoneAcc() for z in self.zones}, {})
        cur = self._current
        cur.frame_end = obs.frame_index
        if self._last_frame is not None and obs.t_s > self._last_frame[1]:
            cur.gaps_s.append(obs.t_s - self._last_frame[1])
        self._last_frame = (obs.frame_index, obs.t_s)

        speeds, headings = self._update_tracks(obs, cur)
        for zone in self.zones:
            acc = cur.zones[zone.id]
            inside = zone.contains(obs.ground_m, obs.image_px)
            n = int(inside.sum())
            acc.counts.append(n)
            if obs.detected_ground_m is not None and obs.detected_image_px is not None:
                n_detected = int(zone.contains(obs.detected_ground_m, obs.detected_image_px).sum())
                acc.detected.append(n_detected)
                n = max(n, n_detected)
            self._latest_counts[zone.id] = n
            for idx in np.nonzero(inside)[0]:
                tid = int(obs.track_ids[idx])
                if tid in speeds:
                    acc.speeds_by_track.setdefault(tid, []).append(speeds[tid])
                    acc.heading_sum += headings[tid]
            if dense and zone.id in dense:
                acc.dense.append(dense[zone.id])
        return out

    def _update_tracks(self, obs: Observation, cur: _Interval) -> tuple[dict[int, float], dict[int, F64]]:
        speeds: dict[int, float] = {}
        headings: dict[int, F64] = {}
        window = self.settings.speed_window_s
        max_speed = self.settings.max_speed_mps
        seen = set()
        # Plain floats: this runs for every person on every frame, and numpy's per-call overhead on
        # two-element arrays cost more than the arithmetic (scripts/bench/edge_fps.py).
        for tid, (x, y) in zip(obs.track_ids.tolist(), obs.ground_m.tolist(), strict=True):
            seen.add(tid)
            if not (math.isfinite(x) and math.isfinite(y)):
                continue
            hist = self._history.setdefault(tid, deque())
            hist.append((obs.t_s, x, y))
            while len(hist) > 2 and obs.t_s - hist[1][0] >= window - 1e-9:
                hist.popleft()
            t0, x0, y0 = hist[0]
            # Half a window of history at least: shorter spans turn foot-point jitter into speed.
            if obs.t_s - t0 >= window * 0.5 - 1e-9:
                dx, dy = x - x0, y - y0
                norm = math.hypot(dx, dy)
                v = norm / (obs.t_s - t0)
                if v <= max_speed:
                    speeds[tid] = v
                    headings[tid] = np.array([dx / norm, dy / norm]) if norm > 0 else np.zeros(2)
            if self.lines:
                prev = self._last_pos.get(tid)
                if prev is not None:
                    self._count_crossings(tid, prev, (x, y), cur)
            self._last_pos[tid] = (x, y)
        gone = set(self._history) - seen
        for tid in gone:
            del self._history[tid]
            self._last_pos.pop(tid, None)
        if gone and self._crossed:
            # An ended track cannot cross again; keeping its ids would grow without bound on a long stream.
            self._crossed = {key for key in self._crossed if key[0] not in gone}
        return speeds, headings

    def _count_crossings(self, tid: int, prev: tuple[float, float], pos: tuple[float, float], cur: _Interval) -> None:
        for line in self.lines:
            if (tid, line.id) in self._crossed:
                continue
            sign = crossing_sign(prev, pos, line.a_m, line.b_m)
            if sign != 0:
                self._crossed.add((tid, line.id))
                counts = cur.line_counts.setdefault(line.id, {"in": 0, "out": 0})
                counts["in" if sign > 0 else "out"] += 1

    def tick(self, now_s: float) -> list[ZoneMetrics]:
        """Live sources, when no frame came: close the open interval once it has ended, and mark
        every whole interval since the last frame stale once the source has been silent for
        `stale_after_s`. Never invents a frame."""
        out: list[ZoneMetrics] = []
        k_now = self._interval_of(now_s)
        if self._origin_index is None:
            self._origin_index = k_now
        if self._current is not None and k_now > self._current.index:
            out.extend(self._close(self._current, stale=False))
            self._current = None
        last_t = self._last_frame[1] if self._last_frame else None
        if last_t is not None and now_s - last_t < self.settings.stale_after_s:
            return out
        out.extend(self._stale_until(k_now))
        return out

    def _stale_until(self, k_end: int) -> list[ZoneMetrics]:
        """Stale metrics for every interval before `k_end` not yet reported."""
        assert self._origin_index is not None
        first = self._last_emitted_index + 1 if self._last_emitted_index is not None else self._origin_index
        frame = self._last_frame[0] if self._last_frame else 0
        out: list[ZoneMetrics] = []
        for k in range(first, k_end):
            empty = _Interval(k, frame, frame, {z.id: _ZoneAcc() for z in self.zones}, {})
            out.extend(self._close(empty, stale=True))
        return out

    def flush(self) -> list[ZoneMetrics]:
        """Close the interval in progress (end of a file, shutdown)."""
        if self._current is None:
            return []
        out = self._close(self._current, stale=False)
        self._current = None
        return out

    def _close(self, iv: _Interval, stale: bool) -> list[ZoneMetrics]:
        self._last_emitted_index = iv.index
        # Each interval's first frame has its gap to the last frame before; only a stream's first has none.
        gap = float(np.median(iv.gaps_s)) if iv.gaps_s else None
        t_start = iv.index * self.settings.interval_s
        t_end = t_start + self.settings.interval_s
        out = []
        for zone in self.zones:
            acc = iv.zones[zone.id]
            area = zone.area_m2
            density_weight = 0.0
            if stale:
                # A stale interval repeats the last measured count, flagged, so charts do not fall to 0.
                count = self._last_counts.get(zone.id, 0.0)
                count_max = math.ceil(count)
                count_source = self._last_sources.get(zone.id, "tracks")
            else:
                chosen = choose_count(acc.counts, acc.detected, gap, self.settings.counting)
                count, count_max, count_source = chosen.count, chosen.count_max, chosen.source
                estimate = self._fresh_density(zone.id, t_end)
                if estimate is not None and estimate.weight > 0:
                    count = blend_count(count, estimate)
                    count_max = max(count_max, math.ceil(count))
                    density_weight = estimate.weight
                    if density_weight >= 0.5:
                        count_source = "density"
                self._last_counts[zone.id] = count
                self._last_sources[zone.id] = count_source
            density = count / area
            p50, p85, direction, source = self._speeds(acc, count)
            line_counts = {
                ln.id: dict(iv.line_counts.get(ln.id, {"in": 0, "out": 0})) for ln in self.lines if ln.zone == zone.id
            }
            out.append(
                ZoneMetrics(
                    camera=self.camera_id,
                    zone=zone.id,
                    frame_start=iv.frame_start,
                    frame_end=iv.frame_end,
                    t_start=t_start,
                    t_end=t_end,
                    count=count,
                    count_max=count_max,
                    area_m2=area,
                    density=density,
                    speed_p50=p50,
                    speed_p85=p85,
                    los=los_band(density, self.settings.los_bands),
                    stale=stale,
                    direction_deg=direction,
                    inflow=sum(c["in"] for c in line_counts.values()),
                    outflow=sum(c["out"] for c in line_counts.values()),
                    speed_source=source,
                    lines=line_counts,
                    count_source=count_source,
                    density_weight=density_weight,
                )
            )
        return out

    def _speeds(self, acc: _ZoneAcc, count: float) -> tuple[float | None, float | None, float | None, str]:
        if acc.dense and count >= self.settings.dense_flow_min_count:
            p50s = [d.speed_p50_mps for d in acc.dense if d.speed_p50_mps is not None]
            p85s = [d.speed_p85_mps for d in acc.dense if d.speed_p85_mps is not None]
            if p50s:
                dirs = [d.direction_deg for d in acc.dense if d.direction_deg is not None]
                return float(np.median(p50s)), float(np.median(p85s)), _circular_mean_deg(dirs), "dense_flow"
        if not acc.speeds_by_track:
            return None, None, None, "none"
        per_track = np.array([np.median(v) for v in acc.speeds_by_track.values()])
        direction = heading_deg(float(acc.heading_sum[0]), float(acc.heading_sum[1]))
        return float(np.percentile(per_track, 50)), float(np.percentile(per_track, 85)), direction, "tracks"


def _circular_mean_deg(angles_deg: Sequence[float]) -> float | None:
    if not angles_deg:
        return None
    rad = np.radians(angles_deg)
    return heading_deg(float(np.cos(rad).sum()), float(np.sin(rad).sum()))


def line_zone(line_mid_m: tuple[float, float], zones: Sequence[Zone]) -> str:
    """A line without an explicit zone feeds the zone under its midpoint, else the first zone."""
    for zone in zones:
        if points_in_polygon(np.array([line_mid_m]), zone.ground_m)[0]:
            return zone.id
    return zones[0].id
