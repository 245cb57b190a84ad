"""`make demo`: run the edge on the PETS 2009 clip when ../shared/data is there, otherwise on a
synthetic clip it renders itself; write metrics JSONL, an annotated preview and a count plot under
out/, score them against the ground truth, and say where everything is."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from edge.calibration import build_geometry
from edge.cli import run_edge
from edge.config import load
from edge.evaluation import format_table, load_mot, plot_counts, score, truth_metrics
from edge.pipeline import metrics_settings
from edge.sinks import JsonlSink, MemorySink, metrics_to_dict
from edge.synthetic import render_clip

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "data"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--out", default=str(REPO / "out" / "demo"), help="output folder")
    ap.add_argument("--synthetic", action="store_true", help="use the synthetic clip even if shared data exists")
    args = ap.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    pets = SHARED / "pets09_s2l1"
    if pets.is_dir() and not args.synthetic:
        cfg = load(REPO / "configs" / "pets09_s2l1.yaml")
        video = pets / "video" / "vtest_PETS09-S2L1_View001_480x360.avi"
        cfg = cfg.model_copy(update={"camera": cfg.camera.model_copy(update={"source": str(video)})})
        gt = load_mot(pets / "gt" / "gt.txt", scale=0.625)
        print(f"demo: PETS 2009 S2.L1 from {video}")
    else:
        clip = render_clip(out / "synthetic", duration_s=30.0, fps=10.0)
        cfg = load(clip.config)
        gt = load_mot(clip.gt)
        print(f"demo: no shared data; rendered a synthetic clip at {clip.video}")

    metrics_path = out / "metrics.jsonl"
    preview = out / "annotated.avi"
    memory = MemorySink()
    t0 = time.perf_counter()
    stats, frames = run_edge(cfg, [memory, JsonlSink(metrics_path)], annotate=str(preview))
    wall = time.perf_counter() - t0
    # Both demo configs set calibration.image_size, the size their frames come at.
    truth = truth_metrics(gt, frames, build_geometry(cfg), metrics_settings(cfg), cfg.camera.id)
    rows = [metrics_to_dict(m) for m in memory.metrics]
    plot = out / "counts.png"
    plot_counts(rows, truth, plot)
    print(format_table(score(rows, truth), stats.frames_processed / max(wall, 1e-9)))
    print(f"\nmetrics (JSONL, one row per zone per interval): {metrics_path}")
    print(f"annotated preview (boxes, track ids, zones by level of service): {preview}")
    print(f"counted versus true people over time: {plot}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
