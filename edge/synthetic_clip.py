"""The synthetic scene (edge/synthetic_scene.py) written as a clip: video, ground truth, homography, edge config.

CLI: `python -m edge.synthetic --out DIR --seconds 120 --fps 10 --peak-people 40` (edge/synthetic.py
delegates here; its own `render_clip` is a smaller straight-line clip used by the edge's tests)
writes `DIR/synthetic.mp4`, `DIR/gt.txt` (MOT rows: frame, id, left, top, w, h, conf, X_m, Y_m, z),
`DIR/H_image_to_ground_m.txt` and `DIR/edge.yaml`.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
import yaml

from edge.synthetic_scene import BUSY_ZONE, WALKWAY_ZONE, Camera, SceneSpec, SyntheticScene, in_polygon

__all__ = ["ClipFiles", "edge_config", "main", "render_clip"]


@dataclass(frozen=True)
class ClipFiles:
    video: Path
    ground_truth: Path
    homography: Path
    edge_config: Path
    frames: int
    seconds_to_render: float
    people_max: int = 0
    zone_people_max: dict[str, int] = field(default_factory=dict)


def edge_config(video: Path, camera: Camera, fps: float, camera_id: str = "synthetic") -> dict[str, object]:
    hm = camera.image_to_ground()
    return {
        "site": "demo",
        "camera": {"id": camera_id, "source": str(video), "fps": fps},
        "calibration": {
            "homography": [[float(f"{v:.10g}") for v in row] for row in hm],
            "image_size": [camera.width_px, camera.height_px],
        },
        "zones": [
            {"id": "plaza", "polygon": [list(p) for p in BUSY_ZONE]},
            {"id": "walkway", "polygon": [list(p) for p in WALKWAY_ZONE]},
        ],
    }


def render_clip(
    out_dir: str | Path, spec: SceneSpec, camera: Camera | None = None, video_name: str = "synthetic.mp4"
) -> ClipFiles:
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    scene = SyntheticScene(spec, camera)
    cam = scene.camera
    video = out / video_name
    fourcc = cv2.VideoWriter.fourcc(*("MJPG" if video.suffix.lower() == ".avi" else "mp4v"))
    writer = cv2.VideoWriter(str(video), fourcc, spec.fps, (cam.width_px, cam.height_px))
    if not writer.isOpened():
        raise RuntimeError(f"OpenCV cannot write {video} (codec {'MJPG' if video.suffix == '.avi' else 'mp4v'})")
    gt_path = out / "gt.txt"
    people_max = 0
    zone_max = {"plaza": 0, "walkway": 0}
    t0 = time.perf_counter()
    with gt_path.open("w", encoding="utf-8") as gt:
        for _, img, truth in scene.frames():
            writer.write(img)
            people_max = max(people_max, len(truth))
            for zone_id, poly in (("plaza", BUSY_ZONE), ("walkway", WALKWAY_ZONE)):
                zone_max[zone_id] = max(zone_max[zone_id], sum(in_polygon(b.x_m, b.y_m, poly) for b in truth))
            for b in truth:
                gt.write(b.mot_row() + "\n")
    writer.release()
    elapsed = time.perf_counter() - t0
    h_path = out / "H_image_to_ground_m.txt"
    np.savetxt(h_path, cam.image_to_ground(), header="image pixels -> ground metres (exact, from the synthetic camera)")
    cfg_path = out / "edge.yaml"
    cfg_path.write_text(yaml.safe_dump(edge_config(video.resolve(), cam, spec.fps), sort_keys=False), encoding="utf-8")
    return ClipFiles(video, gt_path, h_path, cfg_path, scene.n_frames, elapsed, people_max, zone_max)


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m edge.synthetic", description="Render the synthetic build-up scene.")
    ap.add_argument("--out", help="Output folder (required unless --benchmark).")
    ap.add_argument("--seconds", type=float, default=120.0)
    ap.add_argument("--fps", type=float, default=10.0)
    ap.add_argument("--peak-people", type=int, default=40)
    ap.add_argument("--base-people", type=int, default=6)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--video-name", default="synthetic.mp4", help="File name; .avi writes MJPG, else mp4v.")
    ap.add_argument("--benchmark", action="store_true", help="Only render (no files) and print frames per second.")
    args = ap.parse_args(argv)
    try:
        spec = SceneSpec(args.seconds, args.fps, args.peak_people, min(args.base_people, args.peak_people), args.seed)
        if args.benchmark:
            scene = SyntheticScene(spec)
            t0 = time.perf_counter()
            n = sum(1 for _ in scene.frames())
            dt = time.perf_counter() - t0
            w, h = scene.camera.width_px, scene.camera.height_px
            print(
                f"rendered {n} frames of {w}x{h} (peak {spec.peak_people} people) in {dt:.2f} s: {n / dt:.0f} frames/s"
            )
            return 0
        if not args.out:
            ap.error("--out is required")
        clip = render_clip(args.out, spec, video_name=args.video_name)
    except (ValueError, RuntimeError) as err:
        ap.error(str(err))
    fps = clip.frames / clip.seconds_to_render if clip.seconds_to_render > 0 else float("inf")
    print(f"wrote {clip.video} ({clip.frames} frames, rendered at {fps:.0f} frames/s incl. encoding)")
    print(
        f"ground truth {clip.ground_truth}: at most {clip.people_max} people in view, per zone {clip.zone_people_max}"
    )
    print(f"edge config {clip.edge_config}; homography {clip.homography}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
