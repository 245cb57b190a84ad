"""Where and at what scale a fixed-input network should look at a frame (pure).

A detection network finds people well only within a band of sizes: a far person squeezed from a
1080p frame into a 416 px input is a few pixels tall and invisible, while running the whole frame
at the far people's scale costs many times more than needed for the near ones. A fixed camera with
a ground calibration knows how tall a person is at every row (`PersonScaleMap`), so the frame is cut
into horizontal bands of foot rows, each scaled so that the smallest person in it is about
`min_person_px` tall in the network's input, and cropped to the zones' columns (nobody outside the
zones is counted, so nobody there needs finding). Each band owns the people whose feet fall on its
rows; its crop reaches up by a person's height so that their heads are in it.

Without a usable calibration the plan is one window over the zones at `fallback_long_side_px`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

__all__ = ["PlanSettings", "Window", "plan_windows", "zones_box"]

F64 = npt.NDArray[np.float64]
_STRIDE_PX = 32


@dataclass(frozen=True)
class PlanSettings:
    min_person_px: float = 64.0  # the smallest person of a band, as tall in the network's input
    max_scale: float = 2.0  # upscaling beyond this adds pixels, not detail
    min_scale: float = 0.05
    band_ratio: float = 1.6  # largest / smallest scale a band may need before a new band starts
    fallback_long_side_px: int = 416
    # One network call has a fixed cost besides its pixels: merge bands when one window is cheaper.
    call_overhead_px: float = 40_000.0


@dataclass(frozen=True)
class Window:
    """A crop of the frame (pixels, x1/y1 exclusive), its scale into the network and the foot rows it owns."""

    x0: int
    y0: int
    x1: int
    y1: int
    scale: float
    foot_v0: float
    foot_v1: float

    def __post_init__(self) -> None:
        if not (self.x1 > self.x0 and self.y1 > self.y0 and self.scale > 0 and self.foot_v1 >= self.foot_v0):
            raise ValueError(f"Window: empty crop, scale or foot rows: {self}")

    @property
    def scaled_wh(self) -> tuple[int, int]:
        """The crop's size once scaled (what is resized into the input's top-left corner)."""
        return max(round((self.x1 - self.x0) * self.scale), 1), max(round((self.y1 - self.y0) * self.scale), 1)

    @property
    def input_wh(self) -> tuple[int, int]:
        """The network input: the scaled crop padded up to multiples of the largest stride."""
        w, h = self.scaled_wh
        return -(-w // _STRIDE_PX) * _STRIDE_PX, -(-h // _STRIDE_PX) * _STRIDE_PX

    @property
    def cost_px(self) -> int:
        w, h = self.input_wh
        return w * h


def zones_box(polygons_px: Sequence[F64], frame_size_px: tuple[int, int]) -> tuple[float, float, float, float]:
    """The zones' bounding box (x0, y0, x1, y1) clipped to the frame; the whole frame without zones in view."""
    width, height = frame_size_px
    points = [np.asarray(p, np.float64).reshape(-1, 2) for p in polygons_px if len(p)]
    if not points:
        return 0.0, 0.0, float(width), float(height)
    allp = np.concatenate(points)
    allp = allp[np.all(np.isfinite(allp), axis=1)]
    if len(allp) == 0:
        return 0.0, 0.0, float(width), float(height)
    x0, y0 = np.clip(allp.min(axis=0), 0, [width, height])
    x1, y1 = np.clip(allp.max(axis=0), 0, [width, height])
    if x1 - x0 < 2 or y1 - y0 < 2:
        return 0.0, 0.0, float(width), float(height)
    return float(x0), float(y0), float(x1), float(y1)


def _single(box: tuple[float, float, float, float], frame_size_px: tuple[int, int], scale: float) -> Window:
    width, height = frame_size_px
    x0, y0 = max(math.floor(box[0]), 0), max(math.floor(box[1]), 0)
    x1, y1 = min(math.ceil(box[2]), width), min(math.ceil(box[3]), height)
    return Window(x0, y0, x1, y1, scale, 0.0, float(height))


def plan_windows(
    frame_size_px: tuple[int, int],
    box: tuple[float, float, float, float],
    height_by_row_px: F64 | None,
    settings: PlanSettings = PlanSettings(),
) -> list[Window]:
    """Windows covering the feet rows of `box` (the zones' bounding box).

    `height_by_row_px[v]` is the expected person height (pixels) with the feet on row v, NaN where no
    one can stand; None without a calibration.
    """
    height = frame_size_px[1]
    bx0, by0, bx1, by1 = box
    rows = np.arange(max(math.floor(by0), 0), min(math.ceil(by1), height - 1) + 1)
    heights = None if height_by_row_px is None else np.asarray(height_by_row_px, np.float64)[rows]
    if heights is None or not np.any(np.isfinite(heights) & (heights > 0)):
        # Heads of people standing on the box's top row may be above it: look at the whole height.
        fallback = (bx0, 0.0, bx1, by1)
        scale = settings.fallback_long_side_px / max(bx1 - bx0, by1, 1.0)
        return [_single(fallback, frame_size_px, min(scale, settings.max_scale))]
    valid = np.isfinite(heights) & (heights > 0)
    rows, heights = rows[valid], heights[valid]
    scales = np.clip(settings.min_person_px / heights, settings.min_scale, settings.max_scale)

    bands: list[tuple[int, int]] = []  # (first, last) indices into rows, bottom band first
    last = len(rows) - 1
    while last >= 0:
        first = last
        lowest = scales[last]
        while first - 1 >= 0 and scales[first - 1] <= lowest * settings.band_ratio:
            first -= 1
        bands.append((first, last))
        last = first - 1

    windows = [_band_window(rows, heights, scales, b, (bx0, bx1), frame_size_px) for b in bands]
    whole = _band_window(rows, heights, scales, (0, len(rows) - 1), (bx0, bx1), frame_size_px)
    overhead = settings.call_overhead_px
    if whole.cost_px + overhead <= sum(w.cost_px + overhead for w in windows):
        return [whole]
    return windows


def _band_window(
    rows: npt.NDArray[np.int64],
    heights: F64,
    scales: F64,
    band: tuple[int, int],
    columns: tuple[float, float],
    frame_size_px: tuple[int, int],
) -> Window:
    width, height = frame_size_px
    first, last = band
    top_row, bottom_row = float(rows[first]), float(rows[last])
    bottom_h = float(heights[last])
    scale = float(scales[first : last + 1].max())
    # Every head of the band above (the nearest people are the tallest), a margin below their feet, half a person's
    # width beside the zones so that people straddling their edge are seen whole.
    head_rows = rows[first : last + 1] - 1.15 * heights[first : last + 1]
    y0 = max(math.floor(float(head_rows.min())), 0)
    y1 = min(math.ceil(bottom_row + 0.15 * bottom_h), height)
    x0 = max(math.floor(columns[0] - 0.25 * bottom_h), 0)
    x1 = min(math.ceil(columns[1] + 0.25 * bottom_h), width)
    # The bottom band also owns feet below the frame (people cut off by its edge).
    foot_v1 = float(height) if last == len(rows) - 1 else bottom_row
    foot_v0 = 0.0 if first == 0 else top_row
    return Window(x0, y0, x1, max(y1, y0 + 1), scale, foot_v0, foot_v1)
