"""Detection (and any per-frame preparation) of upcoming frames in worker threads, overlapping the
pipeline's work on the frames before.

onnxruntime and OpenCV release the GIL while they compute, so on a file (every frame is known in
advance) the detector can run on frame k while the main thread carries boxes by optical flow over
frames k-3..k-1: the main thread, not the CPU, limits a file's frames per second when cores are free.
One worker thread calls the detector in frame order, so a detector that keeps state between calls
(the offline detector's online scale correction) sees the same sequence as when called in line.
A second worker runs `prepare` (a pure function of the frame, e.g. its grey images for optical flow)
on every buffered frame, taking that work off the main thread too.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Generic, TypeVar

import numpy as np
import numpy.typing as npt

from edge.detectors import Detector
from edge.types import Detections, Frame

MAX_DEPTH = 8

P = TypeVar("P")


class DetectAhead(Generic[P]):
    """Buffers `depth` frames from a source and starts detection on those that `wanted` picks.

    `wanted(frame, frames_before)` answers for a frame that `frames_before` buffered frames precede;
    `detector()` is the current detector (None until the pipeline has one), read when a job starts.
    `prepare(image)`, if given, runs on every frame as it is buffered; `prepared(frame)` hands it back.
    """

    def __init__(
        self,
        depth: int,
        wanted: Callable[[Frame, int], bool],
        detector: Callable[[], Detector | None],
        prepare: Callable[[npt.NDArray[np.uint8]], P] | None = None,
    ) -> None:
        # Frames held back cost memory (6 MB each at 1080p) and a detection needs only a few frames' head start.
        self.depth = min(max(depth, 1), MAX_DEPTH)
        self._wanted = wanted
        self._detector = detector
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="detect-ahead")
        self._jobs: dict[int, Future[tuple[Detections, float]]] = {}
        self._prepare = prepare
        self._prep_pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="prepare-ahead") if prepare else None
        self._prepared: dict[int, Future[P]] = {}
        self._buffer: deque[Frame] = deque()
        # Frames at the buffer's head already offered to `wanted`, in order: jobs must start in frame
        # order, so none starts before the detector exists or ahead of a frame not yet offered.
        self._offered = 0

    def frames(self, source: Iterator[Frame | None]) -> Iterator[Frame | None]:
        for frame in source:
            if frame is None:  # a live source's "nothing new": pass it on after the frames before it
                while self._buffer:
                    yield self._pop()
                yield None
                continue
            self._buffer.append(frame)
            if self._prep_pool is not None and self._prepare is not None:
                self._prepared[frame.index] = self._prep_pool.submit(self._prepare, frame.image)
            self._offer()
            if len(self._buffer) > self.depth:
                yield self._pop()
        while self._buffer:
            yield self._pop()

    def _pop(self) -> Frame:
        self._offered = max(self._offered - 1, 0)
        return self._buffer.popleft()

    def _offer(self) -> None:
        detector = self._detector()
        if detector is None:
            return
        for k in range(self._offered, len(self._buffer)):
            frame = self._buffer[k]
            if frame.index not in self._jobs and self._wanted(frame, k):
                self._jobs[frame.index] = self._pool.submit(_timed_detect, detector, frame)
        self._offered = len(self._buffer)

    def detect(self, frame: Frame, detector: Detector) -> tuple[Detections, float]:
        """The frame's detections (started ahead when it was picked) and the detector's seconds on it."""
        job = self._jobs.pop(frame.index, None)
        if job is None:
            # Not picked ahead (the first frames, a size change): still through the one worker, in order.
            job = self._pool.submit(_timed_detect, detector, frame)
        return job.result()

    def prepared(self, frame: Frame) -> P:
        """`prepare(frame.image)`, computed ahead when the frame was buffered (in line if it was not)."""
        if self._prepare is None:
            raise RuntimeError("DetectAhead was built without a prepare function")
        job = self._prepared.pop(frame.index, None)
        return job.result() if job is not None else self._prepare(frame.image)

    def discard(self) -> None:
        """Forget jobs started on a detector being replaced; their frames are detected again when they come."""
        for job in self._jobs.values():
            job.cancel()
        self._jobs.clear()
        self._offered = 0  # offer the buffered frames again, to the new detector

    def close(self) -> None:
        self.discard()
        for prep in self._prepared.values():
            prep.cancel()
        self._prepared.clear()
        self._pool.shutdown(wait=True)
        if self._prep_pool is not None:
            self._prep_pool.shutdown(wait=True)


def _timed_detect(detector: Detector, frame: Frame) -> tuple[Detections, float]:
    t0 = time.perf_counter()
    detections = detector.detect(frame)
    return detections, time.perf_counter() - t0
