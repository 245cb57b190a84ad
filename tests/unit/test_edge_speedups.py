"""The edge's speed-ups keep their results: LK on a shrunk frame, decoding in a thread."""

from __future__ import annotations

import threading
from pathlib import Path

import cv2
import numpy as np
import pytest

from edge.flow import FLOW_MAX_WIDTH_PX, BoxFlow, flow_images
from edge.sources import FileSource


def _textured(shift_px: tuple[int, int], size: tuple[int, int] = (720, 1280)) -> np.ndarray:
    rng = np.random.default_rng(3)
    base = cv2.GaussianBlur(rng.integers(0, 255, (size[0] + 40, size[1] + 40), dtype=np.uint8), (5, 5), 0)
    dx, dy = shift_px
    return np.ascontiguousarray(base[20 - dy : 20 - dy + size[0], 20 - dx : 20 - dx + size[1]])


@pytest.mark.parametrize(
    ("shape", "small_hw", "scale"), [((720, 1280, 3), (360, 640), 0.5), ((360, 480), (360, 480), 1.0)]
)
def test_flow_images_are_grey_and_at_most_the_flow_width(
    shape: tuple[int, ...], small_hw: tuple[int, int], scale: float
) -> None:
    image = np.random.default_rng(1).integers(0, 255, shape, dtype=np.uint8)
    images = flow_images(image)
    assert images.gray.shape == shape[:2] and images.gray.dtype == np.uint8
    assert images.small.shape == small_hw and images.small.shape[1] <= FLOW_MAX_WIDTH_PX
    assert images.scale == scale
    if image.ndim == 3:
        np.testing.assert_array_equal(images.gray, cv2.cvtColor(image, cv2.COLOR_BGR2GRAY))
    else:
        assert images.small is images.gray  # small enough already: no copy


@pytest.mark.parametrize("scale", [1.0, 0.5, 1 / 3])
def test_box_flow_on_a_shrunk_frame_reports_full_frame_shifts(scale: float) -> None:
    prev, curr = _textured((0, 0)), _textured((6, -3))
    size = (round(prev.shape[1] * scale), round(prev.shape[0] * scale))
    small_prev = cv2.resize(prev, size, interpolation=cv2.INTER_AREA)
    small_curr = cv2.resize(curr, size, interpolation=cv2.INTER_AREA)
    boxes = np.array([[400.0, 200.0, 520.0, 460.0], [900.0, 100.0, 980.0, 300.0]])
    moved = BoxFlow(win_px=11).carry(small_prev, small_curr, [7, 9], boxes, image_scale=scale)
    assert set(moved) == {7, 9}
    for k, tid in enumerate((7, 9)):
        np.testing.assert_allclose(moved[tid] - boxes[k], [6, -3, 6, -3], atol=0.5 / scale)


def test_box_flow_median_per_box_ignores_other_boxes() -> None:
    # Two boxes moving differently: each gets its own shift, not a blend.
    prev = _textured((0, 0))
    curr = prev.copy()
    curr[:, 640:] = _textured((-4, 2))[:, 640:]
    boxes = np.array([[200.0, 200.0, 360.0, 500.0], [800.0, 200.0, 960.0, 500.0]])
    moved = BoxFlow().carry(prev, curr, [1, 2], boxes)
    np.testing.assert_allclose(moved[1] - boxes[0], 0.0, atol=0.3)
    np.testing.assert_allclose(moved[2] - boxes[1], [-4, 2, -4, 2], atol=0.3)


class CornerCounter:
    """Counts the corner searches BoxFlow makes, calling the real one."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.calls = 0
        real = cv2.goodFeaturesToTrack

        def counted(*args: object, **kwargs: object) -> object:
            self.calls += 1
            return real(*args, **kwargs)  # type: ignore[call-overload]

        monkeypatch.setattr(cv2, "goodFeaturesToTrack", counted)


def test_box_flow_follows_its_points_between_detections_without_new_corner_searches(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    corners = CornerCounter(monkeypatch)
    frames = [_textured((2 * k, k)) for k in range(4)]
    boxes = np.array([[400.0, 200.0, 520.0, 460.0], [900.0, 100.0, 980.0, 300.0]])
    flow = BoxFlow(win_px=9)
    for k in range(1, 4):
        moved = flow.carry(frames[k - 1], frames[k], [7, 9], boxes)
        np.testing.assert_allclose(moved[7] - boxes[0], [2, 1, 2, 1], atol=0.3)
        boxes = np.stack([moved[7], moved[9]])
        assert corners.calls == 2  # found once per box, in the first step only
    # A step that does not continue the last one (a detection came between) searches again.
    flow.carry(frames[0].copy(), frames[1], [7, 9], boxes)
    assert corners.calls == 4


def test_box_flow_searches_corners_again_for_a_box_that_left_its_points(monkeypatch: pytest.MonkeyPatch) -> None:
    corners = CornerCounter(monkeypatch)
    frames = [_textured((0, 0)), _textured((2, 0)), _textured((4, 0))]
    flow = BoxFlow(win_px=9)
    boxes = np.array([[400.0, 200.0, 520.0, 460.0]])
    flow.carry(frames[0], frames[1], [7], boxes)
    # The tracker put the box somewhere else (say, a detection matched it there): its old points are outside.
    flow.carry(frames[1], frames[2], [7], boxes + np.array([300.0, 0.0, 300.0, 0.0]))
    assert corners.calls == 2


@pytest.mark.parametrize(("shift_px", "levels"), [((1, 1), 1), ((8, 0), 2)])
def test_box_flow_pyramid_is_shallow_only_while_the_boxes_move_little(shift_px: tuple[int, int], levels: int) -> None:
    flow = BoxFlow(win_px=9)
    assert flow.pyramid_levels == 2  # nothing known yet: the full depth
    boxes = np.array([[400.0, 200.0, 520.0, 460.0], [900.0, 100.0, 980.0, 300.0]])
    moved = flow.carry(_textured((0, 0)), _textured(shift_px), [1, 2], boxes)
    np.testing.assert_allclose(moved[1] - boxes[0], [*shift_px, *shift_px], atol=0.3)
    assert flow.pyramid_levels == levels


def _clip(path: Path, n: int) -> Path:
    w = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"MJPG"), 10.0, (64, 48))
    for k in range(n):
        w.write(np.full((48, 64, 3), 5 * k, np.uint8))
    w.release()
    return path


def test_prefetched_and_direct_decoding_give_the_same_frames(tmp_path: Path) -> None:
    video = _clip(tmp_path / "c.avi", 20)
    direct = [(f.index, f.t_s, int(f.image[0, 0, 0])) for f in FileSource(video, prefetch=0).frames() if f]
    ahead = [(f.index, f.t_s, int(f.image[0, 0, 0])) for f in FileSource(video, prefetch=3).frames() if f]
    assert ahead == direct
    assert len(direct) == 20


def test_closing_early_stops_the_decode_thread(tmp_path: Path) -> None:
    video = _clip(tmp_path / "c.avi", 50)
    src = FileSource(video, prefetch=2)
    frames = src.frames()
    first = next(frames)
    assert first is not None and first.index == 0
    src.close()
    assert not any(t.name.startswith("decode:c.avi") and t.is_alive() for t in threading.enumerate())


def test_a_decode_error_reaches_the_consumer(tmp_path: Path) -> None:
    src = FileSource(_clip(tmp_path / "c.avi", 5), prefetch=2)

    def broken() -> object:
        yield from ()
        raise RuntimeError("decoder crashed")

    src._decode = broken  # type: ignore[method-assign,assignment]
    with pytest.raises(RuntimeError, match="decoder crashed"):
        list(src.frames())


def test_line_crossing_memory_is_released_when_tracks_end() -> None:
    from edge.geometry import Zone
    from edge.metrics import CountLine, MetricsSettings, Observation, ZoneMetricsAggregator

    square = np.array([[-10.0, -10.0], [10.0, -10.0], [10.0, 10.0], [-10.0, 10.0]])
    zone = Zone("z", square, square, in_image=False)
    agg = ZoneMetricsAggregator("c", [zone], [CountLine("l", (0.0, -10.0), (0.0, 10.0), "z")], MetricsSettings())
    t = 0.0
    total_in = total_out = 0
    for k in range(200):  # 200 people, each crossing once and leaving
        tid = np.array([k], np.int64)
        for x in (-1.0, 1.0):
            t += 0.1
            out = agg.add(Observation(0, t, tid, np.array([[x, 0.0]]), np.array([[x, 0.0]])))
            for m in out:
                total_in, total_out = total_in + m.inflow, total_out + m.outflow
    out = agg.flush()
    for m in out:
        total_in, total_out = total_in + m.inflow, total_out + m.outflow
    assert total_in + total_out == 200
    assert len(agg._crossed) <= 1


def test_array_kalman_matches_filterpy_for_one_person() -> None:
    """The tracker's batched filter is filterpy's KalmanFilter, equation for equation."""
    from filterpy.kalman import KalmanFilter

    from edge.tracking import Tracker, TrackerSettings
    from edge.types import Detections

    settings = TrackerSettings(min_hits=1)
    tracker = Tracker(settings)
    rng = np.random.default_rng(5)
    box = np.array([100.0, 50.0, 130.0, 130.0])
    kf = KalmanFilter(dim_x=6, dim_z=4)
    kf.H = np.hstack([np.eye(4), np.zeros((4, 2))])
    z0 = np.array([115.0, 90.0, 30.0, 80.0])
    kf.x = np.concatenate([z0, [0.0, 0.0]]).reshape(6, 1)
    kf.P = np.diag([8.0, 8.0, 8.0, 8.0, 160.0, 160.0]) ** 2
    tracker.update(0.0, Detections(box[None].astype(np.float32), np.ones(1, np.float32)))
    for k in range(1, 30):
        dt = 0.04 * (1 + k % 3)  # uneven frame times, as a live source gives
        h = max(float(kf.x[3, 0]), 4.0)
        f = np.eye(6)
        f[0, 4] = f[1, 5] = dt
        q = np.zeros((6, 6))
        q_acc = (settings.accel_noise_frac_per_s2 * h) ** 2
        for pos, vel in ((0, 4), (1, 5)):
            q[pos, pos] = dt**4 / 4 * q_acc
            q[pos, vel] = q[vel, pos] = dt**3 / 2 * q_acc
            q[vel, vel] = dt**2 * q_acc
        q[2, 2] = q[3, 3] = (0.05 * h) ** 2 * dt
        kf.predict(F=f, Q=q)
        box = box + np.array([3.0, 1.0, 3.0, 1.0]) + rng.normal(0, 1.0, 4)
        r = (settings.measurement_noise_frac * max(float(kf.x[3, 0]), 4.0)) ** 2
        z = np.array([(box[0] + box[2]) / 2, (box[1] + box[3]) / 2, box[2] - box[0], box[3] - box[1]])
        kf.update(z, R=np.diag([r, r, 4 * r, 4 * r]))
        t = sum(0.04 * (1 + j % 3) for j in range(1, k + 1))
        if k % 2:
            tracks = tracker.update(t, Detections(box[None].astype(np.float32), np.ones(1, np.float32)))
        else:
            tracks = tracker.carry(t, {1: box})
        cx, cy, w, hh = kf.x[:4, 0]
        np.testing.assert_allclose(tracks.xyxy[0], [cx - w / 2, cy - hh / 2, cx + w / 2, cy + hh / 2], atol=1e-3)
