"""Person detectors behind one interface: `build_detector(cfg, ...)` returns a `Detector`.

Backends (`DetectorConfig.kind`): `offline` (default; background subtraction with calibrated person
scale, no weights), `onnx` (YOLOv8/YOLO11 ONNX exports on onnxruntime), `ultralytics` (optional extra).
"""

from edge.detectors.base import (
    Detector,
    DetectorContext,
    DetectorError,
    ModelNotFoundError,
    available_kinds,
    build_detector,
    register,
)

__all__ = [
    "Detector",
    "DetectorContext",
    "DetectorError",
    "ModelNotFoundError",
    "available_kinds",
    "build_detector",
    "register",
]
