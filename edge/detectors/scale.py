"""Expected height in pixels of a standing person at every foot position, from the ground homography.

The ground-to-image homography of a pinhole camera is K [r1 r2 t]. With the principal point at the
image centre, square pixels and no skew, r1 and r2 being orthonormal gives the focal length, and then
r3 = r1 x r2 completes the camera: the head of a person standing at any ground point projects exactly
(`camera_from_homography`). Where that fails (a homography fitted to noisy points that no camera with
these intrinsics explains), a first-order estimate is used instead: the ground's pixels per metre along
image rows (across the line of sight, at the person's distance) times the person's height; it is
exact for a horizontal view and overestimates as the camera looks more steeply down.
(On PETS 2009, the camera model predicts ground-truth box heights to within a few percent.)
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

Float = npt.NDArray[np.float32]

_GRID_STEP_PX = 4  # the map is smooth; compute it on a grid and interpolate


def rescale_homography(
    image_to_ground: npt.NDArray[np.float64], calibrated_size_px: tuple[int, int], frame_size_px: tuple[int, int]
) -> npt.NDArray[np.float64]:
    """The homography for frames of `frame_size_px` given one valid for `calibrated_size_px` (width, height)."""
    sx = calibrated_size_px[0] / frame_size_px[0]
    sy = calibrated_size_px[1] / frame_size_px[1]
    return np.asarray(image_to_ground, np.float64) @ np.diag([sx, sy, 1.0])


@dataclass(frozen=True)
class PersonScaleMap:
    """`height_px[v, u]`: expected person height with the feet at pixel (u, v); NaN where nobody can stand."""

    height_px: Float

    @property
    def size_px(self) -> tuple[int, int]:
        return (self.height_px.shape[1], self.height_px.shape[0])

    @classmethod
    def from_homography(
        cls,
        image_to_ground: npt.NDArray[np.float64],
        frame_size_px: tuple[int, int],
        person_height_m: float,
        min_height_px: float = 8.0,
    ) -> PersonScaleMap:
        width, height = frame_size_px
        h = np.asarray(image_to_ground, np.float64)
        us = np.arange(0, width + _GRID_STEP_PX, _GRID_STEP_PX, dtype=np.float64)
        vs = np.arange(0, height + _GRID_STEP_PX, _GRID_STEP_PX, dtype=np.float64)
        uu, vv = np.meshgrid(us, vs)
        ground, w = _project(h, uu, vv)
        # Points beyond the horizon project with the opposite sign of w to the image's bottom row.
        w_bottom = float(np.median(w[-1]))
        valid = np.sign(w) == np.sign(w_bottom)
        camera = camera_from_homography(h, frame_size_px)
        if camera is not None:
            points = np.stack([ground[0], ground[1], np.full_like(uu, person_height_m), np.ones_like(uu)])
            heads = (camera @ points.reshape(4, -1)).reshape(3, *uu.shape)
            with np.errstate(divide="ignore", invalid="ignore"):
                head_u, head_v = heads[0] / heads[2], heads[1] / heads[2]
            valid &= (heads[2] * float(np.median(heads[2][-1])) > 0) & (head_v < vv)
            expected = np.where(valid, np.hypot(uu - head_u, vv - head_v), np.nan)
        else:
            ground_right, w_right = _project(h, uu + 1.0, vv)
            m_per_px = np.hypot(*(ground_right - ground))
            valid &= (np.sign(w_right) == np.sign(w_bottom)) & (m_per_px > 0)
            expected = np.where(valid, person_height_m / np.where(valid, m_per_px, 1.0), np.nan)
        # A box taller than 1.5 frames or below a few pixels is not a detectable person.
        expected[(expected < min_height_px) | (expected > 1.5 * height)] = np.nan
        grid = expected.astype(np.float32)
        full = cv2.resize(
            np.nan_to_num(grid, nan=-1.0),
            (len(us) * _GRID_STEP_PX, len(vs) * _GRID_STEP_PX),
            interpolation=cv2.INTER_LINEAR,
        )[:height, :width]
        nearest_invalid = cv2.resize(
            (~np.isfinite(grid)).astype(np.uint8),
            (len(us) * _GRID_STEP_PX, len(vs) * _GRID_STEP_PX),
            interpolation=cv2.INTER_NEAREST,
        )[:height, :width]
        full[(nearest_invalid > 0) | (full <= 0)] = np.nan
        return cls(np.ascontiguousarray(full, dtype=np.float32))

    def at(self, u_px: npt.ArrayLike, v_px: npt.ArrayLike) -> Float:
        """Expected heights at foot points (clipped to the frame); NaN where invalid."""
        width, height = self.size_px
        u = np.clip(np.round(np.asarray(u_px, np.float64)).astype(np.int64), 0, width - 1)
        v = np.clip(np.round(np.asarray(v_px, np.float64)).astype(np.int64), 0, height - 1)
        return self.height_px[v, u]


def camera_from_homography(
    image_to_ground: npt.NDArray[np.float64], frame_size_px: tuple[int, int]
) -> npt.NDArray[np.float64] | None:
    """The 3x4 projection (ground metres, z up, to pixels) explaining the homography, or None.

    Assumes the principal point at the frame's centre, square pixels and no skew; returns None when
    the focal length this implies is not real or implausible (the homography is then used alone).
    """
    width, height = frame_size_px
    try:
        g = np.linalg.inv(np.asarray(image_to_ground, np.float64))
    except np.linalg.LinAlgError:
        return None
    centre = np.array([[1.0, 0.0, width / 2], [0.0, 1.0, height / 2], [0.0, 0.0, 1.0]])
    g = np.linalg.inv(centre) @ g
    (a1, a2, _), (b1, b2, _), (c1, c2, _) = g
    # r1 . r2 = 0 and |r1| = |r2| with r_i ~ (a_i / f, b_i / f, c_i): two linear equations in 1 / f^2
    rows = np.array([[a1 * a2 + b1 * b2, c1 * c2], [a1 * a1 + b1 * b1 - a2 * a2 - b2 * b2, c1 * c1 - c2 * c2]])
    denom = float(rows[0, 0] ** 2 + rows[1, 0] ** 2)
    if denom <= 0:
        return None
    inv_f2 = -float(rows[0, 0] * rows[0, 1] + rows[1, 0] * rows[1, 1]) / denom
    if inv_f2 <= 0:
        return None
    f = 1.0 / np.sqrt(inv_f2)
    if not (0.1 * max(width, height) <= f <= 50.0 * max(width, height)):
        return None
    k = np.array([[f, 0.0, width / 2], [0.0, f, height / 2], [0.0, 0.0, 1.0]])
    m = np.linalg.inv(k) @ (centre @ g)
    scale = 2.0 / (np.linalg.norm(m[:, 0]) + np.linalg.norm(m[:, 1]))
    r1, r2, t = m[:, 0] * scale, m[:, 1] * scale, m[:, 2] * scale
    r3 = np.cross(r1, r2)
    camera = k @ np.column_stack([r1, r2, r3, t])
    # r1 x r2 points up or down depending on the ground frame's handedness: up is where heads are,
    # above the feet in the image, at the bottom centre of the frame.
    ground = np.linalg.solve(centre @ g, np.array([width / 2, height - 1.0, 1.0]))
    ground = ground[:2] / ground[2]
    head = camera @ np.array([ground[0], ground[1], 1.0, 1.0])
    if head[1] / head[2] > height - 1.0:
        camera = k @ np.column_stack([r1, r2, -r3, t])
    return np.asarray(camera, np.float64)


def _project(
    h: npt.NDArray[np.float64], u: npt.NDArray[np.float64], v: npt.NDArray[np.float64]
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    x = h[0, 0] * u + h[0, 1] * v + h[0, 2]
    y = h[1, 0] * u + h[1, 1] * v + h[1, 2]
    w = h[2, 0] * u + h[2, 1] * v + h[2, 2]
    safe = np.where(np.abs(w) < 1e-12, 1e-12, w)
    return np.stack([x / safe, y / safe]), w
