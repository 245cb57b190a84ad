"""The nanodet backend over several windows (bands of foot rows at their own scales): each finds the
people whose feet it owns, leaves the others to the window that owns them, and boxes found twice are
merged. A pinhole camera looking far down a street gives the range of person sizes that needs bands."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

from edge.detectors.base import DetectorContext
from edge.detectors.boxes import iou_matrix
from edge.detectors.nanodet import NanoDetDetector
from edge.detectors.windows import Window
from tests.unit.nanodet_graph import Rect, cell_box, cell_patch, detect, detector, frame, write_nanodet

SIZE = (640, 480)
STRIDE = 32


def street_context() -> DetectorContext:
    """A camera 6 m up, tilted 20 degrees down, f = 600 px; the zone is 8 m wide, 3 to 30 m away."""
    width, height = SIZE
    t = np.radians(20.0)
    x_c, z_c = np.array([1.0, 0.0, 0.0]), np.array([0.0, np.cos(t), -np.sin(t)])
    rotation = np.stack([x_c, np.cross(z_c, x_c), z_c])
    k = np.array([[600.0, 0.0, width / 2], [0.0, 600.0, height / 2], [0.0, 0.0, 1.0]])
    projection = k @ np.hstack([rotation, (-rotation @ np.array([0.0, 0.0, 6.0]))[:, None]])
    ground_to_image = projection[:, [0, 1, 3]]
    corners = np.array([[-4.0, 3.0, 1.0], [4.0, 3.0, 1.0], [4.0, 30.0, 1.0], [-4.0, 30.0, 1.0]])
    image = (ground_to_image @ corners.T).T
    return DetectorContext(np.linalg.inv(ground_to_image), SIZE, (image[:, :2] / image[:, 2:],))


@pytest.fixture(scope="module")
def planned(tmp_path_factory: pytest.TempPathFactory) -> NanoDetDetector:
    det = detector(write_nanodet(tmp_path_factory.mktemp("bands") / "tiny.onnx"), street_context())
    assert len(detect(det, frame(SIZE))[0]) == 0
    assert len(det.windows) >= 3, det.windows
    return det


def overlaps(a: Rect, w: Window) -> bool:
    return a[0] < w.x1 and w.x0 < a[2] and a[1] < w.y1 and w.y0 < a[3]


def owned_cell(det: NanoDetDetector, w: Window, across: float) -> tuple[int, int]:
    """A cell of `w`, `across` of the way along its width, whose box's feet `w` owns and whose patch no
    window of a larger scale sees (those would find it too: in them it covers more than a cell)."""
    col = int(across * w.scaled_wh[0] / STRIDE)
    larger = [v for v in det.windows if v.scale > w.scale]
    for row in reversed(range(w.scaled_wh[1] // STRIDE)):
        foot = cell_box(w, col, row)[3]
        patch = cell_patch(w, col, row)
        if w.foot_v0 <= foot <= w.foot_v1 and not any(overlaps(patch, v) for v in larger):
            return col, row
    raise AssertionError(f"no cell of {w} fits")


def sort_rows(boxes: npt.ArrayLike) -> npt.NDArray[np.float64]:
    b = np.asarray(boxes, np.float64).reshape(-1, 4)
    return b[np.lexsort((b[:, 1], b[:, 0]))]


def test_bands_get_larger_scales_towards_the_horizon(planned: NanoDetDetector) -> None:
    windows = sorted(planned.windows, key=lambda w: w.foot_v0)
    assert [w.scale for w in windows] == sorted((w.scale for w in windows), reverse=True)
    assert windows[0].foot_v0 == 0 and windows[-1].foot_v1 == SIZE[1]
    assert all(a.foot_v1 + 1 == b.foot_v0 for a, b in itertools.pairwise(windows))


def test_each_window_finds_the_people_whose_feet_it_owns(planned: NanoDetDetector) -> None:
    windows = sorted(planned.windows, key=lambda w: w.scale)
    patches, expected = [], []
    for i, w in enumerate(windows):
        col, row = owned_cell(planned, w, (i + 1) / (len(windows) + 1))
        patches.append(cell_patch(w, col, row))
        expected.append(cell_box(w, col, row))
    boxes, scores = detect(planned, frame(SIZE, patches))
    np.testing.assert_allclose(sort_rows(boxes), sort_rows(expected), atol=0.01)
    # The same box size in the network is a smaller box in the frame the further away it is.
    heights = [b[3] - b[1] for b in expected]
    assert heights == sorted(heights, reverse=True)
    assert scores.min() > 0.9


def test_a_window_leaves_feet_below_its_rows_to_the_window_that_owns_them(planned: NanoDetDetector) -> None:
    top = max(planned.windows, key=lambda w: w.scale)
    col = top.scaled_wh[0] // STRIDE // 2
    below = []
    for row in range(top.scaled_wh[1] // STRIDE):
        box = cell_box(top, col, row)
        if box[3] > top.foot_v1 + 0.15 * (box[3] - box[1]) + 1:
            below.append(row)
    assert below, "the crop reaches below the rows it owns (heads of the next band's people)"
    # Seen by no other window at a scale where it is a whole cell: nobody reports it.
    patch = cell_patch(top, col, below[0])
    assert len(detect(planned, frame(SIZE, [patch]))[0]) == 0
    # One row up, feet on its own rows: found.
    owned = [r for r in range(below[0]) if cell_box(top, col, r)[3] <= top.foot_v1]
    boxes, _ = detect(planned, frame(SIZE, [cell_patch(top, col, owned[-1])]))
    np.testing.assert_allclose(boxes, [cell_box(top, col, owned[-1])], atol=0.01)


def test_boxes_found_in_several_windows_are_merged(tmp_path: Path) -> None:
    # Boxes of two strides each way (128 px in the network, 1.3-2x a person there): where two bands'
    # crops overlap, both find the block and their boxes overlap more than the NMS threshold.
    det = detector(write_nanodet(tmp_path / "wide.onnx", {32: (2, 2, 2, 2)}), street_context())
    block = (200, 100, 440, 330)
    boxes, _ = detect(det, frame(SIZE, [block]))
    assert len(boxes) > 5
    heights = np.round(boxes[:, 3] - boxes[:, 1])
    assert len(set(heights.tolist())) >= 2  # from more than one window
    iou = iou_matrix(boxes.astype(np.float32), boxes.astype(np.float32))
    np.fill_diagonal(iou, 0.0)
    assert iou.max() <= 0.5
    centres = np.c_[(boxes[:, 0] + boxes[:, 2]) / 2, (boxes[:, 1] + boxes[:, 3]) / 2]
    assert np.all((centres >= block[:2]) & (centres <= block[2:]))
