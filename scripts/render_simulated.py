"""Render a simulated (JuPedSim) dense crowd into a video and compare the edge's zone density and speed with the truth.

    python -m scripts.render_simulated --out out/render_sim [--scenario configs/scenarios/sim_concourse_ramp.yaml]
        [--zone gates] [--start-s 1560 --seconds 60 --fps 10] [--detector gt|offline]

The scenario's simulation comes from the cache (`python -m scripts.simulate_scenarios`). A window of its
trajectories around the zone is rendered with edge/synthetic_render.py at a fixed camera pose; the edge's zone
is the simulated zone's polygon (calibration from projected ground points, as scripts/render_trajectories.py
does). The truth per 1 s interval is count / area (PedPy's classic density) and the median of the individual
speeds (PedPy's individual speed, finite differences of the same positions). Printed: the edge's mean density
over the window against the truth's (target within 15 %) and the speed p50 error (target within 0.15 m/s).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import yaml

from crowdsim.cache import load_or_simulate
from crowdsim.demand import parse_demand
from crowdsim.sites import get_site
from edge.calibration import build_geometry
from edge.config import load as load_config
from edge.synthetic_render import Trajectories, TrajectoryRenderer, camera_over
from edge.trajectory_truth import read_truth, write_truth, zone_truth
from scripts.render_trajectories import ZONE_ID, RenderedClip, edge_config, run_and_score, write_clip

REPO = Path(__file__).resolve().parents[1]
MARGIN_M = 4.0  # people this far around the zone are rendered too (they occlude and enter)


def sim_window(
    scenario: Path, zone: str, start_s: float, seconds: float
) -> tuple[Trajectories, list[tuple[float, float]]]:
    data = yaml.safe_load(scenario.read_text(encoding="utf-8"))
    z = next(z for z in data["zones"] if z["timeline"].get("zone") == zone)
    tl = z["timeline"]
    demand = parse_demand(tl["demand"], str(scenario))
    res, _ = load_or_simulate(tl["site"], demand, float(data["duration_s"]))
    poly = get_site(tl["site"]).zones[zone]
    x0, y0, x1, y1 = poly.bounds
    t = res.frame / res.frame_rate_hz
    keep = (
        (t >= start_s) & (t <= start_s + seconds)
        & (res.x_m >= x0 - MARGIN_M) & (res.x_m <= x1 + MARGIN_M)
        & (res.y_m >= y0 - MARGIN_M) & (res.y_m <= y1 + MARGIN_M)
    )  # fmt: skip
    traj = Trajectories(
        t_s=t[keep] - start_s,
        ids=res.person[keep].astype(np.int64),
        x_m=res.x_m[keep].astype(float),
        y_m=res.y_m[keep].astype(float),
        step_s=1.0 / res.frame_rate_hz,
    )
    corners = [(float(x), float(y)) for x, y in list(poly.exterior.coords)[:-1]]
    return traj, corners


def render_zone(
    out: Path, traj: Trajectories, zone_m: list[tuple[float, float]], fps: float, size_px: tuple[int, int]
) -> RenderedClip:
    out.mkdir(parents=True, exist_ok=True)
    camera = camera_over(traj, size_px[0], size_px[1], 9.0, 40.0)
    renderer = TrajectoryRenderer(traj, camera, fps, 0)
    video = out / "clip.mp4"
    gt_rows, elapsed = write_clip(renderer, video, fps, size_px)
    cfg_path = out / "edge.yaml"
    # edge_config wants the zone as [near-left, near-right, far-right, far-left]: a rectangle's corners.
    xs, ys = [p[0] for p in zone_m], [p[1] for p in zone_m]
    rect = [(min(xs), min(ys)), (max(xs), min(ys)), (max(xs), max(ys)), (min(xs), max(ys))]
    cfg_path.write_text(
        yaml.safe_dump(edge_config(video.resolve(), camera, fps, rect), sort_keys=False), encoding="utf-8"
    )
    geometry = build_geometry(load_config(cfg_path), size_px)
    truth_path = out / "truth.csv"
    write_truth(truth_path, zone_truth(renderer, geometry.zones))
    gt_path = out / "gt.txt"
    gt_path.write_text("\n".join(gt_rows) + "\n", encoding="utf-8")
    return RenderedClip(video, truth_path, gt_path, cfg_path, renderer.n_frames, elapsed)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m scripts.render_simulated", description=__doc__.split("\n")[0])
    ap.add_argument("--scenario", type=Path, default=REPO / "configs" / "scenarios" / "sim_concourse_ramp.yaml")
    ap.add_argument("--zone", default="gates")
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--start-s", type=float, default=1560.0)
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--fps", type=float, default=10.0)
    ap.add_argument("--width", type=int, default=960)
    ap.add_argument("--height", type=int, default=540)
    ap.add_argument("--detector", choices=["offline", "nanodet", "gt"], default="offline")
    args = ap.parse_args(argv)
    traj, zone_m = sim_window(args.scenario, args.zone, args.start_s, args.seconds)
    clip = render_zone(args.out, traj, zone_m, args.fps, (args.width, args.height))
    truth = [t for t in read_truth(clip.truth) if t.speed_p50_mps is not None]
    area = float(
        get_site(yaml.safe_load(args.scenario.read_text())["zones"][0]["timeline"]["site"]).zones[args.zone].area
    )
    print(f"wrote {clip.video} ({clip.frames} frames in {clip.seconds_to_render:.0f} s); zone {area:.0f} m2")
    t0 = time.perf_counter()
    score, metrics = run_and_score(clip, detector=args.detector, dense=False)
    rows = [m for m in metrics if m.zone == ZONE_ID and m.t_end >= 5.0]
    edge_density = float(np.mean([m.density for m in rows])) if rows else float("nan")
    truth_density = float(np.mean([t.count for t in read_truth(clip.truth) if t.t_start_s >= 5.0])) / area
    rel = edge_density / truth_density - 1.0
    print(
        f"edge ({args.detector}, tracks, {time.perf_counter() - t0:.0f} s): density {edge_density:.2f} /m2 vs truth "
        f"{truth_density:.2f} ({rel:+.1%}, target within 15 %); speed p50 {score.summary()} "
        f"(truth p50 median {np.median([t.speed_p50_mps for t in truth]):.2f} m/s, target within 0.15 m/s)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
