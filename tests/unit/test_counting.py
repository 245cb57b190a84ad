"""A zone's count from tracks or from the detector's boxes: the rule, the aggregator using it per zone
and interval, and `count_source` on the wire."""

from __future__ import annotations

import json
from collections.abc import Sequence

import numpy as np
import pytest

from contract.docs import TOPIC_DOCS
from contract.edge_messages import ZoneMetricsMessage
from contract.wire import MessageError, decode, encode
from edge.counting import CountSettings, ZoneCount, choose_count
from edge.geometry import Homography, make_zone
from edge.metrics import MetricsSettings, Observation, ZoneMetricsAggregator
from edge.publishing import to_message
from edge.types import ZoneMetrics

AUTO = CountSettings()  # crowds from 15 people, frames more than 0.4 s apart are sparse
ZONE = make_zone("z", Homography.from_matrix(np.eye(3)), ground_m=[[0, 0], [10, 0], [10, 10], [0, 10]])
OUTSIDE = [50.0, 50.0]


def test_auto_counts_tracks_where_tracking_works() -> None:
    assert choose_count([2, 3, 3, 4], [3, 3], 0.1, AUTO) == ZoneCount(3.0, 4, "tracks")
    assert choose_count([2, 2], [5, 5], None, AUTO).source == "detections"  # no gap known: nothing tracked yet
    assert choose_count([2, 2], [5, 5], 0.4, AUTO).source == "tracks"  # at the limit: still trackable


def test_auto_counts_boxes_on_sparse_frames() -> None:
    assert choose_count([0, 1], [3, 4], 1.0, AUTO) == ZoneCount(3.5, 4, "detections")
    assert choose_count([0, 1], [3, 4], 0.41, AUTO).source == "detections"
    assert choose_count([5], [3], 0.5, CountSettings(max_track_gap_s=0.6)).source == "tracks"


def test_auto_counts_boxes_in_crowds() -> None:
    assert choose_count([10, 11], [15, 16], 0.1, AUTO) == ZoneCount(15.5, 16, "detections")
    assert choose_count([10, 11], [14, 15], 0.1, AUTO).source == "tracks"  # mean 14.5 < 15
    assert choose_count([3], [5], 0.1, CountSettings(crowd_min_count=5)).source == "detections"


def test_no_detection_frame_means_tracks_whatever_the_mode() -> None:
    for mode in ("auto", "tracks", "detections"):
        settings = CountSettings(mode=mode)
        assert choose_count([7, 9], [], 5.0, settings) == ZoneCount(8.0, 9, "tracks")
    assert choose_count([], [], None, AUTO) == ZoneCount(0.0, 0, "tracks")


def test_forced_modes_ignore_the_rule() -> None:
    tracks, detections = CountSettings(mode="tracks"), CountSettings(mode="detections")
    assert choose_count([1, 2], [20, 30], 2.0, tracks) == ZoneCount(1.5, 2, "tracks")
    assert choose_count([1, 2], [3, 5], 0.1, detections) == ZoneCount(4.0, 5, "detections")
    # count_max is the largest of the chosen measurement, even when the other saw more.
    assert choose_count([9, 1], [2, 2], 0.1, detections).count_max == 2
    assert choose_count([], [4], 0.1, detections) == ZoneCount(4.0, 4, "detections")


def _points(n_inside: int, n_outside: int = 1) -> np.ndarray:
    inside = [[0.5 + i % 9, 0.5 + i // 9] for i in range(n_inside)]  # a grid inside the 10 m square
    return np.array(inside + [OUTSIDE] * n_outside, np.float64).reshape(-1, 2)


def _observation(k: int, t: float, n_tracks: int, n_detected: int | None) -> Observation:
    """`n_tracks` confirmed people in the zone (one more outside); on detection frames `n_detected` boxes in it."""
    ground = _points(n_tracks)
    detected = None if n_detected is None else _points(n_detected)
    return Observation(
        k,
        t,
        np.arange(len(ground), dtype=np.int64),
        ground,
        ground.copy(),
        detected,
        None if detected is None else detected.copy(),
    )


def _run(
    times: Sequence[float],
    tracks: Sequence[int],
    detected: Sequence[int | None],
    settings: MetricsSettings,
    live: bool = False,
) -> list[ZoneMetrics]:
    agg = ZoneMetricsAggregator("cam", [ZONE], [], settings, live=live)
    out: list[ZoneMetrics] = []
    for k, (t, n, d) in enumerate(zip(times, tracks, detected, strict=True)):
        out += agg.add(_observation(k, t, n, d))
    return out + agg.flush()


def test_frames_a_second_apart_are_counted_from_the_detected_boxes() -> None:
    # A frame a second: tracks never confirm (0-1 of them); the boxes in the zone vary 3..5.
    detected = [3, 4, 3, 5, 3, 4, 4, 4, 2, 3]
    out = _run([float(t) for t in range(10)], [0, 1] * 5, detected, MetricsSettings(interval_s=5.0))
    assert [m.count_source for m in out] == ["detections", "detections"]
    assert [m.count for m in out] == [pytest.approx(np.mean(detected[:5])), pytest.approx(np.mean(detected[5:]))]
    assert [m.count_max for m in out] == [5, 4]
    assert out[0].density == pytest.approx(out[0].count / 100)


def test_one_frame_intervals_know_the_gap_to_the_frame_before() -> None:
    out = _run([float(t) for t in range(4)], [0] * 4, [3] * 4, MetricsSettings(interval_s=1.0))
    # One frame per interval: the gap comes from the frame before; the very first interval has none,
    # and nothing can have been tracked by then, so its boxes count too.
    assert len(out) == 4
    assert [(m.count_source, m.count) for m in out] == [("detections", 3.0)] * 4


def test_ten_fps_with_few_people_is_counted_from_tracks() -> None:
    times = [k / 10 for k in range(20)]
    # Detection every 2nd frame (optical flow between): a box more than there are tracks.
    detected = [3 if k % 2 == 0 else None for k in range(20)]
    out = _run(times, [2] * 20, detected, MetricsSettings(interval_s=1.0))
    assert [(m.count_source, m.count, m.count_max) for m in out] == [("tracks", 2.0, 2)] * 2


def test_ten_fps_in_a_crowd_is_counted_from_the_boxes_of_detection_frames_only() -> None:
    times = [k / 10 for k in range(10)]
    detected = [18 if k % 2 == 0 else None for k in range(10)]
    detected[4] = 20
    out = _run(times, [12] * 10, detected, MetricsSettings(interval_s=1.0))
    [m] = out
    assert (m.count_source, m.count, m.count_max) == ("detections", pytest.approx(18.4), 20)


def test_forced_tracks_and_no_detected_points_stay_on_tracks() -> None:
    times = [float(t) for t in range(6)]
    forced = MetricsSettings(interval_s=3.0, counting=CountSettings(mode="tracks"))
    assert {m.count_source for m in _run(times, [1] * 6, [4] * 6, forced)} == {"tracks"}
    # Observations from before `detected_*` existed (None everywhere): as before, tracks.
    plain = _run(times, [1] * 6, [None] * 6, MetricsSettings(interval_s=3.0))
    assert [(m.count_source, m.count) for m in plain] == [("tracks", 1.0)] * 2


def test_a_stale_interval_repeats_the_last_count_and_its_source() -> None:
    t0 = 1_700_000_000.0
    agg = ZoneMetricsAggregator("cam", [ZONE], [], MetricsSettings(interval_s=1.0, stale_after_s=2.0), live=True)
    closed: list[ZoneMetrics] = []
    for k in range(4):
        closed += agg.add(_observation(k, t0 + k * 0.5, 0, 6))  # 0.5 s apart: sparse
    closed += agg.tick(t0 + 2.2)
    assert [(m.count_source, m.count, m.stale) for m in closed] == [("detections", 6.0, False)] * 2
    stale = agg.tick(t0 + 5.0)
    assert stale and all(m.stale and m.count_source == "detections" and m.count == 6.0 for m in stale)


def _wire() -> dict[str, object]:
    """The documented zone-metrics example as it goes on the wire."""
    [example] = [d.example for d in TOPIC_DOCS if d.model is ZoneMetricsMessage]
    assert isinstance(example, ZoneMetricsMessage)
    return dict(json.loads(encode(example)))


def test_the_message_carries_detections_and_refuses_other_sources() -> None:
    msg = decode(ZoneMetricsMessage, json.dumps({**_wire(), "count_source": "detections"}))
    assert msg.count_source == "detections"
    assert json.loads(encode(msg))["count_source"] == "detections"
    with pytest.raises(MessageError, match="count_source"):
        decode(ZoneMetricsMessage, json.dumps({**_wire(), "count_source": "magic"}))


def test_a_message_without_count_source_is_read_as_tracks() -> None:
    old = _wire()
    del old["count_source"]
    assert decode(ZoneMetricsMessage, json.dumps(old)).count_source == "tracks"


def test_to_message_copies_count_source_and_checks_it() -> None:
    base = _run([0.0, 1.0, 2.0], [0] * 3, [2] * 3, MetricsSettings(interval_s=3.0))[0]
    assert base.count_source == "detections"
    msg = to_message(base, site="north", seq=1, measured_at_s=1.0)
    assert msg.count_source == "detections"
    bad = ZoneMetrics(**{**base.__dict__, "count_source": "magic"})
    with pytest.raises(ValueError, match="count_source"):
        to_message(bad, site="north", seq=2, measured_at_s=1.0)
