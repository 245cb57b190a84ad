"""`nanodet` backend: the pretrained NanoDet-m person detector (COCO) on onnxruntime.

The model is built from a registry package by `scripts/build_models.py` (see models/README.md). Its
input is free in height and width (multiples of 32), so each frame is looked at through the windows
of `edge.detectors.windows`: bands of foot rows scaled so that people are big enough for the network,
cropped to the zones. Boxes from all windows are merged by NMS; where the camera is calibrated, a box
far too small or too large for a person standing at its foot point is dropped (a bag, a whole group).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

from edge.config import DetectorConfig
from edge.detectors.base import DetectorContext, DetectorError, confidence_of, register
from edge.detectors.boxes import nms
from edge.detectors.gfl import GflHead, GflShapeError, decode_gfl, match_levels
from edge.detectors.runtime import cpu_session, default_model
from edge.detectors.scale import PersonScaleMap, rescale_homography
from edge.detectors.windows import PlanSettings, Window, plan_windows, zones_box
from edge.types import Detections, Frame

__all__ = ["NanoDetDetector", "default_model_path"]

log = logging.getLogger(__name__)

MODEL_FILE = "nanodet-m.onnx"
INT8_MODEL_FILE = "nanodet-m-int8.onnx"
DEFAULT_CONFIDENCE = 0.4
# Boxes between this and the confidence are returned too: counted in crowds, not tracked.
DEFAULT_COUNT_CONFIDENCE = 0.3
# The network's training normalisation (BGR order).
MEAN_BGR = np.array([103.53, 116.28, 123.675], np.float32)
STD_BGR = np.array([57.375, 57.12, 58.395], np.float32)
# A box whose height is off the calibrated person height by more than these factors is not one person
# standing there. Generous: people sit, bend, are children or are cut by the frame's edge.
_MIN_HEIGHT_FRAC, _MAX_HEIGHT_FRAC = 0.3, 2.5
_FOOT_TOLERANCE_FRAC = 0.15
HEAD = GflHead()


def default_model_path() -> Path:
    """`nanodet-m-int8.onnx` where built, else `nanodet-m.onnx` (see `edge.detectors.runtime.default_model`)."""
    return default_model(INT8_MODEL_FILE, MODEL_FILE)


def _blob_params() -> cv2.dnn.Image2BlobParams:
    params = cv2.dnn.Image2BlobParams()
    params.scalefactor = tuple(float(1.0 / v) for v in STD_BGR)
    params.mean = tuple(float(v) for v in MEAN_BGR)
    params.swapRB = False
    params.ddepth = cv2.CV_32F
    return params


_BLOB = _blob_params()


def preprocess(image: npt.NDArray[np.uint8], window: Window) -> npt.NDArray[np.float32]:
    """The window's crop, scaled and padded (with the mean, which normalises to zero), as a [1, 3, H, W] blob.

    Bilinear scaling: area averaging would anti-alias strong reductions slightly better but costs eight
    times as much on a 1080p crop, and made no difference to the counts (models/README.md).
    """
    crop = image[window.y0 : window.y1, window.x0 : window.x1]
    if crop.ndim == 2:
        crop = np.asarray(cv2.cvtColor(crop, cv2.COLOR_GRAY2BGR), np.uint8)
    w, h = window.scaled_wh
    resized = cv2.resize(crop, (w, h), interpolation=cv2.INTER_LINEAR) if (w, h) != crop.shape[1::-1] else crop
    in_w, in_h = window.input_wh
    padded = cv2.copyMakeBorder(
        resized, 0, in_h - h, 0, in_w - w, cv2.BORDER_CONSTANT, value=tuple(float(v) for v in MEAN_BGR)
    )
    # One C++ pass for the per-channel normalisation and HWC -> NCHW (numpy took twice as long).
    return np.asarray(cv2.dnn.blobFromImageWithParams(padded, _BLOB), np.float32)


class NanoDetDetector:
    """Person boxes from NanoDet-m through calibration-guided windows; scores are the network's.

    Returns every box scoring at least `confidence` (the lower of the two thresholds); the pipeline
    tracks only those scoring `track_min_score` or more, and counts the rest only per frame.
    """

    name = "nanodet"

    def __init__(self, cfg: DetectorConfig, ctx: DetectorContext, settings: PlanSettings | None = None) -> None:
        self._cfg = cfg
        self._ctx = ctx
        self.path = Path(cfg.model) if cfg.model else default_model_path()
        self.settings = settings or PlanSettings(min_person_px=cfg.min_person_px, fallback_long_side_px=cfg.input_size)
        self.track_min_score = confidence_of(cfg, DEFAULT_CONFIDENCE)
        count_min = DEFAULT_COUNT_CONFIDENCE if cfg.count_confidence is None else cfg.count_confidence
        self.confidence = min(self.track_min_score, count_min)
        self._session, self._input_name = _open_session(self.path, cfg.threads)
        self._plan_for: tuple[int, int] | None = None
        self.windows: list[Window] = []
        self._scale_map: PersonScaleMap | None = None

    def detect(self, frame: Frame) -> Detections:
        image = frame.image
        size = (image.shape[1], image.shape[0])
        if size != self._plan_for:
            self._plan(size)
        boxes: list[npt.NDArray[np.float32]] = []
        scores: list[npt.NDArray[np.float32]] = []
        for window in self.windows:
            b, s = self._run_window(image, window)
            boxes.append(b)
            scores.append(s)
        xyxy = np.concatenate(boxes) if boxes else np.zeros((0, 4), np.float32)
        conf = np.concatenate(scores) if scores else np.zeros(0, np.float32)
        if len(xyxy) == 0:
            return Detections.empty()
        xyxy, conf = self._plausible(xyxy, conf)
        kept = nms(xyxy, conf, self._cfg.iou_threshold)
        return Detections(xyxy[kept], np.clip(conf[kept], 0.0, 1.0))

    def _run_window(
        self, image: npt.NDArray[np.uint8], window: Window
    ) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float32]]:
        blob = preprocess(image, window)
        outputs = self._session.run(None, {self._input_name: blob})
        try:
            levels = match_levels(outputs, (blob.shape[2], blob.shape[3]), HEAD)
        except GflShapeError as err:
            raise DetectorError(f"{self.path}: not a NanoDet-m model: {err}") from None
        boxes, scores = decode_gfl(levels, self.confidence)
        if len(boxes) == 0:
            return boxes, scores
        # Boxes of one window first: NMS inside it is cheap, and it keeps cross-window NMS small.
        kept = nms(boxes, scores, self._cfg.iou_threshold)
        boxes, scores = boxes[kept] / window.scale, scores[kept]
        boxes += np.array([window.x0, window.y0, window.x0, window.y0], np.float32)
        foot = boxes[:, 3]
        tol = _FOOT_TOLERANCE_FRAC * (boxes[:, 3] - boxes[:, 1])
        owned = (foot >= window.foot_v0 - tol) & (foot <= window.foot_v1 + tol)
        return boxes[owned], scores[owned]

    def _plausible(
        self, xyxy: npt.NDArray[np.float32], scores: npt.NDArray[np.float32]
    ) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float32]]:
        if self._scale_map is None:
            return xyxy, scores
        expected = self._scale_map.at((xyxy[:, 0] + xyxy[:, 2]) / 2, xyxy[:, 3])  # clipped to the frame there
        heights = xyxy[:, 3] - xyxy[:, 1]
        ok = ~np.isfinite(expected) | (
            (heights >= _MIN_HEIGHT_FRAC * expected) & (heights <= _MAX_HEIGHT_FRAC * expected)
        )
        return xyxy[ok], scores[ok]

    def _plan(self, size: tuple[int, int]) -> None:
        ctx = self._ctx
        polygons: list[npt.NDArray[np.float64]] = []
        scale_map = None
        if ctx.image_to_ground_m is not None and ctx.image_size_px is not None:
            h = rescale_homography(ctx.image_to_ground_m, ctx.image_size_px, size)
            scale_map = PersonScaleMap.from_homography(h, size, self._cfg.person_height_m)
            sx, sy = size[0] / ctx.image_size_px[0], size[1] / ctx.image_size_px[1]
            polygons = [np.asarray(p, np.float64) * np.array([sx, sy]) for p in ctx.zone_polygons_px]
        box = zones_box(polygons, size)
        by_row = None
        if scale_map is not None:
            x0, x1 = round(box[0]), max(round(box[2]), round(box[0]) + 1)
            with np.errstate(all="ignore"):
                strip = scale_map.height_px[:, x0:x1]
                finite = np.isfinite(strip).any(axis=1)
                by_row = np.full(size[1], np.nan)
                by_row[finite] = np.nanmedian(strip[finite], axis=1)
        self._scale_map = scale_map
        self.windows = plan_windows(size, box, by_row, self.settings)
        self._plan_for = size
        log.info(
            "nanodet: %d window(s) for %dx%d frames: %s",
            len(self.windows),
            *size,
            ", ".join(
                f"{w.x1 - w.x0}x{w.y1 - w.y0}@{w.scale:.2f}->{w.input_wh[0]}x{w.input_wh[1]}" for w in self.windows
            ),
        )


def _open_session(path: Path, threads: int) -> tuple[Any, str]:
    session = cpu_session(
        path,
        threads,
        missing=f"NanoDet model not found: {path} (build it with `python3 scripts/build_models.py`, see models/README.md)",
        fix="rebuild it with `python3 scripts/build_models.py`",
    )
    inputs = session.get_inputs()
    shape = list(inputs[0].shape) if inputs else []
    if len(inputs) != 1 or len(shape) != 4 or shape[1] != 3:
        raise DetectorError(
            f"{path}: expected one [1, 3, H, W] image input (NanoDet-m), got {[list(i.shape) for i in inputs]}"
        )
    if len(session.get_outputs()) != 2 * len(HEAD.strides):
        raise DetectorError(
            f"{path}: expected {2 * len(HEAD.strides)} outputs (scores and boxes per stride, NanoDet-m), "
            f"got {len(session.get_outputs())}"
        )
    return session, str(inputs[0].name)


@register("nanodet")
def _build(cfg: DetectorConfig, ctx: DetectorContext) -> NanoDetDetector:
    return NanoDetDetector(cfg, ctx)
