"""A synthetic camera clip with exact ground truth, for the demo and tests where no real data is.

A pinhole camera (`edge.synthetic_scene.Camera`, placed by `walker_camera`) looks down at a textured
ground plane; people are textured upright boxes (0.5 m wide, 1.7 m tall) walking straight lines at
known speeds. The clip, its MOT-format ground
truth (with ground positions in metres) and an edge config with the exact homography are written
together, so every stage can be run and scored without downloaded data.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt
import yaml

from edge.synthetic_scene import Camera

F64 = npt.NDArray[np.float64]


@dataclass(frozen=True)
class Walker:
    start_m: tuple[float, float]
    velocity_mps: tuple[float, float]
    enter_s: float
    colour_bgr: tuple[int, int, int]


@dataclass(frozen=True)
class SyntheticClip:
    video: Path
    gt: Path
    config: Path
    image_to_ground: F64
    frames: int
    fps: float


def walker_camera(width: int = 480, height: int = 360) -> Camera:
    """The scene's pinhole camera placed for this clip: 6 m up, 4 m behind the origin, pitched 35 degrees down."""
    return Camera(width_px=width, height_px=height, focal_px=0.9 * width, position_m=(0.0, -4.0, 6.0), pitch_deg=35.0)


def default_walkers(seed: int = 7, n: int = 8, duration_s: float = 20.0) -> list[Walker]:
    rng = np.random.default_rng(seed)
    walkers = []
    for i in range(n):
        left_to_right = i % 2 == 0
        speed = float(rng.uniform(0.8, 1.5))
        y = float(rng.uniform(3.0, 9.0))
        x0 = -5.0 if left_to_right else 5.0
        vx = speed if left_to_right else -speed
        vy = float(rng.uniform(-0.15, 0.15))
        colour = tuple(int(c) for c in rng.integers(20, 120, 3))
        walkers.append(Walker((x0, y), (vx, vy), float(i * duration_s / (n + 2)), (colour[0], colour[1], colour[2])))
    return walkers


def render_clip(
    out_dir: str | Path,
    *,
    duration_s: float = 20.0,
    fps: float = 10.0,
    size: tuple[int, int] = (480, 360),
    walkers: list[Walker] | None = None,
    seed: int = 7,
) -> SyntheticClip:
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    width, height = size
    camera = walker_camera(width, height)
    image_to_ground = camera.image_to_ground()
    walkers = walkers if walkers is not None else default_walkers(seed, duration_s=duration_s)
    rng = np.random.default_rng(seed)
    noise = rng.integers(0, 255, (height // 4, width // 4, 3), dtype=np.uint8)
    background = cv2.GaussianBlur(cv2.resize(noise, (width, height), interpolation=cv2.INTER_CUBIC), (0, 0), 2)
    background = cv2.addWeighted(background, 0.35, np.full_like(background, 150), 0.65, 0)
    textures = [rng.integers(0, 90, (40, 16, 3), dtype=np.uint8) for _ in walkers]

    video = out / "synthetic.avi"
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter.fourcc(*"MJPG"), fps, (width, height))
    rows: list[str] = []
    n_frames = round(duration_s * fps)
    for k in range(n_frames):
        t = k / fps
        img = background.copy()
        people = []
        for i, w in enumerate(walkers):
            if t < w.enter_s:
                continue
            dt = t - w.enter_s
            x, y = w.start_m[0] + w.velocity_mps[0] * dt, w.start_m[1] + w.velocity_mps[1] * dt
            if abs(x) > 5.5:
                continue
            people.append((y, i, x))
        # Far people first, so nearer ones occlude them.
        for y, i, x in sorted(people, reverse=True):
            corners = camera.project(np.array([[x - 0.25, y, 0], [x + 0.25, y, 0], [x, y, 1.7]]))
            x1, x2 = corners[0, 0], corners[1, 0]
            y2, y1 = corners[0, 1], corners[2, 1]
            if x2 < 0 or x1 >= width or y2 < 0 or y1 >= height:
                continue
            bw, bh = max(round(x2 - x1), 2), max(round(y2 - y1), 4)
            patch = cv2.resize(textures[i], (bw, bh), interpolation=cv2.INTER_NEAREST)
            patch = cv2.add(patch, np.full_like(patch, walkers[i].colour_bgr))
            xa, ya = round(x1), round(y1)
            xs, ys = max(xa, 0), max(ya, 0)
            xe, ye = min(xa + bw, width), min(ya + bh, height)
            img[ys:ye, xs:xe] = patch[ys - ya : ye - ya, xs - xa : xe - xa]
            rows.append(f"{k + 1},{i + 1},{x1:.2f},{y1:.2f},{x2 - x1:.2f},{y2 - y1:.2f},1,{x:.4f},{y:.4f},0")
        writer.write(img)
    writer.release()
    gt = out / "gt.txt"
    gt.write_text("\n".join(rows) + "\n", encoding="utf-8")
    config = out / "synthetic.yaml"
    config.write_text(yaml.safe_dump(_config(video, image_to_ground, fps, size), sort_keys=False), encoding="utf-8")
    return SyntheticClip(video, gt, config, image_to_ground, n_frames, fps)


def _config(video: Path, image_to_ground: F64, fps: float, size: tuple[int, int]) -> dict[str, object]:
    return {
        "camera": {"id": "synthetic", "source": str(video), "fps": fps},
        "calibration": {"homography": image_to_ground.tolist(), "image_size": list(size)},
        "zones": [
            {"id": "walkway", "polygon": [[-4.5, 2.5], [4.5, 2.5], [4.5, 9.5], [-4.5, 9.5]]},
            {
                "id": "near",
                "image_polygon": [
                    [0, size[1] * 0.55],
                    [size[0] - 1, size[1] * 0.55],
                    [size[0] - 1, size[1] - 1],
                    [0, size[1] - 1],
                ],
            },
        ],
        "lines": [{"id": "centre", "points": [[0.0, 1.0], [0.0, 11.0]], "zone": "walkway"}],
        "detector": {"kind": "offline", "every_n_frames": 1},
        "metrics": {"interval_s": 1.0},
    }


def main(argv: list[str] | None = None) -> int:
    """`python -m edge.synthetic`: render the build-up scene of `edge.synthetic_scene`."""
    from edge.synthetic_clip import main as scene_main

    return scene_main(argv)


if __name__ == "__main__":
    raise SystemExit(main())
