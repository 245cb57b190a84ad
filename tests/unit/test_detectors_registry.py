"""The detector registry and the ultralytics backend's behaviour without the optional extra."""

from __future__ import annotations

import importlib.util
import logging
from pathlib import Path

import numpy as np
import pytest

from edge.config import DetectorConfig
from edge.detectors import Detector, DetectorContext, DetectorError, ModelNotFoundError, build_detector, register
from edge.detectors.base import resolve_auto
from edge.detectors.boxes import iou_matrix, nms
from edge.detectors.nanodet import default_model_path
from edge.types import Detections, Frame
from tests.unit.nanodet_graph import write_nanodet


def test_default_kind_is_auto_nanodet_when_its_model_is_there(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    assert DetectorConfig().kind == "auto"
    model = write_nanodet(tmp_path / "nanodet-m.onnx")
    cfg = DetectorConfig(model=str(model), threads=1)
    with caplog.at_level(logging.INFO, logger="edge.detectors.base"):
        detector = build_detector(cfg)
    assert detector.name == "nanodet"
    assert isinstance(detector, Detector)
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
    resolved = resolve_auto(cfg)
    assert (resolved.kind, resolved.model) == ("nanodet", str(model))


def test_default_kind_falls_back_to_offline_with_a_warning_naming_the_missing_model(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    missing = tmp_path / "nanodet-m.onnx"
    with caplog.at_level(logging.WARNING, logger="edge.detectors.base"):
        detector = build_detector(DetectorConfig(model=str(missing)))
    assert detector.name == "offline"
    assert isinstance(detector, Detector)
    [warning] = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert str(missing) in warning.getMessage() and "scripts/build_models.py" in warning.getMessage()


def test_auto_without_a_model_path_looks_in_crowd_models_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("CROWD_MODELS_DIR", str(tmp_path))
    assert default_model_path() == tmp_path / "nanodet-m.onnx"
    with caplog.at_level(logging.WARNING, logger="edge.detectors.base"):
        assert resolve_auto(DetectorConfig()).kind == "offline"
    assert str(tmp_path / "nanodet-m.onnx") in caplog.text
    write_nanodet(tmp_path / "nanodet-m.onnx")
    assert resolve_auto(DetectorConfig()) == DetectorConfig(kind="nanodet", model=str(tmp_path / "nanodet-m.onnx"))


def test_an_explicit_kind_is_never_replaced(tmp_path: Path) -> None:
    # Asked for by name, a missing model is an error, not a silent fallback.
    for kind in ("offline", "nanodet", "onnx"):
        cfg = DetectorConfig(kind=kind, model=str(tmp_path / "absent.onnx"))
        assert resolve_auto(cfg) is cfg


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
