"""The pretrained NanoDet-m detector on real video: TUD-Campus, the dense Mall walkway, people standing
still, and a damaged model file. Needs the model built by `scripts/build_models.py` (CI builds it)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
import yaml

from edge.calibration import build_geometry
from edge.cli import run_edge
from edge.config import EdgeConfig, load
from edge.evaluation import MotGroundTruth, load_mot, score, truth_metrics
from edge.pipeline import metrics_settings
from edge.sinks import MemorySink, metrics_to_dict
from edge.types import ZoneMetrics
from scripts.mall_gt import mot_rows

pytestmark = [pytest.mark.integration, pytest.mark.slow]
REPO = Path(__file__).resolve().parents[2]


def _with_source(cfg: EdgeConfig, source: Path, **detector: object) -> EdgeConfig:
    return cfg.model_copy(
        update={
            "camera": cfg.camera.model_copy(update={"source": str(source)}),
            "detector": cfg.detector.model_copy(update=detector),
        }
    )


def _zone_score(cfg: EdgeConfig, gt: MotGroundTruth, zone: str) -> tuple[float, list[ZoneMetrics]]:
    memory = MemorySink()
    _stats, frames = run_edge(cfg, [memory], progress=False)
    size = _frame_size(cfg.camera.source)
    truth = truth_metrics(gt, frames, build_geometry(cfg, size), metrics_settings(cfg))
    scores = {s.zone: s for s in score([metrics_to_dict(m) for m in memory.metrics], truth)}
    return scores[zone].count_rel_error, memory.metrics


def _frame_size(source: str) -> tuple[int, int]:
    path = Path(source)
    first = sorted(path.iterdir())[0] if path.is_dir() else path
    if path.is_dir():
        image = cv2.imread(str(first))
    else:
        cap = cv2.VideoCapture(str(first))
        _ok, image = cap.read()
        cap.release()
    return int(image.shape[1]), int(image.shape[0])


def test_tud_walkway_within_10_percent(shared_data: Path, nanodet_model: Path) -> None:
    tud = shared_data / "tud_campus"
    cfg = _with_source(load(REPO / "configs" / "tud_campus.yaml"), tud / "video" / "TUD-Campus.mp4")
    assert cfg.detector.kind == "auto"  # resolves to nanodet: the model is built
    error, metrics = _zone_score(cfg, load_mot(tud / "gt" / "gt.txt"), "walkway")
    # measured 3.9% when written (3 one-second intervals); the offline detector measured 11%
    assert error <= 0.10
    assert all(m.count_source == "tracks" for m in metrics)


def test_dense_mall_walkway_within_15_percent(shared_data: Path, nanodet_model: Path, tmp_path: Path) -> None:
    """Standing, slow and partly hidden people at under 2 frames a second: the count comes from each
    frame's boxes (tracks cannot follow people between frames half a second apart), corrected by the
    density map where the boxes hide each other (the CSRNet model is built with the detector)."""
    mall = shared_data / "mall_train"
    heads = np.loadtxt(mall / "gt_heads.csv", delimiter=",", skiprows=1, ndmin=2)
    gt_path = tmp_path / "mall_gt.txt"
    np.savetxt(gt_path, mot_rows(heads), delimiter=",", fmt="%.2f")
    cfg = _with_source(load(REPO / "configs" / "mall.yaml"), mall / "frames")
    error, metrics = _zone_score(cfg, load_mot(gt_path), "walkway")
    # See docs/benchmarks.md for the figure measured (400 intervals, 26 people on average); the bar is 15%.
    assert error <= 0.15
    assert {m.count_source for m in metrics} <= {"detections", "density"}
    weights = [m.density_weight for m in metrics]
    assert np.mean([w > 0 for w in weights]) > 0.5  # the map corrected most intervals of this crowd
    assert np.mean([m.count for m in metrics]) > 18


def _still_video(frame: np.ndarray, seconds: float, fps: float, path: Path) -> Path:
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"MJPG"), fps, (frame.shape[1], frame.shape[0]))
    for _ in range(round(seconds * fps)):
        writer.write(frame)
    writer.release()
    return path


def test_people_standing_still_stay_counted(shared_data: Path, nanodet_model: Path, tmp_path: Path) -> None:
    """A minute of one real PETS frame: nobody moves, so a background model would absorb everyone;
    the pretrained detector keeps finding them and the tracks keep them counted to the end."""
    pets = shared_data / "pets09_s2l1"
    cap = cv2.VideoCapture(str(pets / "video" / "vtest_PETS09-S2L1_View001_480x360.avi"))
    for _ in range(60):
        _ok, image = cap.read()
    cap.release()
    video = _still_video(image, seconds=60.0, fps=7.0, path=tmp_path / "still.avi")
    cfg = _with_source(load(REPO / "configs" / "pets09_s2l1.yaml"), video, every_n_frames=4)
    gt = load_mot(pets / "gt" / "gt.txt", scale=0.625).frame(59)
    geometry = build_geometry(cfg, (480, 360))
    crossing = next(z for z in geometry.zones if z.id == "crossing")
    foot = np.stack([(gt.xyxy_px[:, 0] + gt.xyxy_px[:, 2]) / 2, gt.xyxy_px[:, 3]], axis=1)
    assert gt.ground_m is not None
    true_count = int(crossing.contains(gt.ground_m, foot).sum())
    assert true_count >= 3

    memory = MemorySink()
    run_edge(cfg, [memory], progress=False)
    counts = [m.count for m in memory.metrics if m.zone == "crossing"]
    assert len(counts) >= 59
    # From the first full second on, every second of the minute counts the people standing there.
    assert all(abs(c - true_count) <= 1 for c in counts[2:]), counts
    assert np.mean(counts[-10:]) == pytest.approx(np.mean(counts[2:12]), abs=0.3)


def test_a_damaged_model_file_is_a_clear_error(shared_data: Path, nanodet_model: Path, tmp_path: Path) -> None:
    truncated = tmp_path / "nanodet-m.onnx"
    truncated.write_bytes(nanodet_model.read_bytes()[:4096])
    raw = yaml.safe_load((REPO / "configs" / "pets09_s2l1.yaml").read_text(encoding="utf-8"))
    raw["camera"]["source"] = str(shared_data / "pets09_s2l1" / "video" / "vtest_PETS09-S2L1_View001_480x360.avi")
    raw["detector"] = {"kind": "nanodet", "model": str(truncated)}
    config = tmp_path / "edge.yaml"
    config.write_text(yaml.safe_dump(raw), encoding="utf-8")
    r = subprocess.run(
        [sys.executable, "-m", "edge.cli", "run", str(config), "--no-mqtt", "--output", str(tmp_path / "o.jsonl")],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=REPO,
    )
    assert r.returncode == 2, r.stderr
    assert str(truncated) in r.stderr and "build_models.py" in r.stderr
    assert "Traceback" not in r.stderr
