"""One timed run of the project's edge pipeline on a clip; prints one JSON line. Called by edge_fps.

The YOLO11n export has random weights (the true compute cost, no released weights needed), so it
finds nobody. To give the tracker, optical flow and metrics their true work as well, the detector
runs the network in full on every frame it is asked about (letterbox, inference, decoding of the
raw output) and then reports the clip's ground-truth boxes for that frame. The baseline does the same.

    .venv/bin/python -m scripts.bench.edge_run --clip out/bench/clips/.../720p.yaml --model models/yolo11n_320.onnx
"""

from __future__ import annotations

import argparse
import json
import resource
import time
from pathlib import Path

import numpy as np
import numpy.typing as npt

from edge.calibration import CameraGeometry
from edge.config import EdgeConfig, load
from edge.detectors import Detector
from edge.detectors.onnx import OnnxDetector, rect_letterbox
from edge.pipeline import Pipeline
from edge.sinks import MemorySink
from edge.sources import open_source
from edge.types import Detections, Frame


class TruthAfterNetwork:
    """Runs the real network, then answers with the frame's true boxes (see the module docstring)."""

    name = "onnx+truth"

    def __init__(self, network: Detector, truth: list[npt.NDArray[np.float32]]) -> None:
        self.network = network
        self.truth = truth
        self.network_boxes = 0
        self.frame_hw: tuple[int, int] | None = None

    def detect(self, frame: Frame) -> Detections:
        self.frame_hw = (frame.image.shape[0], frame.image.shape[1])
        self.network_boxes += len(self.network.detect(frame))
        boxes = self.truth[frame.index] if frame.index < len(self.truth) else np.zeros((0, 4), np.float32)
        return Detections(boxes, np.full(len(boxes), 0.9, np.float32))


def run(
    config: Path,
    gt: Path,
    model: Path,
    every_n: int,
    threads: int,
    max_frames: int | None,
    input_px: int = 640,
    detect_ahead: bool = True,
) -> dict[str, object]:
    from scripts.bench.clips import load_gt_boxes

    raw = load(config)
    cfg = raw.model_copy(
        update={
            "detector": raw.detector.model_copy(
                update={
                    "kind": "onnx",
                    "model": str(model),
                    "every_n_frames": every_n,
                    "threads": threads,
                    "input_size": input_px,  # used by dynamic-shape exports; a static one has its own
                }
            )
        }
    )
    truth = load_gt_boxes(gt, 100_000)
    wrappers: list[TruthAfterNetwork] = []

    def factory(c: EdgeConfig, _g: CameraGeometry) -> Detector:
        wrappers.append(TruthAfterNetwork(OnnxDetector(c.detector), truth))
        return wrappers[-1]

    source = open_source(cfg.camera.source, fps=cfg.camera.fps)
    sink = MemorySink()
    pipeline = Pipeline(cfg, source, [sink], detector_factory=factory, detect_ahead=detect_ahead)
    t0 = time.perf_counter()
    cpu0 = time.process_time()
    stats = pipeline.run(max_frames=max_frames)
    wall = time.perf_counter() - t0
    cpu = time.process_time() - cpu0
    counts = [m.count for m in sink.metrics if m.zone == "plaza"]
    return {
        "side": "ours",
        "detect_ahead": detect_ahead,
        "model": str(model),
        "network_input_px": _network_input(wrappers),
        "frames": stats.frames_processed,
        "wall_s": wall,
        "fps": stats.frames_processed / wall,
        "cpu_s": cpu,
        "detections_run": stats.detections_run,
        "detector_ms": stats.detector_ms,
        "network_boxes": sum(w.network_boxes for w in wrappers),
        "intervals": len(sink.metrics),
        "plaza_count_mean": float(np.mean(counts)) if counts else None,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def _network_input(wrappers: list[TruthAfterNetwork]) -> str | None:
    """What the network was fed (e.g. '320x192' for a dynamic export on a 16:9 clip), for the record."""
    wrapper = wrappers[-1] if wrappers else None
    if wrapper is None or wrapper.frame_hw is None or not isinstance(wrapper.network, OnnxDetector):
        return None
    side = wrapper.network.input_size_px
    if not wrapper.network.rect_input:
        return f"{side}x{side}"
    h, w = rect_letterbox(np.zeros((*wrapper.frame_hw, 3), np.uint8), side)[0].shape[:2]
    return f"{w}x{h}"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--clip", type=Path, required=True, help="the clip's edge config (from scripts.bench.clips)")
    ap.add_argument("--gt", type=Path, required=True)
    ap.add_argument("--model", type=Path, required=True)
    ap.add_argument("--every-n", type=int, default=1)
    ap.add_argument("--threads", type=int, default=0, help="0: the edge's own choice (detector.threads)")
    ap.add_argument("--input-px", type=int, default=640, help="network input (long side) for a dynamic-shape export")
    ap.add_argument("--max-frames", type=int, default=None)
    ap.add_argument("--no-detect-ahead", action="store_true", help="detect in line on the main thread")
    args = ap.parse_args()
    print(
        json.dumps(
            run(
                args.clip,
                args.gt,
                args.model,
                args.every_n,
                args.threads,
                args.max_frames,
                args.input_px,
                not args.no_detect_ahead,
            )
        )
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
