"""Ground-plane geometry (pure): homography, foot points to metres, polygons, line crossings.

Everything the metrics measure in metres goes through `Homography.to_ground`; zones and lines live
on the ground so that a zone's area and a person's speed mean the same thing on every camera.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

F64 = npt.NDArray[np.float64]

# A homography whose matrix is this close to singular squashes the image onto a line.
_MIN_ABS_DET = 1e-12
_MAX_CONDITION = 1e12


class CalibrationError(ValueError):
    """A calibration that cannot map pixels to metres (too few points, degenerate matrix)."""


def _as_points(points: npt.ArrayLike, what: str) -> F64:
    arr = np.asarray(points, dtype=np.float64)
    if arr.ndim != 2 or arr.shape[1] != 2:
        raise ValueError(f"{what}: expected an (N, 2) array of points, got shape {arr.shape}")
    return arr


def _apply(matrix: F64, points: F64) -> F64:
    if len(points) == 0:
        return np.zeros((0, 2), np.float64)
    homog = np.hstack([points, np.ones((len(points), 1))]) @ matrix.T
    w = homog[:, 2:3]
    with np.errstate(divide="ignore", invalid="ignore"):
        out = homog[:, :2] / w
    # Points on or beyond the horizon have no ground position.
    out[~np.isfinite(out).all(axis=1) | (np.abs(w[:, 0]) < 1e-12)] = np.nan
    return out


@dataclass(frozen=True)
class Homography:
    """Image pixels -> ground metres. `reprojection_error_m` is the fit's mean error on the ground
    (0 for a given matrix), `inliers` how many point pairs RANSAC kept."""

    image_to_ground: F64
    reprojection_error_m: float = 0.0
    max_reprojection_error_m: float = 0.0
    inliers: int = 0

    def __post_init__(self) -> None:
        m = np.asarray(self.image_to_ground, dtype=np.float64)
        if m.shape != (3, 3) or not np.isfinite(m).all():
            raise CalibrationError(f"homography must be a finite 3x3 matrix, got shape {m.shape}")
        det = float(np.linalg.det(m))
        if abs(det) < _MIN_ABS_DET or np.linalg.cond(m) > _MAX_CONDITION:
            raise CalibrationError(f"degenerate homography (determinant {det:.3g}): it cannot be inverted")
        object.__setattr__(self, "image_to_ground", m)

    @classmethod
    def from_matrix(cls, matrix: npt.ArrayLike) -> Homography:
        return cls(np.asarray(matrix, dtype=np.float64))

    @classmethod
    def from_points(cls, image_px: npt.ArrayLike, ground_m: npt.ArrayLike) -> Homography:
        """Fit from >= 4 pairs; with more than 4, RANSAC drops pairs more than 0.25 m off on the ground."""
        img = _as_points(image_px, "calibration image points")
        gnd = _as_points(ground_m, "calibration ground points")
        if len(img) != len(gnd):
            raise CalibrationError(f"{len(img)} image points but {len(gnd)} ground points")
        if len(img) < 4:
            raise CalibrationError(f"a homography needs at least 4 point pairs, got {len(img)}")
        if _collinear(img) or _collinear(gnd):
            raise CalibrationError("calibration points are (nearly) collinear: a homography needs a spread of points")
        method = cv2.RANSAC if len(img) > 4 else 0
        matrix, mask = cv2.findHomography(img, gnd, method, 0.25)
        if matrix is None:
            raise CalibrationError("cv2.findHomography found no homography for these points")
        h = cls(np.asarray(matrix, dtype=np.float64))
        keep = np.ones(len(img), bool) if mask is None else mask.reshape(-1).astype(bool)
        err = np.linalg.norm(h.to_ground(img[keep]) - gnd[keep], axis=1)
        return cls(h.image_to_ground, float(np.mean(err)), float(np.max(err)), int(keep.sum()))

    @property
    def ground_to_image(self) -> F64:
        return np.asarray(np.linalg.inv(self.image_to_ground), dtype=np.float64)

    def to_ground(self, points_px: npt.ArrayLike) -> F64:
        """(N, 2) pixels -> (N, 2) metres; NaN rows for points at or beyond the horizon."""
        return _apply(self.image_to_ground, _as_points(points_px, "image points"))

    def to_image(self, points_m: npt.ArrayLike) -> F64:
        return _apply(self.ground_to_image, _as_points(points_m, "ground points"))

    def scaled_for(self, calibrated_size: tuple[int, int], frame_size: tuple[int, int]) -> Homography:
        """The same calibration for frames of another resolution (pixels scale, metres do not)."""
        if calibrated_size == frame_size:
            return self
        sx = calibrated_size[0] / frame_size[0]
        sy = calibrated_size[1] / frame_size[1]
        scale = np.diag([sx, sy, 1.0])
        return Homography(self.image_to_ground @ scale, self.reprojection_error_m, self.max_reprojection_error_m)


def _collinear(points: F64) -> bool:
    centred = points - points.mean(axis=0)
    sv = np.linalg.svd(centred, compute_uv=False)
    return bool(sv[0] == 0 or sv[-1] / sv[0] < 1e-3)


def polygon_area(polygon: npt.ArrayLike) -> float:
    """Shoelace area, always positive, in the polygon's units squared."""
    p = _as_points(polygon, "polygon")
    x, y = p[:, 0], p[:, 1]
    return float(abs(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1))) / 2.0)


def points_in_polygon(points: npt.ArrayLike, polygon: npt.ArrayLike) -> npt.NDArray[np.bool_]:
    """Even-odd rule, vectorised over points; NaN points are outside. Boundary points may fall either way."""
    pts = _as_points(points, "points")
    poly = _as_points(polygon, "polygon")
    inside = np.zeros(len(pts), bool)
    if len(pts) == 0:
        return inside
    x, y = pts[:, 0:1], pts[:, 1:2]
    x1, y1 = poly[:, 0], poly[:, 1]
    x2, y2 = np.roll(x1, -1), np.roll(y1, -1)
    straddles = (y1 > y) != (y2 > y)
    with np.errstate(divide="ignore", invalid="ignore"):
        x_cross = x1 + (y - y1) * (x2 - x1) / (y2 - y1)
    hits = straddles & (x < x_cross)
    inside = (hits.sum(axis=1) % 2 == 1) & np.isfinite(pts).all(axis=1)
    return np.asarray(inside, dtype=bool)


def crossing_sign(
    prev_m: Sequence[float] | F64, curr_m: Sequence[float] | F64, line_a_m: Sequence[float], line_b_m: Sequence[float]
) -> int:
    """+1 when the step prev->curr crosses segment a->b from its right to its left ('in'),
    -1 for left to right ('out'), 0 when it does not cross. Touching the line from one side and
    going back is not a crossing: the sign must strictly change."""
    p, q = np.asarray(prev_m, np.float64), np.asarray(curr_m, np.float64)
    a, b = np.asarray(line_a_m, np.float64), np.asarray(line_b_m, np.float64)
    if not (np.isfinite(p).all() and np.isfinite(q).all()):
        return 0

    def side(pt: F64) -> float:
        d = b - a
        return float(d[0] * (pt[1] - a[1]) - d[1] * (pt[0] - a[0]))

    sp, sq = side(p), side(q)
    if sp == 0 or sq == 0 or (sp > 0) == (sq > 0):
        return 0
    # The step must also cross within the segment's extent, not its extension.
    step = q - p
    sa = float(step[0] * (a[1] - p[1]) - step[1] * (a[0] - p[0]))
    sb = float(step[0] * (b[1] - p[1]) - step[1] * (b[0] - p[0]))
    if (sa > 0) == (sb > 0) and sa != 0 and sb != 0:
        return 0
    return 1 if sq > 0 else -1


def heading_deg(dx: float, dy: float) -> float | None:
    """Direction of (dx, dy) in [0, 360) degrees from +x towards +y; None for no movement."""
    if math.hypot(dx, dy) < 1e-12:
        return None
    deg = math.degrees(math.atan2(dy, dx)) % 360.0
    return 0.0 if deg >= 360.0 else deg


@dataclass(frozen=True)
class Zone:
    """A zone with both its ground polygon (metres, for area) and its image polygon (pixels, for
    drawing and membership of image zones). `in_image` says which one membership is tested on."""

    id: str
    ground_m: F64
    image_px: F64
    in_image: bool

    @property
    def area_m2(self) -> float:
        return polygon_area(self.ground_m)

    def contains(self, ground_m: npt.ArrayLike, image_px: npt.ArrayLike) -> npt.NDArray[np.bool_]:
        if self.in_image:
            return points_in_polygon(image_px, self.image_px)
        return points_in_polygon(ground_m, self.ground_m)


def make_zone(
    zone_id: str,
    homography: Homography,
    *,
    ground_m: npt.ArrayLike | None = None,
    image_px: npt.ArrayLike | None = None,
) -> Zone:
    """A zone from one of its polygons; the other is derived through the homography."""
    if (ground_m is None) == (image_px is None):
        raise ValueError(f"zone {zone_id}: give exactly one of ground_m or image_px")
    if ground_m is not None:
        g = _as_points(ground_m, f"zone {zone_id} polygon")
        img = homography.to_image(g)
        zone = Zone(zone_id, g, img, in_image=False)
    else:
        assert image_px is not None
        img = _as_points(image_px, f"zone {zone_id} image_polygon")
        g = homography.to_ground(img)
        if not np.isfinite(g).all():
            raise CalibrationError(f"zone {zone_id}: image_polygon reaches above the horizon; keep it on the ground")
        zone = Zone(zone_id, g, img, in_image=True)
    if zone.area_m2 <= 0:
        raise ValueError(f"zone {zone_id}: polygon has zero area")
    return zone
