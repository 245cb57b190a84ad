"""What the density-map counter costs and gains on a dense crowd at 1080p, 25 fps: the edge with and without it.

The clip: the Mall data set's 800 frames (a dense indoor walkway, every head annotated; ../shared/data/mall_train)
scaled by 2.25 to 1440x1080, pillarboxed to 1920x1080 and encoded as H.264 at 25 frames a second, as a 1080p
camera would send them (32 s; people move faster than in the data set's 2 frames a second, which changes
nothing for either side). Its edge config is configs/mall.yaml mapped to the new pixels; the truth is every
annotated head in the walkway, mapped along (scripts/mall_gt.py).

Both sides are the project's own edge (scripts/bench/edge_run.py, a fresh process per run, the config's
defaults: NanoDet every 4th frame at 25 fps), once with `density.mode: off` and once as configured
(`auto`: CSRNet every `density.interval_s` on the zones' crop). Pairs alternate their order so that load from
other work hits both alike. Printed per side: frames/s, CPU per frame, the count error per 1-second interval
(mean absolute error / mean true count), and how many intervals the density map corrected; then the CPU the
dense path adds, pair by pair.

    python3 scripts/build_models.py                       # once: the detector and the density model
    .venv/bin/python -m scripts.bench.density_cost [--repeats 2] [--frames 800]

Target (issue: dense crowds): the dense path adds at most 30% CPU per frame at 1080p 25 fps.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import yaml

from scripts.bench.clips import CLIP_DIR, count_error, true_zone_counts
from scripts.bench.common import ROOT, load_average, print_table, write_result
from scripts.mall_gt import HEADS, mot_rows

MALL_FRAMES = HEADS.parent / "frames"
MALL_CONFIG = ROOT / "configs" / "mall.yaml"
SCALE, SIZE_PX, FPS = 2.25, (1920, 1080), 25.0
PAD_X = (SIZE_PX[0] - SCALE * 640) / 2


def _to_clip(points_px: npt.ArrayLike) -> list[list[float]]:
    p = np.asarray(points_px, np.float64) * SCALE
    p[:, 0] += PAD_X
    return [[round(float(x), 2), round(float(y), 2)] for x, y in p]


def ensure_clip() -> tuple[Path, Path, int]:
    """(edge config, MOT truth, frames) of the 1080p Mall clip; the video is encoded on first use."""
    root = CLIP_DIR / "mall"
    root.mkdir(parents=True, exist_ok=True)
    video, config, gt = root / "1080p.mp4", root / "1080p.yaml", root / "1080p_gt.txt"
    frames = len(list(MALL_FRAMES.glob("seq_*.jpg")))
    if frames == 0:
        raise SystemExit(f"Mall frames not found under {MALL_FRAMES} (set CROWD_SHARED_DATA)")
    if not video.is_file():
        ffmpeg = shutil.which("ffmpeg")
        if ffmpeg is None:
            raise SystemExit("ffmpeg not found: apt-get install -y ffmpeg (scripts/setup.sh lists it)")
        print(f"encoding {video} (H.264 1920x1080, Mall x{SCALE}, pillarboxed, {FPS:g} fps)", flush=True)
        vf = f"scale={round(SCALE * 640)}:{round(SCALE * 480)},pad={SIZE_PX[0]}:{SIZE_PX[1]}:{round(PAD_X)}:0:black"
        tmp = video.with_suffix(".part.mp4")
        cmd = [ffmpeg, "-y", "-loglevel", "error", "-framerate", f"{FPS:g}", "-i", str(MALL_FRAMES / "seq_%06d.jpg")]
        cmd += ["-vf", vf, "-c:v", "libx264", "-preset", "veryfast", "-crf", "23", "-g", "50", "-bf", "0"]
        subprocess.run([*cmd, "-pix_fmt", "yuv420p", str(tmp)], check=True)
        tmp.rename(video)
    rows = mot_rows(np.loadtxt(HEADS, delimiter=",", skiprows=1, ndmin=2))
    rows[:, 2:6] *= SCALE
    rows[:, 2] += PAD_X
    np.savetxt(gt, rows, delimiter=",", fmt="%.2f")
    base: dict[str, Any] = yaml.safe_load(MALL_CONFIG.read_text(encoding="utf-8"))
    cal = base["calibration"]
    cfg = dict(base)
    cfg["camera"] = {"id": "bench-mall-1080p", "source": str(video), "fps": FPS}
    cfg["calibration"] = {
        "points": {"image": _to_clip(cal["points"]["image"]), "ground": cal["points"]["ground"]},
        "image_size": list(SIZE_PX),
    }
    cfg["zones"] = [{**z, "image_polygon": _to_clip(z["image_polygon"])} for z in base["zones"]]
    config.write_text(yaml.safe_dump(cfg, sort_keys=False), encoding="utf-8")
    return config, gt, frames


def run_edge(config: Path, frames: int, density: str) -> dict[str, Any]:
    cmd = [sys.executable, "-m", "scripts.bench.edge_run", "--clip", str(config), "--max-frames", str(frames)]
    done = subprocess.run([*cmd, "--density", density], capture_output=True, text=True, check=True, cwd=ROOT)
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeats", type=int, default=2, help="pairs (off, on) to run")
    ap.add_argument("--frames", type=int, default=None, help="frames per run (default: the whole clip)")
    args = ap.parse_args()
    config, gt, clip_frames = ensure_clip()
    frames = min(args.frames or clip_frames, clip_frames)
    polygon = yaml.safe_load(config.read_text(encoding="utf-8"))["zones"][0]["image_polygon"]
    truth = true_zone_counts(gt, polygon, frames)
    runs: dict[str, list[dict[str, Any]]] = {"off": [], "auto": []}
    for k in range(args.repeats):
        for side in ("off", "auto") if k % 2 == 0 else ("auto", "off"):
            run = run_edge(config, frames, side)
            zone = next(iter(run["zone_intervals"]))
            run["count"] = count_error([(int(a), int(b), float(c)) for a, b, c in run["zone_intervals"][zone]], truth)
            run["cpu_ms_per_frame"] = 1000.0 * run["cpu_s"] / max(run["frames"], 1)
            runs[side].append(run)
            run["density_ms_per_frame"] = 1000.0 * run["density_cpu_s"] / max(run["frames"], 1)
            print(
                f"  {side:4} fps {run['fps']:.1f}  cpu {run['cpu_ms_per_frame']:.1f} ms/frame  "
                f"count error {100 * run['count']['error']:.1f}%  density runs {run['density_runs']} "
                f"({run['density_ms_per_frame']:.1f} ms/frame)  intervals corrected {run['intervals_with_density']}",
                flush=True,
            )
    extra = [b["cpu_s"] / a["cpu_s"] - 1.0 for a, b in zip(runs["off"], runs["auto"], strict=True)]
    rows = []
    for side, label in (("off", "edge, density off"), ("auto", "edge, density map (default)")):
        rs = runs[side]
        rows.append(
            [
                label,
                f"{statistics.median(r['fps'] for r in rs):.1f}",
                f"{statistics.median(r['cpu_ms_per_frame'] for r in rs):.1f}",
                f"{100 * statistics.median(r['count']['error'] for r in rs):.1f}%",
                f"{statistics.median(r['density_runs'] for r in rs):.0f}",
                f"{statistics.median(r['density_ms_per_frame'] for r in rs):.1f}",
                f"{statistics.median(r['intervals_with_density'] for r in rs):.0f}",
            ]
        )
    print(f"\nMall at 1080p, {FPS:g} fps, {frames} frames, {args.repeats} pair(s), load {load_average()}")
    headers = ["side", "frames/s", "CPU ms/frame", "count error", "density runs", "their CPU ms/frame", "corrected"]
    print_table(headers, rows)
    print(f"CPU added by the dense path, pair by pair: {', '.join(f'{100 * e:+.0f}%' for e in extra)} (target <= +30%)")
    own = [r["density_cpu_s"] / o["cpu_s"] for o, r in zip(runs["off"], runs["auto"], strict=True)]
    print(f"CPU of the density runs themselves over the run without them: {', '.join(f'{100 * e:.0f}%' for e in own)}")
    write_result("density_cost", {"frames": frames, "runs": runs, "cpu_added": extra})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
