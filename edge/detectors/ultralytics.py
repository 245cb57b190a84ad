"""`ultralytics` backend: `.pt` weights run by the ultralytics package (the optional `export` extra).

ultralytics pulls in torch, so it is imported only when this backend is built, and its absence is a
clear error instead of an ImportError deep in a stack trace.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

import numpy as np

from edge.config import DetectorConfig
from edge.detectors.base import DetectorContext, DetectorError, ModelNotFoundError, confidence_of, register
from edge.types import Detections, Frame

PERSON_CLASS = 0


def _import_ultralytics() -> Any:
    try:
        return importlib.import_module("ultralytics")
    except ImportError as err:
        raise DetectorError(
            "detector.kind 'ultralytics' needs the optional 'ultralytics' package "
            "(pip install 'crowd-analytics[export]'); or export the weights to ONNX and use kind 'onnx'"
        ) from err


class UltralyticsDetector:
    name = "ultralytics"

    def __init__(self, cfg: DetectorConfig) -> None:
        if not cfg.model:
            raise DetectorError("detector.kind 'ultralytics' needs detector.model: the path of a .pt file")
        path = Path(cfg.model)
        if not path.is_file():
            # ultralytics would silently try to download a missing file; an edge node must not.
            raise ModelNotFoundError(f"ultralytics model not found: {path}")
        module = _import_ultralytics()
        self._model = module.YOLO(str(path))
        self._cfg = cfg

    def detect(self, frame: Frame) -> Detections:
        results = self._model.predict(
            frame.image,
            imgsz=self._cfg.input_size,
            conf=confidence_of(self._cfg),
            iou=self._cfg.iou_threshold,
            classes=[PERSON_CLASS],
            verbose=False,
        )
        if not results:
            return Detections.empty()
        boxes = results[0].boxes
        xyxy = np.asarray(boxes.xyxy.cpu().numpy(), np.float32).reshape(-1, 4)
        scores = np.asarray(boxes.conf.cpu().numpy(), np.float32).reshape(-1)
        return Detections(xyxy, np.clip(scores, 0.0, 1.0))


@register("ultralytics")
def _build(cfg: DetectorConfig, ctx: DetectorContext) -> UltralyticsDetector:
    return UltralyticsDetector(cfg)
