"""Detection ahead in a worker thread: same calls, in frame order, same pipeline output as detecting in line."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from edge.config import load
from edge.detect_ahead import MAX_DEPTH, DetectAhead
from edge.evaluation import GroundTruthDetector, load_mot
from edge.pipeline import Pipeline
from edge.sinks import MemorySink, metrics_to_dict
from edge.sources import open_source
from edge.synthetic import SyntheticClip, render_clip
from edge.types import Detections, Frame


class Recorder:
    """Answers one box at x = frame index; records which frames it saw, and on which thread."""

    name = "recorder"

    def __init__(self) -> None:
        self.calls: list[int] = []
        self.threads: set[str] = set()

    def detect(self, frame: Frame) -> Detections:
        self.calls.append(frame.index)
        self.threads.add(threading.current_thread().name)
        i = float(frame.index)
        return Detections(np.array([[i, 0, i + 1, 1]], np.float32), np.array([0.9], np.float32))


def frames(n: int) -> Iterator[Frame | None]:
    for i in range(n):
        yield Frame(i, i / 10, np.zeros((4, 4), np.uint8))


def test_picked_frames_are_detected_ahead_in_order_and_handed_back_by_index() -> None:
    detector = Recorder()
    processed: list[int] = []
    ahead = DetectAhead(4, lambda _f, before: (len(processed) + before) % 4 == 0, lambda: detector)
    try:
        for frame in ahead.frames(frames(13)):
            assert frame is not None
            if frame.index % 4 == 0:
                dets, seconds = ahead.detect(frame, detector)
                assert dets.xyxy[0, 0] == frame.index and seconds >= 0
            processed.append(frame.index)
    finally:
        ahead.close()
    assert processed == list(range(13))
    assert detector.calls == [0, 4, 8, 12]
    assert detector.threads == {t for t in detector.threads if t.startswith("detect-ahead")}


def test_no_job_starts_before_the_detector_exists_nor_ahead_of_an_earlier_frame() -> None:
    detector = Recorder()
    ready: list[Recorder] = []
    ahead = DetectAhead(1, lambda _f, _before: True, lambda: ready[0] if ready else None)
    try:
        for frame in ahead.frames(frames(6)):
            assert frame is not None
            ready[:] = [detector]  # the pipeline builds its detector on the first frame
            ahead.detect(frame, detector)
    finally:
        ahead.close()
    assert detector.calls == list(range(6))


def test_none_from_a_live_source_passes_through_after_the_frames_before_it() -> None:
    def stream() -> Iterator[Frame | None]:
        yield from frames(2)
        yield None
        yield Frame(2, 0.2, np.zeros((4, 4), np.uint8))

    ahead = DetectAhead(4, lambda _f, _b: False, lambda: None)
    out = [f.index if f is not None else None for f in ahead.frames(stream())]
    ahead.close()
    assert out == [0, 1, None, 2]


def test_at_most_max_depth_frames_are_held_back_whatever_the_detection_interval() -> None:
    held: list[int] = []

    def wanted(_frame: Frame, frames_before: int) -> bool:
        held.append(frames_before)
        return False

    ahead = DetectAhead(100, wanted, lambda: Recorder())
    out = [f.index for f in ahead.frames(frames(30)) if f is not None]
    ahead.close()
    assert out == list(range(30)) and max(held) == MAX_DEPTH


def test_prepare_runs_on_every_frame_in_a_worker_and_is_handed_back_by_frame() -> None:
    threads: set[str] = set()

    def prepare(image: np.ndarray) -> float:
        threads.add(threading.current_thread().name)
        return float(image[0, 0])

    def marked(n: int) -> Iterator[Frame | None]:
        for i in range(n):
            yield Frame(i, i / 10, np.full((4, 4), i, np.uint8))

    ahead = DetectAhead(3, lambda _f, _b: False, lambda: None, prepare=prepare)
    try:
        got = [(f.index, ahead.prepared(f)) for f in ahead.frames(marked(10)) if f is not None]
    finally:
        ahead.close()
    assert got == [(i, float(i)) for i in range(10)]
    assert threads and all(t.startswith("prepare-ahead") for t in threads)


def test_prepared_without_a_prepare_function_is_a_clear_error() -> None:
    ahead = DetectAhead(3, lambda _f, _b: False, lambda: None)
    try:
        with pytest.raises(RuntimeError, match="prepare"):
            ahead.prepared(Frame(0, 0.0, np.zeros((4, 4), np.uint8)))
    finally:
        ahead.close()


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> SyntheticClip:
    return render_clip(tmp_path_factory.mktemp("synthetic"), duration_s=4.0, fps=10.0)


@pytest.mark.parametrize("every_n", [1, 3])
def test_pipeline_output_is_the_same_with_and_without_detecting_ahead(
    clip: SyntheticClip, tmp_path: Path, every_n: int
) -> None:
    cfg = load(clip.config)
    cfg = cfg.model_copy(update={"detector": cfg.detector.model_copy(update={"every_n_frames": every_n})})
    gt = load_mot(clip.gt)
    runs = []
    for detect_ahead in (False, True):
        memory = MemorySink()
        source = open_source(cfg.camera.source, fps=cfg.camera.fps)
        pipe = Pipeline(
            cfg, source, [memory], detector_factory=lambda _c, _g: GroundTruthDetector(gt), detect_ahead=detect_ahead
        )
        stats = pipe.run()
        runs.append(([metrics_to_dict(m) for m in memory.metrics], stats.frames_processed, stats.detections_run))
    assert runs[0] == runs[1]
    assert runs[1][1] == clip.frames and runs[1][2] == -(-clip.frames // every_n)
