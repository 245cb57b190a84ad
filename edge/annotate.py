"""Annotated output for `crowd-edge run --annotate OUT`: boxes, track ids, zones coloured by level
of service and, once an interval has ended, a legend of each zone's latest metrics. OUT ending in
.mp4/.avi/.mkv is a video; anything else is a folder of PNG frames."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt

from edge.calibration import (
    LOS_COLOURS,
    CameraGeometry,
    draw_zones,
    put_outlined_text,
    text_scale,
    text_thickness,
)
from edge.density.counter import DensityRun
from edge.density.heatmap import draw_density
from edge.types import Frame, Tracks, ZoneMetrics

Image = npt.NDArray[np.uint8]
VIDEO_SUFFIXES = {".mp4": "mp4v", ".avi": "MJPG", ".mkv": "MJPG"}

Colour = tuple[int, int, int]  # BGR
FONT = cv2.FONT_HERSHEY_SIMPLEX
FRAME_LINE_BOTTOM_PX = 8  # baseline of the frame/time line above the bottom edge
# The legend panel keeps this share of the picture under it: dark enough for white text over the
# sky, light enough that people walking behind it stay visible.
LEGEND_KEEP = 0.35
MAX_ZONE_ID_CHARS = 18  # a long zone id would otherwise widen every row of the legend
RIGHT_ALIGNED = {1, 3, 4}  # count, density, speed: numbers line up on their units


def pixelate_boxes(img: Image, xyxy: npt.NDArray[np.float32], block_px: int = 8) -> None:
    """Pixelate each box in place so that nobody can be recognised in a saved frame.

    Pixelation rather than a blur: a blur of a small face can sometimes be undone, coarse blocks cannot.
    """
    h, w = img.shape[:2]
    for box in xyxy:
        x1, y1 = max(int(box[0]), 0), max(int(box[1]), 0)
        x2, y2 = min(int(np.ceil(box[2])), w), min(int(np.ceil(box[3])), h)
        if x2 - x1 < 2 or y2 - y1 < 2:
            continue
        roi = img[y1:y2, x1:x2]
        small = cv2.resize(
            roi, (max((x2 - x1) // block_px, 1), max((y2 - y1) // block_px, 1)), interpolation=cv2.INTER_AREA
        )
        img[y1:y2, x1:x2] = cv2.resize(small, (x2 - x1, y2 - y1), interpolation=cv2.INTER_NEAREST)


def _ascii(text: str) -> str:
    # cv2.putText draws only ASCII: a UTF-8 character would come out as one "?" per byte; one per character reads better.
    return text.encode("ascii", "replace").decode("ascii")


def legend_cells(m: ZoneMetrics) -> list[str]:
    """One legend row: zone, count, how it was counted, density, speed p50, LOS, staleness.
    Empty cells keep the columns aligned across rows."""
    source = m.count_source
    speed = "-" if m.speed_p50 is None else f"{m.speed_p50:.2f}"
    cells = [
        m.zone[:MAX_ZONE_ID_CHARS],
        f"{m.count:.1f} ppl",
        f"({source})" if source else "",
        f"{m.density:.2f}/m2",
        f"{speed} m/s",
        f"LOS {m.los}",
        "stale" if m.stale else "",
    ]
    return [_ascii(c) for c in cells]


def _ordered(metrics_by_zone: Mapping[str, ZoneMetrics], geometry: CameraGeometry) -> list[ZoneMetrics]:
    """Zones in config order, so rows do not jump around between intervals; unknown zones last."""
    known = [z.id for z in geometry.zones if z.id in metrics_by_zone]
    rest = sorted(set(metrics_by_zone) - set(known))
    return [metrics_by_zone[k] for k in known + rest]


def _column_widths(rows: Sequence[Sequence[str]], scale: float) -> list[int]:
    t = text_thickness(scale)
    ncols = max(len(r) for r in rows)
    widths = [0] * ncols
    for row in rows:
        for i, cell in enumerate(row):
            if cell:
                widths[i] = max(widths[i], cv2.getTextSize(cell, FONT, scale, t)[0][0])
    return widths


def _table_width(widths: Sequence[int], gap: int) -> int:
    # Empty columns (no zone is stale, no count source known) take no room and no gap.
    used = [w for w in widths if w > 0]
    return sum(used) + gap * max(len(used) - 1, 0)


def _fit_scale(rows: Sequence[Sequence[str]], scale: float, max_width: int) -> float:
    """Shrink the font until the table fits the frame's width: on a 320-wide frame the full rows do
    not fit at the height-based size, and cut-off numbers would be worse than small ones."""
    for _ in range(4):
        width = _table_width(_column_widths(rows, scale), _gap(scale)) + _swatch(scale) + _gap(scale)
        if width <= max_width:
            break
        scale = max(scale * max_width / width * 0.97, 0.25)
    return scale


def _gap(scale: float) -> int:
    return max(round(20 * scale), 4)


def _swatch(scale: float) -> int:
    return max(round(18 * scale), 6)


def _limit_rows(rows: list[list[str]], colours: list[Colour | None], max_rows: int) -> None:
    """Past `max_rows` zones, the last row says how many are left out instead."""
    if len(rows) <= max_rows:
        return
    keep = max(max_rows - 1, 0)
    hidden = len(rows) - keep
    del rows[keep:], colours[keep:]
    rows.append([f"+{hidden} more"])
    colours.append(None)


def _frame_line_top(image_height: int) -> int:
    """Highest row the frame/time line's text reaches, dark rim included: the legend stays above it."""
    scale = text_scale(image_height)
    (_, th), _ = cv2.getTextSize("frame 0", FONT, scale, text_thickness(scale))
    return image_height - FRAME_LINE_BOTTOM_PX - th - text_thickness(scale) - 2


def draw_legend(img: Image, metrics: Sequence[ZoneMetrics]) -> None:
    """A dark half-transparent panel in the top-left corner, one white row per zone."""
    if not metrics:
        return
    h, w = img.shape[:2]
    rows = [legend_cells(m) for m in metrics]
    colours: list[Colour | None] = [LOS_COLOURS.get(m.los, (160, 160, 160)) for m in metrics]
    margin = max(round(h / 90), 3)
    scale = _fit_scale(rows, text_scale(h), w - 4 * margin)
    t = text_thickness(scale)
    (_, text_h), base = cv2.getTextSize("Ag", FONT, scale, t)
    spacing = max(round(6 * scale), 2)
    line_h = text_h + base + spacing
    # Panel bottom = 3 margins + n lines - the last line's spacing; it must end a margin above the frame line.
    _limit_rows(rows, colours, max((_frame_line_top(h) - 4 * margin + spacing) // line_h, 1))
    widths = _column_widths(rows, scale)
    gap, swatch = _gap(scale), min(_swatch(scale), text_h)
    x0 = y0 = margin
    x1 = min(x0 + 2 * margin + swatch + gap + _table_width(widths, gap), w)
    y1 = min(y0 + 2 * margin + line_h * len(rows) - spacing, h)
    img[y0:y1, x0:x1] = (img[y0:y1, x0:x1].astype(np.float32) * LEGEND_KEEP).astype(np.uint8)
    for r, (row, colour) in enumerate(zip(rows, colours, strict=True)):
        baseline_y = y0 + margin + r * line_h + text_h
        x = x0 + margin
        if colour is not None:
            # The zone's LOS colour, as its polygon is filled, ties the row to the zone on screen.
            cv2.rectangle(img, (x, baseline_y - swatch), (x + swatch, baseline_y), colour, -1)
        x += swatch + gap
        for i, (cell, width) in enumerate(zip(row, widths, strict=False)):
            if cell:
                pad = width - cv2.getTextSize(cell, FONT, scale, t)[0][0] if i in RIGHT_ALIGNED else 0
                cv2.putText(img, cell, (x + pad, baseline_y), FONT, scale, (255, 255, 255), t, cv2.LINE_AA)
            if width:
                x += width + gap


def _draw_tracks(img: Image, tracks: Tracks) -> None:
    """Confirmed tracks: green, thick, with their id; tentative ones thin amber without, as they are not counted."""
    scale = text_scale(img.shape[0])
    for tid, box, confirmed in zip(tracks.ids, tracks.xyxy, tracks.confirmed, strict=True):
        x1, y1, x2, y2 = (round(float(v)) for v in box)
        colour = (0, 255, 0) if confirmed else (0, 200, 255)
        cv2.rectangle(img, (x1, y1), (x2, y2), colour, 2 if confirmed else 1)
        if confirmed:
            # A dark rim: a green id over a green-filled LOS A zone is otherwise invisible.
            org, t = (x1, max(y1 - 3, 10)), text_thickness(scale)
            cv2.putText(img, str(int(tid)), org, FONT, scale, (0, 0, 0), t + 2, cv2.LINE_AA)
            cv2.putText(img, str(int(tid)), org, FONT, scale, colour, t, cv2.LINE_AA)


def draw_frame(
    frame: Frame,
    tracks: Tracks,
    geometry: CameraGeometry,
    los_by_zone: Mapping[str, str],
    *,
    blur_people: bool = False,
    metrics_by_zone: Mapping[str, ZoneMetrics] | None = None,
    detected_xyxy: npt.NDArray[np.float32] | None = None,
    density: DensityRun | None = None,
) -> Image:
    """The frame with zones, tracks, the frame/time line and, given `metrics_by_zone` (zone id ->
    its latest interval's metrics), each zone's count by its label and a legend of all its metrics.
    `detected_xyxy`: the detector's latest boxes, pixelated with the tracks' (some are counted, not tracked).
    `density`: the latest density-map run, drawn as a heat overlay (after pixelation: it shows no faces)."""
    src = frame.image if frame.image.ndim == 3 else cv2.cvtColor(frame.image, cv2.COLOR_GRAY2BGR)
    img: Image = np.array(src, dtype=np.uint8, copy=True)
    # Pixelate first, on the camera's pixels only: the overlays drawn after it stay sharp.
    if blur_people:
        pixelate_boxes(img, tracks.xyxy)
        if detected_xyxy is not None:
            pixelate_boxes(img, detected_xyxy)
    if density is not None:
        draw_density(img, density.plan, density.density)
    notes = {z: f"{m.count:.1f} ppl" for z, m in (metrics_by_zone or {}).items()}
    draw_zones(img, geometry, los_by_zone, notes_by_zone=notes)
    _draw_tracks(img, tracks)
    draw_legend(img, _ordered(metrics_by_zone or {}, geometry))
    origin = (6, img.shape[0] - FRAME_LINE_BOTTOM_PX)
    put_outlined_text(img, f"frame {frame.index}  t {frame.t_s:.2f}s", origin, text_scale(img.shape[0]))
    return img


class Annotator:
    """Writes annotated frames locally; they never leave the edge. `blur_people` pixelates every tracked box."""

    def __init__(self, out: str | Path, fps: float = 10.0, *, blur_people: bool = False) -> None:
        self.out = Path(out)
        self.fps = fps
        self.blur_people = blur_people
        self._writer: cv2.VideoWriter | None = None
        self.frames_written = 0
        self.is_video = self.out.suffix.lower() in VIDEO_SUFFIXES
        if self.is_video:
            self.out.parent.mkdir(parents=True, exist_ok=True)
        else:
            self.out.mkdir(parents=True, exist_ok=True)

    def write(self, image: Image, frame_index: int) -> None:
        if self.is_video:
            if self._writer is None:
                fourcc = cv2.VideoWriter.fourcc(*VIDEO_SUFFIXES[self.out.suffix.lower()])
                self._writer = cv2.VideoWriter(str(self.out), fourcc, self.fps, (image.shape[1], image.shape[0]))
                if not self._writer.isOpened():
                    raise OSError(f"cannot write video: {self.out}")
            self._writer.write(image)
        else:
            cv2.imwrite(str(self.out / f"frame_{frame_index:06d}.png"), image)
        self.frames_written += 1

    def close(self) -> None:
        if self._writer is not None:
            self._writer.release()
            self._writer = None
