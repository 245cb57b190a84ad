"""Scoring a run against MOT-format ground truth (`crowd-edge eval`).

The truth goes through the same zone-metrics code as the run: ground-truth people become an
`Observation` per frame (their metric ground position where the ground truth has one, else their
box's foot point through the homography), so count, density and speed truth are defined exactly
as the edge defines them, and the comparison measures detection and tracking, not bookkeeping.

MOT rows: `frame(1-based), id, bb_left, bb_top, bb_w, bb_h, conf, X_m, Y_m, z`; conf 0 marks an
ignore region, not a person; X/Y of -1 mean no ground position.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from edge.calibration import CameraGeometry
from edge.metrics import MetricsSettings, Observation, ZoneMetricsAggregator
from edge.types import Detections, Frame, ZoneMetrics

F64 = npt.NDArray[np.float64]


@dataclass(frozen=True)
class GroundTruthFrame:
    ids: npt.NDArray[np.int64]
    xyxy_px: F64
    ground_m: F64 | None


@dataclass(frozen=True)
class MotGroundTruth:
    frames: dict[int, GroundTruthFrame]  # 0-based source frame index

    def frame(self, index: int) -> GroundTruthFrame:
        return self.frames.get(index, GroundTruthFrame(np.zeros(0, np.int64), np.zeros((0, 4)), None))


def load_mot(path: str | Path, scale: float = 1.0) -> MotGroundTruth:
    """Rows with conf 0 are dropped; pixel values are multiplied by `scale` (GT made at another size)."""
    p = Path(path)
    try:
        rows = np.loadtxt(p, delimiter=",", ndmin=2)
    except (OSError, ValueError) as err:
        raise ValueError(f"{p}: cannot read MOT ground truth: {err}") from None
    if rows.shape[1] < 7:
        raise ValueError(f"{p}: MOT rows need at least 7 columns, got {rows.shape[1]}")
    rows = rows[rows[:, 6] != 0]
    frames: dict[int, GroundTruthFrame] = {}
    for f in np.unique(rows[:, 0]).astype(int):
        r = rows[rows[:, 0] == f]
        xyxy = np.stack([r[:, 2], r[:, 3], r[:, 2] + r[:, 4], r[:, 3] + r[:, 5]], axis=1) * scale
        ground = None
        if r.shape[1] >= 9 and not np.all(r[:, 7:9] == -1):
            ground = r[:, 7:9].astype(np.float64)
        frames[f - 1] = GroundTruthFrame(r[:, 1].astype(np.int64), xyxy, ground)
    return MotGroundTruth(frames)


class GroundTruthDetector:
    """Replays ground-truth boxes as detections: scores tracking and metrics apart from detection."""

    name = "ground-truth"

    def __init__(self, gt: MotGroundTruth) -> None:
        self.gt = gt

    def detect(self, frame: Frame) -> Detections:
        f = self.gt.frame(frame.index)
        return Detections(f.xyxy_px.astype(np.float32), np.ones(len(f.ids), np.float32))


def truth_metrics(
    gt: MotGroundTruth,
    frame_times_s: Sequence[tuple[int, float]],
    geometry: CameraGeometry,
    settings: MetricsSettings,
    camera_id: str = "truth",
) -> list[ZoneMetrics]:
    """Zone metrics of the ground truth over the given (frame index, time) pairs."""
    agg = ZoneMetricsAggregator(camera_id, geometry.zones, geometry.lines, settings)
    out: list[ZoneMetrics] = []
    for index, t_s in frame_times_s:
        f = gt.frame(index)
        foot = np.stack([(f.xyxy_px[:, 0] + f.xyxy_px[:, 2]) / 2, f.xyxy_px[:, 3]], axis=1)
        ground = f.ground_m if f.ground_m is not None else geometry.homography.to_ground(foot)
        out.extend(agg.add(Observation(index, t_s, f.ids, ground, foot)))
    out.extend(agg.flush())
    return out


@dataclass(frozen=True)
class ZoneScore:
    zone: str
    intervals: int
    mean_true_count: float
    count_mae: float
    count_rel_error: float  # MAE / mean true count
    density_mae: float
    speed_p50_mae: float | None  # per-interval, where both have a speed
    speed_p50_run: float | None  # median over intervals
    speed_p50_true: float | None


def score(run: Sequence[dict[str, Any]], truth: Sequence[ZoneMetrics]) -> list[ZoneScore]:
    """Pair run and truth intervals by (zone, frame_start) and score each zone."""
    truth_by_key = {(t.zone, t.frame_start): t for t in truth}
    zones = sorted({str(r["zone"]) for r in run})
    out = []
    for zone in zones:
        pairs = [
            (r, truth_by_key[(zone, int(r["frame_start"]))])
            for r in run
            if r["zone"] == zone and not r.get("stale") and (zone, int(r["frame_start"])) in truth_by_key
        ]
        if not pairs:
            continue
        counts = np.array([[float(r["count"]), t.count] for r, t in pairs])
        dens = np.array([[float(r["density"]), t.density] for r, t in pairs])
        speeds = np.array(
            [
                [float(r["speed_p50"]), t.speed_p50]
                for r, t in pairs
                if r["speed_p50"] is not None and t.speed_p50 is not None
            ]
        ).reshape(-1, 2)
        run_p50 = [float(r["speed_p50"]) for r, _ in pairs if r["speed_p50"] is not None]
        true_p50 = [t.speed_p50 for _, t in pairs if t.speed_p50 is not None]
        mae = float(np.mean(np.abs(counts[:, 0] - counts[:, 1])))
        mean_true = float(np.mean(counts[:, 1]))
        out.append(
            ZoneScore(
                zone=zone,
                intervals=len(pairs),
                mean_true_count=mean_true,
                count_mae=mae,
                count_rel_error=mae / mean_true if mean_true > 0 else float("nan"),
                density_mae=float(np.mean(np.abs(dens[:, 0] - dens[:, 1]))),
                speed_p50_mae=float(np.mean(np.abs(speeds[:, 0] - speeds[:, 1]))) if len(speeds) else None,
                speed_p50_run=float(np.median(run_p50)) if run_p50 else None,
                speed_p50_true=float(np.median(true_p50)) if true_p50 else None,
            )
        )
    return out


def _fmt(v: float | None, spec: str = ".3f") -> str:
    return "-" if v is None else format(v, spec)


def format_table(scores: Sequence[ZoneScore], fps: float | None = None) -> str:
    head = (
        f"{'zone':<14}{'intervals':>10}{'true mean':>10}{'count MAE':>10}{'count err':>10}"
        f"{'dens MAE':>10}{'p50 MAE':>9}{'p50 run':>9}{'p50 true':>9}"
    )
    lines = [head, "-" * len(head)]
    for s in scores:
        lines.append(
            f"{s.zone:<14}{s.intervals:>10}{s.mean_true_count:>10.2f}{s.count_mae:>10.3f}"
            f"{s.count_rel_error * 100:>9.1f}%{s.density_mae:>10.4f}{_fmt(s.speed_p50_mae):>9}"
            f"{_fmt(s.speed_p50_run):>9}{_fmt(s.speed_p50_true):>9}"
        )
    if fps is not None:
        lines.append(f"processing speed: {fps:.1f} frames/s (decoding included)")
    return "\n".join(lines)


def plot_counts(run: Sequence[dict[str, Any]], truth: Sequence[ZoneMetrics], out: str | Path) -> None:
    """PNG of counted versus true people per zone over source time."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    zones = sorted({str(r["zone"]) for r in run})
    fig, axes = plt.subplots(len(zones), 1, figsize=(10, 2.8 * len(zones)), squeeze=False)
    for ax, zone in zip(axes[:, 0], zones, strict=True):
        rr = [r for r in run if r["zone"] == zone]
        tt = [t for t in truth if t.zone == zone]
        ax.plot([t.t_start for t in tt], [t.count for t in tt], label="true", color="black", lw=1.5)
        ax.plot([float(r["t_start"]) for r in rr], [float(r["count"]) for r in rr], label="counted", color="tab:red")
        ax.set_title(f"zone {zone}")
        ax.set_xlabel("source time (s)")
        ax.set_ylabel("people (interval mean)")
        ax.legend(loc="upper right")
    fig.tight_layout()
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(str(out), dpi=90)
    plt.close(fig)
