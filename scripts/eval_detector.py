"""Per-frame quality and speed of a detector on PETS 2009 S2.L1 or TUD-Campus (the shared data).

Detector-only figures, before tracking: count in the annotated area per frame and per 1 s interval,
box recall and precision at IoU 0.5, and milliseconds per frame for decoding and for detection.

    .venv/bin/python -m scripts.eval_detector                 # PETS, offline detector
    .venv/bin/python -m scripts.eval_detector --dataset tud
    .venv/bin/python -m scripts.eval_detector --dataset tud --config configs/tud_campus.yaml  # its calibration
    .venv/bin/python -m scripts.eval_detector --kind onnx --model models/yolo11n.onnx
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt

from edge.config import DetectorConfig
from edge.detectors import Detector, build_detector
from edge.detectors.boxes import iou_matrix
from edge.types import Frame

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DATA = REPO.parent / "shared" / "data"
Float = npt.NDArray[np.float32]


@dataclass(frozen=True)
class Dataset:
    video: Path
    gt: Path
    fps: float
    gt_scale: float  # GT pixels -> video pixels
    homography: npt.NDArray[np.float64] | None
    image_size_px: tuple[int, int]


def pets(data: Path) -> Dataset:
    root = data / "pets09_s2l1"
    h = np.loadtxt(root / "derived" / "H_image480x360_to_ground_m.txt")
    return Dataset(
        root / "video" / "vtest_PETS09-S2L1_View001_480x360.avi", root / "gt" / "gt.txt", 7.0, 0.625, h, (480, 360)
    )


def tud(data: Path) -> Dataset:
    root = data / "tud_campus"
    return Dataset(root / "video" / "TUD-Campus.mp4", root / "gt" / "gt.txt", 25.0, 1.0, None, (640, 480))


@dataclass(frozen=True)
class FrameTruth:
    people_xyxy: Float  # boxes to find
    ignore_xyxy: Float  # regions where detections are neither right nor wrong


def load_truth(ds: Dataset) -> dict[int, FrameTruth]:
    """0-based video frame -> truth. MOT rows: frame(1-based), id, left, top, w, h, conf, ..."""
    rows = np.loadtxt(ds.gt, delimiter=",", ndmin=2)
    out: dict[int, FrameTruth] = {}
    for f in np.unique(rows[:, 0]).astype(int):
        r = rows[rows[:, 0] == f]
        xyxy = np.stack([r[:, 2], r[:, 3], r[:, 2] + r[:, 4], r[:, 3] + r[:, 5]], axis=1) * ds.gt_scale
        person = r[:, 6] != 0
        out[f - 1] = FrameTruth(xyxy[person].astype(np.float32), xyxy[~person].astype(np.float32))
    return out


def frames(video: Path, fps: float) -> Iterator[tuple[Frame, float]]:
    """Frames with the source time from the true rate, and the decoding time in seconds."""
    cap = cv2.VideoCapture(str(video))
    if not cap.isOpened():
        raise SystemExit(f"cannot open {video}")
    index = 0
    try:
        while True:
            t0 = time.perf_counter()
            ok, image = cap.read()
            dt = time.perf_counter() - t0
            if not ok:
                return
            yield Frame(index, index / fps, np.asarray(image, np.uint8)), dt
            index += 1
    finally:
        cap.release()


def annotated_area(ds: Dataset, truth: dict[int, FrameTruth]) -> npt.NDArray[np.int32]:
    """Image polygon of the area the annotators covered: the convex hull of every true foot point."""
    feet = np.concatenate(
        [
            np.stack([(t.people_xyxy[:, 0] + t.people_xyxy[:, 2]) / 2, t.people_xyxy[:, 3]], 1)
            for t in truth.values()
            if len(t.people_xyxy)
        ]
    )
    w, h = ds.image_size_px
    feet = np.clip(feet, [0, 0], [w - 1, h - 1])
    return cv2.convexHull(feet.astype(np.float32)).reshape(-1, 2).astype(np.int32)


def inside(polygon: npt.NDArray[np.int32], xyxy: Float) -> npt.NDArray[np.bool_]:
    feet = np.stack([(xyxy[:, 0] + xyxy[:, 2]) / 2, xyxy[:, 3]], 1)
    poly = polygon.astype(np.float32)
    return np.array([cv2.pointPolygonTest(poly, (float(x), float(y)), True) >= -2.0 for x, y in feet], bool)


@dataclass
class Tally:
    true_counts: list[int]
    det_counts: list[int]
    matched: int = 0
    false_pos: int = 0
    missed: int = 0
    decode_s: float = 0.0
    detect_s: float = 0.0
    frames: int = 0


def match_frame(det: Float, truth: FrameTruth, iou_min: float = 0.5) -> tuple[int, int, int]:
    """(matched, false positives, misses): greedy one-to-one matching by IoU, ignore regions excused."""
    gt = truth.people_xyxy
    if len(det) and len(gt):
        iou = iou_matrix(det, gt)
        pairs = sorted(((iou[i, j], i, j) for i, j in zip(*np.nonzero(iou >= iou_min), strict=True)), reverse=True)
    else:
        pairs = []
    used_d: set[int] = set()
    used_g: set[int] = set()
    for _, i, j in pairs:
        if i not in used_d and j not in used_g:
            used_d.add(int(i))
            used_g.add(int(j))
    unmatched = [i for i in range(len(det)) if i not in used_d]
    if unmatched and len(truth.ignore_xyxy):
        inter = iou_matrix(det[unmatched], truth.ignore_xyxy).max(axis=1)
        unmatched = [i for i, v in zip(unmatched, inter, strict=True) if v < 0.2]
    return len(used_d), len(unmatched), len(gt) - len(used_g)


def evaluate(detector: Detector, ds: Dataset, max_frames: int | None = None) -> Tally:
    truth = load_truth(ds)
    zone = annotated_area(ds, truth)
    empty = FrameTruth(np.zeros((0, 4), np.float32), np.zeros((0, 4), np.float32))
    tally = Tally([], [])
    for frame, decode_s in frames(ds.video, ds.fps):
        if max_frames is not None and frame.index >= max_frames:
            break
        t0 = time.perf_counter()
        dets = detector.detect(frame)
        tally.detect_s += time.perf_counter() - t0
        tally.decode_s += decode_s
        tally.frames += 1
        t = truth.get(frame.index, empty)
        d = dets.xyxy[inside(zone, dets.xyxy)] if len(dets) else dets.xyxy
        g = FrameTruth(
            t.people_xyxy[inside(zone, t.people_xyxy)] if len(t.people_xyxy) else t.people_xyxy, t.ignore_xyxy
        )
        # detections on ignored people are not counted either
        if len(d) and len(g.ignore_xyxy):
            d = d[iou_matrix(d, g.ignore_xyxy).max(axis=1) < 0.2]
        tally.true_counts.append(len(g.people_xyxy))
        tally.det_counts.append(len(d))
        m, fp, miss = match_frame(d, g)
        tally.matched += m
        tally.false_pos += fp
        tally.missed += miss
    return tally


def interval_error(true_counts: list[int], det_counts: list[int], frames_per_interval: int) -> float:
    """Mean absolute error of the per-interval mean count over the mean true count."""
    n = len(true_counts) // frames_per_interval * frames_per_interval
    t = np.asarray(true_counts[:n], float).reshape(-1, frames_per_interval).mean(1)
    d = np.asarray(det_counts[:n], float).reshape(-1, frames_per_interval).mean(1)
    return float(np.abs(d - t).mean() / max(t.mean(), 1e-9))


def report(tally: Tally, fps: float) -> dict[str, float]:
    t = np.asarray(tally.true_counts, float)
    d = np.asarray(tally.det_counts, float)
    n_det = tally.matched + tally.false_pos
    n_gt = tally.matched + tally.missed
    return {
        "frames": tally.frames,
        "mean_true_count": float(t.mean()),
        "mean_detected_count": float(d.mean()),
        "frame_count_rel_mae": float(np.abs(d - t).mean() / max(t.mean(), 1e-9)),
        "interval_1s_count_rel_mae": interval_error(tally.true_counts, tally.det_counts, max(1, round(fps))),
        "recall_iou50": tally.matched / max(n_gt, 1),
        "precision_iou50": tally.matched / max(n_det, 1),
        "decode_ms_per_frame": 1000 * tally.decode_s / max(tally.frames, 1),
        "detect_ms_per_frame": 1000 * tally.detect_s / max(tally.frames, 1),
    }


def config_homography(path: Path, image_size_px: tuple[int, int]) -> npt.NDArray[np.float64]:
    """The image-to-ground homography an edge config gives for frames of `image_size_px`."""
    from edge.calibration import build_geometry
    from edge.config import load

    return np.asarray(build_geometry(load(path), image_size_px).homography.image_to_ground, np.float64)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dataset", choices=["pets", "tud"], default="pets")
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--kind", default="offline")
    ap.add_argument("--model", default=None)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--max-frames", type=int, default=None)
    ap.add_argument("--no-calibration", action="store_true", help="run as if uncalibrated")
    ap.add_argument("--config", type=Path, default=None, help="take the calibration from this edge config")
    args = ap.parse_args(argv)
    cv2.setNumThreads(1)  # "one core" is the budget the figures are compared with
    ds = pets(args.data) if args.dataset == "pets" else tud(args.data)
    cfg = DetectorConfig.model_validate({"kind": args.kind, "model": args.model, "threads": args.threads})
    h = None if args.no_calibration else ds.homography
    if args.config is not None and not args.no_calibration:
        h = config_homography(args.config, ds.image_size_px)
    detector = build_detector(cfg, h, ds.image_size_px if h is not None else None)
    for key, value in report(evaluate(detector, ds, args.max_frames), ds.fps).items():
        print(f"{key:28s} {value:.3f}" if isinstance(value, float) else f"{key:28s} {value}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
