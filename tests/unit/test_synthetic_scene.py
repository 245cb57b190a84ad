"""The synthetic scene: exact camera geometry, ground truth that matches the pixels, a build-up."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from edge.config import load as load_edge_config
from edge.evaluation import load_mot
from edge.geometry import Homography
from edge.synthetic_clip import main, render_clip
from edge.synthetic_scene import BUSY_ZONE, Camera, SceneSpec, SyntheticScene


def test_homography_is_exact_for_the_camera() -> None:
    cam = Camera()
    rng = np.random.default_rng(0)
    ground = np.column_stack([rng.uniform(-8, 8, 50), rng.uniform(2, 25, 50), np.zeros(50)])
    px = cam.project(ground)
    back = Homography.from_matrix(cam.image_to_ground()).to_ground(px)
    assert np.abs(back - ground[:, :2]).max() < 1e-6
    # The near edge of the plaza is in view and below its far edge, as a camera looking ahead sees it.
    near, far = cam.project(np.array([[0.0, 4.5, 0.0], [0.0, 9.5, 0.0]]))
    assert 0 < far[1] < near[1] < cam.height_px
    # A 1.7 m person 10 m ahead is upright and tens of pixels tall.
    foot, head = cam.project(np.array([[0.0, 5.0, 0.0], [0.0, 5.0, 1.7]]))
    assert abs(foot[0] - head[0]) < 1e-6 and 60 < foot[1] - head[1] < 200


def run(seconds: float = 40.0, **kw: float) -> tuple[SyntheticScene, list[tuple[int, np.ndarray, list]]]:
    scene = SyntheticScene(SceneSpec(seconds=seconds, fps=5, peak_people=30, base_people=4, seed=3, **kw))
    return scene, [(i, img.copy(), truth) for i, img, truth in scene.frames()]


def test_truth_matches_the_pixels_and_the_ground() -> None:
    scene, frames = run()
    h = Homography.from_matrix(scene.camera.image_to_ground())
    errors = []
    inside, outside = [], []
    for _, img, truth in frames[::10]:
        diff = cv2.absdiff(img, scene.background).max(axis=2)
        mask = np.zeros(diff.shape, bool)
        for b in truth:
            x0, y0 = max(0, int(b.left_px)), max(0, int(b.top_px))
            x1, y1 = int(b.left_px + b.width_px) + 1, int(b.top_px + b.height_px) + 1
            mask[y0:y1, x0:x1] = True
            foot = h.to_ground([[b.left_px + b.width_px / 2, b.top_px + b.height_px]])[0]
            if b.top_px > 0 and b.top_px + b.height_px < img.shape[0]:
                errors.append(float(np.hypot(foot[0] - b.x_m, foot[1] - b.y_m)))
        inside.append(float((diff[mask] > 25).mean()) if mask.any() else 0.0)
        outside.append(float((diff[~mask] > 25).mean()))
    # People are drawn where the truth says, and only there (noise stays under the threshold).
    assert np.mean(inside) > 0.3
    assert max(outside) < 0.01
    # The box's bottom centre maps to the person's ground position within a stride.
    assert len(errors) > 20
    assert float(np.median(errors)) < 0.4


def test_the_busy_zone_builds_up_and_people_come_and_go() -> None:
    _, frames = run(seconds=60.0)
    poly = np.array(BUSY_ZONE, np.float32)
    counts = [sum(cv2.pointPolygonTest(poly, (b.x_m, b.y_m), False) >= 0 for b in t) for _, _, t in frames]
    n = len(counts)
    assert np.mean(counts[-n // 5 :]) > 3 * max(1.0, float(np.mean(counts[: n // 10])))
    ids_first = {b.id for b in frames[0][2]}
    ids_last = {b.id for b in frames[-1][2]}
    assert ids_last - ids_first and ids_first - ids_last  # some entered, some left


def test_deterministic_and_validated() -> None:
    a = [t for _, _, t in run(seconds=6)[1]]
    b = [t for _, _, t in run(seconds=6)[1]]
    assert a == b
    with pytest.raises(ValueError, match="peak_people"):
        SceneSpec(base_people=10, peak_people=5)
    with pytest.raises(ValueError, match="fps"):
        SceneSpec(fps=0)


def test_render_clip_writes_files_the_edge_reads(tmp_path: Path) -> None:
    clip = render_clip(tmp_path, SceneSpec(seconds=4, fps=5, peak_people=8, base_people=8, seed=1), video_name="c.avi")
    cap = cv2.VideoCapture(str(clip.video))
    n = 0
    while cap.read()[0]:
        n += 1
    assert n == clip.frames == 20
    gt = load_mot(clip.ground_truth)
    assert set(gt.frames) <= set(range(20)) and len(gt.frames) >= 15
    some = next(iter(gt.frames.values()))
    assert some.ground_m is not None and len(some.ids) > 0
    cfg = load_edge_config(clip.edge_config)
    assert Path(cfg.camera.source) == clip.video.resolve()
    assert cfg.camera.fps == 5
    assert cfg.calibration.homography is not None
    assert np.allclose(np.array(cfg.calibration.homography), Camera().image_to_ground(), rtol=1e-8)
    assert [z.id for z in cfg.zones] == ["plaza", "walkway"]
    assert np.loadtxt(clip.homography).shape == (3, 3)


def test_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--out", str(tmp_path), "--seconds", "2", "--fps", "5", "--peak-people", "5"]) == 0
    out = capsys.readouterr().out
    assert "10 frames" in out and (tmp_path / "synthetic.mp4").stat().st_size > 0
    assert main(["--benchmark", "--seconds", "2", "--fps", "5"]) == 0
    assert "frames/s" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        main(["--out", str(tmp_path), "--fps", "-1"])
