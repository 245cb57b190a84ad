"""One timed run of the project's edge pipeline on a clip, as a user runs it; prints one JSON line. Called by edge_fps.

The clip's edge config (scripts/bench/clips.py: the PETS clip with `detector.kind: nanodet`) is run as it
is: the pipeline builds its own detector from it and every setting (every_n_frames, threads, input size)
is the config's or the edge's default, unless a flag below overrides it. The run's product, every zone's
mean count per metrics interval, is printed with the timing so that edge_fps can score it.

    .venv/bin/python -m scripts.bench.edge_run --clip out/bench/clips/pets09_s2l1/1080p.yaml [--every-n 4]
"""

from __future__ import annotations

import argparse
import json
import resource
import time
from pathlib import Path
from typing import Any

from edge.config import EdgeConfig, load
from edge.pipeline import Pipeline
from edge.sinks import MemorySink
from edge.sources import open_source
from scripts.bench.common import ROOT


def run(
    config: Path,
    max_frames: int | None,
    *,
    every_n: int | None = None,
    threads: int | None = None,
    model: Path | None = None,
    kind: str | None = None,
    detect_ahead: bool = True,
    density: str | None = None,
) -> dict[str, Any]:
    raw = load(config)
    changes: dict[str, Any] = {
        "every_n_frames": every_n,
        "threads": threads,
        "model": str(model) if model is not None else None,
        "kind": kind,
    }
    overrides = {k: v for k, v in changes.items() if v is not None}
    data = raw.model_dump()
    data["detector"].update(overrides)
    if density is not None:
        data["density"]["mode"] = density
        overrides["density.mode"] = density
    cfg = EdgeConfig.model_validate(data)  # a bad override fails as a bad config would

    source = open_source(cfg.camera.source, fps=cfg.camera.fps)
    sink = MemorySink()
    pipeline = Pipeline(cfg, source, [sink], detect_ahead=detect_ahead)
    t0 = time.perf_counter()
    cpu0 = time.process_time()
    stats = pipeline.run(max_frames=max_frames)
    wall = time.perf_counter() - t0
    cpu = time.process_time() - cpu0
    intervals: dict[str, list[tuple[int, int, float]]] = {z.id: [] for z in cfg.zones}
    sources: dict[str, dict[str, int]] = {z.id: {} for z in cfg.zones}
    for m in sink.metrics:
        intervals[m.zone].append((m.frame_start, m.frame_end, m.count))
        source = str(getattr(m, "count_source", "tracks"))
        sources[m.zone][source] = sources[m.zone].get(source, 0) + 1
    return {
        "side": "ours",
        "detector": cfg.detector.model_dump(),
        "detector_name": getattr(pipeline.detector, "name", None),
        "model_file": _model_file(pipeline.detector),
        "network_inputs": _network_inputs(pipeline.detector),
        "overrides": overrides,
        "detect_ahead": detect_ahead,
        "frames": stats.frames_processed,
        "wall_s": wall,
        "fps": stats.frames_processed / wall,
        "cpu_s": cpu,
        "detections_run": stats.detections_run,
        "detector_ms": stats.detector_ms,
        "zone_intervals": intervals,
        "intervals_with_density": sum(1 for m in sink.metrics if m.density_weight > 0),
        "density_runs": pipeline.density.runs if pipeline.density is not None else 0,
        # Process CPU during the runs: in a file replay the network runs in line, so this is its cost (the
        # decoder's and detector's threads keep running beside it and are counted too: an upper bound).
        "density_cpu_s": pipeline.density.run_cpu_s if pipeline.density is not None else 0.0,
        "count_sources": sources,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def _model_file(detector: object) -> str | None:
    """The model file the detector loaded (the config's, or the backend's default), relative to the repo."""
    path = getattr(detector, "path", None)
    if path is None:
        return None
    path = Path(path).resolve()
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


def _network_inputs(detector: object) -> list[str] | None:
    """What the network is fed per detection, for the record: the nanodet backend's windows as
    'crop WxH at (x, y) x scale -> input WxH'; None for a backend without windows."""
    windows = getattr(detector, "windows", None)
    if windows is None:
        return None
    out = []
    for w in windows:
        in_w, in_h = w.input_wh
        out.append(f"{w.x1 - w.x0}x{w.y1 - w.y0} at ({w.x0}, {w.y0}) x{w.scale:.2f} -> {in_w}x{in_h}")
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--clip", type=Path, required=True, help="the clip's edge config (from scripts.bench.clips)")
    ap.add_argument("--max-frames", type=int, default=None)
    ap.add_argument("--every-n", type=int, default=None, help="detector.every_n_frames (default: the config's)")
    ap.add_argument("--threads", type=int, default=None, help="detector.threads (default: the config's)")
    ap.add_argument(
        "--model", type=Path, default=None, help="detector.model (default: the config's, else the backend's)"
    )
    ap.add_argument("--kind", default=None, help="detector.kind (default: the config's, nanodet)")
    ap.add_argument("--no-detect-ahead", action="store_true", help="detect in line on the main thread")
    ap.add_argument("--density", choices=["auto", "on", "off"], default=None, help="density.mode (default: config's)")
    args = ap.parse_args()
    result = run(
        args.clip,
        args.max_frames,
        every_n=args.every_n,
        threads=args.threads,
        model=args.model,
        kind=args.kind,
        detect_ahead=not args.no_detect_ahead,
        density=args.density,
    )
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
