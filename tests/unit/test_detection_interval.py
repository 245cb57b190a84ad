"""`detector.every_n_frames: 0` resolves to about six detections a second at the source's frame rate."""

from __future__ import annotations

import pytest

from edge.config import DetectorConfig
from edge.pipeline import detection_interval


@pytest.mark.parametrize(
    ("fps", "expected"),
    [(25.0, 4), (30.0, 5), (50.0, 8), (12.5, 2), (7.0, 1), (2.0, 1), (None, 4)],
)
def test_auto_detects_about_six_times_a_second(fps: float | None, expected: int) -> None:
    assert detection_interval(0, fps) == expected


def test_an_explicit_interval_is_kept_whatever_the_rate() -> None:
    assert detection_interval(3, 2.0) == 3
    assert detection_interval(1, 60.0) == 1


def test_auto_is_the_default() -> None:
    assert DetectorConfig().every_n_frames == 0
