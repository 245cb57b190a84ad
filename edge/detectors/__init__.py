"""Person detectors behind one interface: `build_detector(cfg, ...)` returns a `Detector`.

Backends (`DetectorConfig.kind`): `nanodet` (the pretrained NanoDet-m built by scripts/build_models.py),
`offline` (background subtraction with calibrated person scale, no weights; the fallback), `onnx`
(YOLOv8/YOLO11 ONNX exports on onnxruntime), `ultralytics` (optional extra). The default `auto` picks
`nanodet` when its model file is there, else `offline` with a warning (`resolve_auto`).
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
