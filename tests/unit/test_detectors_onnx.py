"""The ONNX YOLO backend on tiny graphs built here: decoding, letterbox geometry, classes, NMS, errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from edge.config import DetectorConfig
from edge.detectors import Detector, DetectorError, ModelNotFoundError, build_detector
from edge.detectors.boxes import Letterbox
from edge.detectors.onnx import decode_yolo_output
from edge.types import Frame

N_CLASSES = 80


def constant_yolo_model(path: Path, output: np.ndarray, input_side: int | str = 320) -> Path:
    """A model whose output is `output` whatever the image (plus 0 x the image's mean, so the input is used)."""
    image = helper.make_tensor_value_info("images", TensorProto.FLOAT, [1, 3, input_side, input_side])
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
    graph = helper.make_graph(nodes, "constant_yolo", [image], [out], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return path


def anchors(*rows: tuple[float, float, float, float, int, float]) -> np.ndarray:
    """[1, 84, N] from rows (cx, cy, w, h, class, score) in network-input pixels."""
    out = np.zeros((1, 4 + N_CLASSES, len(rows)), np.float32)
    for i, (cx, cy, w, h, cls, score) in enumerate(rows):
        out[0, :4, i] = (cx, cy, w, h)
        out[0, 4 + cls, i] = score
    return out


def detector_for(path: Path, **cfg: object) -> Detector:
    return build_detector(DetectorConfig.model_validate({"kind": "onnx", "model": str(path), "threads": 1, **cfg}))


def frame(width: int, height: int) -> Frame:
    return Frame(0, 0.0, np.full((height, width, 3), 80, np.uint8))


def test_letterbox_maps_boxes_back_to_a_non_square_frame(tmp_path: Path) -> None:
    # 640x360 into 320: scale 0.5, content 320x180, 70 px of padding above and below.
    model = constant_yolo_model(tmp_path / "m.onnx", anchors((160, 160, 40, 80, 0, 0.9), (30, 100, 20, 40, 0, 0.8)))
    dets = detector_for(model).detect(frame(640, 360))
    order = np.argsort(-dets.scores)
    np.testing.assert_allclose(dets.xyxy[order], [[280, 100, 360, 260], [40, 20, 80, 100]], atol=1e-4)
    np.testing.assert_allclose(dets.scores[order], [0.9, 0.8], atol=1e-6)


def test_letterbox_of_a_portrait_frame_pads_left_and_right_and_clips(tmp_path: Path) -> None:
    # 300x600 into 320: scale 320/600, content 160x320, 80 px of padding left and right.
    s = 320 / 600
    model = constant_yolo_model(tmp_path / "m.onnx", anchors((100, 160, 20, 40, 0, 0.7), (82, 10, 8, 40, 0, 0.6)))
    dets = detector_for(model).detect(frame(300, 600))
    order = np.argsort(-dets.scores)
    expected = [
        [(90 - 80) / s, 140 / s, (110 - 80) / s, 180 / s],
        [0.0, 0.0, (86 - 80) / s, 30 / s],  # reaches into the padding and above the image: clipped
    ]
    np.testing.assert_allclose(dets.xyxy[order], expected, atol=1e-3)


def test_letterbox_image_is_centred_with_grey_padding() -> None:
    lb = Letterbox.fit(640, 360, 320)
    assert (lb.scale, lb.pad_x_px, lb.pad_y_px) == (0.5, 0.0, 70.0)
    out = lb.apply(np.zeros((360, 640, 3), np.uint8))
    assert out.shape == (320, 320, 3)
    assert (out[:70] == 114).all() and (out[250:] == 114).all() and (out[70:250] == 0).all()


def test_only_boxes_whose_best_class_is_person_are_kept(tmp_path: Path) -> None:
    out = anchors(
        (100, 100, 20, 40, 0, 0.9),  # person
        (200, 100, 20, 40, 2, 0.9),  # car
        (250, 200, 20, 40, 0, 0.2),  # person below the confidence threshold
    )
    # a box scored person 0.6 but bicycle 0.8 is a bicycle
    extra = np.zeros((1, 84, 1), np.float32)
    extra[0, :4, 0] = (50, 250, 20, 40)
    extra[0, 4, 0], extra[0, 5, 0] = 0.6, 0.8
    model = constant_yolo_model(tmp_path / "m.onnx", np.concatenate([out, extra], axis=2))
    dets = detector_for(model, confidence=0.35).detect(frame(320, 320))
    np.testing.assert_allclose(dets.xyxy, [[90, 80, 110, 120]], atol=1e-4)
    np.testing.assert_allclose(dets.scores, [0.9], atol=1e-6)


def test_nms_drops_overlaps_above_the_threshold_only(tmp_path: Path) -> None:
    # Boxes 40x40. B is shifted 10 px from A (IoU 30/50 = 0.6); C is shifted 20 px (IoU 20/60 = 0.333).
    out = anchors(
        (100, 100, 40, 40, 0, 0.9),  # A
        (110, 100, 40, 40, 0, 0.8),  # B: overlaps A at 0.6 -> suppressed at threshold 0.5
        (120, 100, 40, 40, 0, 0.7),  # C: IoU 0.333 with A, 0.6 with B (suppressed, so irrelevant) -> kept
        (300, 300, 20, 20, 0, 0.5),  # far away -> kept
    )
    model = constant_yolo_model(tmp_path / "m.onnx", out)
    dets = detector_for(model, iou_threshold=0.5).detect(frame(320, 320))
    np.testing.assert_allclose(np.sort(dets.scores)[::-1], [0.9, 0.7, 0.5], atol=1e-6)
    # with a looser threshold B survives too
    dets = detector_for(model, iou_threshold=0.65).detect(frame(320, 320))
    assert len(dets) == 4


def test_dynamic_input_side_comes_from_config(tmp_path: Path) -> None:
    model = constant_yolo_model(tmp_path / "m.onnx", anchors((64, 64, 32, 64, 0, 0.9)), input_side="side")
    dets = detector_for(model, input_size=128).detect(frame(256, 256))
    np.testing.assert_allclose(dets.xyxy, [[96, 64, 160, 192]], atol=1e-4)


def test_missing_model_names_the_path(tmp_path: Path) -> None:
    missing = tmp_path / "nope" / "yolo11n.onnx"
    with pytest.raises(ModelNotFoundError, match=str(missing)):
        detector_for(missing)


def test_onnx_without_model_is_a_clear_error() -> None:
    with pytest.raises(DetectorError, match=r"detector\.model"):
        build_detector(DetectorConfig(kind="onnx"))


def test_wrong_output_shape_is_refused_at_load(tmp_path: Path) -> None:
    model = constant_yolo_model(tmp_path / "m.onnx", np.zeros((1, 84), np.float32))
    with pytest.raises(DetectorError, match=r"\[1, 4 \+ classes, anchors\]"):
        detector_for(model)


def test_wrong_output_shape_is_refused_when_decoding() -> None:
    lb = Letterbox.fit(320, 320, 320)
    with pytest.raises(DetectorError, match=r"got \[1, 3, 10\]"):
        decode_yolo_output(np.zeros((1, 3, 10), np.float32), lb, (320, 320), 0.3, 0.5)


def test_unreadable_model_file_is_a_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"not a model")
    with pytest.raises(DetectorError, match=str(bad)):
        detector_for(bad)


def test_no_person_gives_empty_detections(tmp_path: Path) -> None:
    model = constant_yolo_model(tmp_path / "m.onnx", anchors((100, 100, 20, 40, 3, 0.9)))
    dets = detector_for(model).detect(frame(320, 240))
    assert len(dets) == 0 and dets.xyxy.shape == (0, 4)
