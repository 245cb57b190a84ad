"""A synthetic scene the project renders itself: people walking on a paved ground plane, seen by an
elevated perspective camera, with a scripted crowd build-up in one zone.

The project ships no third-party video; this gives `make demo`, tests and benchmarks a clip whose
ground truth is exact. The camera is defined by intrinsics and pose, so the image->ground homography
is derived, not fitted, and written beside the clip with an edge config that uses it.
People are drawn as shaded, articulated figures that swing their legs and arms while walking, so a
background-subtraction detector sees body-shaped moving blobs; people who wait in the busy zone
keep milling about, as a still figure would fade into a learnt background (and real crowds fidget).

Written to files (video, ground truth, homography, edge config) by edge/synthetic_clip.py.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

__all__ = [
    "BUSY_ZONE",
    "WALKWAY_ZONE",
    "WALK_AREA",
    "Camera",
    "Person",
    "SceneSpec",
    "SyntheticScene",
    "TruthBox",
    "in_polygon",
    "render_ground",
]

F64 = npt.NDArray[np.float64]
Image = npt.NDArray[np.uint8]
Polygon = tuple[tuple[float, float], ...]

BUSY_ZONE: Polygon = ((-2.5, 4.5), (2.5, 4.5), (2.5, 9.5), (-2.5, 9.5))
WALKWAY_ZONE: Polygon = ((3.0, 2.0), (6.5, 2.0), (6.5, 14.0), (3.0, 14.0))
# Where people may walk (ground metres); spawns and exits lie on its border, partly outside the view.
WALK_AREA = (-10.0, 10.0, 1.0, 28.0)  # x_min, x_max, y_min, y_max
# A figure's 11 body points: foot centre, head top, left/right foot, hip, left/right shoulder,
# left/right hand, head centre, torso centre. Offsets along the walking direction (x stride),
# sideways (x 0.22 m) and up (x body height).
_BODY_FWD = np.array([0, 0, 1, -1, 0, 0, 0, -0.6, 0.6, 0, 0], float)
_BODY_SIDE = np.array([0, 0, 0, 0, 0, 1, -1, 1, -1, 0, 0], float)
_BODY_UP = np.array([0, 1, 0, 0, 0.52, 0.8, 0.8, 0.45, 0.45, 0.93, 0.66], float)


@dataclass(frozen=True)
class Camera:
    """A pinhole camera at `position_m` (x east, y north, z up), looking along +y rotated by `yaw_deg`
    about z and tilted down by `pitch_deg`."""

    width_px: int = 640
    height_px: int = 480
    focal_px: float = 700.0
    position_m: tuple[float, float, float] = (0.0, -5.0, 8.0)
    pitch_deg: float = 33.0
    yaw_deg: float = 0.0

    def rotation(self) -> F64:
        """World -> camera (x right, y down, z forward)."""
        yaw, pitch = math.radians(self.yaw_deg), math.radians(self.pitch_deg)
        # Camera axes expressed in world coordinates for a level camera looking along +y ...
        base = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, -1.0], [0.0, 1.0, 0.0]])
        tilt = np.array(
            [[1.0, 0.0, 0.0], [0.0, math.cos(pitch), -math.sin(pitch)], [0.0, math.sin(pitch), math.cos(pitch)]]
        )
        turn = np.array([[math.cos(yaw), -math.sin(yaw), 0.0], [math.sin(yaw), math.cos(yaw), 0.0], [0.0, 0.0, 1.0]])
        # ... then tilted down and turned: rows are the camera axes in world coordinates.
        return tilt @ base @ turn.T

    def intrinsics(self) -> F64:
        return np.array(
            [[self.focal_px, 0.0, self.width_px / 2], [0.0, self.focal_px, self.height_px / 2], [0.0, 0.0, 1.0]]
        )

    def project(self, points_m: F64) -> F64:
        """(N, 3) world points -> (N, 2) pixels; points behind the camera come out NaN."""
        r = self.rotation()
        cam = (np.asarray(points_m, float) - np.asarray(self.position_m)) @ r.T
        with np.errstate(divide="ignore", invalid="ignore"):
            uv = (cam @ self.intrinsics().T)[:, :2] / cam[:, 2:3]
        uv[cam[:, 2] <= 1e-6] = np.nan
        return uv

    def ground_to_image(self) -> F64:
        """The exact homography of the plane z = 0: K [r1 r2 t]."""
        r = self.rotation()
        t = -r @ np.asarray(self.position_m)
        h = self.intrinsics() @ np.column_stack([r[:, 0], r[:, 1], t])
        return h / h[2, 2]

    def image_to_ground(self) -> F64:
        h = np.linalg.inv(self.ground_to_image())
        return h / h[2, 2]


@dataclass(frozen=True)
class SceneSpec:
    seconds: float = 120.0
    fps: float = 10.0
    peak_people: int = 40
    base_people: int = 6
    seed: int = 0
    build_start_frac: float = 0.15
    build_end_frac: float = 0.75

    def __post_init__(self) -> None:
        if self.seconds <= 0 or self.fps <= 0:
            raise ValueError(f"seconds and fps must be > 0, got {self.seconds}, {self.fps}")
        if not 0 <= self.base_people <= self.peak_people <= 500:
            raise ValueError(f"need 0 <= base_people <= peak_people <= 500, got {self.base_people}, {self.peak_people}")
        if not 0 <= self.build_start_frac < self.build_end_frac <= 1:
            raise ValueError("need 0 <= build_start_frac < build_end_frac <= 1")

    def ramp(self, t_s: float) -> float:
        """0 before the build-up, 1 after it, linear between."""
        a, b = self.build_start_frac * self.seconds, self.build_end_frac * self.seconds
        return float(np.clip((t_s - a) / (b - a), 0.0, 1.0))

    def target_people(self, t_s: float) -> int:
        return round(self.base_people + (self.peak_people - self.base_people) * self.ramp(t_s))


@dataclass
class Person:
    id: int
    x_m: float
    y_m: float
    speed_mps: float
    height_m: float
    shirt: tuple[int, int, int]
    trousers: tuple[int, int, int]
    skin: tuple[int, int, int]
    hair: tuple[int, int, int]
    visitor: bool
    exit_m: tuple[float, float]
    target_m: tuple[float, float]
    phase: float = 0.0
    linger_until_s: float = -1.0
    heading: tuple[float, float] = (0.0, 1.0)
    done: bool = False


@dataclass(frozen=True)
class TruthBox:
    """One person in one frame: the MOT row (frame is 1-based there, 0-based here)."""

    frame: int
    id: int
    left_px: float
    top_px: float
    width_px: float
    height_px: float
    x_m: float
    y_m: float

    def mot_row(self) -> str:
        return (
            f"{self.frame + 1},{self.id},{self.left_px:.1f},{self.top_px:.1f},{self.width_px:.1f},"
            f"{self.height_px:.1f},1,{self.x_m:.3f},{self.y_m:.3f},0"
        )


def _edge_point(rng: np.random.Generator) -> tuple[float, float]:
    x0, x1, y0, y1 = WALK_AREA
    side = int(rng.integers(0, 3))  # left, right, far edge; the near edge is under the camera
    if side == 0:
        return (x0, float(rng.uniform(y0 + 2, y1)))
    if side == 1:
        return (x1, float(rng.uniform(y0 + 2, y1)))
    return (float(rng.uniform(x0, x1)), y1)


def in_polygon(x: float, y: float, poly: Sequence[tuple[float, float]]) -> bool:
    return cv2.pointPolygonTest(np.asarray(poly, np.float32), (x, y), False) >= 0


def _point_in(poly: Polygon, rng: np.random.Generator, margin_m: float = 0.3) -> tuple[float, float]:
    xs, ys = [p[0] for p in poly], [p[1] for p in poly]
    while True:
        x = float(rng.uniform(min(xs) + margin_m, max(xs) - margin_m))
        y = float(rng.uniform(min(ys) + margin_m, max(ys) - margin_m))
        if in_polygon(x, y, poly):
            return (x, y)


def render_ground(camera: Camera, seed: int = 0, tile_m: float = 0.6) -> Image:
    """Paving stones seen through the camera, supersampled 2x so far joints do not alias."""
    ss = 2
    w, h = camera.width_px * ss, camera.height_px * ss
    u, v = np.meshgrid((np.arange(w) + 0.5) / ss, (np.arange(h) + 0.5) / ss)
    hm = camera.image_to_ground()
    pts = np.stack([u.ravel(), v.ravel(), np.ones(u.size)])
    g = hm @ pts
    with np.errstate(divide="ignore", invalid="ignore"):
        gx, gy = (g[0] / g[2]).reshape(h, w), (g[1] / g[2]).reshape(h, w)
    sky = ~np.isfinite(gx) | (g[2].reshape(h, w) <= 0)
    gx, gy = np.nan_to_num(gx), np.nan_to_num(gy)
    tx, ty = np.floor(gx / tile_m), np.floor(gy / tile_m)
    # A per-stone shade from a hash of its indices: deterministic and free of visible repetition.
    shade = np.sin(tx * 12.9898 + ty * 78.233 + seed) * 43758.5453
    shade = (shade - np.floor(shade) - 0.5) * 18.0
    fx, fy = gx / tile_m - tx, gy / tile_m - ty
    joint = (np.minimum(fx, 1 - fx) < 0.04) | (np.minimum(fy, 1 - fy) < 0.04)
    base = np.array([150.0, 160.0, 168.0])  # BGR: a warm grey stone
    img = base[None, None, :] + shade[..., None]
    img[joint] *= 0.72
    grain = np.random.default_rng(seed).normal(0.0, 4.0, (h, w, 1))
    img = img + grain
    img[sky] = (215.0, 200.0, 185.0)
    small = cv2.resize(
        np.clip(img, 0, 255).astype(np.uint8), (camera.width_px, camera.height_px), interpolation=cv2.INTER_AREA
    )
    return small


class SyntheticScene:
    """Frames of the scene, each with its ground truth. Deterministic for a given spec."""

    def __init__(self, spec: SceneSpec, camera: Camera | None = None) -> None:
        self.spec = spec
        self.camera = camera or Camera()
        self.background = render_ground(self.camera, spec.seed)
        self._rng = np.random.default_rng(spec.seed)
        # Sensor noise as pairs of small positive images: two saturating uint8 ops per frame are cheap.
        self._noise = [
            (
                self._rng.integers(0, 4, self.background.shape, dtype=np.uint8),
                self._rng.integers(0, 4, self.background.shape, dtype=np.uint8),
            )
            for _ in range(4)
        ]
        self._projection = self.camera.intrinsics() @ np.column_stack(
            [self.camera.rotation(), -self.camera.rotation() @ np.asarray(self.camera.position_m)]
        )
        self._people: list[Person] = []
        self._next_id = 1

    @property
    def n_frames(self) -> int:
        return math.floor(self.spec.seconds * self.spec.fps + 1e-9)

    def _spawn(self, t_s: float, initial: bool) -> Person:
        rng = self._rng
        visitor = bool(rng.random() < 0.15 + 0.7 * self.spec.ramp(t_s))
        start = _edge_point(rng)
        if initial:  # the first people are already in the scene, not all at its border
            x0, x1, y0, y1 = WALK_AREA
            start = (float(rng.uniform(x0, x1)), float(rng.uniform(y0 + 3, y1)))
        exit_m = _edge_point(rng)
        target = _point_in(BUSY_ZONE, rng) if visitor else exit_m
        palette = rng.integers(30, 230, 6)
        skin_tone = float(rng.uniform(0.45, 1.0))
        p = Person(
            id=self._next_id,
            x_m=start[0],
            y_m=start[1],
            speed_mps=float(rng.normal(1.3, 0.15)),
            height_m=float(np.clip(rng.normal(1.72, 0.08), 1.5, 1.95)),
            shirt=(int(palette[0]), int(palette[1]), int(palette[2])),
            trousers=(int(palette[3] // 2), int(palette[4] // 2), int(palette[5] // 2)),
            skin=(int(90 * skin_tone + 40), int(130 * skin_tone + 40), int(170 * skin_tone + 50)),
            hair=(int(rng.integers(10, 60)),) * 3,
            visitor=visitor,
            exit_m=exit_m,
            target_m=target,
            phase=float(rng.uniform(0, 2 * math.pi)),
        )
        self._next_id += 1
        return p

    def _step(self, p: Person, t_s: float, dt_s: float) -> None:
        rng = self._rng
        lingering = t_s < p.linger_until_s
        speed = p.speed_mps * (0.35 if lingering else 1.0)
        dx, dy = p.target_m[0] - p.x_m, p.target_m[1] - p.y_m
        dist = math.hypot(dx, dy)
        if dist < 0.3:
            if p.visitor and p.linger_until_s < 0:
                # Arrived in the busy zone: wait there, longer as the build-up goes on.
                p.linger_until_s = t_s + float(rng.uniform(30, 60 + 240 * self.spec.ramp(t_s)))
            if t_s < p.linger_until_s:
                p.target_m = _point_in(BUSY_ZONE, rng)
            elif p.target_m == p.exit_m:
                p.done = True
            else:
                p.target_m = p.exit_m
            return
        step = min(dist, speed * dt_s)
        p.heading = (dx / dist, dy / dist)
        p.x_m += p.heading[0] * step
        p.y_m += p.heading[1] * step
        # One stride cycle (two steps) per ~1.4 m of walking.
        p.phase += 2 * math.pi * step / 1.4

    def _project_bodies(self, people: Sequence[Person]) -> F64:
        """Body points of everyone at once, (N, 11, 2) pixels: one matrix product instead of N."""
        x = np.array([p.x_m for p in people])[:, None]
        y = np.array([p.y_m for p in people])[:, None]
        h = np.array([p.height_m for p in people])[:, None]
        hx = np.array([p.heading[0] for p in people])[:, None]
        hy = np.array([p.heading[1] for p in people])[:, None]
        stride = 0.35 * np.sin(np.array([p.phase for p in people]))[:, None]
        fwd, side = stride * _BODY_FWD, 0.22 * _BODY_SIDE
        pts = np.stack([x + hx * fwd - hy * side, y + hy * fwd + hx * side, h * _BODY_UP, np.ones_like(fwd)], axis=-1)
        hom = pts @ self._projection.T
        with np.errstate(divide="ignore", invalid="ignore"):
            uv = hom[..., :2] / hom[..., 2:3]
        uv[hom[..., 2] <= 1e-6] = np.nan
        return uv

    def _figure(self, img: Image, p: Person, uv: F64) -> tuple[float, float, float, float] | None:
        """Draw one person from its projected body points; returns its box (l, t, r, b) or None if not visible."""
        if not np.isfinite(uv).all():
            return None
        h_px = math.hypot(uv[1, 0] - uv[0, 0], uv[1, 1] - uv[0, 1])
        if h_px < 6:
            return None
        q = [(a, b) for a, b in np.rint(uv).astype(np.int32).tolist()]
        limb = max(2, round(h_px * 0.085))
        # Ground shadow first, so the figure stands on it.
        cv2.ellipse(
            img,
            q[0],
            (max(2, round(h_px * 0.16)), max(1, round(h_px * 0.05))),
            0,
            0,
            360,
            (95, 100, 105),
            -1,
            cv2.LINE_AA,
        )
        dark = tuple(int(c * 0.7) for c in p.trousers)
        cv2.line(img, q[4], q[3], dark, limb, cv2.LINE_AA)
        cv2.line(img, q[4], q[2], p.trousers, limb, cv2.LINE_AA)
        axis = uv[1] - uv[0]
        angle = math.degrees(math.atan2(axis[1], axis[0])) + 90.0
        half_w = max(2, round(math.hypot(uv[5, 0] - uv[6, 0], uv[5, 1] - uv[6, 1]) / 2 + limb * 0.4))
        half_h = max(2, round(h_px * 0.17))
        cv2.line(img, q[6], q[8], tuple(int(c * 0.75) for c in p.shirt), max(2, limb - 1), cv2.LINE_AA)
        cv2.ellipse(img, q[10], (max(half_w, 2), half_h), angle, 0, 360, p.shirt, -1, cv2.LINE_AA)
        # A lighter patch towards the sun (upper left) shades the torso as a volume, not a flat disc.
        light = tuple(min(255, int(c * 1.25 + 15)) for c in p.shirt)
        off = (round(q[10][0] - half_w * 0.3), round(q[10][1] - half_h * 0.25))
        cv2.ellipse(img, off, (max(1, half_w // 2), max(1, half_h // 2)), angle, 0, 360, light, -1, cv2.LINE_AA)
        cv2.line(img, q[5], q[7], p.shirt, max(2, limb - 1), cv2.LINE_AA)
        r_head = max(2, round(h_px * 0.075))
        cv2.circle(img, q[9], r_head, p.skin, -1, cv2.LINE_AA)
        cv2.ellipse(img, q[9], (r_head, r_head), 0, 180, 360, p.hair, -1, cv2.LINE_AA)
        xs, ys = uv[:, 0], uv[:, 1]
        return (
            float(xs.min() - limb),
            float(uv[1, 1]),
            float(xs.max() + limb),
            float(max(ys.max(), uv[0, 1]) + limb / 2),
        )

    def frames(self) -> Iterator[tuple[int, Image, list[TruthBox]]]:
        dt = 1.0 / self.spec.fps
        for index in range(self.n_frames):
            t = index * dt
            want = self.spec.target_people(t)
            # New people keep arriving as others leave; the first frame starts already populated.
            while len([p for p in self._people if not p.done]) < want:
                self._people.append(self._spawn(t, initial=index == 0))
            for p in self._people:
                self._step(p, t, dt)
            self._people = [p for p in self._people if not p.done]
            img = self.background.copy()
            truth = []
            order = sorted(self._people, key=lambda p: -(p.y_m - self.camera.position_m[1]))
            bodies = self._project_bodies(order) if order else np.zeros((0, 11, 2))
            for p, uv in zip(order, bodies, strict=True):
                box = self._figure(img, p, uv)
                if box is None:
                    continue
                cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
                if 0 <= cx < self.camera.width_px and 0 <= cy < self.camera.height_px:
                    truth.append(TruthBox(index, p.id, box[0], box[1], box[2] - box[0], box[3] - box[1], p.x_m, p.y_m))
            up, down = self._noise[index % len(self._noise)]
            cv2.add(img, up, dst=img)
            cv2.subtract(img, down, dst=img)
            yield index, img, truth
