"""The benchmark scripts' own logic on tiny inputs (the benchmarks themselves are scripts, not tests)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from edge.types import Detections, Frame
from scripts.bench import common
from scripts.bench.clips import load_gt_boxes
from scripts.bench.edge_run import TruthAfterNetwork


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


def test_truth_boxes_follow_the_frame_after_the_network_ran(tmp_path: Path) -> None:
    gt = tmp_path / "gt.txt"
    gt.write_text("1,1,10,20,5,10,1,0,0,0\n1,2,30,20,5,10,1,0,0,0\n3,1,12,20,5,10,1,0,0,0\n")
    truth = load_gt_boxes(gt, 4)
    assert [len(t) for t in truth] == [2, 0, 1, 0]
    np.testing.assert_allclose(truth[0][1], [30, 20, 35, 30])

    class Network:
        name = "n"
        calls = 0

        def detect(self, frame: Frame) -> Detections:
            Network.calls += 1
            return Detections(np.zeros((1, 4), np.float32), np.ones(1, np.float32))

    det = TruthAfterNetwork(Network(), truth)
    image = np.zeros((8, 8, 3), np.uint8)
    assert len(det.detect(Frame(0, 0.0, image))) == 2
    assert len(det.detect(Frame(9, 0.4, image))) == 0  # past the truth: nobody
    assert Network.calls == 2 and det.network_boxes == 2
