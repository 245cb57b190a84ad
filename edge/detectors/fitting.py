"""Explain a foreground mask as a set of person boxes (pure: mask in, boxes out).

With a scale map, each connected blob is explained greedily by boxes of the size a person would have
at that foot position: the box covering the most unexplained foreground (penalised for the background
it covers) is taken, its pixels are marked explained, and so on until what is left is too little for
one more person. Groups walking side by side or one behind another split into the right number of
people, and blobs of implausible size for their position (a bag, a bird, a car's shadow) explain
nobody. Without a scale map, blobs become boxes directly and only wide blobs are split.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

from edge.detectors.scale import PersonScaleMap
from edge.types import Detections

Mask = npt.NDArray[np.uint8]


@dataclass(frozen=True)
class FitParams:
    """Tunables of the box fitting; defaults were chosen on PETS 2009 and synthetic scenes."""

    aspect_w_per_h: float = 0.35  # width / height of a walking person's box (PETS ground truth: median 0.35)
    min_fill: float = 0.3  # foreground fraction a box needs to be a person
    background_penalty: float = 0.5  # cost of a background pixel inside a box, vs. a foreground one
    min_blob_fraction: float = 0.15  # blobs smaller than this fraction of a person's box are noise
    min_new_fraction: float = 0.2  # foreground a further box must newly cover, as a fraction of its area
    min_visible: float = 0.4  # a box may be cut by the frame's edge down to this fraction
    step_px: int = 2  # candidate foot grid
    max_people_per_blob: int = 40
    # scale-free fallback
    min_blob_area_fraction: float = 0.0015  # of the frame area
    min_height_fraction: float = 0.06  # of the frame height
    min_part_area_fraction: float = 0.0002  # smaller specks are noise, not body parts
    max_part_gap_fraction: float = 0.03  # vertical gap (of the frame height) bridged between a body's parts


def fit_people(mask: Mask, scale: PersonScaleMap, params: FitParams | None = None) -> Detections:
    """Person boxes explaining a binary foreground mask (non-zero = foreground) at known scale."""
    p = params or FitParams()
    if mask.shape[1::-1] != scale.size_px:
        raise ValueError(f"mask size {mask.shape[1::-1]} differs from scale map size {scale.size_px}")
    binary = (mask > 0).astype(np.uint8)
    n, labels, stats, _ = cv2.connectedComponentsWithStats(binary, connectivity=8)
    boxes: list[list[float]] = []
    scores: list[float] = []
    for i in range(1, n):
        x, y, w, h, area = (int(s) for s in stats[i])
        foot_h = scale.at(x + w / 2, y + h - 1)
        expected_area = float(foot_h) ** 2 * p.aspect_w_per_h if np.isfinite(foot_h) else np.nan
        # the blob's own foot may be off the map (a head above the horizon): use the largest scale in it
        if not np.isfinite(expected_area):
            local = scale.height_px[y : y + h, x : x + w]
            if not np.any(np.isfinite(local)):
                continue
            expected_area = float(np.nanmax(local)) ** 2 * p.aspect_w_per_h
        if area < p.min_blob_fraction * expected_area:
            continue
        _fit_blob(np.asarray(labels, np.int32), i, (x, y, w, h), scale, p, boxes, scores)
    if not boxes:
        return Detections.empty()
    return Detections(np.asarray(boxes, np.float32), np.asarray(scores, np.float32))


def _fit_blob(
    labels: npt.NDArray[np.int32],
    label: int,
    bbox: tuple[int, int, int, int],
    scale: PersonScaleMap,
    p: FitParams,
    boxes: list[list[float]],
    scores: list[float],
) -> None:
    x, y, w, h = bbox
    width, height = scale.size_px
    # Candidate feet lie in the blob's box; a person's box may reach beyond it (partly hidden).
    us = np.arange(x, x + w, p.step_px, dtype=np.float64)
    vs = np.arange(y, y + h, p.step_px, dtype=np.float64)
    if vs[-1] < y + h - 1:
        vs = np.append(vs, y + h - 1)
    grid_u, grid_v = np.meshgrid(us, vs)
    uu, vv = grid_u.ravel(), grid_v.ravel()
    hh = scale.at(uu, vv).astype(np.float64)
    ok = np.isfinite(hh)
    if not np.any(ok):
        return
    uu, vv, hh = uu[ok], vv[ok], hh[ok]
    ww = hh * p.aspect_w_per_h
    # candidate boxes in frame pixels, integer edges for the integral image
    x0 = np.clip(np.round(uu - ww / 2), 0, width).astype(np.int64)
    x1 = np.clip(np.round(uu + ww / 2), 0, width).astype(np.int64)
    y0 = np.clip(np.round(vv + 1 - hh), 0, height).astype(np.int64)
    y1 = np.clip(np.round(vv + 1), 0, height).astype(np.int64)
    # Boxes cut by the frame's edge are judged on their visible part (people entering or leaving).
    visible = ((x1 - x0) * (y1 - y0)).astype(np.float64)
    usable = visible >= p.min_visible * hh * ww
    visible = np.maximum(visible, 1.0)
    # Work in the region all candidates can reach, with only this blob's pixels as foreground.
    rx0, ry0, rx1, ry1 = int(x0.min()), int(y0.min()), int(x1.max()), int(y1.max())
    fg = (labels[ry0:ry1, rx0:rx1] == label).astype(np.float64)
    bx0, bx1, by0, by1 = x0 - rx0, x1 - rx0, y0 - ry0, y1 - ry0

    def box_sums(image: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        integral = cv2.integral(image, sdepth=cv2.CV_64F)
        return np.asarray(integral[by1, bx1] - integral[by0, bx1] - integral[by1, bx0] + integral[by0, bx0])

    fill = box_sums(fg) / visible
    usable &= fill >= p.min_fill
    if not np.any(usable):
        return
    # Greedy set cover: each new box is worth the foreground it newly covers, less the background it
    # newly covers; pixels already covered by a taken box are neither (so a neighbour half hidden
    # behind a taken box still earns its visible half).
    uncovered = np.ones_like(fg)
    for _ in range(p.max_people_per_blob):
        new_fg = box_sums(fg * uncovered)
        new_bg = box_sums((1.0 - fg) * uncovered)
        gain = np.where(usable & (new_fg >= p.min_new_fraction * visible), new_fg - p.background_penalty * new_bg, -1.0)
        best = int(np.argmax(gain))
        if gain[best] <= 0:
            return
        boxes.append(
            [
                float(uu[best] - ww[best] / 2),
                float(vv[best] + 1 - hh[best]),
                float(uu[best] + ww[best] / 2),
                float(vv[best] + 1),
            ]
        )
        scores.append(float(np.clip(fill[best] / (2 * p.min_fill), 0.0, 1.0)))
        uncovered[by0[best] : by1[best], bx0[best] : bx1[best]] = 0.0


def blobs_to_people(mask: Mask, params: FitParams | None = None) -> Detections:
    """Scale-free fallback: blobs stacked in a column are one person's parts; wide results are split.

    Without a calibration a torso, a pair of legs and a head separated by clothes the colour of the
    background come as separate blobs; people are upright, so blobs overlapping mostly in x and close
    in y are merged before anything is called a person.
    """
    p = params or FitParams()
    height, width = mask.shape[:2]
    _, _, stats, _ = cv2.connectedComponentsWithStats((mask > 0).astype(np.uint8), connectivity=8)
    parts = [
        [float(x), float(y), float(x + w), float(y + h), float(area)]
        for x, y, w, h, area in stats[1:]
        if area >= p.min_part_area_fraction * width * height
    ]
    merged = _merge_columns(parts, max_gap_px=p.max_part_gap_fraction * height)
    boxes: list[list[float]] = []
    scores: list[float] = []
    for x0, y0, x1, y1, area in merged:
        w, h = x1 - x0, y1 - y0
        if area < p.min_blob_area_fraction * width * height or h < p.min_height_fraction * height:
            continue
        fill = area / max(w * h, 1.0)
        people = max(1, round(w / (p.aspect_w_per_h * h * 1.3)))
        step = w / people
        for k in range(people):
            boxes.append([x0 + k * step, y0, x0 + (k + 1) * step, y1])
            scores.append(float(np.clip(fill / (2 * p.min_fill), 0.0, 1.0)))
    if not boxes:
        return Detections.empty()
    return Detections(np.asarray(boxes, np.float32), np.asarray(scores, np.float32))


def _merge_columns(parts: list[list[float]], max_gap_px: float) -> list[list[float]]:
    """Union boxes [x0, y0, x1, y1, area] that overlap over half the narrower's width and nearly touch in y."""
    boxes = [list(b) for b in parts]
    changed = True
    while changed:
        changed = False
        for i in range(len(boxes)):
            for j in range(i + 1, len(boxes)):
                a, b = boxes[i], boxes[j]
                overlap_x = min(a[2], b[2]) - max(a[0], b[0])
                gap_y = max(a[1], b[1]) - min(a[3], b[3])
                if overlap_x >= 0.5 * min(a[2] - a[0], b[2] - b[0]) and gap_y <= max_gap_px:
                    boxes[i] = [min(a[0], b[0]), min(a[1], b[1]), max(a[2], b[2]), max(a[3], b[3]), a[4] + b[4]]
                    del boxes[j]
                    changed = True
                    break
            if changed:
                break
    return boxes
