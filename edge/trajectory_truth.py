"""Per-zone, per-interval truth of a rendered trajectory clip, and the edge's speeds scored against it.

The truth is defined as the edge defines its metrics (edge/metrics.py): an interval is
[k * interval_s, (k + 1) * interval_s) of clip time; a person is in a zone when their foot point is
(image zones: in the image polygon, ground zones: in the ground polygon); `count` is the mean number in
the zone over the interval's frames; each person counts once per interval with the median of their
speeds on the frames they were in the zone, and `speed_p50_mps`/`speed_p85_mps` are percentiles over
people. A person's speed is the speed the renderer moved them at (edge/synthetic_render.py), i.e. the
trajectory's own step speed, not a smoothed one.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, fields
from pathlib import Path

import numpy as np

from edge.geometry import Zone
from edge.synthetic_render import TrajectoryRenderer
from edge.types import ZoneMetrics

__all__ = ["IntervalSpeed", "SpeedScore", "ZoneTruth", "read_truth", "score_speeds", "write_truth", "zone_truth"]


@dataclass(frozen=True)
class ZoneTruth:
    zone: str
    t_start_s: float
    t_end_s: float
    count: float
    people: int  # distinct people in the zone during the interval
    speed_mean_mps: float | None
    speed_p50_mps: float | None
    speed_p85_mps: float | None


def zone_truth(renderer: TrajectoryRenderer, zones: Sequence[Zone], interval_s: float = 1.0) -> list[ZoneTruth]:
    """Truth rows for every zone and every interval of the renderer's clip (frames at k / fps)."""
    cam = renderer.camera
    per_interval: dict[int, list[tuple[str, int, int, float]]] = {}  # k -> (zone, frame, id, speed)
    frames_in: dict[int, int] = {}
    for index in range(renderer.n_frames):
        t_s = index / renderer.fps
        k = math.floor(t_s / interval_s + 1e-9)
        frames_in[k] = frames_in.get(k, 0) + 1
        people = renderer.people_at(t_s)
        if len(people.ids) == 0:
            continue
        ground = people.xy_m
        foot_px = cam.project(np.column_stack([ground, np.zeros(len(ground))]))
        for zone in zones:
            inside = zone.contains(ground, foot_px)
            rows = per_interval.setdefault(k, [])
            for i in np.nonzero(inside)[0]:
                rows.append((zone.id, index, int(people.ids[i]), float(people.speed_mps[i])))
    out: list[ZoneTruth] = []
    for k in sorted(frames_in):
        rows = per_interval.get(k, [])
        for zone in zones:
            mine = [r for r in rows if r[0] == zone.id]
            by_person: dict[int, list[float]] = {}
            for _, _, pid, speed in mine:
                by_person.setdefault(pid, []).append(speed)
            speeds = np.array([np.median(v) for v in by_person.values()])
            has = len(speeds) > 0
            out.append(
                ZoneTruth(
                    zone=zone.id,
                    t_start_s=k * interval_s,
                    t_end_s=(k + 1) * interval_s,
                    count=len(mine) / frames_in[k],
                    people=len(by_person),
                    speed_mean_mps=float(speeds.mean()) if has else None,
                    speed_p50_mps=float(np.percentile(speeds, 50)) if has else None,
                    speed_p85_mps=float(np.percentile(speeds, 85)) if has else None,
                )
            )
    return out


def write_truth(path: str | Path, rows: Iterable[ZoneTruth]) -> None:
    names = [f.name for f in fields(ZoneTruth)]
    with Path(path).open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=names)
        writer.writeheader()
        for row in rows:
            writer.writerow(
                {k: ("" if v is None else (f"{v:.4f}" if isinstance(v, float) else v)) for k, v in asdict(row).items()}
            )


def read_truth(path: str | Path) -> list[ZoneTruth]:
    def num(text: str) -> float | None:
        return None if text == "" else float(text)

    with Path(path).open(encoding="utf-8", newline="") as fh:
        return [
            ZoneTruth(
                zone=r["zone"],
                t_start_s=float(r["t_start_s"]),
                t_end_s=float(r["t_end_s"]),
                count=float(r["count"]),
                people=int(r["people"]),
                speed_mean_mps=num(r["speed_mean_mps"]),
                speed_p50_mps=num(r["speed_p50_mps"]),
                speed_p85_mps=num(r["speed_p85_mps"]),
            )
            for r in csv.DictReader(fh)
        ]


@dataclass(frozen=True)
class IntervalSpeed:
    zone: str
    t_start_s: float
    truth_p50_mps: float
    measured_p50_mps: float
    speed_source: str
    truth_count: float

    @property
    def error_mps(self) -> float:
        return self.measured_p50_mps - self.truth_p50_mps


@dataclass(frozen=True)
class SpeedScore:
    """The edge's speed p50 against the truth's over the intervals both have (and `min_people` truth)."""

    intervals: tuple[IntervalSpeed, ...]
    truth_intervals: int  # intervals the truth has a speed for

    @property
    def median_abs_error_mps(self) -> float | None:
        errs = [abs(i.error_mps) for i in self.intervals]
        return float(np.median(errs)) if errs else None

    @property
    def median_error_mps(self) -> float | None:
        """Signed: a bias shows here, where the absolute error also holds the noise."""
        errs = [i.error_mps for i in self.intervals]
        return float(np.median(errs)) if errs else None

    @property
    def p90_abs_error_mps(self) -> float | None:
        errs = [abs(i.error_mps) for i in self.intervals]
        return float(np.percentile(errs, 90)) if errs else None

    def summary(self) -> str:
        if not self.intervals:
            return f"no interval with a measured speed (of {self.truth_intervals} with a true one)"
        sources = sorted({i.speed_source for i in self.intervals})
        return (
            f"{len(self.intervals)}/{self.truth_intervals} intervals ({', '.join(sources)}): speed p50 error "
            f"median {self.median_error_mps:+.3f} m/s, median |error| {self.median_abs_error_mps:.3f} m/s, "
            f"p90 |error| {self.p90_abs_error_mps:.3f} m/s; truth p50 median "
            f"{np.median([i.truth_p50_mps for i in self.intervals]):.3f} m/s"
        )


def score_speeds(
    metrics: Iterable[ZoneMetrics],
    truth: Iterable[ZoneTruth],
    zone: str,
    *,
    min_people: int = 1,
    speed_source: str | None = None,
    skip_first_s: float = 0.0,
) -> SpeedScore:
    """Pair the edge's intervals with the truth's (same zone and start), keeping those where the truth
    had at least `min_people` in the zone, the edge measured a speed (from `speed_source` when given),
    and that start `skip_first_s` or later (tracks need a few seconds to be confirmed and timed)."""
    true_rows = {
        round(t.t_start_s, 6): t
        for t in truth
        if t.zone == zone and t.speed_p50_mps is not None and t.people >= min_people and t.t_start_s >= skip_first_s
    }
    pairs = []
    for m in metrics:
        t = true_rows.get(round(m.t_start, 6))
        if m.zone != zone or t is None or m.speed_p50 is None or m.stale or t.speed_p50_mps is None:
            continue
        if speed_source is not None and m.speed_source != speed_source:
            continue
        pairs.append(IntervalSpeed(zone, t.t_start_s, t.speed_p50_mps, m.speed_p50, m.speed_source, t.count))
    return SpeedScore(tuple(pairs), len(true_rows))
