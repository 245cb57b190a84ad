"""H.264 test clips at 720p and 1080p with exact ground truth, rendered once and cached in out/bench/clips/.

The project's own synthetic scene (edge/synthetic_scene.py: people walking on a paved plane, seen
by an elevated camera) is rendered at 1280x720 and encoded with Debian's ffmpeg (libx264, the
codec real cameras send); the 1080p clip is the same frames scaled up, so both resolutions carry
the same people. Each clip comes with its MOT ground truth in its own pixels and an edge config.

    .venv/bin/python -m scripts.bench.clips [--seconds 20] [--fps 25]
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import yaml

from edge.synthetic_scene import Camera, SceneSpec, render_clip
from scripts.bench.common import OUT_DIR

CLIP_DIR = OUT_DIR / "clips"
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


def _encode(src: Path, dst: Path, size_px: tuple[int, int], fps: float) -> None:
    ffmpeg = shutil.which("ffmpeg")
    if ffmpeg is None:
        raise SystemExit("ffmpeg not found: apt-get install -y ffmpeg (scripts/setup.sh lists it)")
    cmd = [ffmpeg, "-y", "-loglevel", "error", "-i", str(src), "-vf", f"scale={size_px[0]}:{size_px[1]}"]
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
    args = ap.parse_args()
    for clip in ensure_clips(args.seconds, args.fps, args.peak_people).values():
        print(f"{clip.name}: {clip.video} ({clip.frames} frames), config {clip.config}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
