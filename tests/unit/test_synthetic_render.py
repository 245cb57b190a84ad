"""The trajectory renderer's geometry: people drawn where the camera projects their ground position,
positions and speeds interpolated between the 0.4 s samples, and the dense flow's body plane."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from edge.flow import DenseFlowSpeed
from edge.geometry import Homography
from edge.synthetic_render import Trajectories, TrajectoryRenderer, camera_over


def _walker() -> Trajectories:
    # One person walking +x at 1.0 m/s (0.4 m per 0.4 s step), one standing still at (-2, 6).
    t = np.array([0.0, 0.4, 0.8, 0.0, 0.4, 0.8])
    ids = np.array([1, 1, 1, 2, 2, 2])
    x = np.array([0.0, 0.4, 0.8, -2.0, -2.0, -2.0])
    y = np.array([5.0, 5.0, 5.0, 6.0, 6.0, 6.0])
    return Trajectories(t, ids, x, y, 0.4)


def test_positions_and_speeds_are_interpolated_between_samples() -> None:
    traj = _walker()
    renderer = TrajectoryRenderer(traj, camera_over(traj, 640, 360), fps=10.0)
    people = renderer.people_at(0.6)
    walker = int(np.nonzero(people.ids == 1)[0][0])
    assert people.xy_m[walker] == pytest.approx([0.6, 5.0])
    assert people.speed_mps[walker] == pytest.approx(1.0)
    assert people.heading[walker] == pytest.approx([1.0, 0.0])
    standing = int(np.nonzero(people.ids == 2)[0][0])
    assert people.speed_mps[standing] == pytest.approx(0.0)


def test_a_person_is_drawn_standing_on_the_projected_ground_point() -> None:
    traj = _walker()
    camera = camera_over(traj, 640, 360)
    renderer = TrajectoryRenderer(traj, camera, fps=10.0)
    frame = renderer.render(4)  # t = 0.4 s: the walker at (0.4, 5.0)
    walker = int(np.nonzero(frame.people.ids == 1)[0][0])
    expected = camera.project(np.array([[0.4, 5.0, 0.0]]))[0]
    assert frame.foot_px[walker] == pytest.approx(expected, abs=1e-6)
    # The calibration's homography takes that pixel back to the ground point.
    assert Homography.from_matrix(camera.image_to_ground()).to_ground([expected])[0] == pytest.approx([0.4, 5.0])
    left, top, right, bottom = frame.boxes_xyxy[walker]
    assert left < expected[0] < right and abs(bottom - expected[1]) < 0.15 * (bottom - top)
    # The head is where a 1.5-1.95 m person's head projects, and the figure is drawn in its box.
    head_lo, head_hi = camera.project(np.array([[0.4, 5.0, 1.95], [0.4, 5.0, 1.5]]))[:, 1]
    assert head_lo - 1 <= top <= head_hi + 1
    diff = cv2.absdiff(frame.image, renderer.background).max(axis=2)
    x0, y0, x1, y1 = (round(float(v)) for v in (left, top, right, bottom))
    assert (diff[y0:y1, x0:x1] > 25).mean() > 0.3


def test_the_body_plane_maps_a_point_at_half_height_to_its_ground_position() -> None:
    traj = _walker()
    camera = camera_over(traj, 640, 360)
    ground = Homography.from_matrix(camera.image_to_ground())
    plane = DenseFlowSpeed(person_height_m=1.7).body_plane(ground, (640, 360))
    torso_px = camera.project(np.array([[1.0, 6.0, 0.85], [1.5, 6.0, 0.85]]))
    on_plane = plane.to_ground(torso_px)
    assert np.allclose(on_plane, [[1.0, 6.0], [1.5, 6.0]], atol=1e-3)
    # Through the ground homography the same 0.5 m step reads longer: the ray meets the ground behind.
    step_on_ground = float(np.linalg.norm(np.diff(ground.to_ground(torso_px), axis=0)))
    height = camera.position_m[2]
    assert step_on_ground == pytest.approx(0.5 * height / (height - 0.85), rel=1e-3)
