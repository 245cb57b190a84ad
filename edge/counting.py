"""How many people a zone held over an interval, from tracks or from the detector's own boxes (pure).

Two measurements of the same crowd exist per interval:
- confirmed tracks, counted on every frame: they bridge a person the detector missed once and
  ignore a box seen only once, which is what makes them the better count wherever tracking works;
- the detector's boxes, counted on the frames it ran on: a person seen in one frame is a person.
Tracking stops working in two cases, and the count then comes from the boxes:
- frames too far apart in time for boxes to be followed (a camera sending a frame every second or
  two): people move more than their own width between frames and tracks never confirm;
- crowds: people hide each other, tracks swap and die, and a person found in only some frames is
  dropped by the confirmation rule.
The choice is made per zone and interval and reported as `count_source`, so that a reader of the
metrics knows which measurement stands behind each number.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

__all__ = ["CountSettings", "ZoneCount", "choose_count"]

CountSource = Literal["tracks", "detections"]


@dataclass(frozen=True)
class CountSettings:
    mode: Literal["auto", "tracks", "detections"] = "auto"
    # From this many people detected in a zone, the boxes count (see the module docstring).
    crowd_min_count: int = 15
    # Frames further apart than this (seconds) cannot be tracked by overlap: boxes count.
    max_track_gap_s: float = 0.4


@dataclass(frozen=True)
class ZoneCount:
    count: float
    count_max: int
    source: CountSource


def choose_count(
    track_counts: Sequence[int],
    detection_counts: Sequence[int],
    median_frame_gap_s: float | None,
    settings: CountSettings = CountSettings(),
) -> ZoneCount:
    """The interval's count: `track_counts` per processed frame, `detection_counts` per detection frame."""
    tracks = ZoneCount(_mean(track_counts), max(track_counts, default=0), "tracks")
    if not detection_counts or settings.mode == "tracks":
        return tracks
    boxes = ZoneCount(_mean(detection_counts), max(detection_counts, default=0), "detections")
    if settings.mode == "detections":
        return boxes
    # No gap known yet (a stream's first frame): nothing could have been tracked, the boxes are all there is.
    sparse = median_frame_gap_s is None or median_frame_gap_s > settings.max_track_gap_s
    crowded = boxes.count >= settings.crowd_min_count
    return boxes if sparse or crowded else tracks


def _mean(values: Sequence[int]) -> float:
    return math.fsum(values) / len(values) if values else 0.0
