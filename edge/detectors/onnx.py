"""`onnx` backend: YOLOv8 / YOLO11 detection exports run by onnxruntime.

The export's single output is `[1, 4 + C, N]`: per anchor a box (cx, cy, w, h in network-input pixels)
and C class scores (already sigmoid). Only class 0 (COCO "person") is kept.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

from edge.config import DetectorConfig
from edge.detectors.base import DetectorContext, DetectorError, confidence_of, register
from edge.detectors.boxes import Letterbox, cxcywh_to_xyxy, nms
from edge.detectors.runtime import cpu_session
from edge.types import Detections, Frame

PERSON_CLASS = 0
# A dynamic-shape export takes any input whose sides are multiples of the network's largest stride.
_STRIDE_PX = 32


def decode_yolo_output(
    output: npt.NDArray[np.floating[Any]],
    letterbox: Letterbox,
    frame_size_px: tuple[int, int],
    confidence: float,
    iou_threshold: float,
) -> Detections:
    """Person detections from one raw `[1, 4 + C, N]` output, in the original frame's pixels."""
    out = np.asarray(output)
    if out.ndim != 3 or out.shape[0] != 1 or out.shape[1] < 5:
        raise DetectorError(
            f"YOLO output must be [1, 4 + classes, anchors] (e.g. [1, 84, 8400]), got {list(out.shape)}"
        )
    preds = out[0].astype(np.float32)  # (4 + C, N)
    person = preds[4 + PERSON_CLASS]
    # A box belongs to its best class: a high person score that loses to another class is not a person.
    is_person = np.argmax(preds[4:], axis=0) == PERSON_CLASS
    keep = is_person & (person >= confidence)
    if not np.any(keep):
        return Detections.empty()
    boxes = cxcywh_to_xyxy(preds[:4, keep].T)
    scores = person[keep]
    width, height = frame_size_px
    boxes = letterbox.to_original(boxes, width, height)
    valid = (boxes[:, 2] > boxes[:, 0]) & (boxes[:, 3] > boxes[:, 1])
    boxes, scores = boxes[valid], scores[valid]
    kept = nms(boxes, scores, iou_threshold)
    return Detections(boxes[kept], np.clip(scores[kept], 0.0, 1.0))


def _static_side(shape: list[Any]) -> int | None:
    """The square input side from a model's NCHW input shape, when the export fixed it."""
    if len(shape) == 4 and isinstance(shape[2], int) and shape[2] == shape[3]:
        return int(shape[2])
    return None


def _dynamic_hw(shape: list[Any]) -> bool:
    """True when the export left both image sides free (`dynamic=True`), so a 16:9 frame need not be padded square."""
    return len(shape) == 4 and not isinstance(shape[2], int) and not isinstance(shape[3], int)


def rect_letterbox(image: npt.NDArray[np.uint8], input_size_px: int) -> tuple[npt.NDArray[np.uint8], Letterbox]:
    """The frame scaled so its long side is `input_size_px`, the short side padded (grey 114, centred) only up to
    the next multiple of the stride: a 1280x720 frame at 320 becomes 320x192 instead of 320x320, the same
    scale and pixels for 40% less network work. The Letterbox maps boxes back as the square one does."""
    height, width = image.shape[:2]
    scale = input_size_px / max(width, height)
    new_w, new_h = max(round(width * scale), 1), max(round(height * scale), 1)
    in_w, in_h = -(-new_w // _STRIDE_PX) * _STRIDE_PX, -(-new_h // _STRIDE_PX) * _STRIDE_PX
    lb = Letterbox(scale, (in_w - new_w) / 2, (in_h - new_h) / 2, input_size_px)
    resized = (
        cv2.resize(image, (new_w, new_h), interpolation=cv2.INTER_LINEAR)
        if (new_w, new_h) != (width, height)
        else image
    )
    top, left = round(lb.pad_y_px - 0.1), round(lb.pad_x_px - 0.1)
    padded = cv2.copyMakeBorder(
        resized, top, in_h - new_h - top, left, in_w - new_w - left, cv2.BORDER_CONSTANT, value=(114, 114, 114)
    )
    return np.asarray(padded, np.uint8), lb


class OnnxDetector:
    """YOLO person detector on onnxruntime's CPU provider with a configurable thread count."""

    name = "onnx"

    def __init__(self, cfg: DetectorConfig) -> None:
        if not cfg.model:
            raise DetectorError("detector.kind 'onnx' needs detector.model: the path of a YOLO .onnx export")
        path = Path(cfg.model)
        self._session = cpu_session(
            path,
            cfg.threads,
            missing=f"ONNX model not found: {path} (export one with `python -m scripts.export_model`, see models/README.md)",
        )
        inputs, outputs = self._session.get_inputs(), self._session.get_outputs()
        if len(inputs) != 1 or len(outputs) < 1:
            raise DetectorError(f"{path}: expected one image input and one output, got {len(inputs)} inputs")
        self._input_name = inputs[0].name
        self._dtype = np.float16 if "float16" in inputs[0].type else np.float32
        self.input_size_px = _static_side(list(inputs[0].shape)) or cfg.input_size
        self.rect_input = _dynamic_hw(list(inputs[0].shape))
        out_shape = list(outputs[0].shape)
        if len(out_shape) != 3 or (isinstance(out_shape[1], int) and out_shape[1] < 5):
            raise DetectorError(
                f"{path}: output must be [1, 4 + classes, anchors] (a YOLOv8/YOLO11 detection export), got {out_shape}"
            )
        self._cfg = cfg
        self._path = path

    def detect(self, frame: Frame) -> Detections:
        image = frame.image
        if image.ndim == 2:
            image = np.asarray(cv2.cvtColor(image, cv2.COLOR_GRAY2BGR), np.uint8)
        height, width = image.shape[:2]
        if self.rect_input:
            network_image, lb = rect_letterbox(image, self.input_size_px)
        else:
            lb = Letterbox.fit(width, height, self.input_size_px)
            network_image = lb.apply(image)
        # One pass for BGR->RGB, HWC->NCHW and /255 (four numpy copies did the same at 4x the time).
        blob = np.asarray(cv2.dnn.blobFromImage(network_image, 1.0 / 255.0, swapRB=True)).astype(
            self._dtype, copy=False
        )
        (output, *_rest) = self._session.run(None, {self._input_name: blob})
        try:
            return decode_yolo_output(output, lb, (width, height), confidence_of(self._cfg), self._cfg.iou_threshold)
        except DetectorError as err:
            raise DetectorError(f"{self._path}: {err}") from None


@register("onnx")
def _build(cfg: DetectorConfig, ctx: DetectorContext) -> OnnxDetector:
    return OnnxDetector(cfg)
