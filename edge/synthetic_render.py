"""Real walking trajectories (metres) rendered into video seen by a posed camera, with exact truth.

The ETH/UCY trajectories say where real people walked, at 0.4 s steps, but come without usable video.
Rendered here through a pinhole `Camera` (edge/synthetic_scene.py) over the paved ground of that scene,
they give the video pipeline a dense, real crowd whose every position and speed is known. Positions are
interpolated linearly between samples, so each person moves at the constant speed of the current step:
that piecewise-constant speed is what the truth (edge/trajectory_truth.py) reports.

People are the articulated figures of the synthetic scene (legs and arms swing with the distance
walked), with a clothing texture attached to the body's head-to-foot axis: a flat-coloured figure
gives optical flow nothing to hold on to inside its outline, real clothes do.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt

from edge.synthetic_scene import Camera, render_ground

__all__ = [
    "PeopleAt",
    "RenderedFrame",
    "Trajectories",
    "TrajectoryRenderer",
    "camera_over",
    "load_obsmat",
]

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]
Image = npt.NDArray[np.uint8]

# Body points of a figure (as in edge/synthetic_scene.py): foot centre, head top, left/right foot, hip,
# left/right shoulder, left/right hand, head centre, torso centre. Offsets along the walking direction
# (x stride), sideways (x 0.22 m) and up (x body height).
_BODY_FWD = np.array([0, 0, 1, -1, 0, 0, 0, -0.6, 0.6, 0, 0], float)
_BODY_SIDE = np.array([0, 0, 0, 0, 0, 1, -1, 1, -1, 0, 0], float)
_BODY_UP = np.array([0, 1, 0, 0, 0.52, 0.8, 0.8, 0.45, 0.45, 0.93, 0.66], float)
_STRIDE_CYCLE_M = 1.4  # one cycle of the legs (two steps) per this much walking
_STRIDE_M = 0.35
# Below this speed a step is standing, not walking: its heading is taken from the nearest walking step.
_STANDING_MPS = 0.05


@dataclass(frozen=True)
class Trajectories:
    """Samples `(t_s, id, x_m, y_m)` on a common time grid of `step_s` (rows in any order)."""

    t_s: F64
    ids: I64
    x_m: F64
    y_m: F64
    step_s: float

    def __post_init__(self) -> None:
        n = len(self.t_s)
        if not (len(self.ids) == len(self.x_m) == len(self.y_m) == n) or n == 0:
            raise ValueError("trajectories need the same, non-zero number of t_s, ids, x_m and y_m values")
        if self.step_s <= 0:
            raise ValueError(f"step_s must be > 0, got {self.step_s}")
        steps = (self.t_s - self.t_s.min()) / self.step_s
        if np.abs(steps - np.round(steps)).max() > 0.01:
            raise ValueError(f"sample times are not on a grid of {self.step_s} s")

    @property
    def duration_s(self) -> float:
        return float(self.t_s.max() - self.t_s.min())

    def window(self, start_s: float, seconds: float) -> Trajectories:
        """The samples in [start_s, start_s + seconds] with time restarting at 0 (start_s on the grid)."""
        t0 = float(self.t_s.min()) + start_s
        keep = (self.t_s >= t0 - 1e-9) & (self.t_s <= t0 + seconds + 1e-9)
        if not keep.any():
            raise ValueError(f"no samples between {start_s} s and {start_s + seconds} s")
        return Trajectories(self.t_s[keep] - t0, self.ids[keep], self.x_m[keep], self.y_m[keep], self.step_s)


def load_obsmat(path: str | Path, step_s: float = 0.4) -> Trajectories:
    """ETH/UCY `obsmat.txt` rows `frame, id, x_m, z, y_m, vx, vz, vy`: consecutive sampled frames are
    `step_s` apart, time starts at 0 on the first."""
    rows = np.loadtxt(Path(path), ndmin=2)
    if rows.shape[1] < 5:
        raise ValueError(f"{path}: obsmat rows need at least 5 columns, got {rows.shape[1]}")
    frames = rows[:, 0]
    frame_step = float(np.min(np.diff(np.unique(frames)))) if len(np.unique(frames)) > 1 else 1.0
    t_s = (frames - frames.min()) / frame_step * step_s
    return Trajectories(t_s, rows[:, 1].astype(np.int64), rows[:, 2].copy(), rows[:, 4].copy(), step_s)


@dataclass(frozen=True)
class PeopleAt:
    """Everyone present at one instant: ground position, unit heading, speed of the current step,
    distance walked so far (drives the stride)."""

    ids: I64
    xy_m: F64
    heading: F64
    speed_mps: F64
    walked_m: F64


class _Table:
    """Trajectories as an (ids x grid steps) table, NaN where a person is absent: every instant is then
    one vectorised interpolation between two columns."""

    def __init__(self, traj: Trajectories) -> None:
        self.step_s = traj.step_s
        self.ids = np.unique(traj.ids)
        row = np.searchsorted(self.ids, traj.ids)
        col = np.round(traj.t_s / traj.step_s).astype(np.int64)
        self.xy = np.full((len(self.ids), int(col.max()) + 2, 2), np.nan)
        self.xy[row, col, 0], self.xy[row, col, 1] = traj.x_m, traj.y_m
        seg = np.diff(self.xy, axis=1)  # (ids, steps - 1, 2); NaN where either end is missing
        self.seg_len = np.linalg.norm(seg, axis=2)
        self.walked = np.concatenate([np.zeros((len(self.ids), 1)), np.nancumsum(self.seg_len, axis=1)], axis=1)
        self.heading = _filled_headings(seg, self.seg_len, self.step_s)

    def at(self, t_s: float) -> PeopleAt:
        k = math.floor(t_s / self.step_s + 1e-9)
        if k < 0 or k + 1 >= self.xy.shape[1]:
            return PeopleAt(np.zeros(0, np.int64), np.zeros((0, 2)), np.zeros((0, 2)), np.zeros(0), np.zeros(0))
        a = t_s / self.step_s - k
        p0, p1 = self.xy[:, k], self.xy[:, k + 1]
        on_grid = a < 1e-6
        both = np.isfinite(p0).all(axis=1) & (on_grid | np.isfinite(p1).all(axis=1))
        xy = p0[both] if on_grid else (1 - a) * p0[both] + a * p1[both]
        seg_len = np.nan_to_num(self.seg_len[both, k])
        return PeopleAt(
            self.ids[both],
            xy,
            self.heading[both, k],
            seg_len / self.step_s,
            self.walked[both, k] + a * seg_len,
        )


def _filled_headings(seg: F64, seg_len: F64, step_s: float) -> F64:
    """Unit heading per step; a standing step keeps the previous walking step's heading (or the next
    one's before the first walk), so a figure that stops does not snap to face +x."""
    walking = seg_len / step_s >= _STANDING_MPS
    with np.errstate(divide="ignore", invalid="ignore"):
        unit = seg / seg_len[..., None]
    out = np.zeros_like(seg)
    out[..., 1] = 1.0
    for i in range(seg.shape[0]):
        idx = np.nonzero(walking[i])[0]
        if len(idx) == 0:
            continue
        # For every step, the last walking step at or before it, else the first walking step.
        last = np.maximum.accumulate(np.where(walking[i], np.arange(seg.shape[1]), -1))
        out[i] = unit[i, np.where(last >= 0, last, idx[0])]
    return out


def camera_over(
    traj: Trajectories,
    width_px: int = 960,
    height_px: int = 540,
    height_m: float = 9.0,
    pitch_deg: float = 40.0,
    margin: float = 0.05,
) -> Camera:
    """A camera `height_m` up, behind the near (low y) side of the trajectories' extent and looking along
    +y, tilted `pitch_deg` down: placed so that the extent's near edge sits at the bottom of the frame and
    the focal length so that the whole extent fits (less `margin` of the frame on each side)."""
    x0, x1 = np.percentile(traj.x_m, [1, 99])
    y0, y1 = np.percentile(traj.y_m, [1, 99])
    corners = np.array([[x0, y0, 0], [x1, y0, 0], [x0, y1, 0], [x1, y1, 0], [x0, y1, 1.9], [x1, y1, 1.9]])
    centre_x = float((x0 + x1) / 2)
    best: tuple[float, Camera] | None = None
    # The distance back at which the extent's near feet and far heads sit symmetrically about the
    # optical axis uses the frame's height best; then the largest focal length that fits everything.
    for back_m in np.arange(0.5, 80.0, 0.1):
        base = Camera(width_px, height_px, 1.0, (centre_x, float(y0 - back_m), height_m), pitch_deg)
        cam = (corners - np.asarray(base.position_m)) @ base.rotation().T
        if (cam[:, 2] <= 0.1).any():
            continue
        xn, yn = cam[:, 0] / cam[:, 2], cam[:, 1] / cam[:, 2]
        f = min(
            (width_px / 2) * (1 - 2 * margin) / float(np.abs(xn).max()),
            (height_px / 2) * (1 - 2 * margin) / float(np.abs(yn).max()),
        )
        imbalance = abs(float(yn.max() + yn.min()))
        if best is None or imbalance < best[0]:
            best = (imbalance, Camera(width_px, height_px, f, base.position_m, pitch_deg))
    if best is None:
        raise ValueError("no camera placement sees the trajectories' extent")
    return best[1]


@dataclass(frozen=True)
class _Look:
    shirt: tuple[int, int, int]
    trousers: tuple[int, int, int]
    skin: tuple[int, int, int]
    hair: tuple[int, int, int]
    height_m: float
    texture: npt.NDArray[np.float32]  # multiplicative shading of the clothes, ~0.7..1.3


def _look(person_id: int, seed: int) -> _Look:
    rng = np.random.default_rng([seed, person_id])
    palette = rng.integers(40, 220, 6)
    tone = float(rng.uniform(0.45, 1.0))
    # Coarse blotches and stripes: clothes have structure at a few centimetres, which flow locks onto.
    noise = rng.normal(0.0, 1.0, (12, 6)).astype(np.float32)
    blotch = cv2.resize(noise, (24, 48), interpolation=cv2.INTER_CUBIC)
    stripes = np.sin(np.arange(48, dtype=np.float32)[:, None] * rng.uniform(0.6, 1.6)) * np.ones((1, 24), np.float32)
    texture = np.clip(1.0 + 0.16 * blotch + 0.1 * stripes, 0.6, 1.4).astype(np.float32)
    return _Look(
        shirt=(int(palette[0]), int(palette[1]), int(palette[2])),
        trousers=(int(palette[3] // 2), int(palette[4] // 2), int(palette[5] // 2)),
        skin=(int(90 * tone + 40), int(130 * tone + 40), int(170 * tone + 50)),
        hair=(int(rng.integers(10, 60)),) * 3,
        height_m=float(np.clip(rng.normal(1.72, 0.08), 1.5, 1.95)),
        texture=texture,
    )


@dataclass(frozen=True)
class RenderedFrame:
    index: int
    t_s: float
    image: Image
    people: PeopleAt
    foot_px: F64  # (N, 2) each person's foot point in the image
    boxes_xyxy: F64  # (N, 4) each person's box (NaN rows: not visible)


class TrajectoryRenderer:
    """Frames of `traj` seen by `camera` at `fps`, frame k at k / fps seconds. Deterministic for a seed."""

    def __init__(self, traj: Trajectories, camera: Camera, fps: float, seed: int = 0) -> None:
        if fps <= 0:
            raise ValueError(f"fps must be > 0, got {fps}")
        self.traj, self.camera, self.fps, self.seed = traj, camera, fps, seed
        self._table = _Table(traj)
        self.background = render_ground(camera, seed)
        rng = np.random.default_rng(seed)
        # Sensor noise as pairs of small positive images: two saturating uint8 ops per frame are cheap.
        shape = self.background.shape
        self._noise = [
            (rng.integers(0, 4, shape, dtype=np.uint8), rng.integers(0, 4, shape, dtype=np.uint8)) for _ in range(4)
        ]
        r = camera.rotation()
        self._projection = camera.intrinsics() @ np.column_stack([r, -r @ np.asarray(camera.position_m)])
        self._looks: dict[int, _Look] = {}

    @property
    def n_frames(self) -> int:
        return math.floor(self.traj.duration_s * self.fps + 1e-9) + 1

    def people_at(self, t_s: float) -> PeopleAt:
        return self._table.at(t_s)

    def frames(self) -> Iterator[RenderedFrame]:
        for index in range(self.n_frames):
            yield self.render(index)

    def render(self, index: int) -> RenderedFrame:
        t_s = index / self.fps
        people = self._table.at(t_s)
        img = self.background.copy()
        n = len(people.ids)
        looks = [self._look(int(i)) for i in people.ids]
        heights = np.array([lk.height_m for lk in looks])
        uv = self._body_points(people, heights)
        boxes = np.full((n, 4), np.nan)
        # Far people first (higher in the image), so nearer ones occlude them.
        for k in np.argsort(uv[:, 0, 1]) if n else []:
            box = _draw(img, uv[k], looks[k])
            if box is not None:
                boxes[k] = box
        up, down = self._noise[index % len(self._noise)]
        cv2.add(img, up, dst=img)
        cv2.subtract(img, down, dst=img)
        return RenderedFrame(index, t_s, img, people, uv[:, 0, :].copy() if n else np.zeros((0, 2)), boxes)

    def _look(self, person_id: int) -> _Look:
        if person_id not in self._looks:
            self._looks[person_id] = _look(person_id, self.seed)
        return self._looks[person_id]

    def _body_points(self, people: PeopleAt, heights_m: F64) -> F64:
        """(N, 11, 2) pixels of everyone's body points: one matrix product for all."""
        if len(people.ids) == 0:
            return np.zeros((0, 11, 2))
        x, y = people.xy_m[:, 0:1], people.xy_m[:, 1:2]
        hx, hy = people.heading[:, 0:1], people.heading[:, 1:2]
        stride = _STRIDE_M * np.sin(2 * math.pi * people.walked_m / _STRIDE_CYCLE_M)[:, None]
        fwd, side = stride * _BODY_FWD, 0.22 * _BODY_SIDE
        up = heights_m[:, None] * _BODY_UP
        pts = np.stack([x + hx * fwd - hy * side, y + hy * fwd + hx * side, up, np.ones_like(fwd)], axis=-1)
        hom = pts @ self._projection.T
        with np.errstate(divide="ignore", invalid="ignore"):
            uv = hom[..., :2] / hom[..., 2:3]
        uv[hom[..., 2] <= 1e-6] = np.nan
        return np.asarray(uv, np.float64)


def _draw(img: Image, uv: F64, look: _Look) -> tuple[float, float, float, float] | None:
    """One figure from its projected body points, its clothes textured; its box (l, t, r, b) or None."""
    if not np.isfinite(uv).all():
        return None
    axis = uv[1] - uv[0]
    h_px = math.hypot(axis[0], axis[1])
    if h_px < 6:
        return None
    q = [(a, b) for a, b in np.rint(uv).astype(np.int32).tolist()]
    limb = max(2, round(h_px * 0.085))
    cv2.ellipse(img, q[0], (max(2, round(h_px * 0.16)), max(1, round(h_px * 0.05))), 0, 0, 360, (95, 100, 105), -1)
    xs, ys = uv[:, 0], uv[:, 1]
    left, top = float(xs.min() - limb), float(uv[1, 1])
    right, bottom = float(xs.max() + limb), float(max(ys.max(), uv[0, 1]) + limb / 2)
    hgt, wid = img.shape[:2]
    x0, y0 = max(int(left) - 1, 0), max(int(top) - 1, 0)
    x1, y1 = min(int(right) + 2, wid), min(int(bottom) + 2, hgt)
    if x1 <= x0 or y1 <= y0:
        return None
    before = img[y0:y1, x0:x1].copy()
    dark = tuple(int(c * 0.7) for c in look.trousers)
    cv2.line(img, q[4], q[3], dark, limb, cv2.LINE_AA)
    cv2.line(img, q[4], q[2], look.trousers, limb, cv2.LINE_AA)
    angle = math.degrees(math.atan2(axis[1], axis[0])) + 90.0
    half_w = max(2, round(math.hypot(uv[5, 0] - uv[6, 0], uv[5, 1] - uv[6, 1]) / 2 + limb * 0.4))
    half_h = max(2, round(h_px * 0.17))
    cv2.line(img, q[6], q[8], tuple(int(c * 0.75) for c in look.shirt), max(2, limb - 1), cv2.LINE_AA)
    cv2.ellipse(img, q[10], (half_w, half_h), angle, 0, 360, look.shirt, -1, cv2.LINE_AA)
    cv2.line(img, q[5], q[7], look.shirt, max(2, limb - 1), cv2.LINE_AA)
    r_head = max(2, round(h_px * 0.075))
    cv2.circle(img, q[9], r_head, look.skin, -1, cv2.LINE_AA)
    cv2.ellipse(img, q[9], (r_head, r_head), 0, 180, 360, look.hair, -1, cv2.LINE_AA)
    _texture(img, (x0, y0, x1, y1), before, uv, h_px, look.texture)
    return left, top, right, bottom


def _texture(
    img: Image, rect: tuple[int, int, int, int], before: Image, uv: F64, h_px: float, tex: npt.NDArray[np.float32]
) -> None:
    """Shade the pixels the figure changed with its texture, laid on the head-to-foot axis (not the box,
    whose width breathes with the stride): the pattern then moves exactly with the body."""
    x0, y0, x1, y1 = rect
    crop = img[y0:y1, x0:x1]
    changed = (crop != before).any(axis=2)
    if not changed.any():
        return
    # Texture coordinates: texture row 0 at the head top, the last at the foot; columns across a width
    # of half the height, centred on the body's axis at that row.
    vv, uu = np.mgrid[y0:y1, x0:x1].astype(np.float32)
    foot, head = uv[0], uv[1]
    along = ((vv - head[1]) / max(foot[1] - head[1], 1.0)).clip(0, 1)
    centre_u = head[0] + along * (foot[0] - head[0])
    across = ((uu - centre_u) / (0.5 * h_px) + 0.5).clip(0, 1)
    th, tw = tex.shape
    map_u, map_v = (across * (tw - 1)).astype(np.float32), (along * (th - 1)).astype(np.float32)
    shade = cv2.remap(tex, map_u, map_v, cv2.INTER_LINEAR)
    pixels = crop[changed].astype(np.float32) * shade[changed][:, None]
    crop[changed] = np.clip(pixels, 0, 255).astype(np.uint8)
