"""On-demand snapshots: one downscaled, annotated, privacy-pixelated JPEG per operator request.

Only aggregates leave the edge otherwise, so this is deliberately narrow: nothing is drawn or encoded
until a `snapshot` command arrives (the pipeline's frame hook only keeps references to the latest frame
and what was drawn on it), the long side is capped, and a per-camera rate limit refuses requests that
come too close together, so no client can turn it into a video stream.
"""

from __future__ import annotations

import base64
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

import cv2
import numpy as np
import numpy.typing as npt

from contract.edge_messages import CommandMessage, SnapshotMessage
from edge.annotate import Image, draw_frame
from edge.calibration import CameraGeometry
from edge.config import SnapshotConfig
from edge.types import Frame, Tracks, ZoneMetrics

if TYPE_CHECKING:
    from edge.pipeline import Pipeline


@dataclass(frozen=True)
class Scene:
    """References to what the pipeline last processed; no copy, no drawing (that is the request's cost).
    The pipeline never writes into a frame's image after processing it (`draw_frame` draws on a copy)."""

    frame: Frame
    taken_at: float  # UNIX time the frame was processed
    tracks: Tracks
    geometry: CameraGeometry
    metrics_by_zone: Mapping[str, ZoneMetrics]
    detected_xyxy: npt.NDArray[np.float32] | None = None


def render_jpeg(scene: Scene, cfg: SnapshotConfig) -> tuple[bytes, int, int]:
    """The annotated picture as JPEG bytes with its width and height. Pixelation happens on the full-size
    frame (boxes are in its pixels) before the downscale, so no unpixelated pixel reaches the encoder."""
    los = {zone_id: m.los for zone_id, m in scene.metrics_by_zone.items()}
    img: Image = draw_frame(
        scene.frame,
        scene.tracks,
        scene.geometry,
        los,
        blur_people=cfg.blur_people,
        metrics_by_zone=scene.metrics_by_zone,
        detected_xyxy=scene.detected_xyxy,
    )
    h, w = img.shape[:2]
    scale = min(1.0, cfg.max_side_px / max(h, w))
    if scale < 1.0:
        size = (max(round(w * scale), 1), max(round(h * scale), 1))
        img = np.asarray(cv2.resize(img, size, interpolation=cv2.INTER_AREA), dtype=np.uint8)
    ok, buf = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, cfg.jpeg_quality])
    if not ok:
        raise ValueError("JPEG encoding failed")
    return buf.tobytes(), img.shape[1], img.shape[0]


class SnapshotDesk:
    """Keeps the latest scene and answers snapshot commands with a SnapshotMessage (picture or refusal).

    `keep` runs on the pipeline's thread every frame; `answer` on the MQTT thread. A reference swap is
    atomic in Python, so they need no lock; the rate limit has one (two commands may race).
    """

    def __init__(
        self, cfg: SnapshotConfig, *, site: str, camera: str, monotonic: Callable[[], float] = time.monotonic
    ) -> None:
        self.cfg = cfg
        self.site = site
        self.camera = camera
        self._monotonic = monotonic
        self._scene: Scene | None = None
        self._last_sent: float | None = None
        self._lock = threading.Lock()

    def keep(self, scene: Scene) -> None:
        self._scene = scene

    def answer(self, cmd: CommandMessage) -> SnapshotMessage:
        if not self.cfg.enabled:
            return self._refusal(cmd, "refused", "snapshots are turned off in this edge's config")
        scene = self._scene
        if scene is None:
            return self._refusal(cmd, "unavailable", "no frame processed yet")
        with self._lock:
            now = self._monotonic()
            if self._last_sent is not None and now - self._last_sent < self.cfg.min_interval_s:
                wait = self.cfg.min_interval_s - (now - self._last_sent)
                return self._refusal(
                    cmd, "refused", f"one snapshot per {self.cfg.min_interval_s:g} s per camera", retry_after_s=wait
                )
            self._last_sent = now  # taken before encoding: a failed encode still counts, retrying it would too
        jpeg, width, height = render_jpeg(scene, self.cfg)
        return SnapshotMessage(
            site=self.site,
            camera=self.camera,
            request_id=cmd.request_id,
            status="ok",
            reason=None,
            retry_after_s=None,
            taken_at=scene.taken_at,
            width=width,
            height=height,
            blurred=self.cfg.blur_people,
            jpeg=base64.b64encode(jpeg).decode("ascii"),
        )

    def _refusal(
        self, cmd: CommandMessage, status: str, reason: str, retry_after_s: float | None = None
    ) -> SnapshotMessage:
        return SnapshotMessage.model_validate(
            {
                "site": self.site,
                "camera": self.camera,
                "request_id": cmd.request_id,
                "status": status,
                "reason": reason,
                "retry_after_s": None if retry_after_s is None else round(retry_after_s, 3),
                "taken_at": None,
                "width": None,
                "height": None,
                "blurred": None,
                "jpeg": None,
            }
        )


def scene_keeper(
    pipeline: Pipeline, desk: SnapshotDesk, clock: Callable[[], float] = time.time
) -> Callable[[Frame], None]:
    """The frame hook that hands each processed frame, with the tracks and boxes drawn on it, to `desk`.

    Reads the pipeline's latest tracks and detector boxes; the hook runs at the end of each processed frame,
    when they belong to `frame`.
    """

    def keep(frame: Frame) -> None:
        desk.keep(
            Scene(
                frame=frame,
                taken_at=clock(),
                tracks=pipeline.tracks,
                geometry=pipeline.geometry,
                metrics_by_zone=dict(pipeline.last_metrics),  # the pipeline updates its own dict in place
                detected_xyxy=pipeline.last_detected_xyxy,
            )
        )

    return keep
