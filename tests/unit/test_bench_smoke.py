"""The benchmark scripts' own logic on tiny inputs (the benchmarks themselves are scripts, not tests)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from scripts.bench import common
from scripts.bench.clips import count_error, frame_intervals, load_gt_boxes, pets_transform, true_zone_counts


def test_forecast_bench_paths_report_positive_rates(monkeypatch: pytest.MonkeyPatch) -> None:
    # The script pins BLAS threads through the environment on import; keep that out of other tests.
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        monkeypatch.setenv(var, "1")
    from scripts.bench import forecast

    batch = forecast.bench_batch(50, 10.0, None, repeats=2)
    zones = forecast.bench_zones(3, 10.0, repeats=2)
    assert batch["series"] == 50 and batch["series_per_s"] > 0
    assert zones["series"] == 3 and zones["seconds_per_update_and_forecast"] > 0
    assert 0 < batch["update_s"] < batch["seconds_per_update_and_forecast"]
    one = forecast.bench_one_zone(repeats=1)
    assert one["update_s"] > 0 and one["forecast_s"] > 0 and one["refit_s"] > 0


def test_write_result_adds_the_machine_state(tmp_path: Path) -> None:
    path = common.write_result("x", {"value": np.float64(1.5), "where": tmp_path}, out_dir=tmp_path)
    body = json.loads(path.read_text())
    assert body["benchmark"] == "x" and body["value"] == 1.5 and body["where"] == str(tmp_path)
    assert len(body["machine"]["load_avg_at_end"]) == 3
    assert common.percentile([1.0, 2.0, 3.0], 50) == 2.0 and common.percentile([], 99) is None


def test_truth_boxes_and_zone_counts_from_a_mot_file(tmp_path: Path) -> None:
    gt = tmp_path / "gt.txt"
    gt.write_text("1,1,10,20,5,10,1,0,0,0\n1,2,30,20,5,10,1,0,0,0\n3,1,12,20,5,10,1,0,0,0\n")
    truth = load_gt_boxes(gt, 4)
    assert [len(t) for t in truth] == [2, 0, 1, 0]
    np.testing.assert_allclose(truth[0][1], [30, 20, 35, 30])
    # Feet (box bottom centres) at (12.5, 30), (32.5, 30) and (14.5, 30): the polygon holds the first and third.
    polygon = [[0, 25], [20, 25], [20, 35], [0, 35]]
    assert true_zone_counts(gt, polygon, 4).tolist() == [1, 0, 1, 0]


def test_count_error_compares_interval_means_over_the_same_frames() -> None:
    # 7 fps, 1 s intervals: frames 0-6, 7-13, 14-15.
    per_frame = [1] * 7 + [3] * 7 + [2, 2]
    intervals = frame_intervals(per_frame, fps=7.0)
    assert intervals == [(0, 6, 1.0), (7, 13, 3.0), (14, 15, 2.0)]
    truth = np.array([2] * 7 + [3] * 7 + [4, 4])
    got = count_error(intervals, truth)
    assert got["intervals"] == 3
    assert got["mae"] == pytest.approx((1 + 0 + 2) / 3)
    assert got["mean_true"] == pytest.approx(3.0)
    assert got["error"] == pytest.approx(1 / 3)


def test_pets_transform_scales_and_centres_the_480x360_frame() -> None:
    t = pets_transform(3, (1920, 1080))
    np.testing.assert_allclose(t @ [0, 0, 1], [240, 0, 1])
    np.testing.assert_allclose(t @ [480, 360, 1], [1680, 1080, 1])
    np.testing.assert_allclose(pets_transform(2, (1280, 720)) @ [480, 360, 1], [1120, 720, 1])
