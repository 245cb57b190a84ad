"""The nanodet backend end to end on a tiny NanoDet-shaped graph (tests/unit/nanodet_graph.py): a cell
entirely covered by white fires, its box is fixed around the cell's centre, so every box the detector
returns can be predicted in frame pixels through the windows' crops and scales."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pytest

from edge.calibration import build_geometry
from edge.config import DetectorConfig, load
from edge.detectors import build_detector
from edge.detectors.base import DetectorContext
from edge.detectors.nanodet import NanoDetDetector
from tests.unit.nanodet_graph import (
    Sides,
    cell_box,
    cell_patch,
    detect,
    detector,
    frame,
    white_score,
    write_nanodet,
)

PETS = Path(__file__).resolve().parents[2] / "configs" / "pets09_s2l1.yaml"


def pets_context(zone_ids: Sequence[str]) -> DetectorContext:
    """The PETS S2.L1 calibration (480x360) with the image polygons of the named zones."""
    geometry = build_geometry(load(PETS))
    polygons = tuple(z.image_px for z in geometry.zones if z.id in zone_ids)
    return DetectorContext(geometry.homography.image_to_ground, geometry.frame_size, polygons)


@pytest.fixture(scope="module")
def model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_nanodet(tmp_path_factory.mktemp("nanodet") / "tiny.onnx")


def test_uncalibrated_boxes_are_where_the_white_squares_are(model: Path) -> None:
    det = detector(model)  # one window: the whole 640x480 frame at 320 px -> scale 0.5
    boxes, scores = detect(det, frame((640, 480), [(128, 64, 192, 128), (448, 320, 512, 384)]))
    [w] = det.windows
    assert (w.x0, w.y0, w.x1, w.y1, w.scale) == (0, 0, 640, 480, 0.5)
    # Input cells (2, 1) and (7, 5), centres (80, 48) and (240, 176), one stride each way -> x2 in the frame.
    np.testing.assert_allclose(boxes, [[96, 32, 224, 160], [416, 288, 544, 416]], atol=0.01)
    np.testing.assert_allclose(scores, [white_score()] * 2, atol=1e-4)
    assert det.confidence == pytest.approx(0.3) and det.track_min_score == pytest.approx(0.4)


def test_a_frame_without_white_gives_no_boxes(model: Path) -> None:
    det = detector(model)
    for value in (0, 128, 200):
        assert detect(det, np.full((480, 640, 3), value, np.uint8))[0].shape == (0, 4)
    # White smaller than one cell (a part of it) does not fire either.
    assert len(detect(det, frame((640, 480), [(130, 70, 180, 120)]))[0]) == 0


def test_nms_merges_the_boxes_of_overlapping_cells_and_strides(tmp_path: Path) -> None:
    # Stride 16 and 32 both fire on one white 32-px input cell: its stride-32 box (64 px square, ranked
    # first) and four stride-16 boxes of the same size, 8 px off (IoU 0.62 with it).
    fires: Mapping[int, Sides] = {16: (2, 2, 2, 2), 32: (1, 1, 1, 1)}
    path = write_nanodet(tmp_path / "two.onnx", fires, bonus={32: 0.5})
    image = frame((640, 480), [(128, 64, 192, 128)])
    kept, scores = detect(detector(path), image)
    np.testing.assert_allclose(kept, [[96, 32, 224, 160]], atol=0.01)
    np.testing.assert_allclose(scores, [white_score(0.5)], atol=1e-4)
    everything, _ = detect(detector(path, iou=1.0), image)  # nothing suppressed
    assert len(everything) == 5
    np.testing.assert_allclose(everything[:, 2] - everything[:, 0], [128] * 5, atol=0.01)


def test_calibrated_boxes_come_back_through_the_windows_crop_and_scale(model: Path) -> None:
    det = detector(model, pets_context(["crossing-right"]))
    size = (480, 360)
    assert len(detect(det, frame(size))[0]) == 0  # plans the windows for this size
    [w] = det.windows  # PETS's people range less than a band: one window over the zone
    assert w.x0 > 0 and w.y0 > 0 and w.scale > 1  # cropped to the zone, upscaled (people are ~40-90 px)
    cells = [(3, 2), (10, 6)]
    boxes, scores = detect(det, frame(size, [cell_patch(w, c, r) for c, r in cells]))
    np.testing.assert_allclose(boxes, [cell_box(w, c, r) for c, r in cells], atol=0.01)
    assert scores.min() > 0.9


def test_white_outside_the_zones_windows_is_not_looked_at(model: Path) -> None:
    det = detector(model, pets_context(["crossing-right"]))
    size = (480, 360)
    detect(det, frame(size))
    [w] = det.windows
    inside = cell_patch(w, 3, 2)
    # Three cells' worth of white left of the crop, and below it (the zone's feet end above it).
    side = 3 * (inside[2] - inside[0])
    left = (w.x0 - side - 10, 120, w.x0 - 10, 120 + side)
    below = (300, w.y1 + 10, 300 + side, w.y1 + 10 + side)
    assert left[0] >= 0 and below[3] <= size[1]
    assert len(detect(det, frame(size, [inside]))[0]) == 1
    assert len(detect(det, frame(size, [left, below]))[0]) == 0
    # Uncalibrated, the whole frame is one window (scale 1) and both patches are found.
    boxes, _ = detect(detector(model, input_size=480), frame(size, [left, below]))
    cx, cy = (boxes[:, 0] + boxes[:, 2]) / 2, (boxes[:, 1] + boxes[:, 3]) / 2
    for x0, y0, x1, y1 in (left, below):
        assert np.any((cx >= x0) & (cx < x1) & (cy >= y0) & (cy < y1))


def test_boxes_too_tall_for_a_person_standing_there_are_dropped(model: Path, tmp_path: Path) -> None:
    # Every fired cell's box is 10 strides tall (320 input px): about 200 px in the PETS window, where
    # a person is about 40-90 px tall. The same box is kept without a calibration to judge it by.
    tall = write_nanodet(tmp_path / "tall.onnx", {32: (1, 5, 1, 5)})
    ctx = pets_context(["crossing-right"])
    det = detector(tall, ctx)
    detect(det, frame((480, 360)))
    patch = cell_patch(det.windows[0], 6, 4)
    assert len(detect(det, frame((480, 360), [patch]))[0]) == 0
    uncalibrated = detector(tall)
    detect(uncalibrated, frame((480, 360)))
    [w] = uncalibrated.windows
    boxes, _ = detect(uncalibrated, frame((480, 360), [cell_patch(w, 6, 1)]))
    np.testing.assert_allclose(boxes, [cell_box(w, 6, 1, sides=(1, 5, 1, 5))], atol=0.01)  # 480 px tall
    # A person-sized box on the same spot passes.
    assert len(detect(detector(model, ctx), frame((480, 360), [patch]))[0]) == 1


def test_frames_of_another_size_get_their_own_windows(model: Path) -> None:
    det = detector(model, pets_context(["crossing-right"]))
    detect(det, frame((480, 360)))
    [small] = det.windows
    detect(det, frame((960, 720)))
    [large] = det.windows
    assert (large.x0, large.y0) == pytest.approx((2 * small.x0, 2 * small.y0), abs=2)
    assert large.scale == pytest.approx(small.scale / 2, rel=0.01)
    boxes, _ = detect(det, frame((960, 720), [cell_patch(large, 5, 3)]))
    np.testing.assert_allclose(boxes, [cell_box(large, 5, 3)], atol=0.01)


def test_build_detector_passes_the_calibration_and_zones_to_nanodet(model: Path) -> None:
    ctx = pets_context(["crossing-right"])
    assert ctx.image_to_ground_m is not None and ctx.image_size_px is not None
    cfg = DetectorConfig(kind="nanodet", model=str(model), threads=1, input_size=320)
    built = build_detector(cfg, ctx.image_to_ground_m, ctx.image_size_px, ctx.zone_polygons_px)
    assert isinstance(built, NanoDetDetector) and built.name == "nanodet"
    direct, uncalibrated = detector(model, ctx), detector(model)
    for det in (built, direct, uncalibrated):
        detect(det, frame((480, 360)))
    assert built.windows == direct.windows != uncalibrated.windows
