"""The offline detector on synthetic scenes: a pinhole camera over a textured ground, people as figures.

The camera is real geometry (height, tilt, focal length), so the homography, the people's sizes in
pixels and their foot points are exact, and the detector's boxes can be checked against them.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import pytest

from edge.config import DetectorConfig
from edge.detectors import Detector, DetectorError, build_detector
from edge.detectors.boxes import iou_matrix
from edge.detectors.fitting import blobs_to_people, fit_people
from edge.detectors.offline import BackgroundModel
from edge.detectors.scale import PersonScaleMap, camera_from_homography, rescale_homography
from edge.types import Frame

WIDTH, HEIGHT = 320, 240
FPS = 10.0
PERSON_M = 1.7


@dataclass(frozen=True)
class Camera:
    """Camera at `height_m` above the ground origin, looking along +Y, tilted down by `tilt_deg`."""

    height_m: float = 8.0
    tilt_deg: float = 35.0
    focal_px: float = 320.0

    def projection(self) -> np.ndarray:
        t = np.radians(self.tilt_deg)
        x_c = np.array([1.0, 0.0, 0.0])
        z_c = np.array([0.0, np.cos(t), -np.sin(t)])
        y_c = np.cross(z_c, x_c)
        r = np.stack([x_c, y_c, z_c])
        k = np.array([[self.focal_px, 0, WIDTH / 2], [0, self.focal_px, HEIGHT / 2], [0, 0, 1]])
        centre = np.array([0.0, 0.0, self.height_m])
        return k @ np.hstack([r, (-r @ centre)[:, None]])

    def image_to_ground(self) -> np.ndarray:
        p = self.projection()
        return np.linalg.inv(p[:, [0, 1, 3]])

    def project(self, x_m: float, y_m: float, z_m: float = 0.0) -> tuple[float, float]:
        u, v, w = self.projection() @ np.array([x_m, y_m, z_m, 1.0])
        return float(u / w), float(v / w)

    def person_box(self, x_m: float, y_m: float) -> tuple[float, float, float, float]:
        fu, fv = self.project(x_m, y_m)
        _, hv = self.project(x_m, y_m, PERSON_M)
        h = fv - hv
        return fu - 0.175 * h, hv, fu + 0.175 * h, fv


CAM = Camera()


def background(seed: int = 1) -> np.ndarray:
    rng = np.random.default_rng(seed)
    noise = rng.integers(60, 160, (HEIGHT // 8, WIDTH // 8, 3)).astype(np.uint8)
    return cv2.resize(noise, (WIDTH, HEIGHT), interpolation=cv2.INTER_CUBIC)


def draw_person(image: np.ndarray, box: tuple[float, float, float, float], colour: tuple[int, int, int]) -> None:
    """A figure, not a rectangle: head, torso and two legs, filling about half its box like a walker."""
    x0, y0, x1, y1 = box
    w, h = x1 - x0, y1 - y0
    cx = (x0 + x1) / 2
    cv2.circle(image, (round(cx), round(y0 + 0.08 * h)), max(1, round(0.08 * h)), colour, -1)
    cv2.rectangle(
        image, (round(cx - 0.35 * w), round(y0 + 0.15 * h)), (round(cx + 0.35 * w), round(y0 + 0.55 * h)), colour, -1
    )
    cv2.rectangle(image, (round(x0 + 0.1 * w), round(y0 + 0.55 * h)), (round(cx - 0.05 * w), round(y1)), colour, -1)
    cv2.rectangle(image, (round(cx + 0.05 * w), round(y0 + 0.55 * h)), (round(x1 - 0.1 * w), round(y1)), colour, -1)


@dataclass(frozen=True)
class Walker:
    x0_m: float
    y_m: float
    vx_mps: float
    colour: tuple[int, int, int]

    def x_at(self, t_s: float) -> float:
        return self.x0_m + self.vx_mps * t_s


def render(walkers: list[Walker], t_s: float, rng: np.random.Generator, bg: np.ndarray) -> np.ndarray:
    image = bg.copy()
    # draw far people first so near ones occlude them
    for w in sorted(walkers, key=lambda w: -w.y_m):
        draw_person(image, CAM.person_box(w.x_at(t_s), w.y_m), w.colour)
    sensor = rng.normal(0, 2.0, image.shape)
    return np.clip(image.astype(np.float64) + sensor, 0, 255).astype(np.uint8)


def run(detector: Detector, walkers: list[Walker], seconds: float, seed: int = 0) -> list[tuple[float, np.ndarray]]:
    rng = np.random.default_rng(seed)
    bg = background()
    out = []
    for i in range(round(seconds * FPS)):
        t = i / FPS
        dets = detector.detect(Frame(i, t, render(walkers, t, rng, bg)))
        out.append((t, dets.xyxy))
    return out


def calibrated() -> Detector:
    return build_detector(DetectorConfig(kind="offline"), CAM.image_to_ground(), (WIDTH, HEIGHT))


def truth(walkers: list[Walker], t_s: float) -> np.ndarray:
    return np.array([CAM.person_box(w.x_at(t_s), w.y_m) for w in walkers], np.float32)


def test_camera_is_recovered_from_the_homography() -> None:
    recovered = camera_from_homography(CAM.image_to_ground(), (WIDTH, HEIGHT))
    assert recovered is not None
    true = CAM.projection()
    np.testing.assert_allclose(recovered / recovered[2, 3], true / true[2, 3], atol=1e-6)


def test_scale_map_predicts_projected_person_heights() -> None:
    scale = PersonScaleMap.from_homography(CAM.image_to_ground(), (WIDTH, HEIGHT), PERSON_M)
    for x_m, y_m in [(0.0, 8.0), (-2.0, 12.0), (3.0, 20.0)]:
        x0, y0, x1, y1 = CAM.person_box(x_m, y_m)
        expected = float(scale.at((x0 + x1) / 2, y1))
        assert expected == pytest.approx(y1 - y0, rel=0.03), (x_m, y_m)


def test_nobody_stands_above_the_horizon() -> None:
    # tilted 10 degrees down with a 20.6 degree half field of view: the top rows see the sky
    flat = Camera(height_m=3.0, tilt_deg=10.0)
    scale = PersonScaleMap.from_homography(flat.image_to_ground(), (WIDTH, HEIGHT), PERSON_M)
    assert np.isnan(scale.at(WIDTH / 2, 0))
    assert np.isfinite(scale.at(WIDTH / 2, HEIGHT - 1))


def test_scale_map_follows_the_frame_size() -> None:
    h = CAM.image_to_ground()
    small = PersonScaleMap.from_homography(h, (WIDTH, HEIGHT), PERSON_M)
    big = PersonScaleMap.from_homography(
        rescale_homography(h, (WIDTH, HEIGHT), (2 * WIDTH, 2 * HEIGHT)), (2 * WIDTH, 2 * HEIGHT), PERSON_M
    )
    assert float(big.at(2 * 160, 2 * 200)) == pytest.approx(2 * float(small.at(160, 200)), rel=0.03)


def test_walkers_are_found_with_their_true_boxes() -> None:
    walkers = [
        Walker(-6.0, 10.0, 1.2, (20, 20, 200)),
        Walker(5.0, 14.0, -1.0, (200, 40, 30)),
        Walker(-3.0, 18.0, 0.8, (30, 200, 230)),
    ]
    results = run(calibrated(), walkers, seconds=6.0)
    hits = misses = false = 0
    for t, xyxy in results[20:]:  # after 2 s of warm-up
        gt = truth(walkers, t)
        iou = iou_matrix(xyxy, gt) if len(xyxy) else np.zeros((0, len(gt)))
        matched = (iou >= 0.5).any(axis=0).sum() if len(xyxy) else 0
        hits += matched
        misses += len(gt) - matched
        false += max(0, len(xyxy) - matched)
    assert hits / (hits + misses) >= 0.9
    assert false / max(hits, 1) <= 0.1


def test_people_side_by_side_are_split_into_two() -> None:
    # Two walkers 0.5 m apart, walking together: one merged blob, two people.
    walkers = [Walker(-4.0, 10.0, 1.0, (20, 20, 200)), Walker(-3.5, 10.0, 1.0, (20, 150, 40))]
    results = run(calibrated(), walkers, seconds=5.0)
    counts = [len(xyxy) for _, xyxy in results[20:]]
    assert np.mean(np.asarray(counts) == 2) >= 0.8, counts


def test_person_behind_another_is_counted() -> None:
    # Same line of sight, 1.5 m further: the far one's head and shoulders show above the near one.
    walkers = [Walker(-4.0, 10.0, 1.0, (20, 20, 200)), Walker(-4.0, 11.5, 1.0, (20, 150, 40))]
    results = run(calibrated(), walkers, seconds=5.0)
    counts = [len(xyxy) for _, xyxy in results[20:]]
    assert np.mean(np.asarray(counts) == 2) >= 0.7, counts


def test_small_movers_are_not_people() -> None:
    # A bird-sized blob moving across the scene: far too small for a person anywhere it flies.
    scale = PersonScaleMap.from_homography(CAM.image_to_ground(), (WIDTH, HEIGHT), PERSON_M)
    mask = np.zeros((HEIGHT, WIDTH), np.uint8)
    mask[150:154, 100:106] = 255
    assert len(fit_people(mask, scale)) == 0
    # and a person-sized blob at the same place is one person
    x0, y0, x1, y1 = CAM.person_box(0.0, 12.0)
    mask[round(y0) : round(y1), round(x0) : round(x1)] = 255
    dets = fit_people(mask, scale)
    assert len(dets) == 1
    assert iou_matrix(dets.xyxy, np.array([[x0, y0, x1, y1]], np.float32))[0, 0] >= 0.7


def test_brightness_change_is_not_people() -> None:
    # After warm-up, the whole scene brightens by 6% (a cloud moves away): no detections appear.
    model = BackgroundModel()
    rng = np.random.default_rng(3)
    bg = background()
    for i in range(40):
        model.apply(render([], i / FPS, rng, bg), i / FPS)
    brighter = np.clip(bg.astype(np.float64) * 1.06, 0, 255).astype(np.uint8)
    mask = model.apply(render([], 4.0, rng, brighter), 4.0)
    assert (mask > 0).mean() < 0.01


def test_a_person_who_stops_stays_detected_for_several_seconds() -> None:
    detector = calibrated()
    walker = Walker(-3.0, 12.0, 1.0, (20, 20, 200))
    rng = np.random.default_rng(0)
    bg = background()
    found_while_standing = []
    for i in range(round(12 * FPS)):
        t = i / FPS
        x = walker.x_at(min(t, 4.0))  # walks for 4 s, then stands
        image = bg.copy()
        draw_person(image, CAM.person_box(x, walker.y_m), walker.colour)
        image = np.clip(image + rng.normal(0, 2.0, image.shape), 0, 255).astype(np.uint8)
        dets = detector.detect(Frame(i, t, image))
        if t >= 4.0:
            found_while_standing.append(len(dets) == 1)
    # 8 s of standing: still there at the end (the model forgets a still person only after ~15 s)
    assert all(found_while_standing[-10:])


def test_uncalibrated_detector_finds_movers_without_scale() -> None:
    detector = build_detector(DetectorConfig(kind="offline"))
    walkers = [Walker(-6.0, 10.0, 1.2, (20, 20, 200)), Walker(5.0, 14.0, -1.0, (200, 40, 30))]
    results = run(detector, walkers, seconds=5.0)
    hits = total = 0
    for t, xyxy in results[20:]:
        gt = truth(walkers, t)
        total += len(gt)
        if len(xyxy):
            hits += int((iou_matrix(xyxy, gt) >= 0.5).any(axis=0).sum())
    assert hits / total >= 0.8


def test_blobs_to_people_splits_a_wide_group() -> None:
    mask = np.zeros((HEIGHT, WIDTH), np.uint8)
    mask[100:180, 100:190] = 255  # 90 px wide, 80 px tall: about three people of width 0.35 h
    dets = blobs_to_people(mask)
    assert len(dets) in (2, 3)
    assert dets.xyxy[:, 0].min() == pytest.approx(100) and dets.xyxy[:, 2].max() == pytest.approx(190)


def test_a_new_frame_size_restarts_the_detector_at_the_right_scale() -> None:
    detector = calibrated()
    walkers = [Walker(-6.0, 10.0, 1.2, (20, 20, 200))]
    rng = np.random.default_rng(0)
    bg = background()
    last = np.zeros((0, 4), np.float32)
    for i in range(50):
        t = i / FPS
        image = np.asarray(
            cv2.resize(render(walkers, t, rng, bg), (2 * WIDTH, 2 * HEIGHT), interpolation=cv2.INTER_NEAREST), np.uint8
        )
        last = detector.detect(Frame(i, t, image)).xyxy
    gt = truth(walkers, 49 / FPS) * 2
    assert len(last) == 1 and iou_matrix(last, gt)[0, 0] >= 0.5


def test_homography_without_image_size_is_refused() -> None:
    with pytest.raises(DetectorError, match="image_size"):
        build_detector(DetectorConfig(kind="offline"), CAM.image_to_ground(), None)


def test_bad_homography_is_refused() -> None:
    with pytest.raises(DetectorError, match="3x3"):
        build_detector(DetectorConfig(kind="offline"), np.eye(2), (WIDTH, HEIGHT))
