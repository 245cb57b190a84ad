"""Render real ETH/UCY trajectories into a video with exact per-zone truth, and score the edge's speed on it.

    python -m scripts.render_trajectories --out out/students03 [--trajectories ../shared/data/trajectories/students03]
        [--start-s 0 --seconds 180 --fps 15 --width 960 --height 540] [--compare --detector offline|nanodet|gt]

writes `clip.mp4`, `truth.csv` (per zone per second: count, people, mean/p50/p85 speed), `gt.txt` (MOT rows
with ground positions, for `crowd-edge eval` and `--detector gt`), `edge.yaml` (the zone as an image polygon,
calibration points projected from the camera's pose). `--compare` then runs the edge on the clip twice,
speed from dense optical flow (`metrics.dense_flow_min_count: 1`) and from tracks, and prints each
interval's speed p50 error against the truth.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import yaml

from edge.calibration import build_geometry
from edge.cli import run_edge
from edge.config import EdgeConfig
from edge.config import load as load_config
from edge.evaluation import GroundTruthDetector, load_mot
from edge.sinks import MemorySink
from edge.synthetic_render import Trajectories, TrajectoryRenderer, camera_over, load_obsmat
from edge.synthetic_scene import Camera
from edge.trajectory_truth import SpeedScore, read_truth, score_speeds, write_truth, zone_truth
from edge.types import ZoneMetrics

__all__ = ["RenderedClip", "edge_config", "main", "render", "run_and_score"]

REPO = Path(__file__).resolve().parents[1]
DEFAULT_TRAJECTORIES = REPO.parent / "shared" / "data" / "trajectories" / "students03"
ZONE_ID = "crowd"
# Tracks need min_hits detections to be confirmed and half a speed window to be timed.
WARMUP_S = 3.0


@dataclass(frozen=True)
class RenderedClip:
    video: Path
    truth: Path
    gt: Path
    config: Path
    frames: int
    seconds_to_render: float


def zone_ground_m(traj: Trajectories) -> list[tuple[float, float]]:
    """The middle of where people walked (15th-85th percentile of x and y): the dense part of the scene."""
    x0, x1 = np.percentile(traj.x_m, [15, 85])
    y0, y1 = np.percentile(traj.y_m, [15, 85])
    return [(float(x0), float(y0)), (float(x1), float(y0)), (float(x1), float(y1)), (float(x0), float(y1))]


def edge_config(video: Path, camera: Camera, fps: float, zone_m: Sequence[tuple[float, float]]) -> dict[str, object]:
    """An edge config as an installer would write it: the zone drawn on the image, calibration from
    marked ground points (here projected from the pose), not the camera's matrix."""
    ground = np.array([zone_m[0], zone_m[2], (zone_m[0][0], zone_m[2][1]), (zone_m[2][0], zone_m[0][1])], float)
    ground = np.vstack([ground, ground.mean(axis=0, keepdims=True), ground[:2] * 1.3])
    image = camera.project(np.column_stack([ground, np.zeros(len(ground))]))
    zone_px = camera.project(np.column_stack([np.asarray(zone_m, float), np.zeros(len(zone_m))]))
    return {
        "site": "render",
        "camera": {"id": "trajectories", "source": str(video), "fps": fps},
        "calibration": {
            "points": {
                "image": [[round(float(u), 2), round(float(v), 2)] for u, v in image],
                "ground": [[round(float(x), 3), round(float(y), 3)] for x, y in ground],
            },
            "image_size": [camera.width_px, camera.height_px],
        },
        "zones": [{"id": ZONE_ID, "image_polygon": [[round(float(u)), round(float(v))] for u, v in zone_px]}],
        "detector": {"kind": "offline"},
        "metrics": {"interval_s": 1.0},
    }


def write_clip(
    renderer: TrajectoryRenderer, video: Path, fps: float, size_px: tuple[int, int]
) -> tuple[list[str], float]:
    """Render every frame into `video`; returns the MOT truth rows (1-based frames, metres) and the seconds taken."""
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter.fourcc(*"mp4v"), fps, size_px)
    if not writer.isOpened():
        raise RuntimeError(f"OpenCV cannot write {video}")
    t0 = time.perf_counter()
    gt_rows: list[str] = []
    for frame in renderer.frames():
        writer.write(frame.image)
        for pid, box, xy in zip(frame.people.ids, frame.boxes_xyxy, frame.people.xy_m, strict=True):
            if np.isfinite(box).all():
                left, top, right, bottom = (float(v) for v in box)
                gt_rows.append(
                    f"{frame.index + 1},{pid},{left:.1f},{top:.1f},{right - left:.1f},{bottom - top:.1f},1,"
                    f"{xy[0]:.3f},{xy[1]:.3f},0"
                )
    writer.release()
    return gt_rows, time.perf_counter() - t0


def render(
    out_dir: str | Path,
    traj: Trajectories,
    *,
    fps: float = 15.0,
    size_px: tuple[int, int] = (960, 540),
    camera_height_m: float = 9.0,
    pitch_deg: float = 40.0,
    seed: int = 0,
) -> RenderedClip:
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    camera = camera_over(traj, size_px[0], size_px[1], camera_height_m, pitch_deg)
    renderer = TrajectoryRenderer(traj, camera, fps, seed)
    video = out / "clip.mp4"
    gt_rows, elapsed = write_clip(renderer, video, fps, size_px)
    cfg_path = out / "edge.yaml"
    cfg = edge_config(video.resolve(), camera, fps, zone_ground_m(traj))
    cfg_path.write_text(yaml.safe_dump(cfg, sort_keys=False), encoding="utf-8")
    geometry = build_geometry(load_config(cfg_path), size_px)
    truth_path = out / "truth.csv"
    write_truth(truth_path, zone_truth(renderer, geometry.zones))
    gt_path = out / "gt.txt"
    gt_path.write_text("\n".join(gt_rows) + "\n", encoding="utf-8")
    return RenderedClip(video, truth_path, gt_path, cfg_path, renderer.n_frames, elapsed)


def _with_metrics(cfg: EdgeConfig, detector: str, dense_flow_min_count: int) -> EdgeConfig:
    det = cfg.detector if detector == "gt" else cfg.detector.model_copy(update={"kind": detector})
    metrics = cfg.metrics.model_copy(update={"dense_flow_min_count": dense_flow_min_count})
    return cfg.model_copy(update={"detector": det, "metrics": metrics})


def run_and_score(
    clip: RenderedClip, *, detector: str = "offline", dense: bool = True
) -> tuple[SpeedScore, list[ZoneMetrics]]:
    """Run the edge on the clip with speed from dense flow (`dense`) or from tracks; score speed p50."""
    cfg = _with_metrics(load_config(clip.config), detector, 1 if dense else 1_000_000)
    sink = MemorySink()
    factory = None
    if detector == "gt":
        gt = load_mot(clip.gt)
        factory = lambda _c, _g: GroundTruthDetector(gt)  # noqa: E731
    run_edge(cfg, [sink], progress=False, detector_factory=factory)
    source = "dense_flow" if dense else "tracks"
    score = score_speeds(sink.metrics, read_truth(clip.truth), ZONE_ID, speed_source=source, skip_first_s=WARMUP_S)
    return score, list(sink.metrics)


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m scripts.render_trajectories", description=__doc__.split("\n")[0])
    ap.add_argument("--trajectories", type=Path, default=DEFAULT_TRAJECTORIES, help="folder with obsmat.txt")
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--start-s", type=float, default=0.0)
    ap.add_argument("--seconds", type=float, default=180.0)
    ap.add_argument("--fps", type=float, default=15.0)
    ap.add_argument("--width", type=int, default=960)
    ap.add_argument("--height", type=int, default=540)
    ap.add_argument("--camera-height-m", type=float, default=9.0)
    ap.add_argument("--pitch-deg", type=float, default=40.0)
    ap.add_argument("--compare", action="store_true", help="run the edge (dense flow, then tracks) and score speed")
    ap.add_argument("--detector", choices=["offline", "nanodet", "gt"], default="offline")
    args = ap.parse_args(argv)
    obsmat = args.trajectories / "obsmat.txt"
    if not obsmat.is_file():
        print(f"no trajectories at {obsmat}", file=sys.stderr)
        return 2
    traj = load_obsmat(obsmat).window(args.start_s, args.seconds)
    clip = render(
        args.out, traj, fps=args.fps, size_px=(args.width, args.height),
        camera_height_m=args.camera_height_m, pitch_deg=args.pitch_deg,
    )  # fmt: skip
    print(f"wrote {clip.video} ({clip.frames} frames in {clip.seconds_to_render:.1f} s), {clip.truth}, {clip.config}")
    truth = [t for t in read_truth(clip.truth) if t.speed_p50_mps is not None]
    print(
        f"truth in zone {ZONE_ID!r}: count mean {np.mean([t.count for t in truth]):.1f}, "
        f"max {max(t.count for t in truth):.1f}; speed p50 median {np.median([t.speed_p50_mps for t in truth]):.2f} m/s"
    )
    if args.compare:
        for dense in (True, False):
            t0 = time.perf_counter()
            score, _ = run_and_score(clip, detector=args.detector, dense=dense)
            name = "dense flow" if dense else "tracks"
            print(f"{name} ({args.detector}, {time.perf_counter() - t0:.0f} s): {score.summary()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
