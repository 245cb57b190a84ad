"""The detector registry and the ultralytics backend's behaviour without the optional extra."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

from edge.config import DetectorConfig
from edge.detectors import Detector, DetectorContext, DetectorError, ModelNotFoundError, build_detector, register
from edge.detectors.boxes import iou_matrix, nms
from edge.types import Detections, Frame


def test_default_kind_is_the_offline_detector() -> None:
    detector = build_detector(DetectorConfig())
    assert detector.name == "offline"
    assert isinstance(detector, Detector)


def test_a_registered_plugin_is_built_by_kind() -> None:
    class Fixed:
        name = "fixed"

        def __init__(self, ctx: DetectorContext) -> None:
            self.ctx = ctx

        def detect(self, frame: Frame) -> Detections:
            return Detections(np.array([[1, 2, 3, 4]], np.float32), np.array([0.5], np.float32))

    # Overriding a built-in kind is how a site swaps in its own backend without touching the config schema.
    from edge.detectors import base

    saved = dict(base._REGISTRY)
    try:
        register("onnx")(lambda cfg, ctx: Fixed(ctx))
        h = np.eye(3)
        det = build_detector(DetectorConfig(kind="onnx"), h, (640, 480))
        assert det.name == "fixed"
        assert det.ctx.image_size_px == (640, 480)  # type: ignore[attr-defined]
        np.testing.assert_array_equal(det.ctx.image_to_ground_m, h)  # type: ignore[attr-defined]
    finally:
        base._REGISTRY.clear()
        base._REGISTRY.update(saved)


def test_ultralytics_missing_weights_names_the_path(tmp_path: Path) -> None:
    missing = tmp_path / "yolo11n.pt"
    with pytest.raises(ModelNotFoundError, match=str(missing)):
        build_detector(DetectorConfig(kind="ultralytics", model=str(missing)))


@pytest.mark.skipif(importlib.util.find_spec("ultralytics") is not None, reason="ultralytics is installed here")
def test_ultralytics_without_the_extra_says_how_to_install(tmp_path: Path) -> None:
    weights = tmp_path / "yolo11n.pt"
    weights.write_bytes(b"weights")
    with pytest.raises(DetectorError, match=r"pip install 'crowd-analytics\[export\]'"):
        build_detector(DetectorConfig(kind="ultralytics", model=str(weights)))


def test_nms_and_iou_on_known_boxes() -> None:
    boxes = np.array([[0, 0, 10, 10], [5, 0, 15, 10], [20, 20, 30, 30]], np.float32)
    np.testing.assert_allclose(iou_matrix(boxes[:1], boxes)[0], [1.0, 50 / 150, 0.0], atol=1e-6)
    assert nms(boxes, np.array([0.5, 0.9, 0.1], np.float32), 0.3).tolist() == [1, 2]
    assert nms(boxes, np.array([0.5, 0.9, 0.1], np.float32), 0.4).tolist() == [1, 0, 2]
