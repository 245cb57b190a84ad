"""scripts/export_model.py without ultralytics: the export check and the missing-extra message."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from scripts.export_model import check_export, main
from tests.unit.test_detectors_onnx import constant_yolo_model


def test_check_accepts_a_yolo_shaped_export(tmp_path: Path) -> None:
    path = constant_yolo_model(tmp_path / "m.onnx", np.zeros((1, 84, 6), np.float32), input_side=320)
    assert "[1, 84, 6]" in check_export(path, 320)


def test_check_refuses_wrong_output_and_wrong_side(tmp_path: Path) -> None:
    wrong = constant_yolo_model(tmp_path / "w.onnx", np.zeros((1, 6, 84), np.float32), input_side=320)
    with pytest.raises(SystemExit, match=r"not \[1, 84, anchors\]"):
        check_export(wrong, 320)
    right = constant_yolo_model(tmp_path / "r.onnx", np.zeros((1, 84, 6), np.float32), input_side=320)
    with pytest.raises(SystemExit, match="--imgsz 640"):
        check_export(right, 640)


def test_missing_ultralytics_is_a_clear_exit(capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("onnx")
    try:
        import ultralytics  # noqa: F401
    except ImportError:
        pass
    else:
        pytest.skip("ultralytics is installed here")
    assert main(["yolo11n.pt"]) == 2
    assert "pip install" in capsys.readouterr().err
