"""Zone metric streams from real ETH/UCY walking trajectories (shared data), stacked to build up a crowd.

The recorded scenes last a few minutes and hold tens of people. A scenario needs tens of minutes and a
controllable crowd, so the recording is looped and stacked in layers: each layer is the whole recorded
crowd, shifted in time and rotated about the scene centre, and a layer's walkers enter only while the
scenario's `layers` curve is above the layer's number (a fractional excess admits that share
of the layer's walkers). Walkers who already started finish their
walk, so ramps up and down look like people arriving and leaving, not appearing. Speeds and paths are
the recorded ones: stacking does not slow people down (a known simplification).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from central.playback.scenario import TrajectoriesTimeline
from central.playback.streams import ZoneSample

FRAME_DT_S = 0.4
F64 = npt.NDArray[np.float64]


@dataclass(frozen=True)
class Trajectories:
    """All walkers of one recording, rows sorted by walker then time; `t_s` from the recording's start."""

    walker: npt.NDArray[np.int64]
    t_s: F64
    x_m: F64
    y_m: F64
    vx_mps: F64
    vy_mps: F64
    period_s: float

    @property
    def centre_m(self) -> tuple[float, float]:
        return (float((self.x_m.min() + self.x_m.max()) / 2), float((self.y_m.min() + self.y_m.max()) / 2))


def load_obsmat(path: str | Path) -> Trajectories:
    """Rows `frame, id, x_m, z, y_m, vx, vz, vy`; frame numbers step by a constant per 0.4 s."""
    p = Path(path)
    try:
        a = np.loadtxt(p, ndmin=2)
    except (OSError, ValueError) as err:
        raise ValueError(f"{p}: cannot read trajectories: {err}") from None
    if a.shape[1] != 8 or len(a) == 0:
        raise ValueError(f"{p}: expected 8 columns (frame, id, x, z, y, vx, vz, vy), got shape {a.shape}")
    frames = np.unique(a[:, 0])
    step = float(np.median(np.diff(frames))) if len(frames) > 1 else 1.0
    t = (a[:, 0] - frames[0]) / step * FRAME_DT_S
    order = np.lexsort((t, a[:, 1]))
    a, t = a[order], t[order]
    return Trajectories(
        walker=a[:, 1].astype(np.int64),
        t_s=np.round(t / FRAME_DT_S) * FRAME_DT_S,
        x_m=a[:, 2].astype(float),
        y_m=a[:, 4].astype(float),
        vx_mps=a[:, 5].astype(float),
        vy_mps=a[:, 7].astype(float),
        period_s=float(t.max() + FRAME_DT_S),
    )


def points_in_polygon(x: F64, y: F64, polygon: list[tuple[float, float]]) -> npt.NDArray[np.bool_]:
    """Even-odd ray casting, vectorised over points."""
    inside = np.zeros(len(x), dtype=bool)
    n = len(polygon)
    for i in range(n):
        x0, y0 = polygon[i]
        x1, y1 = polygon[(i - 1) % n]
        crosses = (y0 > y) != (y1 > y)
        with np.errstate(divide="ignore", invalid="ignore"):
            x_at = (x1 - x0) * (y - y0) / (y1 - y0) + x0
        inside ^= crosses & (x < x_at)
    return inside


def layers_at(timeline: TrajectoriesTimeline, t_s: F64) -> F64:
    return np.interp(t_s, [p.t_s for p in timeline.layers], [p.layers for p in timeline.layers])


def _walker_starts(tr: Trajectories) -> tuple[F64, npt.NDArray[np.int64]]:
    """Per row: the start time of its walker's track, and the index of the walker's first row."""
    first = np.r_[0, np.flatnonzero(np.diff(tr.walker)) + 1]
    counts = np.diff(np.r_[first, len(tr.walker)])
    return np.repeat(tr.t_s[first], counts), np.repeat(first, counts)


def stacked_samples(
    tr: Trajectories,
    timeline: TrajectoriesTimeline,
    zone_dataset_m: list[tuple[float, float]],
    area_m2: float,
    duration_s: float,
    interval_s: float,
) -> list[ZoneSample]:
    """Per-interval count, density, speed and direction in the zone (polygon in dataset metres)."""
    rng = np.random.default_rng(timeline.seed)
    n_frames = math.floor(duration_s / FRAME_DT_S + 1e-9)
    per_frame = np.zeros(n_frames, dtype=np.int64)
    frame_rows: list[npt.NDArray[np.int64]] = []
    speed_rows: list[F64] = []
    vx_rows: list[F64] = []
    vy_rows: list[F64] = []
    starts, _ = _walker_starts(tr)
    _, walker_index = np.unique(tr.walker, return_inverse=True)
    n_walkers = int(walker_index.max()) + 1
    cx, cy = tr.centre_m
    max_layers = math.ceil(max(p.layers for p in timeline.layers))
    period_frames = round(tr.period_s / FRAME_DT_S)
    for layer in range(max_layers):
        shift = int(rng.integers(0, period_frames)) if layer else 0
        angle = float(rng.uniform(0, 2 * math.pi)) if layer else 0.0
        c, s = math.cos(angle), math.sin(angle)
        x = c * (tr.x_m - cx) - s * (tr.y_m - cy) + cx
        y = s * (tr.x_m - cx) + c * (tr.y_m - cy) + cy
        vx, vy = c * tr.vx_mps - s * tr.vy_mps, s * tr.vx_mps + c * tr.vy_mps
        inside = points_in_polygon(x, y, zone_dataset_m)
        row_frame = np.round(tr.t_s / FRAME_DT_S).astype(np.int64)
        start_frame = np.round(starts / FRAME_DT_S).astype(np.int64)
        for k in range(-1, n_frames // period_frames + 2):
            offset = k * period_frames - shift
            f = row_frame + offset
            walker_start_s = np.maximum(0, start_frame + offset) * FRAME_DT_S
            # A fractional layer admits each walker with probability (layers - layer): the crowd grows
            # smoothly instead of in steps of one whole recorded crowd.
            admit = rng.random(n_walkers)[walker_index]
            keep = inside & (f >= 0) & (f < n_frames) & (layers_at(timeline, walker_start_s) - layer > admit)
            if not keep.any():
                continue
            np.add.at(per_frame, f[keep], 1)
            frame_rows.append(f[keep])
            speed_rows.append(np.hypot(vx[keep], vy[keep]))
            vx_rows.append(vx[keep])
            vy_rows.append(vy[keep])
    frames = np.concatenate(frame_rows) if frame_rows else np.zeros(0, np.int64)
    speeds = np.concatenate(speed_rows) if speed_rows else np.zeros(0)
    vxs = np.concatenate(vx_rows) if vx_rows else np.zeros(0)
    vys = np.concatenate(vy_rows) if vy_rows else np.zeros(0)
    return _aggregate(per_frame, frames, speeds, vxs, vys, area_m2, duration_s, interval_s)


def _aggregate(
    per_frame: npt.NDArray[np.int64],
    frames: npt.NDArray[np.int64],
    speeds: F64,
    vxs: F64,
    vys: F64,
    area_m2: float,
    duration_s: float,
    interval_s: float,
) -> list[ZoneSample]:
    fpi = interval_s / FRAME_DT_S
    n = math.floor(duration_s / interval_s + 1e-9)
    bin_of_row = np.floor(frames / fpi).astype(np.int64)
    order = np.argsort(bin_of_row, kind="stable")
    bounds = np.searchsorted(bin_of_row[order], np.arange(n + 1))
    out = []
    for i in range(n):
        f0, f1 = math.floor(i * fpi), max(math.floor(i * fpi) + 1, math.floor((i + 1) * fpi))
        counts = per_frame[f0:f1]
        count = float(counts.mean()) if len(counts) else 0.0
        rows = order[bounds[i] : bounds[i + 1]]
        moving = rows[speeds[rows] > 0.1]
        p50 = p85 = direction = None
        if len(moving):
            p50 = round(float(np.percentile(speeds[moving], 50)), 3)
            p85 = round(float(np.percentile(speeds[moving], 85)), 3)
            direction = round(math.degrees(math.atan2(vys[moving].sum(), vxs[moving].sum())) % 360.0, 1) % 360.0
        out.append(
            ZoneSample(
                t_end_s=(i + 1) * interval_s,
                count=round(count, 3),
                count_max=int(counts.max()) if len(counts) else 0,
                density=round(count / area_m2, 5),
                speed_p50_mps=p50,
                speed_p85_mps=p85,
                direction_deg=direction,
            )
        )
    return out
