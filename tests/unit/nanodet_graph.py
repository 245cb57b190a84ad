"""A tiny NanoDet-shaped ONNX graph for unit tests (no weights to download, milliseconds to run).

Input `[1, C, H, W]` with symbolic H and W; per stride s two outputs, scores `[1, (H/s)(W/s), classes]`
and box logits `[1, (H/s)(W/s), 4 * bins]`, cells row-major like NanoDet-m's. Each stride averages the
input over s x s cells (AveragePool), then a 1x1 Conv makes its channels:
- the person score of a stride that `fires` is sigmoid(GAIN * (mean normalised intensity - THRESHOLD)):
  high only on a cell entirely covered by a white patch; every other score is sigmoid(-20);
- box logits are constant: 20 on one bin per side, 0 elsewhere, so each detected cell's box is
  (cx - l*s, cy - t*s, cx + r*s, cy + b*s) around its centre ((x + 0.5) s, (y + 0.5) s).

Below the graph: helpers that run it through `NanoDetDetector` on black frames with white patches, and
that predict, for a window, the frame pixels making one of its input cells white and the box that cell
gives back in frame pixels.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt
import onnx
from onnx import TensorProto, helper, numpy_helper

from edge.config import DetectorConfig
from edge.detectors.base import DetectorContext
from edge.detectors.nanodet import MEAN_BGR, STD_BGR, NanoDetDetector
from edge.detectors.windows import Window
from edge.types import Frame

STRIDES = (8, 16, 32)
GAIN = 20.0
THRESHOLD = 2.2  # a white cell's mean normalised value is about 2.44, a black one's -1.99, padding 0
WHITE_MEAN = float(np.mean((255.0 - MEAN_BGR) / STD_BGR))
Sides = tuple[int, int, int, int]  # one-hot bin per side: left, top, right, bottom


def white_score(bonus: float = 0.0) -> float:
    """The person score of a cell entirely covered by white (255) pixels."""
    return float(1.0 / (1.0 + np.exp(-(GAIN * (WHITE_MEAN - THRESHOLD) + bonus))))


def write_nanodet(
    path: Path,
    fires: Mapping[int, Sides] | None = None,
    *,
    bonus: Mapping[int, float] | None = None,
    channels: int = 3,
    strides: tuple[int, ...] = STRIDES,
    num_classes: int = 80,
    bins: int = 11,
) -> Path:
    """Write the graph to `path`. `fires`: the strides whose person score follows the image, with their
    box sides (default: stride 32 only, one stride each side); `bonus`: added to a stride's person logit
    (to rank its boxes first in NMS). Outputs come boxes first, strides in reverse order, to show that
    they are matched by shape, not by position or name."""
    fires = {32: (1, 1, 1, 1)} if fires is None else fires
    bonus = bonus or {}
    image = helper.make_tensor_value_info("data", TensorProto.FLOAT, [1, channels, "H", "W"])
    nodes = []
    inits = []
    outputs = []
    for s in reversed(strides):
        nodes.append(helper.make_node("AveragePool", ["data"], [f"pool{s}"], kernel_shape=[s, s], strides=[s, s]))
        score_w = np.zeros((num_classes, channels, 1, 1), np.float32)
        score_b = np.full(num_classes, -20.0, np.float32)
        box_b = np.zeros(4 * bins, np.float32)
        if s in fires:
            score_w[0] = GAIN / channels
            score_b[0] = -GAIN * THRESHOLD + bonus.get(s, 0.0)
            for side, k in enumerate(fires[s]):
                box_b[side * bins + k] = 20.0
        box_w = np.zeros((4 * bins, channels, 1, 1), np.float32)
        for name, array in (
            (f"sw{s}", score_w),
            (f"sb{s}", score_b),
            (f"bw{s}", box_w),
            (f"bb{s}", box_b),
        ):
            inits.append(numpy_helper.from_array(array, name))
        nodes += [
            helper.make_node("Conv", [f"pool{s}", f"bw{s}", f"bb{s}"], [f"box{s}"]),
            helper.make_node("Reshape", [f"box{s}", "shape_box"], [f"box_flat{s}"]),
            helper.make_node("Transpose", [f"box_flat{s}"], [f"dis_pred_stride_{s}"], perm=[0, 2, 1]),
            helper.make_node("Conv", [f"pool{s}", f"sw{s}", f"sb{s}"], [f"logit{s}"]),
            helper.make_node("Sigmoid", [f"logit{s}"], [f"score{s}"]),
            helper.make_node("Reshape", [f"score{s}", "shape_score"], [f"score_flat{s}"]),
            helper.make_node("Transpose", [f"score_flat{s}"], [f"cls_pred_stride_{s}"], perm=[0, 2, 1]),
        ]
        outputs.append(helper.make_tensor_value_info(f"dis_pred_stride_{s}", TensorProto.FLOAT, [1, f"c{s}", 4 * bins]))
    for s in reversed(strides):
        outputs.append(
            helper.make_tensor_value_info(f"cls_pred_stride_{s}", TensorProto.FLOAT, [1, f"c{s}", num_classes])
        )
    inits.append(numpy_helper.from_array(np.array([1, 4 * bins, -1], np.int64), "shape_box"))
    inits.append(numpy_helper.from_array(np.array([1, num_classes, -1], np.int64), "shape_score"))
    graph = helper.make_graph(nodes, "tiny_nanodet", [image], outputs, inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return path


# Running it through the detector.

Image = npt.NDArray[np.uint8]
Rect = tuple[int, int, int, int]  # x0, y0, x1, y1 (exclusive) in frame pixels
NO_CALIBRATION = DetectorContext()


def detector(
    path: Path, ctx: DetectorContext = NO_CALIBRATION, *, input_size: int = 320, iou: float = 0.5
) -> NanoDetDetector:
    cfg = DetectorConfig(kind="nanodet", model=str(path), threads=1, input_size=input_size, iou_threshold=iou)
    return NanoDetDetector(cfg, ctx)


def frame(size: tuple[int, int], patches: Sequence[Rect] = ()) -> Image:
    image = np.zeros((size[1], size[0], 3), np.uint8)
    for x0, y0, x1, y1 in patches:
        image[y0:y1, x0:x1] = 255
    return image


def detect(det: NanoDetDetector, image: Image) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float32]]:
    out = det.detect(Frame(0, 0.0, image))
    order = np.lexsort((out.xyxy[:, 1], out.xyxy[:, 0]))
    return out.xyxy[order], out.scores[order]


def cell_patch(w: Window, col: int, row: int, stride: int = 32, margin_px: float = 3.0) -> Rect:
    """Frame pixels covering the window's input cell (col, row) with `margin_px` input pixels to spare:
    that cell is all white, its neighbours hardly (and do not fire)."""
    sx = w.scaled_wh[0] / (w.x1 - w.x0)  # what the resize really does
    sy = w.scaled_wh[1] / (w.y1 - w.y0)
    return (
        math.floor(w.x0 + (col * stride - margin_px) / sx),
        math.floor(w.y0 + (row * stride - margin_px) / sy),
        math.ceil(w.x0 + ((col + 1) * stride + margin_px) / sx),
        math.ceil(w.y0 + ((row + 1) * stride + margin_px) / sy),
    )


def cell_box(w: Window, col: int, row: int, stride: int = 32, sides: Sides = (1, 1, 1, 1)) -> list[float]:
    """The box of input cell (col, row) mapped back into the frame as the detector does (1 / scale, + crop origin)."""
    cx, cy = (col + 0.5) * stride, (row + 0.5) * stride
    left, top, right, bottom = (k * stride for k in sides)
    box = np.array([cx - left, cy - top, cx + right, cy + bottom]) / w.scale
    return (box + np.array([w.x0, w.y0, w.x0, w.y0])).tolist()
