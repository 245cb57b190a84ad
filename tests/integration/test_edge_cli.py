"""`crowd-edge` as an operator runs it: exit codes, messages, outputs."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import cv2
import pytest
import yaml

from edge.synthetic import SyntheticClip, render_clip

pytestmark = pytest.mark.integration
REPO = Path(__file__).resolve().parents[2]


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "edge.cli", *args], cwd=REPO, capture_output=True, text=True, timeout=300
    )


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> SyntheticClip:
    return render_clip(tmp_path_factory.mktemp("clip"), duration_s=6.0, fps=10.0)


def test_run_writes_contract_jsonl_and_annotated_video(clip: SyntheticClip, tmp_path: Path) -> None:
    out = tmp_path / "metrics.jsonl"
    video = tmp_path / "annotated.avi"
    r = _cli("run", str(clip.config), "--output", str(out), "--annotate", str(video), "-q")
    assert r.returncode == 0, r.stderr
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(rows) == 2 * 6  # two zones, six 1 s intervals
    required = {
        "camera",
        "zone",
        "frame_start",
        "frame_end",
        "t_start",
        "t_end",
        "count",
        "count_max",
        "area_m2",
        "density",
        "speed_p50",
        "speed_p85",
        "los",
        "stale",
    }
    for row in rows:
        assert required <= set(row)
        assert row["camera"] == "synthetic"
    assert [r["frame_start"] for r in rows if r["zone"] == "walkway"] == [0, 10, 20, 30, 40, 50]
    cap = cv2.VideoCapture(str(video))
    assert int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) == 60


def test_missing_video_exits_2_naming_the_path(clip: SyntheticClip, tmp_path: Path) -> None:
    r = _cli("run", str(clip.config), "--source", str(tmp_path / "missing.mp4"), "-q")
    assert r.returncode == 2
    assert "missing.mp4" in r.stderr and "Traceback" not in r.stderr


def test_bad_config_exits_2_naming_the_key(clip: SyntheticClip, tmp_path: Path) -> None:
    data = yaml.safe_load(clip.config.read_text())
    data["metrics"]["interval"] = 2
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(data))
    r = _cli("run", str(bad), "-q")
    assert r.returncode == 2
    assert "metrics.interval" in r.stderr


def test_calibrate_draws_an_overlay(clip: SyntheticClip, tmp_path: Path) -> None:
    frame = tmp_path / "frame.png"
    ok, img = cv2.VideoCapture(str(clip.video)).read()
    assert ok
    cv2.imwrite(str(frame), img)
    out = tmp_path / "overlay.png"
    r = _cli("calibrate", str(clip.config), "--image", str(frame), "--out", str(out))
    assert r.returncode == 0, r.stderr
    overlay = cv2.imread(str(out))
    assert overlay is not None
    assert overlay.shape == img.shape
    assert (cv2.absdiff(overlay, img) > 30).mean() > 0.02  # grid and zones drawn
    assert "zone walkway: 63.0 m2" in r.stdout


def test_eval_prints_a_table_and_writes_a_plot(clip: SyntheticClip, tmp_path: Path) -> None:
    plot = tmp_path / "counts.png"
    r = _cli("eval", str(clip.config), "--gt", str(clip.gt), "--plot", str(plot), "-q")
    assert r.returncode == 0, r.stderr
    assert "walkway" in r.stdout and "frames/s" in r.stdout
    assert cv2.imread(str(plot)) is not None
