"""The camera's ground plane from its config, and the overlay an operator checks it with.

`CameraGeometry` bundles the homography, the zones and the counting lines at one frame size; the
pipeline builds it once it has seen the first frame, because a stream may not come at the size the
calibration was made at (`calibration.image_size`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

from edge.config import EdgeConfig
from edge.geometry import Homography, Zone, make_zone, points_in_polygon
from edge.metrics import CountLine, line_zone

Image = npt.NDArray[np.uint8]

# BGR colours of the level-of-service bands, green (free) to red (jammed); unknown bands are grey.
LOS_COLOURS: dict[str, tuple[int, int, int]] = {
    "A": (80, 200, 60),
    "B": (60, 220, 170),
    "C": (40, 220, 230),
    "D": (30, 160, 250),
    "E": (30, 90, 240),
    "F": (40, 20, 200),
}


@dataclass(frozen=True)
class CameraGeometry:
    homography: Homography
    frame_size: tuple[int, int]
    zones: tuple[Zone, ...]
    lines: tuple[CountLine, ...]


def build_homography(cfg: EdgeConfig) -> Homography:
    """From `calibration.homography` or `calibration.points`; raises CalibrationError when unusable."""
    cal = cfg.calibration
    if cal.homography is not None:
        return Homography.from_matrix(cal.homography)
    assert cal.points is not None
    return Homography.from_points(cal.points.image, cal.points.ground)


def build_geometry(cfg: EdgeConfig, frame_size: tuple[int, int] | None = None) -> CameraGeometry:
    """Zones and lines for frames of `frame_size` (width, height); None: frames of the calibration's
    own size (`calibration.image_size`, or whatever size the frames come at when that is not set).
    Zone areas and ground polygons do not depend on the frame size, only the image polygons do."""
    base = build_homography(cfg)
    calibrated = cfg.calibration.image_size or frame_size or (0, 0)
    frame_size = frame_size or calibrated
    if calibrated == (0, 0):
        calibrated = frame_size = (1, 1)
    h = base.scaled_for(calibrated, frame_size)
    sx, sy = frame_size[0] / calibrated[0], frame_size[1] / calibrated[1]
    zones = []
    for z in cfg.zones:
        if z.polygon is not None:
            zones.append(make_zone(z.id, h, ground_m=z.polygon))
        else:
            assert z.image_polygon is not None
            px = np.asarray(z.image_polygon, np.float64) * np.array([sx, sy])
            zones.append(make_zone(z.id, h, image_px=px))
    if cfg.calibration.image_size is not None:
        for i, built in enumerate(zones):
            if not _in_view(built, h, frame_size):
                raise ValueError(
                    f"zones.{i}: zone {built.id} lies entirely outside the camera's view "
                    f"({cfg.calibration.image_size[0]}x{cfg.calibration.image_size[1]} px, calibration.image_size): "
                    "it would measure nothing"
                )
    lines = []
    for ln in cfg.lines:
        a = (float(ln.points[0][0]), float(ln.points[0][1]))
        b = (float(ln.points[1][0]), float(ln.points[1][1]))
        zone = ln.zone or line_zone(((a[0] + b[0]) / 2, (a[1] + b[1]) / 2), zones)
        lines.append(CountLine(ln.id, a, b, zone))
    return CameraGeometry(h, frame_size, tuple(zones), tuple(lines))


def _in_view(zone: Zone, h: Homography, frame_size: tuple[int, int]) -> bool:
    """Whether any of the zone is in the frame: a corner of it in the picture, or a pixel of a 64 x 48 grid over
    the picture inside it (a zone that only passes between grid points is a sliver no one draws)."""
    w, ht = frame_size
    px = zone.image_px
    if not zone.in_image:
        px = h.to_image(zone.ground_m)
    ok = np.isfinite(px).all(axis=1)
    inside = ok & (px[:, 0] >= 0) & (px[:, 0] <= w) & (px[:, 1] >= 0) & (px[:, 1] <= ht)
    if inside.any():
        return True
    xs, ys = np.meshgrid(np.linspace(0, w, 64), np.linspace(0, ht, 48))
    grid = np.stack([xs.ravel(), ys.ravel()], axis=1)
    if zone.in_image:
        return bool(points_in_polygon(grid, zone.image_px).any())
    g = h.to_ground(grid)
    return bool(points_in_polygon(g, zone.ground_m).any())


def _visible_ground_box(h: Homography, frame_size: tuple[int, int]) -> tuple[float, float, float, float] | None:
    w, ht = frame_size
    xs, ys = np.meshgrid(np.linspace(0, w - 1, 48), np.linspace(0, ht - 1, 36))
    g = h.to_ground(np.stack([xs.ravel(), ys.ravel()], axis=1))
    g = g[np.isfinite(g).all(axis=1)]
    if len(g) < 4:
        return None
    # Percentiles keep the near-horizon rows, which map to kilometres, from blowing up the grid.
    lo = np.percentile(g, 3, axis=0)
    hi = np.percentile(g, 97, axis=0)
    return float(lo[0]), float(lo[1]), float(hi[0]), float(hi[1])


def _polyline(img: Image, h: Homography, ground: npt.NDArray[np.float64], colour: tuple[int, int, int], t: int) -> None:
    px = h.to_image(ground)
    ok = np.isfinite(px).all(axis=1) & (np.abs(px) < 1e5).all(axis=1)
    if ok.sum() >= 2:
        cv2.polylines(img, [px[ok].round().astype(np.int32)], False, colour, t, cv2.LINE_AA)


def draw_ground_grid(img: Image, h: Homography, step_m: float = 1.0, max_lines: int = 80) -> None:
    box = _visible_ground_box(h, (img.shape[1], img.shape[0]))
    if box is None:
        return
    x0, y0, x1, y1 = box
    step_x = max(step_m, (x1 - x0) / max_lines)
    step_y = max(step_m, (y1 - y0) / max_lines)
    for x in np.arange(np.floor(x0), x1 + 1e-9, step_x):
        colour = (0, 0, 255) if abs(x) < 1e-9 else (255, 255, 255)
        _polyline(img, h, np.stack([np.full(50, x), np.linspace(y0, y1, 50)], axis=1), colour, 1)
    for y in np.arange(np.floor(y0), y1 + 1e-9, step_y):
        colour = (0, 255, 0) if abs(y) < 1e-9 else (255, 255, 255)
        _polyline(img, h, np.stack([np.linspace(x0, x1, 50), np.full(50, y)], axis=1), colour, 1)


def text_scale(image_height: int) -> float:
    """Font scale for overlay text: 0.45 at 360 rows (legible on the PETS clip) and growing with the
    frame, so that text keeps the same share of the picture at 1080p; floored so 240-row frames stay readable."""
    return max(0.35, image_height / 800)


def text_thickness(scale: float) -> int:
    # One-pixel strokes vanish when a large frame is viewed scaled down; thicken them from ~1080p on.
    return 1 if scale < 0.9 else 2


def put_outlined_text(img: Image, text: str, org: tuple[int, int], scale: float) -> None:
    """White text with a dark rim: readable over both grass and sky, which plain white is not."""
    t = text_thickness(scale)
    cv2.putText(img, text, org, cv2.FONT_HERSHEY_SIMPLEX, scale, (0, 0, 0), t + 2, cv2.LINE_AA)
    cv2.putText(img, text, org, cv2.FONT_HERSHEY_SIMPLEX, scale, (255, 255, 255), t, cv2.LINE_AA)


Rect = tuple[int, int, int, int]  # x1, y1, x2, y2


def _overlaps(a: Rect, b: Rect) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def _label_place(
    img: Image, anchor: npt.NDArray[np.float64], text: str, scale: float, placed: list[Rect]
) -> tuple[tuple[int, int], Rect]:
    """Text origin and box of a zone's label: centred on the zone's centroid, moved inside the frame
    (a zone reaching past the edge would otherwise have its label cut off, as PETS "crossing-right"
    had) and a line down or up when it would overprint another label (nested zones share a centroid)."""
    (tw, th), base = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, text_thickness(scale))
    h, w = img.shape[:2]
    x = int(np.clip(anchor[0] - tw / 2, 2, max(w - tw - 2, 2)))
    candidates = []
    for shift in (0, 1, -1, 2, -2, 3, -3):
        y = int(np.clip(anchor[1] + shift * (th + base + 2), th + 2, max(h - base - 2, th + 2)))
        candidates.append(((x, y), (x, y - th - 1, x + tw, y + base)))
    free = [c for c in candidates if not any(_overlaps(c[1], p) for p in placed)]
    return (free or candidates)[0]


def draw_zones(
    img: Image,
    geometry: CameraGeometry,
    los_by_zone: Mapping[str, str] | None = None,
    *,
    notes_by_zone: Mapping[str, str] | None = None,
) -> None:
    """Zones filled half-transparent in their LOS colour (grey without one), lines in magenta.

    Each zone is labelled with its id, its note when `notes_by_zone` has one (the annotated video
    puts the current count there) and its LOS letter.
    """
    overlay = img.copy()
    for zone in geometry.zones:
        los = (los_by_zone or {}).get(zone.id)
        colour = LOS_COLOURS.get(los, (160, 160, 160)) if los else (200, 120, 0)
        pts = np.nan_to_num(zone.image_px).round().astype(np.int32)
        cv2.fillPoly(overlay, [pts], colour)
        cv2.polylines(img, [pts], True, colour, 2, cv2.LINE_AA)
    cv2.addWeighted(overlay, 0.3, img, 0.7, 0, dst=img)
    scale = text_scale(img.shape[0])
    placed: list[Rect] = []
    for zone in geometry.zones:
        note = (notes_by_zone or {}).get(zone.id)
        los = (los_by_zone or {}).get(zone.id)
        label = zone.id + (f" {note}" if note else "") + (f" LOS {los}" if los else "")
        origin, rect = _label_place(img, np.nan_to_num(zone.image_px).mean(axis=0), label, scale, placed)
        placed.append(rect)
        put_outlined_text(img, label, origin, scale)
    for line in geometry.lines:
        _polyline(img, geometry.homography, np.array([line.a_m, line.b_m], np.float64), (255, 0, 255), 2)


def calibration_overlay(image: Image, geometry: CameraGeometry, step_m: float = 1.0) -> Image:
    """A copy of `image` with a ground grid every `step_m` metres (x = 0 red, y = 0 green), the zones
    and lines, and the fit's reprojection error: straight, evenly spaced grid lines on a flat floor
    mean the calibration is right."""
    out = image.copy()
    draw_ground_grid(out, geometry.homography, step_m)
    draw_zones(out, geometry)
    h = geometry.homography
    text = f"grid {step_m:g} m; reprojection error mean {h.reprojection_error_m:.3f} m, max {h.max_reprojection_error_m:.3f} m"
    cv2.putText(out, text, (8, 18), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (0, 0, 0), 3, cv2.LINE_AA)
    cv2.putText(out, text, (8, 18), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (255, 255, 255), 1, cv2.LINE_AA)
    return out
