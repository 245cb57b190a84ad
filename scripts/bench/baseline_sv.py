"""The baseline a user would write: NanoDet-m on every frame, supervision's ByteTrack and PolygonZone.

Runs in its own venv with supervision (.venv-bench, see scripts/bench/build_baseline_env.sh) and imports
nothing from the project. Per frame: `cv2.VideoCapture.read()`, the frame resized straight to 416x416
(NanoDet's native input, as its TF.js users feed it), BGR normalised by the model's mean and std, the
ONNX on onnxruntime's default session, a small GFL decode of the person class (below), confidence 0.35,
`sv.Detections(...).with_nms(0.5)`, `sv.ByteTrack`, one `sv.PolygonZone` per zone (bottom-centre anchor)
counting the tracked people. Prints one JSON line with the timing and every zone's count per frame.
Called by scripts/bench/edge_fps.py; by hand:

    .venv-bench/bin/python scripts/bench/baseline_sv.py --video V.mp4 --model models/nanodet-m.onnx \\
        --zones '[[[x, y], ...], ...]' --fps 7
"""

from __future__ import annotations

import argparse
import json
import resource
import time

import cv2
import numpy as np
import onnxruntime as ort
import supervision as sv

SIDE = 416
MEAN = np.array([103.53, 116.28, 123.675], np.float32)  # BGR
STD = np.array([57.375, 57.12, 58.395], np.float32)
STRIDES = (8, 16, 32)
BINS = 11
PERSON = 0


def decode(outputs: list[np.ndarray], side: int, confidence: float) -> tuple[np.ndarray, np.ndarray]:
    """NanoDet's GFL head, person class only: boxes xyxy in network pixels and their scores.

    Per stride s the network gives a [1, N, 80] score map (sigmoid applied) and a [1, N, 44] box map,
    N = (side/s)^2 cells row-major; each side of the box (left, top, right, bottom) is a distribution
    over 11 bins whose expectation, times s, is its distance from the cell centre."""
    by_shape = {(o.shape[1], o.shape[2]): o[0] for o in outputs}
    boxes, scores = [], []
    for s in STRIDES:
        cols = side // s
        cls, reg = by_shape[(cols * cols, 80)], by_shape[(cols * cols, 4 * BINS)]
        keep = np.nonzero(cls[:, PERSON] > confidence)[0]
        if len(keep) == 0:
            continue
        logits = reg[keep].reshape(-1, 4, BINS)
        p = np.exp(logits - logits.max(axis=2, keepdims=True))
        dist = (p / p.sum(axis=2, keepdims=True)) @ np.arange(BINS, dtype=np.float32) * s
        cx, cy = (keep % cols + 0.5) * s, (keep // cols + 0.5) * s
        boxes.append(np.stack([cx - dist[:, 0], cy - dist[:, 1], cx + dist[:, 2], cy + dist[:, 3]], axis=1))
        scores.append(cls[keep, PERSON])
    if not boxes:
        return np.zeros((0, 4), np.float32), np.zeros(0, np.float32)
    return np.concatenate(boxes), np.concatenate(scores)


def run(video: str, model: str, zones_px: list[list[list[float]]], fps: float, max_frames: int) -> dict:
    t0 = time.perf_counter()
    cpu0 = time.process_time()
    session = ort.InferenceSession(model, providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    tracker = sv.ByteTrack(frame_rate=round(fps))
    zones = [
        sv.PolygonZone(
            polygon=np.round(np.asarray(z)).astype(np.int64), triggering_anchors=(sv.Position.BOTTOM_CENTER,)
        )
        for z in zones_px
    ]
    cap = cv2.VideoCapture(video)
    frames = detections_total = 0
    counts: list[list[int]] = [[] for _ in zones]
    while frames < max_frames:
        ok, frame = cap.read()
        if not ok:
            break
        h, w = frame.shape[:2]
        image = (cv2.resize(frame, (SIDE, SIDE)).astype(np.float32) - MEAN) / STD
        blob = np.ascontiguousarray(image.transpose(2, 0, 1)[None])
        xyxy, scores = decode(session.run(None, {name: blob}), SIDE, 0.35)
        xyxy = xyxy * np.array([w / SIDE, h / SIDE] * 2, np.float32)
        detections = sv.Detections(xyxy=xyxy, confidence=scores, class_id=np.zeros(len(scores), int)).with_nms(0.5)
        detections_total += len(detections)
        detections = tracker.update_with_detections(detections)
        for zone, zone_counts in zip(zones, counts, strict=True):
            zone_counts.append(int(zone.trigger(detections).sum()))
        frames += 1
    cap.release()
    wall = time.perf_counter() - t0
    return {
        "side": "baseline",
        "frames": frames,
        "wall_s": wall,
        "fps": frames / wall,
        "cpu_s": time.process_time() - cpu0,
        "network_input_px": f"{SIDE}x{SIDE}",
        "detections_per_frame": detections_total / frames if frames else None,
        "zone_counts": counts,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "supervision": sv.__version__,
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--video", required=True)
    ap.add_argument("--model", required=True, help="models/nanodet-m.onnx")
    ap.add_argument("--zones", required=True, help="JSON list of image polygons in pixels")
    ap.add_argument("--fps", type=float, required=True, help="the camera's frame rate (the tracker's)")
    ap.add_argument("--max-frames", type=int, default=10**9)
    args = ap.parse_args()
    print(json.dumps(run(args.video, args.model, json.loads(args.zones), args.fps, args.max_frames)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
