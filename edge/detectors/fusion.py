"""Fusing HOG people hits with background-subtraction boxes (pure: arrays in, `Detections` out).

The two sources fail differently. Background subtraction sees every mover down to a few pixels and
splits groups by the calibrated person size, but it needs a learnt scene (people present when the
camera starts are learnt as background and leave "ghosts" where they stood) and loses people who stop.
HOG sees a person in one frame whatever the background does, but only when they are big enough, and it
misses people hidden behind others. So:

- HOG hits whose size is implausible for their foot position are dropped (a 2 m-tall window on a far
  foot point is a lamp post, not a person); duplicates of one person are suppressed.
- A HOG hit's score is the logistic of its SVM margin, plus the foreground inside its box as evidence
  once the background model has warmed up (a hit on an empty, never-moving patch is weaker).
- Where HOG could see people (`bg_in_hog_area`), a background box that one HOG box already explains is
  that person; one no HOG box explains is kept only after warm-up (an occluded walker), never during it
  (it is then likely a ghost). Elsewhere (people too small for HOG) background boxes are used as they are.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from edge.detectors.boxes import iou_matrix, nms
from edge.types import Detections

Float = npt.NDArray[np.float32]
Bool = npt.NDArray[np.bool_]


@dataclass(frozen=True)
class FusionParams:
    size_tolerance: float = 1.25  # HOG box height / expected height must lie within [1/t, t]
    margin_gain: float = 2.0  # logistic slope on the SVM margin ...
    margin_offset: float = 0.0  # ... and the margin scored 0.5: margin 0 -> 0.5, -0.3 -> 0.35, 0.5 -> 0.73
    support_gain: float = 4.0  # log-odds per unit of foreground fraction inside the box ...
    support_neutral: float = 0.3  # ... counted from here: a walker's box is about half foreground
    hog_nms_iou: float = 0.3  # one person fires windows at several sizes; over this IoU they are one
    same_person_iou: float = 0.4  # a background box this close to a HOG box is the same person
    covered_fraction: float = 0.5  # a background box this much inside a HOG box is part of that person


@dataclass(frozen=True)
class HogEvidence:
    """HOG person boxes with what the rest of the detector knows about each.

    `expected_h_px`: the calibrated person height at each box's foot (NaN: nobody can stand there),
    None without calibration. `support`: foreground fraction inside each box, None while the
    background model is still warming up and its foreground cannot be trusted.
    """

    xyxy: Float
    margins: Float
    expected_h_px: Float | None = None
    support: Float | None = None


def plausible_size(heights_px: Float, expected_h_px: Float, tolerance: float) -> Bool:
    """Heights within a factor `tolerance` of the expected ones; False where nothing is expected."""
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = np.asarray(heights_px, np.float64) / np.asarray(expected_h_px, np.float64)
    return np.asarray(np.isfinite(ratio) & (ratio >= 1.0 / tolerance) & (ratio <= tolerance), bool)


def hog_scores(margins: Float, support: Float | None, p: FusionParams) -> Float:
    logit = p.margin_gain * (np.asarray(margins, np.float64) - p.margin_offset)
    if support is not None:
        logit = logit + p.support_gain * (np.asarray(support, np.float64) - p.support_neutral)
    return (1.0 / (1.0 + np.exp(-logit))).astype(np.float32)


def merge_hits(xyxy: Float, scores: Float, iou_threshold: float) -> tuple[Float, Float]:
    """Non-maximum suppression whose kept boxes are the score-weighted mean of the hits they suppress.

    A person fires windows at neighbouring positions and pyramid levels; the best one alone jumps
    between levels from frame to frame (a stride and a 12% size step), the mean of its cluster does not.
    """
    keep = nms(xyxy, scores, iou_threshold)
    kept = xyxy[keep]
    iou = iou_matrix(kept, xyxy)
    # each hit joins the kept box it overlaps most, if over the threshold
    owner = iou.argmax(axis=0)
    joined = iou[owner, np.arange(len(xyxy))] > iou_threshold
    joined[keep] = True
    owner[keep] = np.arange(len(keep))
    merged = np.empty_like(kept)
    for k in range(len(keep)):
        members = joined & (owner == k)
        w = scores[members].astype(np.float64)
        merged[k] = (xyxy[members] * w[:, None]).sum(axis=0) / max(float(w.sum()), 1e-9)
    return merged.astype(np.float32), scores[keep]


def covered_by(a: Float, b: Float) -> Float:
    """For each box in `a`, the largest fraction of its area inside any one box of `b`."""
    a = np.asarray(a, np.float32).reshape(-1, 4)
    b = np.asarray(b, np.float32).reshape(-1, 4)
    if len(a) == 0 or len(b) == 0:
        return np.zeros(len(a), np.float32)
    iw = np.clip(np.minimum(a[:, None, 2], b[None, :, 2]) - np.maximum(a[:, None, 0], b[None, :, 0]), 0, None)
    ih = np.clip(np.minimum(a[:, None, 3], b[None, :, 3]) - np.maximum(a[:, None, 1], b[None, :, 1]), 0, None)
    area = np.maximum((a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1]), 1e-6)
    return np.asarray((iw * ih).max(axis=1) / area, np.float32)


def fuse(
    hog: HogEvidence,
    bg: Detections,
    bg_in_hog_area: Bool,
    bg_warm: bool,
    params: FusionParams | None = None,
) -> Detections:
    """One box per person from both sources; scores in [0, 1] (the caller applies its confidence)."""
    p = params or FusionParams()
    xyxy = np.asarray(hog.xyxy, np.float32).reshape(-1, 4)
    bg_in_hog_area = np.asarray(bg_in_hog_area, bool).reshape(-1)
    if len(bg_in_hog_area) != len(bg):
        raise ValueError(f"bg_in_hog_area has {len(bg_in_hog_area)} flags for {len(bg)} boxes")
    scores = hog_scores(hog.margins, hog.support if bg_warm else None, p)
    keep = np.ones(len(xyxy), bool)
    if hog.expected_h_px is not None:
        keep &= plausible_size(xyxy[:, 3] - xyxy[:, 1], hog.expected_h_px, p.size_tolerance)
    xyxy, scores = xyxy[keep], scores[keep]
    if len(xyxy):
        xyxy, scores = merge_hits(xyxy, scores, p.hog_nms_iou)

    explained = np.zeros(len(bg), bool)
    if len(bg) and len(xyxy):
        iou = iou_matrix(bg.xyxy, xyxy)
        best = iou.argmax(axis=1)
        explained = iou[np.arange(len(bg)), best] >= p.same_person_iou
        # a background box confirming a HOG box lends it its confidence
        for i in np.nonzero(explained)[0]:
            scores[best[i]] = max(scores[best[i]], float(bg.scores[i]))
        # A fragment of a near person (a torso whose legs match the background) fits a small, far
        # person; inside a confident HOG box it is that near person's part, not someone else.
        confident = scores >= 0.5
        if np.any(confident):
            explained |= covered_by(bg.xyxy, xyxy[confident]) >= p.covered_fraction
    bg_keep = ~explained & (~bg_in_hog_area | bg_warm)
    out_xyxy = np.concatenate([xyxy, bg.xyxy[bg_keep]]).astype(np.float32)
    out_scores = np.concatenate([scores, bg.scores[bg_keep]]).astype(np.float32)
    return Detections(out_xyxy, out_scores)
