from __future__ import annotations

import numpy as np
import pytest

from edge.geometry import (
    CalibrationError,
    Homography,
    crossing_sign,
    heading_deg,
    make_zone,
    points_in_polygon,
    polygon_area,
)

TRUE_H = np.array([[0.05, 0.01, -3.0], [0.002, -0.08, 20.0], [0.0001, 0.004, 1.0]])


def _project(h: np.ndarray, pts: np.ndarray) -> np.ndarray:
    q = np.hstack([pts, np.ones((len(pts), 1))]) @ h.T
    return q[:, :2] / q[:, 2:]


def test_homography_from_four_points_recovers_the_mapping() -> None:
    img = np.array([[50, 300], [400, 310], [380, 120], [90, 110]], float)
    h = Homography.from_points(img, _project(TRUE_H, img))
    probe = np.array([[200, 200], [10, 350], [300, 150]], float)
    np.testing.assert_allclose(h.to_ground(probe), _project(TRUE_H, probe), atol=1e-6)
    np.testing.assert_allclose(h.to_image(h.to_ground(probe)), probe, atol=1e-6)
    assert h.reprojection_error_m < 1e-6


def test_ransac_drops_an_outlier_and_reports_the_error() -> None:
    rng = np.random.default_rng(0)
    img = rng.uniform([0, 100], [480, 360], (12, 2))
    ground = _project(TRUE_H, img)
    ground[3] += [5.0, -4.0]  # a mistyped survey point
    h = Homography.from_points(img, ground)
    assert h.inliers == 11
    assert h.reprojection_error_m < 0.01
    np.testing.assert_allclose(h.image_to_ground / h.image_to_ground[2, 2], TRUE_H, rtol=1e-4, atol=1e-6)


def test_too_few_or_collinear_points_are_clear_errors() -> None:
    with pytest.raises(CalibrationError, match="at least 4"):
        Homography.from_points([[0, 0], [1, 0], [0, 1]], [[0, 0], [1, 0], [0, 1]])
    with pytest.raises(CalibrationError, match="collinear"):
        Homography.from_points([[0, 0], [1, 1], [2, 2], [3, 3]], [[0, 0], [1, 0], [0, 1], [1, 1]])


def test_degenerate_matrix_is_rejected() -> None:
    with pytest.raises(CalibrationError, match="degenerate"):
        Homography.from_matrix([[1, 2, 3], [2, 4, 6], [0, 0, 1]])
    with pytest.raises(CalibrationError):
        Homography.from_matrix([[1, 0], [0, 1]])


def test_scaled_homography_maps_the_same_scene_point_to_the_same_metres() -> None:
    h = Homography.from_matrix(TRUE_H)  # valid for 768x576
    small = h.scaled_for((768, 576), (480, 360))
    np.testing.assert_allclose(small.to_ground([[100, 200]]), h.to_ground([[160, 320]]), atol=1e-9)


def test_polygon_area_any_orientation() -> None:
    square = [[0, 0], [4, 0], [4, 3], [0, 3]]
    assert polygon_area(square) == pytest.approx(12.0)
    assert polygon_area(square[::-1]) == pytest.approx(12.0)
    assert polygon_area([[0, 0], [2, 0], [0, 5]]) == pytest.approx(5.0)


def test_membership_of_concave_polygon() -> None:
    l_shape = [[0, 0], [4, 0], [4, 1], [1, 1], [1, 4], [0, 4]]
    pts: list[list[float]] = [[0.5, 0.5], [3, 0.5], [0.5, 3], [3, 3], [np.nan, 1], [-1, 0.5]]
    assert points_in_polygon(pts, l_shape).tolist() == [True, True, True, False, False, False]


def test_crossing_sign_left_is_in() -> None:
    a, b = (0.0, 0.0), (10.0, 0.0)  # the left of a->b is +y
    assert crossing_sign((5, -1), (5, 1), a, b) == 1
    assert crossing_sign((5, 1), (5, -1), a, b) == -1
    assert crossing_sign((5, 1), (6, 2), a, b) == 0  # same side
    assert crossing_sign((12, -1), (12, 1), a, b) == 0  # past the segment's end
    assert crossing_sign((5, 0), (5, 1), a, b) == 0  # starting on the line is not a crossing


def test_image_zone_area_comes_from_the_ground() -> None:
    h = Homography.from_matrix(np.diag([0.1, 0.1, 1.0]))  # 10 px per metre, top-down
    zone = make_zone("z", h, image_px=[[0, 0], [100, 0], [100, 50], [0, 50]])
    assert zone.area_m2 == pytest.approx(50.0)
    assert zone.contains(np.zeros((1, 2)), [[50, 25]]).tolist() == [True]


def test_heading_is_in_range() -> None:
    assert heading_deg(1, 0) == 0.0
    assert heading_deg(0, 1) == pytest.approx(90.0)
    assert heading_deg(1, -1e-20) is not None and 0 <= heading_deg(1, -1e-20) < 360  # type: ignore[operator]
    assert heading_deg(0, 0) is None
