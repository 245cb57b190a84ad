"""Detection of upcoming frames in a worker thread, overlapping the pipeline's work on the frames before.

onnxruntime and OpenCV release the GIL while they compute, so on a file (every frame is known in
advance) the detector can run on frame k while the main thread carries boxes by optical flow over
frames k-3..k-1: the main thread, not the CPU, limits a file's frames per second when cores are free.
One worker thread calls the detector in frame order, so a detector that keeps state between calls
(the offline detector's online scale correction) sees the same sequence as when called in line.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor

from edge.detectors import Detector
from edge.types import Detections, Frame

MAX_DEPTH = 8


class DetectAhead:
    """Buffers `depth` frames from a source and starts detection on those that `wanted` picks.

    `wanted(frame, frames_before)` answers for a frame that `frames_before` buffered frames precede;
    `detector()` is the current detector (None until the pipeline has one), read when a job starts.
    """

    def __init__(
        self, depth: int, wanted: Callable[[Frame, int], bool], detector: Callable[[], Detector | None]
    ) -> None:
        # Frames held back cost memory (6 MB each at 1080p) and a detection needs only a few frames' head start.
        self.depth = min(max(depth, 1), MAX_DEPTH)
        self._wanted = wanted
        self._detector = detector
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="detect-ahead")
        self._jobs: dict[int, Future[tuple[Detections, float]]] = {}
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

    def discard(self) -> None:
        """Forget jobs started on a detector being replaced; their frames are detected again when they come."""
        for job in self._jobs.values():
            job.cancel()
        self._jobs.clear()
        self._offered = 0  # offer the buffered frames again, to the new detector

    def close(self) -> None:
        self.discard()
        self._pool.shutdown(wait=True)


def _timed_detect(detector: Detector, frame: Frame) -> tuple[Detections, float]:
    t0 = time.perf_counter()
    detections = detector.detect(frame)
    return detections, time.perf_counter() - t0
