"""The accuracy and speed bar on the real PETS 2009 S2.L1 clip: the pretrained detector (the default) and
the offline fallback."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from edge.calibration import build_geometry
from edge.cli import run_edge
from edge.config import load
from edge.evaluation import load_mot, score, truth_metrics
from edge.pipeline import metrics_settings
from edge.sinks import MemorySink, metrics_to_dict

pytestmark = [pytest.mark.integration, pytest.mark.slow]
CONFIG = Path(__file__).resolve().parents[2] / "configs" / "pets09_s2l1.yaml"


@dataclass(frozen=True)
class Bar:
    kind: str
    crossing_count: float  # count error per 1 s interval in the whole crossing
    halves_count: float
    speed_p50_mps: float  # |median of the run's p50 - median of the truth's p50|


BARS = [
    # nanodet measured 5.6% / 10.1% / 0.05 m/s when written; the bar is 10% and 0.15 m/s
    Bar("nanodet", 0.10, 0.14, 0.15),
    # offline measured 7.5% / 11.5% / 0.03-0.07 m/s
    Bar("offline", 0.20, 0.25, 0.25),
]


@pytest.mark.parametrize("bar", BARS, ids=[b.kind for b in BARS])
def test_pets_meets_the_accuracy_and_speed_bar(shared_data: Path, bar: Bar, request: pytest.FixtureRequest) -> None:
    if bar.kind == "nanodet":
        request.getfixturevalue("nanodet_model")
    pets = shared_data / "pets09_s2l1"
    cfg = load(CONFIG)
    assert cfg.detector.kind == "auto"
    cfg = cfg.model_copy(
        update={
            "camera": cfg.camera.model_copy(
                update={"source": str(pets / "video" / "vtest_PETS09-S2L1_View001_480x360.avi")}
            ),
            "detector": cfg.detector.model_copy(update={"kind": bar.kind}),
        }
    )
    memory = MemorySink()
    t0 = time.perf_counter()
    stats, frames = run_edge(cfg, [memory], progress=False)
    wall_s = time.perf_counter() - t0
    assert len(frames) == 795 and stats.frames_skipped == 0
    # Faster than real time (7 fps) on this machine, decoding included; kept loose for a shared CI box.
    assert 795 / wall_s > 7.0

    gt = load_mot(pets / "gt" / "gt.txt", scale=0.625)
    truth = truth_metrics(gt, frames, build_geometry(cfg, (480, 360)), metrics_settings(cfg))
    rows = [metrics_to_dict(m) for m in memory.metrics]
    scores = {s.zone: s for s in score(rows, truth)}
    crossing = scores["crossing"]
    assert crossing.intervals >= 110
    assert crossing.count_rel_error <= bar.crossing_count, crossing
    assert crossing.speed_p50_run is not None and crossing.speed_p50_true is not None
    assert abs(crossing.speed_p50_run - crossing.speed_p50_true) <= bar.speed_p50_mps, crossing
    for s in scores.values():
        assert s.count_rel_error <= bar.halves_count, s
    assert {m.count_source for m in memory.metrics} == {"tracks"}  # 7 fps and a few people: tracks count
    for m in memory.metrics:
        assert m.density == pytest.approx(m.count / m.area_m2)
        assert m.t_end > m.t_start and m.frame_end >= m.frame_start
