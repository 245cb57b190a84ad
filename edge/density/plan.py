"""Where and at what scale the density network looks, and which of its cells belong to which zone (pure).

A density map puts each person's mass on their head (that is where its training data marked people), but a
zone is drawn on the ground, where feet are. With a ground calibration the person height at every foot row
is known (`PersonScaleMap`), so every map cell's head point is carried down to its foot point and the cell
belongs to the zone that foot point falls in. A person at a zone's far edge then counts there, and not in the
zone behind them; without this, a zone drawn at floor level loses the heads that stick out above it.

The crop is the zones' bounding box, reaching up to the heads of people standing on their far edge; it is
shrunk (never enlarged: upscaled texture looks like a crowd to the network) so that a person at the zones'
typical row is `person_height_px` tall, and shrunk further to stay within `max_input_px`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

from edge.density.csrnet import MAP_STRIDE

__all__ = ["HEAD_FRACTION", "DensityPlan", "DensityPlanError", "PlanSettings", "plan_density"]

F32 = npt.NDArray[np.float32]
F64 = npt.NDArray[np.float64]
# A head's centre sits about this share of a standing person's height above their feet.
HEAD_FRACTION = 0.93


class DensityPlanError(ValueError):
    """Zones the density map cannot measure: outside the frame, or a crop too small for one map cell."""


@dataclass(frozen=True)
class PlanSettings:
    person_height_px: float = 100.0
    max_input_px: int = 320_000


@dataclass(frozen=True)
class DensityPlan:
    """`crop_px` (x0, y0, x1, y1) of the frame is resized to `input_wh`; `zone_cells[zone]` weighs each cell of
    the resulting (input_h / 8, input_w / 8) map: 1 where the person it holds stands in the zone, else 0."""

    frame_size: tuple[int, int]
    crop_px: tuple[int, int, int, int]
    input_wh: tuple[int, int]
    zone_cells: Mapping[str, F32]
    typical_person_px: float | None

    def __post_init__(self) -> None:
        map_shape = (self.input_wh[1] // MAP_STRIDE, self.input_wh[0] // MAP_STRIDE)
        for zone_id, cells in self.zone_cells.items():
            if cells.shape != map_shape:
                raise ValueError(f"zone {zone_id!r}: cell weights {cells.shape}, map is {map_shape}")

    @property
    def person_px_in_input(self) -> float | None:
        """How tall a person at the zones' typical row is in the network's input (None: not calibrated)."""
        return None if self.typical_person_px is None else self.typical_person_px * self.scale[1]

    @property
    def scale(self) -> tuple[float, float]:
        x0, y0, x1, y1 = self.crop_px
        return self.input_wh[0] / (x1 - x0), self.input_wh[1] / (y1 - y0)


def plan_density(
    frame_size: tuple[int, int],
    zone_polygons_px: Mapping[str, F64],
    person_height_px: F32 | None,
    settings: PlanSettings = PlanSettings(),
) -> DensityPlan:
    """Plan for frames of `frame_size` (width, height). `person_height_px` is `PersonScaleMap.height_px` for that
    size (NaN where nobody can stand), or None for an uncalibrated camera (cells then count where they lie)."""
    width, height = frame_size
    masks: dict[str, npt.NDArray[np.bool_]] = {}
    for zone_id, polygon in zone_polygons_px.items():
        mask = np.zeros((height, width), np.uint8)
        cv2.fillPoly(mask, [np.round(np.asarray(polygon, np.float64)).astype(np.int32)], 1)
        if not mask.any():
            raise DensityPlanError(f"zone {zone_id!r} lies outside the {width}x{height} frame: nothing to count")
        masks[zone_id] = mask.astype(bool)
    union = np.logical_or.reduce(list(masks.values()))
    rows, cols = np.nonzero(union)
    x0, x1 = int(cols.min()), int(cols.max()) + 1
    y0, y1 = int(rows.min()), int(rows.max()) + 1
    typical: float | None = None
    if person_height_px is not None:
        heights = person_height_px[rows, cols]
        finite = np.isfinite(heights)
        if finite.any():
            typical = float(np.median(heights[finite]))
            # Up to the heads of the people standing furthest away.
            y0 = max(0, math.floor(float(np.min(rows[finite] - heights[finite]))))
    scale = 1.0 if typical is None else min(1.0, settings.person_height_px / typical)
    crop_w, crop_h = x1 - x0, y1 - y0
    scale = min(scale, math.sqrt(settings.max_input_px / (crop_w * crop_h)))
    if scale >= 1.0:
        # No resampling at all: even a 0.5% stretch blurs the texture the network counts by.
        x0, x1 = _snap(x0, x1, width)
        y0, y1 = _snap(y0, y1, height)
        crop_w, crop_h = x1 - x0, y1 - y0
    input_wh = (_multiple(crop_w * scale), _multiple(crop_h * scale))
    if input_wh[0] // MAP_STRIDE < 1 or input_wh[1] // MAP_STRIDE < 1:
        raise DensityPlanError(f"zones' crop {crop_w}x{crop_h} px is too small for a density map")
    crop = (x0, y0, x1, y1)
    cells = {z: _cell_weights(frame_size, crop, input_wh, person_height_px, m) for z, m in masks.items()}
    return DensityPlan(frame_size, (x0, y0, x1, y1), input_wh, cells, typical)


def _snap(lo: int, hi: int, size: int) -> tuple[int, int]:
    """[lo, hi) widened to a multiple of MAP_STRIDE within [0, size), or narrowed where the frame is too small."""
    want = min(math.ceil((hi - lo) / MAP_STRIDE) * MAP_STRIDE, size // MAP_STRIDE * MAP_STRIDE)
    lo = max(0, min(lo, size - want))
    return lo, lo + want


def _multiple(side_px: float) -> int:
    return max(MAP_STRIDE, round(side_px / MAP_STRIDE) * MAP_STRIDE)


def _cell_weights(
    frame_size: tuple[int, int],
    crop_px: tuple[int, int, int, int],
    input_wh: tuple[int, int],
    person_height_px: F32 | None,
    zone_mask: npt.NDArray[np.bool_],
) -> F32:
    """Per map cell, the share of the people whose head can be in it who stand in the zone.

    Down each column, every foot row has a head row (foot - HEAD_FRACTION x height); a cell's people are those
    whose head row falls in the cell's rows, and its weight is the share of their foot rows inside the zone. Seen
    from above, head rows grow with foot rows and this is a plain mapping; seen from eye level, heads crowd
    near the horizon and a cell's mass is shared among the zones its possible people stand in. Heads lower than
    any head of a person standing in the frame belong to people whose feet the frame cuts off: they stand on the
    last row (their box ends there too). Cells above every possible head weigh nothing.
    """
    width, height = frame_size
    x0, y0, x1, y1 = crop_px
    map_w, map_h = input_wh[0] // MAP_STRIDE, input_wh[1] // MAP_STRIDE
    cols = np.clip(np.floor(x0 + (np.arange(map_w) + 0.5) * (x1 - x0) / map_w), 0, width - 1).astype(np.int64)
    edges = y0 + np.arange(map_h + 1) * (y1 - y0) / map_h
    if person_height_px is None:
        # No calibration: a cell counts where it lies, by the share of its rows inside the zone.
        rows = np.arange(height, dtype=np.float64)
        in_cell = np.clip(np.digitize(rows, edges) - 1, -1, map_h)
        weights = np.zeros((map_h, map_w), np.float32)
        for j, col in enumerate(cols):
            weights[:, j] = _shares(in_cell, zone_mask[:, col], map_h)
        return weights
    weights = np.zeros((map_h, map_w), np.float32)
    foot_rows = np.arange(height)
    for j, col in enumerate(cols):
        h = person_height_px[:, col]
        ok = np.isfinite(h)
        if not ok.any():
            continue
        head_rows = foot_rows[ok] - HEAD_FRACTION * h[ok].astype(np.float64)
        in_cell = np.digitize(head_rows, edges) - 1
        inside = zone_mask[foot_rows[ok], col]
        weights[:, j] = _shares(in_cell, inside, map_h)
        lowest_head = float(head_rows.max())
        cut_off = edges[:-1] > lowest_head
        weights[cut_off, j] = float(zone_mask[height - 1, col])
    return weights


def _shares(in_cell: npt.NDArray[np.int64], inside: npt.NDArray[np.bool_], cells: int) -> F32:
    """Per cell index 0..cells-1, the share of the entries falling in it that are `inside` (0 where none fall)."""
    keep = (in_cell >= 0) & (in_cell < cells)
    total = np.bincount(in_cell[keep], minlength=cells)[:cells]
    hits = np.bincount(in_cell[keep], weights=inside[keep].astype(np.float64), minlength=cells)[:cells]
    return np.where(total > 0, hits / np.maximum(total, 1), 0.0).astype(np.float32)
