"""Annotated output for `crowd-edge run --annotate OUT`: boxes, track ids, zones coloured by level
of service. OUT ending in .mp4/.avi/.mkv is a video; anything else is a folder of PNG frames."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt

from edge.calibration import CameraGeometry, draw_zones
from edge.types import Frame, Tracks

Image = npt.NDArray[np.uint8]
VIDEO_SUFFIXES = {".mp4": "mp4v", ".avi": "MJPG", ".mkv": "MJPG"}


def pixelate_boxes(img: Image, xyxy: npt.NDArray[np.float32], block_px: int = 8) -> None:
    """Pixelate each box in place so that nobody can be recognised in a saved frame.

    Pixelation rather than a blur: a blur of a small face can sometimes be undone, coarse blocks cannot.
    """
    h, w = img.shape[:2]
    for box in xyxy:
        x1, y1 = max(int(box[0]), 0), max(int(box[1]), 0)
        x2, y2 = min(int(np.ceil(box[2])), w), min(int(np.ceil(box[3])), h)
        if x2 - x1 < 2 or y2 - y1 < 2:
            continue
        roi = img[y1:y2, x1:x2]
        small = cv2.resize(
            roi, (max((x2 - x1) // block_px, 1), max((y2 - y1) // block_px, 1)), interpolation=cv2.INTER_AREA
        )
        img[y1:y2, x1:x2] = cv2.resize(small, (x2 - x1, y2 - y1), interpolation=cv2.INTER_NEAREST)


def draw_frame(
    frame: Frame,
    tracks: Tracks,
    geometry: CameraGeometry,
    los_by_zone: dict[str, str],
    *,
    blur_people: bool = False,
) -> Image:
    src = frame.image if frame.image.ndim == 3 else cv2.cvtColor(frame.image, cv2.COLOR_GRAY2BGR)
    img: Image = np.array(src, dtype=np.uint8, copy=True)
    if blur_people:
        pixelate_boxes(img, tracks.xyxy)
    draw_zones(img, geometry, los_by_zone)
    for tid, box, confirmed in zip(tracks.ids, tracks.xyxy, tracks.confirmed, strict=True):
        x1, y1, x2, y2 = (round(float(v)) for v in box)
        colour = (0, 255, 0) if confirmed else (0, 200, 255)
        cv2.rectangle(img, (x1, y1), (x2, y2), colour, 1 if not confirmed else 2)
        if confirmed:
            cv2.putText(img, str(int(tid)), (x1, max(y1 - 3, 10)), cv2.FONT_HERSHEY_SIMPLEX, 0.45, colour, 1)
    cv2.putText(
        img,
        f"frame {frame.index}  t {frame.t_s:.2f}s",
        (6, img.shape[0] - 8),
        cv2.FONT_HERSHEY_SIMPLEX,
        0.45,
        (255, 255, 255),
        1,
        cv2.LINE_AA,
    )
    return img


class Annotator:
    """Writes annotated frames locally; they never leave the edge. `blur_people` pixelates every tracked box."""

    def __init__(self, out: str | Path, fps: float = 10.0, *, blur_people: bool = False) -> None:
        self.out = Path(out)
        self.fps = fps
        self.blur_people = blur_people
        self._writer: cv2.VideoWriter | None = None
        self.frames_written = 0
        self.is_video = self.out.suffix.lower() in VIDEO_SUFFIXES
        if self.is_video:
            self.out.parent.mkdir(parents=True, exist_ok=True)
        else:
            self.out.mkdir(parents=True, exist_ok=True)

    def write(self, image: Image, frame_index: int) -> None:
        if self.is_video:
            if self._writer is None:
                fourcc = cv2.VideoWriter.fourcc(*VIDEO_SUFFIXES[self.out.suffix.lower()])
                self._writer = cv2.VideoWriter(str(self.out), fourcc, self.fps, (image.shape[1], image.shape[0]))
                if not self._writer.isOpened():
                    raise OSError(f"cannot write video: {self.out}")
            self._writer.write(image)
        else:
            cv2.imwrite(str(self.out / f"frame_{frame_index:06d}.png"), image)
        self.frames_written += 1

    def close(self) -> None:
        if self._writer is not None:
            self._writer.release()
            self._writer = None
