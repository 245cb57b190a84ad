"""Self-calibration (pure numeric core): the ground-plane homography from the people a camera sees.

A camera with no survey still sees people, and people are about 1.7 m tall: from the head and foot
image points of many upright walkers this module fits a pinhole camera (principal point at the image
centre, square pixels; unknowns focal length, tilt, roll and height above the floor) and returns its
image -> ground homography, with an uncertainty from a bootstrap over people.

What the data can and cannot say. Detector boxes are upright rectangles, so the head point (top
centre) sits straight above the foot point (bottom centre): the lean of people towards the vertical
vanishing point is lost, and only rows carry information. A person's height in pixels against the
row of their feet gives the horizon and the camera height (in person heights) well; the focal
length, which sets how much the floor is foreshortened in depth, comes only from the curvature of
that relation and is the weak link: ground areas scale about linearly with it. The bootstrap
measures exactly that, and `SelfCalSettings.focal_px` pins it where the lens is known.

Ground frame of the result: metres on the floor, origin below the camera, +y along the optical axis,
+x to the right of the image.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
from scipy.optimize import least_squares

from edge.geometry import CalibrationError, Homography, polygon_area

__all__ = [
    "CameraModel",
    "PersonSamples",
    "SelfCalSettings",
    "SelfCalibration",
    "SelfCalibrationError",
    "self_calibrate",
]

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]


class SelfCalibrationError(CalibrationError):
    """The people seen cannot pin the camera down; the message says why and what would help."""


@dataclass(frozen=True)
class PersonSamples:
    """Head and foot image points (N, 2) of upright people; `person_ids` (N,) says which samples are
    the same person, so that one person standing still for minutes counts once, not a thousand times."""

    head_px: F64
    foot_px: F64
    person_ids: I64
    image_size: tuple[int, int]  # width, height in pixels

    def __post_init__(self) -> None:
        head = np.asarray(self.head_px, np.float64).reshape(-1, 2) if np.size(self.head_px) else np.zeros((0, 2))
        foot = np.asarray(self.foot_px, np.float64).reshape(-1, 2) if np.size(self.foot_px) else np.zeros((0, 2))
        ids = np.asarray(self.person_ids, np.int64).reshape(-1)
        if np.shape(self.head_px)[-1:] not in ((2,), (0,)) or head.shape != foot.shape or len(ids) != len(head):
            raise ValueError(
                f"PersonSamples: head {np.shape(self.head_px)}, foot {np.shape(self.foot_px)} and "
                f"person_ids {np.shape(self.person_ids)} must be (N, 2), (N, 2) and (N,)"
            )
        if not (np.isfinite(head).all() and np.isfinite(foot).all()):
            raise ValueError("PersonSamples: head and foot points must be finite")
        if len(self.image_size) != 2 or min(self.image_size) <= 0:
            raise ValueError(f"PersonSamples: image_size must be (width, height) > 0, got {self.image_size}")
        if (head[:, 1] >= foot[:, 1]).any():
            raise ValueError("PersonSamples: every head must be above its foot (smaller row)")
        object.__setattr__(self, "head_px", head)
        object.__setattr__(self, "foot_px", foot)
        object.__setattr__(self, "person_ids", ids)

    @property
    def people(self) -> int:
        return len(np.unique(self.person_ids))

    def subset(self, rows: npt.NDArray[np.intp]) -> PersonSamples:
        return PersonSamples(self.head_px[rows], self.foot_px[rows], self.person_ids[rows], self.image_size)


@dataclass(frozen=True)
class SelfCalSettings:
    person_height_m: float = 1.7
    # How far the crowd's mean height (and the detector's box around it) may be off 1.7 m: every
    # ground distance scales with it, which no bootstrap over the same people can see.
    mean_height_uncertainty_m: float = 0.05
    # Robust loss scale, as a fraction of a person's height: people differ by about +-0.1 m and boxes
    # are a few pixels loose; residuals well beyond it (a wrong box, a child, someone sitting) are damped.
    height_spread: float = 0.06
    min_people: int = 15
    # Feet between the 10th and 90th percentile rows must span this share of the image height: the
    # horizon and the camera height come from how person size changes with distance.
    min_row_span_frac: float = 0.25
    # Refuse rather than write a homography whose ground areas are this uncertain (percent, 1 sigma).
    max_area_uncertainty_pct: float = 25.0
    min_inlier_frac: float = 0.5
    # Samples kept per person (evenly spread over their samples), so each person weighs about the same.
    max_samples_per_person: int = 5
    bootstrap: int = 100
    focal_px: float | None = None  # known lens: fix the focal length instead of fitting it
    fit_roll: bool = True
    seed: int = 0


@dataclass(frozen=True)
class CameraModel:
    """Pinhole camera over a flat floor; principal point at the image centre."""

    focal_px: float
    tilt_deg: float  # down from horizontal
    roll_deg: float
    height_m: float
    image_size: tuple[int, int]

    def _plane_to_image(self, plane_height_m: float) -> F64:
        """Homography from (x, y) on the horizontal plane at `plane_height_m` to image pixels."""
        t, r = math.radians(self.tilt_deg), math.radians(self.roll_deg)
        d = self.height_m - plane_height_m
        k = np.array(
            [[self.focal_px, 0, self.image_size[0] / 2], [0, self.focal_px, self.image_size[1] / 2], [0, 0, 1]]
        )
        roll = np.array([[math.cos(r), -math.sin(r), 0], [math.sin(r), math.cos(r), 0], [0, 0, 1]])
        # World (x right, y forward, z up) -> camera (x right, y down, z along the optical axis).
        plane = np.array([[1, 0, 0], [0, -math.sin(t), d * math.cos(t)], [0, math.cos(t), d * math.sin(t)]])
        return np.asarray(k @ roll @ plane, np.float64)

    @property
    def ground_to_image(self) -> F64:
        return self._plane_to_image(0.0)

    @property
    def image_to_ground(self) -> F64:
        m = np.linalg.inv(self.ground_to_image)
        return np.asarray(m / m[2, 2] if abs(m[2, 2]) > 1e-12 else m, np.float64)

    @property
    def hfov_deg(self) -> float:
        return math.degrees(2 * math.atan(self.image_size[0] / (2 * self.focal_px)))

    @property
    def horizon_row_px(self) -> float:
        """Row of the horizon at the image centre column (negative: above the frame)."""
        return self.image_size[1] / 2 - self.focal_px * math.tan(math.radians(self.tilt_deg))

    def to_ground(self, points_px: F64) -> tuple[F64, npt.NDArray[np.bool_]]:
        """(N, 2) pixels -> (N, 2) floor metres, and whether each is on the floor in front of the
        camera (a pixel above the horizon back-projects behind it)."""
        pts = np.hstack([points_px, np.ones((len(points_px), 1))]) @ np.linalg.inv(self.ground_to_image).T
        t = math.radians(self.tilt_deg)
        with np.errstate(divide="ignore", invalid="ignore"):
            xy = pts[:, :2] / pts[:, 2:3]
            # Depth along the optical axis of the floor point: positive in front of the camera.
            depth = xy[:, 1] * math.cos(t) + self.height_m * math.sin(t)
        return xy, np.isfinite(xy).all(axis=1) & (depth > 0)

    def head_rows(self, foot_px: F64, person_height_m: float) -> tuple[F64, npt.NDArray[np.bool_]]:
        """Row of the head of a person `person_height_m` tall standing at each foot point, and whether
        that foot point is on the floor in front of the camera at all."""
        xy, ok = self.to_ground(foot_px)
        t = math.radians(self.tilt_deg)
        ok &= xy[:, 1] * math.cos(t) + (self.height_m - person_height_m) * math.sin(t) > 0
        head = np.hstack([np.nan_to_num(xy), np.ones((len(xy), 1))]) @ self._plane_to_image(person_height_m).T
        with np.errstate(divide="ignore", invalid="ignore"):
            rows = head[:, 1] / head[:, 2]
        return rows, ok


@dataclass(frozen=True)
class SelfCalibration:
    """The fit. Uncertainties are relative, one standard deviation, of the ground area and of ground
    distances in a square around `reference_px` (the zone or the people's median foot point): what
    densities and speeds measured there inherit. They combine the bootstrap over people (its
    16th-84th percentile half-width) with the assumed mean height's own uncertainty."""

    camera: CameraModel
    homography: Homography
    area_uncertainty_pct: float
    distance_uncertainty_pct: float
    statistical_area_pct: float  # the bootstrap's share alone, without the mean-height assumption
    focal_range_px: tuple[float, float]  # 16th and 84th percentile of the bootstrap
    reference_px: tuple[float, float]
    people: int
    samples: int
    inlier_frac: float
    bootstrap_areas_m2: F64 = field(repr=False)


_LOG_F, _TILT, _ROLL, _LOG_H = range(4)


def _camera(x: F64, size: tuple[int, int], s: SelfCalSettings) -> CameraModel:
    focal = s.focal_px if s.focal_px is not None else math.exp(x[_LOG_F])
    return CameraModel(
        focal, math.degrees(x[_TILT]), math.degrees(x[_ROLL]) if s.fit_roll else 0.0, math.exp(x[_LOG_H]), size
    )


def _residuals(x: F64, samples: PersonSamples, s: SelfCalSettings) -> F64:
    """Log of each sample's seen over predicted height in pixels: about the person's relative height
    error, symmetric for taller and shorter people (a difference over the seen height is not, and
    biases the focal length). Clipped, so a foot above a trial camera's horizon is one bounded outlier."""
    cam = _camera(x, samples.image_size, s)
    rows, ok = cam.head_rows(samples.foot_px, s.person_height_m)
    seen_px = samples.foot_px[:, 1] - samples.head_px[:, 1]
    predicted_px = samples.foot_px[:, 1] - rows
    ok &= np.isfinite(predicted_px) & (predicted_px > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        r = np.where(ok, np.log(seen_px / np.where(ok, predicted_px, 1.0)), 2.0)
    return np.asarray(np.clip(r, -2.0, 2.0), np.float64)


def _fit(samples: PersonSamples, x0: F64, s: SelfCalSettings) -> tuple[F64, float]:
    width = samples.image_size[0]
    lo = np.array([math.log(0.25 * width), math.radians(-10), math.radians(-15), math.log(s.person_height_m + 0.3)])
    hi = np.array([math.log(8.0 * width), math.radians(89), math.radians(15), math.log(200.0)])
    free = np.array([s.focal_px is None, True, s.fit_roll, True])
    start = np.clip(x0, lo + 1e-9, hi - 1e-9)

    def fun(v: F64) -> F64:
        x = start.copy()
        x[free] = v
        return _residuals(x, samples, s)

    res = least_squares(
        fun,
        start[free],
        bounds=(lo[free], hi[free]),
        loss="soft_l1",
        f_scale=s.height_spread,
        x_scale="jac",
        ftol=1e-12,
        xtol=1e-12,
        gtol=1e-12,
    )
    x = start.copy()
    x[free] = res.x
    return x, float(res.cost)


def _starts(samples: PersonSamples, s: SelfCalSettings) -> list[F64]:
    """Starting cameras: the horizon and camera height from a straight line through height against
    foot row (exact for a level camera), tried over a spread of lenses so no single guess decides."""
    w, h = samples.image_size
    v, hp = samples.foot_px[:, 1], samples.foot_px[:, 1] - samples.head_px[:, 1]
    slope, icpt = np.polyfit(v, hp, 1)
    slope = max(float(slope), 1e-3)
    horizon = -icpt / slope
    height_m = s.person_height_m / min(slope, 0.9)
    lenses = [s.focal_px] if s.focal_px is not None else [f * w for f in (0.4, 0.7, 1.1, 1.7, 2.8)]
    return [np.array([math.log(f), math.atan2(h / 2 - horizon, f), 0.0, math.log(height_m)]) for f in lenses]


def _square_area_m2(cam: CameraModel, centre: tuple[float, float], side_px: float) -> float:
    u, v = centre
    sq = np.array(
        [[u - side_px, v - side_px], [u + side_px, v - side_px], [u + side_px, v + side_px], [u - side_px, v + side_px]]
    )
    xy, ok = cam.to_ground(sq)
    return polygon_area(xy) if ok.all() else math.nan


def _capped(samples: PersonSamples, per_person: int) -> PersonSamples:
    keep: list[npt.NDArray[np.intp]] = []
    for pid in np.unique(samples.person_ids):
        rows = np.flatnonzero(samples.person_ids == pid)
        keep.append(rows[np.unique(np.linspace(0, len(rows) - 1, min(len(rows), per_person)).round().astype(np.intp))])
    return samples.subset(np.concatenate(keep))


def self_calibrate(
    samples: PersonSamples, settings: SelfCalSettings | None = None, reference_px: tuple[float, float] | None = None
) -> SelfCalibration:
    """Fit the camera to `samples`; raises SelfCalibrationError instead of returning a camera the
    people do not support (too few, bunched in a band of rows, not fitting upright people, or too
    uncertain). `reference_px`: where the uncertainty is measured (default: the median foot point)."""
    s = settings or SelfCalSettings()
    w, h = samples.image_size
    people = samples.people
    if people < s.min_people:
        raise SelfCalibrationError(
            f"saw {people} people ({len(samples.foot_px)} samples); self-calibration needs at least {s.min_people} "
            "different people walking at different distances: run it longer or at a busier time"
        )
    p10, p90 = np.percentile(samples.foot_px[:, 1], [10, 90])
    if p90 - p10 < s.min_row_span_frac * h:
        raise SelfCalibrationError(
            f"the {people} people's feet cover too few rows of the image (rows {p10:.0f}-{p90:.0f}, "
            f"{100 * (p90 - p10) / h:.0f}% of its height; needs {100 * s.min_row_span_frac:.0f}%): "
            "people near and far from the camera are needed"
        )
    data = _capped(samples, s.max_samples_per_person)
    best = min((_fit(data, x0, s) for x0 in _starts(data, s)), key=lambda fc: fc[1])[0]
    cam = _camera(best, (w, h), s)
    inliers = float(np.mean(np.abs(_residuals(best, data, s)) < 3 * s.height_spread))
    if inliers < s.min_inlier_frac:
        raise SelfCalibrationError(
            f"only {100 * inliers:.0f}% of {len(data.foot_px)} person boxes fit one camera over a flat floor "
            f"(needs {100 * s.min_inlier_frac:.0f}%): are these upright people on one level floor?"
        )
    ref = reference_px or (float(np.median(samples.foot_px[:, 0])), float(np.median(samples.foot_px[:, 1])))
    side_px = 0.05 * h
    area0 = _square_area_m2(cam, ref, side_px)
    if not math.isfinite(area0) or area0 <= 0:
        raise SelfCalibrationError(f"the fitted camera puts the reference point {ref} above the horizon")
    rng = np.random.default_rng(s.seed)
    ids = np.unique(data.person_ids)
    rows_of = {pid: np.flatnonzero(data.person_ids == pid) for pid in ids}
    areas, focals = [], []
    for _ in range(s.bootstrap):
        pick = rng.choice(ids, size=len(ids), replace=True)
        boot = data.subset(np.concatenate([rows_of[p] for p in pick]))
        xb, _cost = _fit(boot, best, s)
        cb = _camera(xb, (w, h), s)
        areas.append(_square_area_m2(cb, ref, side_px))
        focals.append(cb.focal_px)
    ratio = np.nan_to_num(np.asarray(areas, np.float64) / area0, nan=np.inf)  # a lost fit counts as wild
    a16, a84 = np.percentile(ratio, [16, 84]) if len(ratio) else (1.0, 1.0)
    stat_area_pct = 100 * (a84 - a16) / 2
    stat_dist_pct = 100 * (math.sqrt(a84) - math.sqrt(a16)) / 2 if math.isfinite(a84) else math.inf
    height_pct = 100 * s.mean_height_uncertainty_m / s.person_height_m  # distances scale with it, areas twice
    area_pct = math.hypot(stat_area_pct, 2 * height_pct)
    dist_pct = math.hypot(stat_dist_pct, height_pct)
    if not area_pct <= s.max_area_uncertainty_pct:
        raise SelfCalibrationError(
            f"{people} people give ground areas only to +-{area_pct:.0f}% (limit {s.max_area_uncertainty_pct:.0f}%): "
            "collect more people over more of the image, or give the lens's focal length"
        )
    f16, f84 = np.percentile(focals, [16, 84]) if focals else (cam.focal_px, cam.focal_px)
    return SelfCalibration(
        camera=cam,
        homography=Homography.from_matrix(cam.image_to_ground),
        area_uncertainty_pct=float(area_pct),
        distance_uncertainty_pct=float(dist_pct),
        statistical_area_pct=float(stat_area_pct),
        focal_range_px=(float(f16), float(f84)),
        reference_px=(float(ref[0]), float(ref[1])),
        people=people,
        samples=len(data.foot_px),
        inlier_frac=inliers,
        bootstrap_areas_m2=np.asarray(areas, np.float64) * 1.0,
    )
