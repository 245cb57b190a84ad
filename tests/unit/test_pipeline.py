from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest

from edge.calibration import build_geometry
from edge.config import EdgeConfig, load
from edge.evaluation import GroundTruthDetector, MotGroundTruth, load_mot, score, truth_metrics
from edge.pipeline import Pipeline, metrics_settings
from edge.sinks import JsonlSink, MemorySink, Sink, metrics_to_dict, read_jsonl
from edge.sources import open_source
from edge.synthetic import SyntheticClip, render_clip
from edge.types import Frame


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> SyntheticClip:
    return render_clip(tmp_path_factory.mktemp("synthetic"), duration_s=8.0, fps=10.0)


def _cfg(clip: SyntheticClip, every_n: int) -> EdgeConfig:
    cfg = load(clip.config)
    return cfg.model_copy(update={"detector": cfg.detector.model_copy(update={"every_n_frames": every_n})})


def _run(cfg: EdgeConfig, gt: MotGroundTruth, tmp: Path) -> tuple[MemorySink, list[tuple[int, float]]]:
    memory = MemorySink()
    seen: list[tuple[int, float]] = []

    def on_frame(f: Frame) -> None:
        seen.append((f.index, f.t_s))

    source = open_source(cfg.camera.source, fps=cfg.camera.fps)
    sinks: list[Sink] = [memory, JsonlSink(tmp / "m.jsonl")]
    Pipeline(cfg, source, sinks, detector_factory=lambda _c, _g: GroundTruthDetector(gt), on_frame=on_frame).run()
    return memory, seen


@pytest.mark.parametrize("every_n", [1, 3])
def test_pipeline_matches_truth_with_perfect_detections(clip: SyntheticClip, tmp_path: Path, every_n: int) -> None:
    cfg = _cfg(clip, every_n)
    gt = load_mot(clip.gt)
    memory, seen = _run(cfg, gt, tmp_path)
    assert memory.closed
    assert [i for i, _ in seen] == list(range(clip.frames))
    rows = [metrics_to_dict(m) for m in memory.metrics]
    assert read_jsonl(tmp_path / "m.jsonl") == rows
    truth = truth_metrics(gt, seen, build_geometry(cfg, (480, 360)), metrics_settings(cfg))
    scores = {s.zone: s for s in score(rows, truth)}
    assert set(scores) == {"walkway", "near"}
    # Confirmation delays a person by a few frames; optical flow between detections adds a little.
    assert scores["walkway"].count_rel_error < 0.1
    assert scores["walkway"].speed_p50_mae is not None and scores["walkway"].speed_p50_mae < 0.1
    for m in memory.metrics:
        assert m.density == pytest.approx(m.count / m.area_m2)
        assert not m.stale


def test_stop_flushes_and_closes(clip: SyntheticClip) -> None:
    cfg = _cfg(clip, 1)
    gt = load_mot(clip.gt)
    stop = threading.Event()
    memory = MemorySink()

    def on_frame(f: Frame) -> None:
        if f.index == 24:
            stop.set()

    source = open_source(cfg.camera.source, fps=cfg.camera.fps)
    pipe = Pipeline(cfg, source, [memory], detector_factory=lambda _c, _g: GroundTruthDetector(gt), on_frame=on_frame)
    stats = pipe.run(stop)
    assert stats.frames_processed == 25
    # Intervals 0 and 1 closed normally, interval 2 (frames 20-24) flushed on stop.
    assert sorted({(m.frame_start, m.frame_end) for m in memory.metrics}) == [(0, 9), (10, 19), (20, 24)]
    assert memory.closed
    assert stats.detections_run == 25 and stats.detector_ms >= 0
    assert stats.frames_skipped == 0


def test_line_counts_match_ground_truth_crossings(clip: SyntheticClip, tmp_path: Path) -> None:
    cfg = _cfg(clip, 1)
    gt = load_mot(clip.gt)
    memory, _ = _run(cfg, gt, tmp_path)
    # Direct: each GT person crossing x = 0 (the 'centre' line, pointing +y): +x is 'out' (to its right).
    expected = {"in": 0, "out": 0}
    tracks: dict[int, list[np.ndarray]] = {}
    for index in sorted(gt.frames):
        f = gt.frames[index]
        assert f.ground_m is not None
        for i, g in zip(f.ids, f.ground_m, strict=True):
            tracks.setdefault(int(i), []).append(g)
    for positions in tracks.values():
        xs = [p[0] for p in positions]
        if min(xs) < 0 < max(xs):
            expected["out" if xs[-1] > xs[0] else "in"] += 1
    got = {"in": 0, "out": 0}
    for m in memory.metrics:
        if m.zone == "walkway":
            got["in"] += m.lines["centre"]["in"]
            got["out"] += m.lines["centre"]["out"]
    assert expected["in"] + expected["out"] > 0
    assert got == expected


@pytest.mark.parametrize(
    ("every_n", "threads", "detect_ahead", "expected"),
    [(4, 0, True, 1), (1, 0, True, 0), (4, 0, False, 0), (4, 2, True, 2)],
)
def test_detector_threads_left_to_the_edge_are_one_only_when_detecting_ahead_every_few_frames(
    clip: SyntheticClip, every_n: int, threads: int, detect_ahead: bool, expected: int
) -> None:
    cfg = _cfg(clip, every_n)
    cfg = cfg.model_copy(update={"detector": cfg.detector.model_copy(update={"threads": threads})})
    gt = load_mot(clip.gt)
    built: list[int] = []

    def factory(c: EdgeConfig, _g: object) -> GroundTruthDetector:
        built.append(c.detector.threads)
        return GroundTruthDetector(gt)

    source = open_source(cfg.camera.source, fps=cfg.camera.fps)
    Pipeline(cfg, source, [MemorySink()], detector_factory=factory, detect_ahead=detect_ahead).run(max_frames=5)
    assert built == [expected]
