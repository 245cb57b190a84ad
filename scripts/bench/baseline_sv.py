"""The baseline a user would write: the same YOLO ONNX on every frame, supervision's ByteTrack and PolygonZone.

Runs in the venv that has supervision (.venv-export, see scripts/build_yolo_onnx.sh); imports nothing
from the project. Like the project's run it pays the network's full cost on every frame and then
takes the clip's true boxes (random weights find nobody), so the tracker and zones have real work.
Prints one JSON line. Called by scripts/bench/edge_fps.py; by hand:

    .venv-export/bin/python scripts/bench/baseline_sv.py --video V.mp4 --gt V_gt.txt --model M.onnx \\
        --zones '[[[x, y], ...], ...]' --fps 25
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


def truth_by_frame(path: str) -> dict[int, np.ndarray]:
    rows = np.loadtxt(path, delimiter=",", ndmin=2)
    out: dict[int, np.ndarray] = {}
    for k in np.unique(rows[:, 0]).astype(int):
        r = rows[rows[:, 0] == k]
        out[k - 1] = np.stack([r[:, 2], r[:, 3], r[:, 2] + r[:, 4], r[:, 3] + r[:, 5]], axis=1)
    return out


def run(video: str, gt: str, model: str, zones_px: list[list[list[float]]], fps: float, max_frames: int) -> dict:
    truth = truth_by_frame(gt)
    t0 = time.perf_counter()
    cpu0 = time.process_time()
    session = ort.InferenceSession(model, providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    side = int(session.get_inputs()[0].shape[2])
    tracker = sv.ByteTrack(frame_rate=round(fps))
    zones = [sv.PolygonZone(polygon=np.round(np.asarray(z)).astype(np.int64)) for z in zones_px]
    cap = cv2.VideoCapture(video)
    frames = network_boxes = 0
    counts: list[int] = []
    while frames < max_frames:
        ok, frame = cap.read()
        if not ok:
            break
        h, w = frame.shape[:2]
        blob = cv2.dnn.blobFromImage(frame, 1 / 255.0, (side, side), swapRB=True)
        out = session.run(None, {name: blob})[0][0]  # (4 + classes, anchors)
        scores, classes = out[4:].max(axis=0), out[4:].argmax(axis=0)
        keep = (classes == 0) & (scores > 0.35)
        cx, cy, bw, bh = out[:4, keep]
        xyxy = np.stack([cx - bw / 2, cy - bh / 2, cx + bw / 2, cy + bh / 2], axis=1) * np.array(
            [w / side, h / side] * 2
        )
        found = sv.Detections(xyxy=xyxy.reshape(-1, 4), confidence=scores[keep], class_id=classes[keep]).with_nms(0.5)
        network_boxes += len(found)
        boxes = truth.get(frames, np.zeros((0, 4)))
        detections = sv.Detections(
            xyxy=boxes.astype(np.float32), confidence=np.full(len(boxes), 0.9), class_id=np.zeros(len(boxes), int)
        )
        detections = tracker.update_with_detections(detections)
        counts.append(int(zones[0].trigger(detections).sum()))
        for zone in zones[1:]:
            zone.trigger(detections)
        frames += 1
    cap.release()
    wall = time.perf_counter() - t0
    return {
        "side": "baseline",
        "frames": frames,
        "wall_s": wall,
        "fps": frames / wall,
        "cpu_s": time.process_time() - cpu0,
        "network_boxes": network_boxes,
        "zone0_count_mean": float(np.mean(counts)) if counts else None,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "supervision": sv.__version__,
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--video", required=True)
    ap.add_argument("--gt", required=True)
    ap.add_argument("--model", required=True)
    ap.add_argument("--zones", required=True, help="JSON list of image polygons in pixels")
    ap.add_argument("--fps", type=float, default=25.0)
    ap.add_argument("--max-frames", type=int, default=10**9)
    args = ap.parse_args()
    print(json.dumps(run(args.video, args.gt, args.model, json.loads(args.zones), args.fps, args.max_frames)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
