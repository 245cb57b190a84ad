from __future__ import annotations

import numpy as np

from edge.tracking import Tracker, TrackerSettings, iou_matrix
from edge.types import Detections, Tracks

FPS = 10.0


def _box(cx: float, foot_y: float, w: float = 20, h: float = 50) -> list[float]:
    return [cx - w / 2, foot_y - h, cx + w / 2, foot_y]


def _dets(boxes: list[list[float]]) -> Detections:
    return Detections(np.array(boxes, np.float32).reshape(-1, 4), np.ones(len(boxes), np.float32))


def _id_near(tracks: Tracks, cx: float, foot_y: float) -> int:
    d = np.hypot((tracks.xyxy[:, 0] + tracks.xyxy[:, 2]) / 2 - cx, tracks.xyxy[:, 3] - foot_y)
    return int(tracks.ids[np.argmin(d)])


def test_iou_matrix() -> None:
    iou = iou_matrix(np.array([[0, 0, 10, 10]]), np.array([[0, 0, 10, 10], [5, 0, 15, 10], [20, 20, 30, 30]]))
    np.testing.assert_allclose(iou, [[1.0, 1 / 3, 0.0]])


def test_confirmed_only_after_min_hits_and_a_single_false_box_never_counts() -> None:
    tr = Tracker(TrackerSettings(min_hits=3, max_age_s=1.0))
    t1 = tr.update(0.0, _dets([_box(100, 200), _box(300, 200)]))
    assert len(t1) == 2 and not t1.confirmed.any()
    tr.update(0.1, _dets([_box(101, 200)]))  # the box at 300 was a one-frame false positive
    t3 = tr.update(0.2, _dets([_box(102, 200)]))
    assert t3.confirmed.tolist() == [True]
    assert len(t3) == 1


def test_two_people_crossing_keep_their_ids() -> None:
    tr = Tracker(TrackerSettings(min_hits=2, max_age_s=1.0))
    ids_left_walker: set[int] = set()
    ids_right_walker: set[int] = set()
    for k in range(40):
        t = k / FPS
        a = 50 + 8 * k  # walks right
        b = 370 - 8 * k  # walks left, slightly lower in the image
        tracks = tr.update(t, _dets([_box(a, 200), _box(b, 215)]))
        if k >= 2:
            assert tracks.confirmed.sum() == 2
            ids_left_walker.add(_id_near(tracks, a, 200))
            ids_right_walker.add(_id_near(tracks, b, 215))
    # Ids switching at the moment of crossing would show as two ids for a walker.
    assert len(ids_left_walker) == 1 and len(ids_right_walker) == 1
    assert ids_left_walker != ids_right_walker


def test_occluded_person_keeps_id_and_lost_person_is_dropped() -> None:
    tr = Tracker(TrackerSettings(min_hits=2, max_age_s=1.0))
    for k in range(10):
        tracks = tr.update(k / FPS, _dets([_box(100 + 5 * k, 200)]))
    first_id = int(tracks.ids[0])
    # Hidden for 0.6 s (shorter than max_age): the track coasts on its velocity...
    for k in range(10, 16):
        tracks = tr.update(k / FPS, Detections.empty())
        assert tracks.confirmed.sum() == 1
        predicted_cx = float((tracks.xyxy[0, 0] + tracks.xyxy[0, 2]) / 2)
        assert abs(predicted_cx - (100 + 5 * k)) < 6
    # ...and picks the person up again with the same id.
    tracks = tr.update(1.6, _dets([_box(100 + 5 * 16, 200)]))
    assert tracks.ids.tolist() == [first_id]
    # Gone for longer than max_age: the track ends.
    for k in range(17, 30):
        tracks = tr.update(k / FPS, Detections.empty())
    assert len(tracks) == 0


def test_carry_moves_tracks_without_confirming_them() -> None:
    tr = Tracker(TrackerSettings(min_hits=3))
    tracks = tr.update(0.0, _dets([_box(100, 200)]))
    tid = int(tracks.ids[0])
    moved = tr.carry(0.1, {tid: np.array(_box(110, 200))})
    assert not moved.confirmed.any()
    assert float((moved.xyxy[0, 0] + moved.xyxy[0, 2]) / 2) > 103  # pulled towards the flow
