"""Dynamic-shape YOLO exports get a rectangular input: the frame's long side at the input size, the short
side padded only to the stride, boxes mapped back exactly as with the square letterbox."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from edge.config import DetectorConfig
from edge.detectors import build_detector
from edge.detectors.onnx import OnnxDetector, rect_letterbox
from edge.types import Frame


def dynamic_model(path: Path, output: np.ndarray, dims: tuple[int | str, int | str] = ("height", "width")) -> Path:
    """Constant output whatever the image (0 x the image's mean keeps the input in use)."""
    image = helper.make_tensor_value_info("images", TensorProto.FLOAT, [1, 3, *dims])
    out = helper.make_tensor_value_info("output0", TensorProto.FLOAT, list(output.shape))
    nodes = [
        helper.make_node("ReduceMean", ["images"], ["mean"], keepdims=0),
        helper.make_node("Mul", ["mean", "zero"], ["nothing"]),
        helper.make_node("Add", ["preds", "nothing"], ["output0"]),
    ]
    inits = [
        numpy_helper.from_array(output.astype(np.float32), "preds"),
        numpy_helper.from_array(np.zeros((), np.float32), "zero"),
    ]
    model = helper.make_model(
        helper.make_graph(nodes, "constant_yolo", [image], [out], inits), opset_imports=[helper.make_opsetid("", 17)]
    )
    model.ir_version = 8
    onnx.save(model, str(path))
    return path


def one_person(cx: float, cy: float, w: float, h: float) -> np.ndarray:
    out = np.zeros((1, 84, 1), np.float32)
    out[0, :4, 0] = (cx, cy, w, h)
    out[0, 4, 0] = 0.9
    return out


def test_a_16_9_frame_becomes_a_320x192_input_with_grey_rows_above_and_below() -> None:
    image = np.full((720, 1280, 3), 80, np.uint8)
    padded, lb = rect_letterbox(image, 320)
    assert padded.shape == (192, 320, 3)
    assert lb.scale == 0.25 and lb.pad_x_px == 0 and lb.pad_y_px == 6
    assert (padded[:6] == 114).all() and (padded[-6:] == 114).all() and (padded[6:-6] == 80).all()


def test_a_portrait_frame_is_padded_left_and_right_to_the_stride() -> None:
    padded, lb = rect_letterbox(np.zeros((400, 250, 3), np.uint8), 320)
    assert padded.shape == (320, 224, 3)  # 250 x 0.8 = 200 wide, padded to 224
    assert lb.pad_x_px == 12 and lb.pad_y_px == 0


def test_boxes_from_a_rectangular_input_map_back_to_the_frame(tmp_path: Path) -> None:
    # 640x360 at 320: scale 0.5, content 320x180 in a 320x192 input, 6 rows of padding on top.
    model = dynamic_model(tmp_path / "m.onnx", one_person(160, 96, 32, 64))
    detector = build_detector(DetectorConfig(kind="onnx", model=str(model), input_size=320, threads=1))
    assert isinstance(detector, OnnxDetector) and detector.rect_input
    dets = detector.detect(Frame(0, 0.0, np.full((360, 640, 3), 80, np.uint8)))
    np.testing.assert_allclose(dets.xyxy, [[288, 116, 352, 244]], atol=1e-4)


def test_a_model_with_one_fixed_side_keeps_the_square_input(tmp_path: Path) -> None:
    model = dynamic_model(tmp_path / "m.onnx", one_person(160, 160, 32, 64), dims=(320, "width"))
    detector = build_detector(DetectorConfig(kind="onnx", model=str(model), input_size=320, threads=1))
    assert isinstance(detector, OnnxDetector) and not detector.rect_input
