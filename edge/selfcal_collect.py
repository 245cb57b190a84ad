"""Head and foot points of people for self-calibration, from a source with the edge's own detector.

Only boxes that are likely one whole upright person are kept: confident, not overlapping another
box (a group's box or a half-hidden person has the wrong height), not touching the frame's border
(a cut-off person is short) and with a person's aspect ratio. Head = top centre, foot = bottom
centre. Boxes are linked from one sampled frame to the next by overlap, so a person standing still
for minutes is one person with many samples: `edge.selfcal` weighs people, not boxes.

The detector runs uncalibrated (that is what is being found out): one window over the whole frame.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from edge.config import DetectorConfig
from edge.detectors import Detector, build_detector
from edge.detectors.boxes import covered_share
from edge.selfcal import PersonSamples
from edge.sources import open_source
from edge.tracking import iou_matrix
from edge.types import Detections

__all__ = ["CollectSettings", "PeopleCollector", "collect_people", "select_people"]

log = logging.getLogger(__name__)
F64 = npt.NDArray[np.float64]


@dataclass(frozen=True)
class CollectSettings:
    duration_s: float = 120.0
    # Frames a second to detect on: people move between samples, so more would mostly repeat them.
    sample_fps: float = 2.0
    min_score: float = 0.5
    border_px: float = 3.0
    # Largest share of a box's area that another box may cover.
    max_overlap_frac: float = 0.05
    min_aspect: float = 1.5  # height / width
    max_aspect: float = 5.0
    # Linking: a box overlapping the same person's box in one of the last few samples this much.
    link_iou: float = 0.2
    link_gap_samples: int = 10


def select_people(det: Detections, frame_size: tuple[int, int], s: CollectSettings) -> Detections:
    """The boxes of `det` that are likely one whole upright person (see the module docstring)."""
    if len(det) == 0:
        return det
    b = det.xyxy.astype(np.float64)
    w, h = b[:, 2] - b[:, 0], b[:, 3] - b[:, 1]
    # Any box counts as an occluder here, even a low-scoring one: it is still something in the way.
    overlap = covered_share(b)
    fw, fh = frame_size
    aspect = h / np.maximum(w, 1e-9)
    keep = (
        (det.scores >= s.min_score)
        & (overlap <= s.max_overlap_frac)
        & (b[:, 0] > s.border_px)
        & (b[:, 1] > s.border_px)
        & (b[:, 2] < fw - s.border_px)
        & (b[:, 3] < fh - s.border_px)
        & (aspect >= s.min_aspect)
        & (aspect <= s.max_aspect)
    )
    return det[keep]


class PeopleCollector:
    """Accumulates selected boxes frame by frame and links them into people."""

    def __init__(self, frame_size: tuple[int, int], settings: CollectSettings | None = None) -> None:
        self.frame_size = frame_size
        self.settings = settings or CollectSettings()
        self._heads: list[F64] = []
        self._feet: list[F64] = []
        self._ids: list[npt.NDArray[np.int64]] = []
        self._recent: list[tuple[F64, npt.NDArray[np.int64]]] = []  # last samples' boxes and their people
        self._next_id = 0
        self.frames = 0

    def add(self, det: Detections) -> None:
        s = self.settings
        people = select_people(det, self.frame_size, s)
        self.frames += 1
        boxes = people.xyxy.astype(np.float64)
        ids = np.full(len(boxes), -1, np.int64)
        # The most recent sample first: a person seen there is the best match.
        for old_boxes, old_ids in reversed(self._recent):
            free = np.flatnonzero(ids < 0)
            if len(free) == 0 or len(old_boxes) == 0:
                continue
            iou = iou_matrix(boxes[free], old_boxes)
            iou[:, np.isin(old_ids, ids)] = 0.0  # one person, one box per frame
            for _ in range(len(free)):
                i, j = np.unravel_index(int(np.argmax(iou)), iou.shape)
                if iou[i, j] < s.link_iou:
                    break
                ids[free[i]] = old_ids[j]
                iou[i, :] = 0.0
                iou[:, j] = 0.0
        new = ids < 0
        ids[new] = np.arange(self._next_id, self._next_id + int(new.sum()))
        self._next_id += int(new.sum())
        self._recent = [*self._recent, (boxes, ids)][-s.link_gap_samples :]
        u = (boxes[:, 0] + boxes[:, 2]) / 2
        self._heads.append(np.stack([u, boxes[:, 1]], axis=1))
        self._feet.append(np.stack([u, boxes[:, 3]], axis=1))
        self._ids.append(ids)

    def samples(self) -> PersonSamples:
        if not self._ids:
            empty = np.zeros((0, 2))
            return PersonSamples(empty, empty, np.zeros(0, np.int64), self.frame_size)
        return PersonSamples(
            np.concatenate(self._heads), np.concatenate(self._feet), np.concatenate(self._ids), self.frame_size
        )


def uncalibrated_detector(cfg: DetectorConfig, frame_size: tuple[int, int]) -> Detector:
    """The configured detector without a calibration; NanoDet's one window then covers the whole
    frame at its native size (at least 640 px), so that far, small people are still found."""
    long_side = max(640, min(1920, max(frame_size)))
    return build_detector(cfg.model_copy(update={"input_size": long_side}))


def collect_people(
    source: str,
    detector_cfg: DetectorConfig,
    *,
    fps: float | None = None,
    settings: CollectSettings | None = None,
    detector: Detector | None = None,
    on_sample: Callable[[int], None] | None = None,
) -> PersonSamples:
    """Detect people on up to `duration_s` of `source` at `sample_fps` and return their head and
    foot points. Raises SourceError for a source that cannot be opened (the CLI's exit 2)."""
    s = settings or CollectSettings()
    src = open_source(source, fps=fps)
    collector: PeopleCollector | None = None
    t0: float | None = None
    next_t = -np.inf
    # A live stream that stops sending yields nothing forever: give up some time after the duration.
    deadline = time.monotonic() + s.duration_s + 60.0
    try:
        for frame in src.frames():
            if time.monotonic() > deadline:
                log.warning("self-calibration: the source sent too few frames in time; using what came")
                break
            if frame is None:
                continue
            t0 = frame.t_s if t0 is None else t0
            if frame.t_s - t0 > s.duration_s:
                break
            if frame.t_s < next_t:
                continue
            next_t = frame.t_s + 1.0 / s.sample_fps - 1e-6
            size = (frame.image.shape[1], frame.image.shape[0])
            if collector is None:
                collector = PeopleCollector(size, s)
                detector = detector or uncalibrated_detector(detector_cfg, size)
            assert detector is not None
            collector.add(detector.detect(frame))
            if on_sample is not None:
                on_sample(collector.frames)
    finally:
        src.close()
    if collector is None:
        return PersonSamples(np.zeros((0, 2)), np.zeros((0, 2)), np.zeros(0, np.int64), (1, 1))
    log.info("self-calibration: %d frames sampled", collector.frames)
    return collector.samples()
