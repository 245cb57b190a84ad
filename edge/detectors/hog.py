"""OpenCV's built-in HOG people detector, run only at the scales a person can have where they stand.

The Dalal-Triggs detector shipped with OpenCV 4 (`HOGDescriptor_getDefaultPeopleDetector`) scores
64x128 windows in which a standing person is about 96 px tall. It needs no downloaded weights and,
unlike background subtraction, sees people who stand still or were there before the camera started,
but it is blind to people much smaller than its window, slow when run over a full image pyramid, and
fires on upright clutter. The calibration's scale map answers all three: it says where people are big
enough (`min_height_px`), and for every pyramid level the few image rows where a person of that size
can have their feet, so each level scans a thin strip instead of the whole image.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

from edge.detectors.scale import PersonScaleMap

Float = npt.NDArray[np.float32]
Image = npt.NDArray[np.uint8]

WINDOW_W_PX, WINDOW_H_PX = 64, 128
# Where the person is inside a detection window (the training crops had a 16 px margin top and bottom).
PERSON_TOP, PERSON_BOTTOM = 16 / 128, 112 / 128
PERSON_H_IN_WINDOW_PX = WINDOW_H_PX * (PERSON_BOTTOM - PERSON_TOP)


@dataclass(frozen=True)
class HogParams:
    min_height_px: float = 100.0  # people smaller than this would need upscaling: leave them to the background model
    max_height_px: float = 1000.0
    level_step: float = 1.12  # ratio of person heights between consecutive pyramid levels
    scale_tolerance: float = 1.3  # a level scans feet whose expected height is within this factor of its own
    hit_threshold: float = -0.3  # SVM margin kept for fusion; fusion decides what is a person
    stride_px: int = 8  # window step in level pixels (one HOG cell)
    aspect_w_per_h: float = 0.4  # reported person box width / height


@dataclass(frozen=True)
class Strip:
    """One pyramid level's work: frame rows [row0, row1) scanned for people `person_h_px` tall."""

    person_h_px: float
    row0: int
    row1: int


@dataclass(frozen=True)
class HogHits:
    """Person boxes (xyxy, frame pixels) and raw SVM margins, before any fusion."""

    xyxy: Float
    margins: Float

    @classmethod
    def empty(cls) -> HogHits:
        return cls(np.zeros((0, 4), np.float32), np.zeros(0, np.float32))

    def __len__(self) -> int:
        return len(self.margins)


def person_heights(params: HogParams, max_height_px: float) -> list[float]:
    """The pyramid: person heights from `min_height_px` up to `max_height_px` in `level_step` ratios."""
    top = min(max_height_px, params.max_height_px)
    heights: list[float] = []
    h = params.min_height_px
    while h <= top * params.level_step:
        heights.append(h)
        h *= params.level_step
    return heights


def plan_strips(scale: PersonScaleMap | None, frame_h_px: int, params: HogParams) -> list[Strip]:
    """The strips to scan: where the map allows a person of each level's height, or everywhere without a map."""
    if scale is None:
        # scale-free: every size that fits in the frame, every row
        return [Strip(h, 0, frame_h_px) for h in person_heights(params, float(frame_h_px))]
    expected = scale.height_px
    finite = np.isfinite(expected)
    rows_ok = finite.any(axis=1)
    if not rows_ok.any():
        return []
    row_min = np.where(rows_ok, np.nanmin(np.where(finite, expected, np.inf), axis=1), np.inf)
    row_max = np.where(rows_ok, np.nanmax(np.where(finite, expected, -np.inf), axis=1), -np.inf)
    largest = float(row_max[rows_ok].max())
    if largest < params.min_height_px:
        return []
    strips: list[Strip] = []
    for h in person_heights(params, largest):
        # only where people are expected at least min_height_px tall: HOG is never the one to see small people
        lowest = max(h / params.scale_tolerance, params.min_height_px)
        feet = np.nonzero((row_max >= lowest) & (row_min <= h * params.scale_tolerance))[0]
        if len(feet) == 0:
            continue
        window_h = h / (PERSON_BOTTOM - PERSON_TOP)
        # the window reaches above the head and below the feet by its margins
        row0 = int(np.floor(feet[0] - PERSON_BOTTOM * window_h))
        row1 = int(np.ceil(feet[-1] + 1 + (1 - PERSON_BOTTOM) * window_h))
        strips.append(Strip(h, row0, row1))
    return strips


class HogPeopleDetector:
    """Runs the default people SVM over planned strips. Not thread-safe (one per camera)."""

    def __init__(self, params: HogParams | None = None) -> None:
        self.params = params or HogParams()
        self._hog = cv2.HOGDescriptor()
        self._hog.setSVMDetector(np.asarray(cv2.HOGDescriptor.getDefaultPeopleDetector(), np.float32))

    def detect(self, image: Image, strips: list[Strip]) -> HogHits:
        height, width = image.shape[:2]
        boxes: list[Float] = []
        margins: list[Float] = []
        for strip in strips:
            hits = self._scan(image, strip, width, height)
            if len(hits):
                boxes.append(hits.xyxy)
                margins.append(hits.margins)
        if not boxes:
            return HogHits.empty()
        return HogHits(np.concatenate(boxes), np.concatenate(margins))

    def _scan(self, image: Image, strip: Strip, width: int, height: int) -> HogHits:
        p = self.params
        factor = PERSON_H_IN_WINDOW_PX / strip.person_h_px  # frame -> level pixels; below 1, as min_height_px > 96
        # People cut by the frame's edges still fill most of a window: pad by the window's side margin.
        pad_x = int(np.ceil(16 / factor))
        row0, row1 = max(strip.row0, 0), min(strip.row1, height)
        if row1 <= row0:
            return HogHits.empty()
        top, bottom = row0 - strip.row0, strip.row1 - row1
        crop = np.asarray(
            cv2.copyMakeBorder(image[row0:row1], top, bottom, pad_x, pad_x, cv2.BORDER_REPLICATE), np.uint8
        )
        level_w = max(WINDOW_W_PX, round(crop.shape[1] * factor))
        level_h = max(WINDOW_H_PX, round(crop.shape[0] * factor))
        # bilinear, as OpenCV's own detectMultiScale pyramid: area averaging costs more than the detection
        level = cv2.resize(crop, (level_w, level_h), interpolation=cv2.INTER_LINEAR)
        found, weights = self._hog.detect(
            level, hitThreshold=p.hit_threshold, winStride=(p.stride_px, p.stride_px), padding=(0, 0)
        )
        if len(found) == 0:
            return HogHits.empty()
        loc = np.asarray(found, np.float32).reshape(-1, 2)
        sx, sy = crop.shape[1] / level_w, crop.shape[0] / level_h
        # window corner in frame pixels
        wx = loc[:, 0] * sx - pad_x
        wy = loc[:, 1] * sy + strip.row0
        win_h = WINDOW_H_PX * sy
        top_y = wy + PERSON_TOP * win_h
        foot_y = wy + PERSON_BOTTOM * win_h
        cx = wx + WINDOW_W_PX * sx / 2
        half_w = p.aspect_w_per_h * (foot_y - top_y) / 2
        xyxy = np.stack([cx - half_w, top_y, cx + half_w, foot_y], axis=1).astype(np.float32)
        return HogHits(xyxy, np.asarray(weights, np.float32).reshape(-1))
