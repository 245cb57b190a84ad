from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest

from edge.sources import FileSource, FolderSource, LiveSource, SourceError, open_source


def _image(value: int) -> np.ndarray:
    img = np.zeros((48, 64, 3), np.uint8)
    img[:, :] = value
    return img


def _write_video(path: Path, n: int, fps: float) -> None:
    w = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"MJPG"), fps, (64, 48))
    for k in range(n):
        w.write(_image(10 * k))
    w.release()


def test_file_timestamps_from_container_and_fps_override(tmp_path: Path) -> None:
    video = tmp_path / "clip.avi"
    _write_video(video, 12, fps=10.0)
    frames = [f for f in FileSource(video).frames() if f is not None]
    assert [f.index for f in frames] == list(range(12))
    np.testing.assert_allclose([f.t_s for f in frames], np.arange(12) / 10.0, atol=1e-6)
    # A container that lies about its rate: the config's fps wins.
    frames7 = [f for f in FileSource(video, fps=7.0).frames() if f is not None]
    np.testing.assert_allclose([f.t_s for f in frames7], np.arange(12) / 7.0, atol=1e-9)


def test_realtime_paces_a_file(tmp_path: Path) -> None:
    video = tmp_path / "clip.avi"
    _write_video(video, 6, fps=20.0)
    t0 = time.monotonic()
    n = sum(1 for _ in FileSource(video, realtime=True).frames())
    assert n == 6
    assert time.monotonic() - t0 >= 0.2  # 5 frame steps at 20 fps


def test_missing_and_unreadable_files_name_the_path(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match=r"nope\.mp4"):
        open_source(str(tmp_path / "nope.mp4"))
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"this is not a video" * 10)
    with pytest.raises(SourceError, match=r"junk\.mp4"):
        open_source(str(junk))


def test_folder_skips_and_counts_a_corrupt_image(tmp_path: Path) -> None:
    for k in range(5):
        cv2.imwrite(str(tmp_path / f"{k:03d}.png"), _image(20 * k))
    (tmp_path / "002.png").write_bytes(b"\x89PNG broken")
    src = FolderSource(tmp_path, fps=5.0)
    frames = [f for f in src.frames() if f is not None]
    assert [f.index for f in frames] == [0, 1, 3, 4]  # indices stay the source's
    assert [f.t_s for f in frames] == [0.0, 0.2, 0.6, 0.8]
    assert src.counters.frames_skipped == 1


class _FakeCapture:
    """A stream that delivers `n_frames` frames, then dies (read fails)."""

    def __init__(self, n_frames: int, opened: bool = True, delay_s: float = 0.0) -> None:
        self.n = n_frames
        self.opened = opened
        self.delay_s = delay_s

    def isOpened(self) -> bool:
        return self.opened

    def read(self) -> tuple[bool, Any]:
        time.sleep(self.delay_s)
        if self.n <= 0:
            return False, None
        self.n -= 1
        return True, _image(self.n % 250)

    def grab(self) -> bool:
        return False

    def retrieve(self) -> tuple[bool, Any]:
        return False, None

    def get(self, prop: int) -> float:
        return 0.0

    def release(self) -> None:
        pass


def test_live_latest_frame_wins_reconnects_and_never_fakes_frames() -> None:
    opens: list[float] = []
    lock = threading.Lock()

    def opener(spec: str) -> _FakeCapture:
        with lock:
            opens.append(time.monotonic())
            n = len(opens)
        if n == 2:
            return _FakeCapture(0, opened=False)  # the camera refuses once
        return _FakeCapture(30, delay_s=0.002)

    src = LiveSource("rtsp://cam", opener=opener, poll_s=0.05, backoff_initial_s=0.05)
    got = []
    nones = 0
    deadline = time.monotonic() + 5
    for item in src.frames():
        if item is None:
            nones += 1
        else:
            got.append(item)
            time.sleep(0.01)  # a slow consumer: the reader must not queue up frames
        if len(opens) >= 3 and src.counters.reconnects >= 1 and nones >= 2 and len(got) > 5:
            break
        if time.monotonic() > deadline:
            break
    src.close()
    assert src.counters.reconnects >= 1
    assert src.counters.frames_dropped > 0
    assert src.counters.frames_read == len(got) + src.counters.frames_dropped + (1 if src._latest else 0)
    indices = [f.index for f in got]
    assert indices == sorted(indices) and len(set(indices)) == len(indices)
    assert nones >= 2  # while the stream was down, no frames were made up
    # Backoff: the refused open was retried after a wait, not in a tight loop.
    assert opens[2] - opens[1] >= 0.04


def test_file_frame_that_fails_to_decode_is_skipped_and_counted(tmp_path: Path) -> None:
    video = tmp_path / "clip.avi"
    rng = np.random.default_rng(0)
    w = cv2.VideoWriter(str(video), cv2.VideoWriter.fourcc(*"MJPG"), 10.0, (64, 48))
    for _ in range(10):
        w.write(rng.integers(0, 255, (48, 64, 3), dtype=np.uint8))
    w.release()
    data = bytearray(video.read_bytes())
    # Wipe the fifth JPEG (start to end marker) inside its AVI chunk: that frame cannot be decoded.
    soi = [i for i in range(len(data) - 1) if data[i] == 0xFF and data[i + 1] == 0xD8]
    eoi = [i for i in range(len(data) - 1) if data[i] == 0xFF and data[i + 1] == 0xD9]
    start = soi[4]
    end = next(i for i in eoi if i > start) + 2
    data[start:end] = bytes(end - start)
    video.write_bytes(bytes(data))
    src = FileSource(video)
    frames = [f for f in src.frames() if f is not None]
    assert [f.index for f in frames] == [0, 1, 2, 3, 5, 6, 7, 8, 9]
    np.testing.assert_allclose([f.t_s for f in frames], [f.index / 10.0 for f in frames], atol=1e-6)
    assert src.counters.frames_skipped == 1
