"""H.264 test clips at 720p and 1080p with ground truth and an edge config, made once and cached in out/bench/clips/.

Two kinds, each encoded with Debian's ffmpeg like a camera sends it (libx264, a keyframe every 2 s,
no B-frames), each with its MOT ground truth in its own pixels and an edge config:

- `ensure_pets_clips()` (what `edge_fps` runs): real people. The PETS 2009 S2.L1 View 1 clip from
  ../shared/data (480x360, 795 frames captured at 7 fps) scaled by 3 to 1440x1080 and pillarboxed
  (black) to 1920x1080, and by 2 to 960x720 padded to 1280x720. Its ground truth (MOT15, 768x576
  pixels) and its calibration (configs/pets09_s2l1.yaml, pixels of the 480x360 clip to metres) are
  mapped through the same scale and shift; the zones stay the same metric polygons. The config runs
  the NanoDet backend with the edge's defaults (its model file too: the 8-bit build where there is one).
- `ensure_clips()` (the memory benchmark): the project's synthetic scene (edge/synthetic_scene.py)
  rendered at 1280x720, 25 fps, and scaled to 1080p, with exact ground truth.

    .venv/bin/python -m scripts.bench.clips [--seconds 20] [--fps 25]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import yaml

from edge.synthetic_clip import render_clip
from edge.synthetic_scene import Camera, SceneSpec
from scripts.bench.common import OUT_DIR, ROOT

CLIP_DIR = OUT_DIR / "clips"
SHARED_DATA = Path(os.environ.get("CROWD_SHARED_DATA", ROOT.parent / "shared" / "data"))
PETS_DIR = SHARED_DATA / "pets09_s2l1"
PETS_VIDEO = PETS_DIR / "video" / "vtest_PETS09-S2L1_View001_480x360.avi"
PETS_GT = PETS_DIR / "gt" / "gt.txt"
PETS_CONFIG = ROOT / "configs" / "pets09_s2l1.yaml"
PETS_FPS = 7.0  # captured at about 7 fps; the container says 10
PETS_FRAMES = 795
PETS_SIZE_PX = (480, 360)
PETS_GT_SCALE = 0.625  # the ground truth's pixels are the original 768x576 frame's
# name: (scale from 480x360, output frame); the scaled frame is centred, padded left and right.
PETS_SIZES = {"720p": (2, (1280, 720)), "1080p": (3, (1920, 1080))}
BASE_SIZE_PX = (1280, 720)
SIZES_PX = {"720p": (1280, 720), "1080p": (1920, 1080)}


@dataclass(frozen=True)
class BenchClip:
    name: str
    video: Path
    config: Path
    gt: Path
    width_px: int
    height_px: int
    fps: float
    frames: int


def _encode(src: Path, dst: Path, size_px: tuple[int, int], fps: float, video_filter: str | None = None) -> None:
    """`video_filter` replaces the plain scale to `size_px` (it must produce frames of that size)."""
    ffmpeg = shutil.which("ffmpeg")
    if ffmpeg is None:
        raise SystemExit("ffmpeg not found: apt-get install -y ffmpeg (scripts/setup.sh lists it)")
    vf = video_filter or f"scale={size_px[0]}:{size_px[1]}"
    cmd = [ffmpeg, "-y", "-loglevel", "error", "-i", str(src), "-vf", vf, "-an"]
    # Camera-like stream: a keyframe every 2 s, no B-frames (most IP cameras send none).
    cmd += ["-c:v", "libx264", "-preset", "veryfast", "-crf", "23", "-g", str(round(2 * fps)), "-bf", "0"]
    cmd += ["-pix_fmt", "yuv420p", "-r", f"{fps:g}", str(dst)]
    subprocess.run(cmd, check=True)


def _scaled_gt(src: Path, dst: Path, factor: float) -> None:
    rows = np.loadtxt(src, delimiter=",", ndmin=2)
    rows[:, 2:6] *= factor
    np.savetxt(dst, rows, delimiter=",", fmt=["%d", "%d", "%.1f", "%.1f", "%.1f", "%.1f", "%d", "%.3f", "%.3f", "%d"])


def ensure_clips(seconds: float = 20.0, fps: float = 25.0, peak_people: int = 40) -> dict[str, BenchClip]:
    """720p and 1080p clips (rendered and encoded on first use; later calls reuse the files)."""
    tag = f"s{seconds:g}_f{fps:g}_p{peak_people}"
    root = CLIP_DIR / tag
    clips: dict[str, BenchClip] = {}
    frames = round(seconds * fps)
    for name, (w, h) in SIZES_PX.items():
        video, cfg_path, gt = root / f"{name}.mp4", root / f"{name}.yaml", root / f"{name}_gt.txt"
        clips[name] = BenchClip(name, video, cfg_path, gt, w, h, fps, frames)
    if all(c.video.is_file() and c.config.is_file() and c.gt.is_file() for c in clips.values()):
        return clips
    # A busy scene from the start: most of the clip is at or near the peak crowd.
    spec = SceneSpec(seconds, fps, peak_people, base_people=peak_people // 2, build_start_frac=0.0, build_end_frac=0.3)
    camera = Camera(width_px=BASE_SIZE_PX[0], height_px=BASE_SIZE_PX[1], focal_px=1000.0)
    print(f"rendering the synthetic scene at {BASE_SIZE_PX[0]}x{BASE_SIZE_PX[1]}, {frames} frames ...", flush=True)
    raw = render_clip(root / "raw", spec, camera, video_name="raw.avi")
    base_cfg = yaml.safe_load(raw.edge_config.read_text(encoding="utf-8"))
    for clip in clips.values():
        print(f"encoding {clip.video} (H.264 {clip.width_px}x{clip.height_px})", flush=True)
        _encode(raw.video, clip.video, (clip.width_px, clip.height_px), fps)
        _scaled_gt(raw.ground_truth, clip.gt, clip.width_px / BASE_SIZE_PX[0])
        cfg = dict(base_cfg)
        cfg["camera"] = {"id": f"bench-{clip.name}", "source": str(clip.video), "fps": fps}
        clip.config.write_text(yaml.safe_dump(cfg, sort_keys=False), encoding="utf-8")
    raw.video.unlink()  # MJPG is large; the H.264 clips are what the benchmarks read
    return clips


def pets_transform(scale: int, size_px: tuple[int, int]) -> npt.NDArray[np.float64]:
    """3x3 map from pixels of the 480x360 PETS clip to pixels of the scaled, centred and padded frame."""
    pad_x = (size_px[0] - scale * PETS_SIZE_PX[0]) / 2
    pad_y = (size_px[1] - scale * PETS_SIZE_PX[1]) / 2
    return np.array([[scale, 0.0, pad_x], [0.0, scale, pad_y], [0.0, 0.0, 1.0]])


def _pets_gt(dst: Path, transform: npt.NDArray[np.float64]) -> None:
    """The MOT15 ground truth in the padded frame's pixels, without the ignore regions (conf 0)."""
    rows = np.loadtxt(PETS_GT, delimiter=",", ndmin=2)
    rows = rows[rows[:, 6] != 0]
    factor, pad_x, pad_y = PETS_GT_SCALE * transform[0, 0], transform[0, 2], transform[1, 2]
    rows[:, 2:6] *= factor
    rows[:, 2] += pad_x
    rows[:, 3] += pad_y
    fmt = ["%d", "%d", "%.2f", "%.2f", "%.2f", "%.2f", "%d", "%.4f", "%.4f", "%d"]
    np.savetxt(dst, rows[np.lexsort((rows[:, 1], rows[:, 0]))], delimiter=",", fmt=fmt)


def _pets_config(clip: BenchClip, transform: npt.NDArray[np.float64]) -> dict[str, Any]:
    """configs/pets09_s2l1.yaml for the padded clip: its homography composed with the inverse of the
    scale and shift, the same metric zones and lines, 7 fps, and `detector.kind: nanodet` with the edge's
    own defaults, model file included (the base config's detector section is kept where it runs nanodet
    or `auto`)."""
    base: dict[str, Any] = yaml.safe_load(PETS_CONFIG.read_text(encoding="utf-8"))
    cal = base["calibration"]
    if cal.get("homography") is None or list(cal.get("image_size") or []) != list(PETS_SIZE_PX):
        raise SystemExit(f"{PETS_CONFIG}: expected a homography for {PETS_SIZE_PX[0]}x{PETS_SIZE_PX[1]} pixels")
    h = np.asarray(cal["homography"], np.float64) @ np.linalg.inv(transform)
    h /= h[2, 2]
    cfg = dict(base)
    cfg["camera"] = {"id": f"bench-pets-{clip.name}", "source": str(clip.video), "fps": PETS_FPS}
    cfg["calibration"] = {"homography": h.tolist(), "image_size": [clip.width_px, clip.height_px]}
    detector = dict(base.get("detector") or {})
    if detector.get("kind", "auto") not in ("nanodet", "auto"):
        detector = {}
    detector["kind"] = "nanodet"
    cfg["detector"] = detector
    return cfg


def ensure_pets_clips(names: tuple[str, ...] = tuple(PETS_SIZES)) -> dict[str, BenchClip]:
    """The PETS S2.L1 clip at 720p and 1080p (see the module docstring). The videos are encoded on first
    use and reused; the ground truth and the edge config are rewritten every call (cheap), so they follow
    configs/pets09_s2l1.yaml."""
    if not PETS_VIDEO.is_file() or not PETS_GT.is_file():
        raise SystemExit(f"PETS 2009 S2.L1 not found under {PETS_DIR} (set CROWD_SHARED_DATA)")
    root = CLIP_DIR / "pets09_s2l1"
    root.mkdir(parents=True, exist_ok=True)
    clips: dict[str, BenchClip] = {}
    for name in names:
        scale, (w, h) = PETS_SIZES[name]
        clip = BenchClip(
            name,
            root / f"{name}.mp4",
            root / f"{name}.yaml",
            root / f"{name}_gt.txt",
            w,
            h,
            PETS_FPS,
            PETS_FRAMES,
        )
        transform = pets_transform(scale, (w, h))
        if not clip.video.is_file():
            print(f"encoding {clip.video} (H.264 {w}x{h}, PETS x{scale}, pillarboxed)", flush=True)
            pad_x, pad_y = round(transform[0, 2]), round(transform[1, 2])
            # Timestamps from the frame number at 7 fps: re-timing with -r alone would drop frames.
            vf = f"setpts=N/({PETS_FPS:g}*TB),scale={scale * PETS_SIZE_PX[0]}:{scale * PETS_SIZE_PX[1]}"
            vf += f",pad={w}:{h}:{pad_x}:{pad_y}:black"
            tmp = clip.video.with_suffix(".part.mp4")
            _encode(PETS_VIDEO, tmp, (w, h), PETS_FPS, video_filter=vf)
            tmp.rename(clip.video)
        _pets_gt(clip.gt, transform)
        clip.config.write_text(yaml.safe_dump(_pets_config(clip, transform), sort_keys=False), encoding="utf-8")
        clips[name] = clip
    return clips


def true_zone_counts(gt: Path, polygon_px: npt.ArrayLike, frames: int) -> npt.NDArray[np.int64]:
    """Per frame (0-based) how many true people stand in the image polygon: the bottom centre of their box."""
    from edge.geometry import points_in_polygon

    out = np.zeros(frames, np.int64)
    polygon = np.asarray(polygon_px, np.float64)
    for k, boxes in enumerate(load_gt_boxes(gt, frames)):
        if len(boxes):
            feet = np.stack([(boxes[:, 0] + boxes[:, 2]) / 2, boxes[:, 3]], axis=1).astype(np.float64)
            out[k] = int(points_in_polygon(feet, polygon).sum())
    return out


def frame_intervals(counts: npt.ArrayLike, fps: float, interval_s: float = 1.0) -> list[tuple[int, int, float]]:
    """Per-frame counts (frame k at k / fps seconds) as (first frame, last frame, mean count) per interval,
    the intervals cut as the edge's aggregator cuts them."""
    values = np.asarray(counts, np.float64)
    keys = np.floor(np.arange(len(values)) / fps / interval_s + 1e-9).astype(np.int64)
    out: list[tuple[int, int, float]] = []
    for key in np.unique(keys):
        idx = np.nonzero(keys == key)[0]
        out.append((int(idx[0]), int(idx[-1]), float(values[idx].mean())))
    return out


def count_error(intervals: list[tuple[int, int, float]], truth: npt.ArrayLike) -> dict[str, float | int]:
    """Each interval's mean count against the truth's mean over the same frames: the mean absolute
    error over the intervals, and that divided by the mean true count (`error`, the figure reported)."""
    true = np.asarray(truth, np.float64)
    pairs = [(count, float(true[a : b + 1].mean())) for a, b, count in intervals if b < len(true)]
    if not pairs:
        return {"intervals": 0, "mae": float("nan"), "mean_true": float("nan"), "error": float("nan")}
    got, want = np.array(pairs).T
    mae, mean_true = float(np.abs(got - want).mean()), float(want.mean())
    return {
        "intervals": len(pairs),
        "mae": mae,
        "mean_true": mean_true,
        "error": mae / mean_true if mean_true > 0 else float("nan"),
    }


def load_gt_boxes(gt: Path, frames: int) -> list[npt.NDArray[np.float32]]:
    """Per frame (0-based) the true person boxes, xyxy pixels."""
    rows = np.loadtxt(gt, delimiter=",", ndmin=2)
    out: list[npt.NDArray[np.float32]] = [np.zeros((0, 4), np.float32) for _ in range(frames)]
    order = np.argsort(rows[:, 0], kind="stable")
    rows = rows[order]
    idx = rows[:, 0].astype(int) - 1
    for k in np.unique(idx):
        if 0 <= k < frames:
            r = rows[idx == k]
            out[k] = np.stack([r[:, 2], r[:, 3], r[:, 2] + r[:, 4], r[:, 3] + r[:, 5]], axis=1).astype(np.float32)
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--fps", type=float, default=25.0)
    ap.add_argument("--peak-people", type=int, default=40)
    ap.add_argument("--synthetic", action="store_true", help="also the synthetic-scene clips (memory benchmark)")
    args = ap.parse_args()
    clips = {f"pets-{k}": v for k, v in ensure_pets_clips().items()}
    if args.synthetic:
        clips |= {f"synthetic-{k}": v for k, v in ensure_clips(args.seconds, args.fps, args.peak_people).items()}
    for name, clip in clips.items():
        print(f"{name}: {clip.video} ({clip.frames} frames at {clip.fps:g} fps), config {clip.config}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
