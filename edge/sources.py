"""Video sources: an iterator of `Frame`s, or `None` while a live source has nothing new.

- `FileSource`: a video file, decoded as fast as possible (or paced with `realtime`). Times are the
  container's timestamps, unless `fps` is given: some files lie about their rate.
- `FolderSource`: a folder of images in name order; times from `fps`.
- `LiveSource`: RTSP/HTTP streams and webcams. A reader thread keeps only the latest frame, so a
  slow pipeline never falls behind (the replaced frames are counted as dropped), and reconnects with
  exponential backoff. It never invents a frame: while the stream is down the consumer gets `None`
  and the metrics go stale.
Frames that fail to decode are skipped and counted; frame indices stay those of the source.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, cast

import cv2
import numpy as np
import numpy.typing as npt

from edge.types import Frame

log = logging.getLogger(__name__)

Image = npt.NDArray[np.uint8]
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp")


class SourceError(RuntimeError):
    """A source that cannot be opened; the message names it."""


@dataclass
class SourceCounters:
    """Running counters of one source (mutable; read by the pipeline's stats)."""

    frames_read: int = 0
    frames_skipped: int = 0
    frames_dropped: int = 0
    reconnects: int = 0
    connected: bool = False


class Source(Protocol):
    live: bool
    counters: SourceCounters

    def frames(self) -> Iterator[Frame | None]:
        """Frames in order; a live source yields None when no new frame came within its poll time."""
        ...

    def close(self) -> None: ...

    @property
    def frame_count(self) -> int | None:
        """Frames in a file or folder, None for live sources."""
        ...

    @property
    def fps(self) -> float | None: ...


class Capture(Protocol):
    """The slice of cv2.VideoCapture the sources use; tests pass in-memory twins."""

    def isOpened(self) -> bool: ...

    def grab(self) -> bool: ...

    def retrieve(self) -> tuple[bool, Any]: ...

    def read(self) -> tuple[bool, Any]: ...

    def get(self, prop: int) -> float: ...

    def release(self) -> None: ...


def _pace(start_wall: float, t0: float | None, t_s: float) -> None:
    if t0 is None:
        return
    delay = (t_s - t0) - (time.monotonic() - start_wall)
    if delay > 0:
        time.sleep(delay)


class FileSource:
    live = False
    # After this many undecodable frames in a row, the rest of the file is taken as unreadable.
    MAX_CONSECUTIVE_FAILURES = 50

    def __init__(self, path: str | Path, fps: float | None = None, realtime: bool = False, prefetch: int = 4) -> None:
        self.path = Path(path)
        if not self.path.is_file():
            raise SourceError(f"video not found: {self.path}")
        # Frames decoded ahead by a thread: OpenCV releases the GIL while it decodes, so decoding
        # overlaps the pipeline's work on the previous frame. 0 decodes in the caller's thread.
        self.prefetch = prefetch
        self._reader: _Prefetcher | None = None
        # With its own thread the decoder need not split frames across threads of its own: one decoder
        # thread costs 10-20% less CPU per frame (scripts/bench/edge_fps.py) and still keeps ahead.
        params = [cv2.CAP_PROP_N_THREADS, 1] if prefetch > 0 else []
        self._cap = cast(Capture, cv2.VideoCapture(str(self.path), cv2.CAP_ANY, params))
        if params and not self._cap.isOpened():  # a backend that refuses the setting may still read the file
            self._cap = cast(Capture, cv2.VideoCapture(str(self.path)))
        if not self._cap.isOpened():
            raise SourceError(f"cannot open video: {self.path} (not a video OpenCV can decode)")
        self._fps_override = fps
        container_fps = float(self._cap.get(cv2.CAP_PROP_FPS) or 0.0)
        self._container_fps = container_fps if container_fps > 0 else None
        n = int(self._cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0)
        self._frame_count = n if n > 0 else None
        self.realtime = realtime
        self.counters = SourceCounters(connected=True)

    @property
    def frame_count(self) -> int | None:
        return self._frame_count

    @property
    def fps(self) -> float | None:
        return self._fps_override or self._container_fps

    def frames(self) -> Iterator[Frame | None]:
        if self.prefetch <= 0:
            yield from self._decode()
            return
        self._reader = _Prefetcher(self._decode(), self.prefetch, f"decode:{self.path.name}")
        try:
            yield from self._reader
        finally:
            self._reader.stop()

    def _decode(self) -> Iterator[Frame]:
        index = -1
        failures = 0
        first_ms: float | None = None
        last_t: float | None = None
        start_wall = time.monotonic()
        t0: float | None = None
        while True:
            index += 1
            if not self._cap.grab():
                # grab() fails at the end, or on a broken packet mid-file: only the frame count tells.
                if self._frame_count is None or index >= self._frame_count:
                    return
                failures += 1
                self.counters.frames_skipped += 1
                if failures >= self.MAX_CONSECUTIVE_FAILURES:
                    log.warning("%s: %d frames in a row failed to decode; stopping", self.path, failures)
                    return
                continue
            ok, image = self._cap.retrieve()
            if not ok or image is None:
                failures += 1
                self.counters.frames_skipped += 1
                continue
            failures = 0
            if first_ms is None:
                first_ms = float(self._cap.get(cv2.CAP_PROP_POS_MSEC)) - 1000.0 * index * self._step_s
            t_s = self._timestamp(index, first_ms, last_t)
            last_t = t_s
            if self.realtime:
                t0 = t_s if t0 is None else t0
                _pace(start_wall, t0, t_s)
            self.counters.frames_read += 1
            yield Frame(index, t_s, image)

    @property
    def _step_s(self) -> float:
        return 1.0 / (self.fps or 25.0)

    def _timestamp(self, index: int, first_ms: float, last_t: float | None) -> float:
        if self._fps_override:
            return index / self._fps_override
        # Position after grab, relative to the first frame: some demuxers report the next frame's
        # time, some the current one's, but both are consistent from frame to frame.
        t = (float(self._cap.get(cv2.CAP_PROP_POS_MSEC)) - first_ms) / 1000.0
        if last_t is not None and not t > last_t:
            return last_t + self._step_s
        return t

    def close(self) -> None:
        if self._reader is not None:
            self._reader.stop()  # before release: the thread may be inside grab()
        self._cap.release()


class _Prefetcher:
    """Runs a frame iterator in a thread, at most `depth` frames ahead; errors re-raise in the consumer."""

    _END = object()

    def __init__(self, frames: Iterator[Frame], depth: int, name: str) -> None:
        self._frames = frames
        self._queue: queue.Queue[object] = queue.Queue(maxsize=depth)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def _put(self, item: object) -> bool:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def _run(self) -> None:
        try:
            for frame in self._frames:
                if not self._put(frame):
                    return
        except Exception as err:  # handed to the consumer, which raises it where the caller sees it
            self._put(err)
        finally:
            self._put(self._END)

    def __iter__(self) -> Iterator[Frame]:
        while True:
            item = self._queue.get()
            if item is self._END:
                return
            if isinstance(item, Exception):
                raise item
            yield cast(Frame, item)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10.0)


class FolderSource:
    live = False
    DEFAULT_FPS = 25.0

    def __init__(self, path: str | Path, fps: float | None = None, realtime: bool = False) -> None:
        self.path = Path(path)
        if not self.path.is_dir():
            raise SourceError(f"image folder not found: {self.path}")
        self.files = sorted(p for p in self.path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        if not self.files:
            raise SourceError(f"no images ({', '.join(IMAGE_SUFFIXES)}) in folder: {self.path}")
        if fps is None:
            log.warning("%s: no camera.fps for an image folder; assuming %.0f fps", self.path, self.DEFAULT_FPS)
        self._fps = fps or self.DEFAULT_FPS
        self.realtime = realtime
        self.counters = SourceCounters(connected=True)

    @property
    def frame_count(self) -> int | None:
        return len(self.files)

    @property
    def fps(self) -> float | None:
        return self._fps

    def frames(self) -> Iterator[Frame | None]:
        start_wall = time.monotonic()
        for index, file in enumerate(self.files):
            image = cv2.imread(str(file), cv2.IMREAD_COLOR)
            if image is None:
                log.warning("%s: cannot decode; skipped", file)
                self.counters.frames_skipped += 1
                continue
            t_s = index / self._fps
            if self.realtime:
                _pace(start_wall, 0.0, t_s)
            self.counters.frames_read += 1
            yield Frame(index, t_s, np.asarray(image, np.uint8))

    def close(self) -> None:
        pass


def _open_capture(spec: str) -> Capture:
    target: int | str = int(spec) if spec.isdigit() else spec
    return cast(Capture, cv2.VideoCapture(target))


class LiveSource:
    """Latest-frame-wins reader of a stream or webcam, with reconnects. Times are UNIX time."""

    live = True

    def __init__(
        self,
        spec: str,
        *,
        opener: Callable[[str], Capture] = _open_capture,
        clock: Callable[[], float] = time.time,
        poll_s: float = 0.5,
        backoff_initial_s: float = 0.5,
        backoff_max_s: float = 30.0,
    ) -> None:
        self.spec = spec
        self._opener = opener
        self._clock = clock
        self.poll_s = poll_s
        self.backoff_initial_s = backoff_initial_s
        self.backoff_max_s = backoff_max_s
        self.counters = SourceCounters()
        self._cond = threading.Condition()
        self._latest: Frame | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"source:{spec}", daemon=True)
        self._started = False

    @property
    def frame_count(self) -> int | None:
        return None

    @property
    def fps(self) -> float | None:
        return None

    def _run(self) -> None:
        index = 0
        backoff = self.backoff_initial_s
        first = True
        while not self._stop.is_set():
            cap = self._opener(self.spec)
            if not cap.isOpened():
                cap.release()
                log.warning("%s: cannot open; retrying in %.1f s", self.spec, backoff)
                self._stop.wait(backoff)
                backoff = min(backoff * 2, self.backoff_max_s)
                continue
            if not first:
                self.counters.reconnects += 1
            first = False
            self.counters.connected = True
            backoff = self.backoff_initial_s
            failures = 0
            while not self._stop.is_set():
                ok, image = cap.read()
                if not ok or image is None:
                    failures += 1
                    # A few bad frames are decode errors; many in a row mean the stream is gone.
                    if failures >= 5:
                        break
                    self.counters.frames_skipped += 1
                    continue
                failures = 0
                frame = Frame(index, self._clock(), image)
                index += 1
                with self._cond:
                    if self._latest is not None:
                        self.counters.frames_dropped += 1
                    self._latest = frame
                    self.counters.frames_read += 1
                    self._cond.notify()
            cap.release()
            self.counters.connected = False
            if not self._stop.is_set():
                log.warning("%s: stream lost; reconnecting in %.1f s", self.spec, backoff)
                self._stop.wait(backoff)
                backoff = min(backoff * 2, self.backoff_max_s)

    def frames(self) -> Iterator[Frame | None]:
        if not self._started:
            self._started = True
            self._thread.start()
        while not self._stop.is_set():
            with self._cond:
                if self._latest is None:
                    self._cond.wait(self.poll_s)
                frame, self._latest = self._latest, None
            yield frame

    def close(self) -> None:
        self._stop.set()
        with self._cond:
            self._cond.notify_all()
        if self._started:
            self._thread.join(timeout=5.0)


def open_source(spec: str, fps: float | None = None, realtime: bool = False) -> Source:
    """A source from `camera.source`: URL or digit -> live; folder -> images; else a video file."""
    if "://" in spec or spec.isdigit():
        return LiveSource(spec)
    path = Path(spec)
    if path.is_dir():
        return FolderSource(path, fps=fps, realtime=realtime)
    return FileSource(path, fps=fps, realtime=realtime)
