"""The edge's speed-ups keep their results: LK on a shrunk frame, decoding in a thread."""

from __future__ import annotations

import threading
from pathlib import Path

import cv2
import numpy as np
import pytest

from edge.flow import BoxFlow
from edge.sources import FileSource


def _textured(shift_px: tuple[int, int], size: tuple[int, int] = (720, 1280)) -> np.ndarray:
    rng = np.random.default_rng(3)
    base = cv2.GaussianBlur(rng.integers(0, 255, (size[0] + 40, size[1] + 40), dtype=np.uint8), (5, 5), 0)
    dx, dy = shift_px
    return np.ascontiguousarray(base[20 - dy : 20 - dy + size[0], 20 - dx : 20 - dx + size[1]])


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
