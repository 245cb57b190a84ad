"""`offline` backend, the default: people as moving foreground on a fixed camera, no weights needed.

A Gaussian-mixture background model (OpenCV MOG2) marks pixels that differ from the learnt scene,
shadows excluded; morphology removes speckle and joins a body's parts; the calibration's expected
person size at each foot position then explains each blob as zero, one or several people
(`fitting.fit_people`). Without a calibration the blobs are used directly (`fitting.blobs_to_people`).

People standing still for longer than about `history_frames` fade into the background; that is the
price of needing no trained model.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

from edge.config import DetectorConfig
from edge.detectors.base import DetectorContext, register
from edge.detectors.fitting import FitParams, blobs_to_people, fit_people
from edge.detectors.scale import PersonScaleMap, rescale_homography
from edge.types import Detections, Frame

Mask = npt.NDArray[np.uint8]


@dataclass(frozen=True)
class BackgroundParams:
    history_frames: int = 500
    var_threshold: float = 16.0  # squared Mahalanobis distance for "foreground"
    blur_px: int = 3  # pre-blur against sensor noise and compression blocks
    open_px: int = 3
    close_w_px: int = 3
    close_h_px: int = 7  # taller than wide: joins head, torso and legs split by similar colours


class BackgroundModel:
    """Foreground masks of a fixed camera: 255 = moving object, 0 = background or shadow."""

    def __init__(self, params: BackgroundParams | None = None) -> None:
        self.params = params or BackgroundParams()
        self._mog = cv2.createBackgroundSubtractorMOG2(
            history=self.params.history_frames, varThreshold=self.params.var_threshold, detectShadows=True
        )
        self._open = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (self.params.open_px, self.params.open_px))
        self._close = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (self.params.close_w_px, self.params.close_h_px))

    def apply(self, image: npt.NDArray[np.uint8]) -> Mask:
        if self.params.blur_px > 1:
            image = np.asarray(cv2.GaussianBlur(image, (self.params.blur_px, self.params.blur_px), 0), np.uint8)
        raw = self._mog.apply(image)
        fg = np.where(raw == 255, np.uint8(255), np.uint8(0))  # 127 = shadow
        fg = np.asarray(cv2.morphologyEx(fg, cv2.MORPH_OPEN, self._open), np.uint8)
        return np.asarray(cv2.morphologyEx(fg, cv2.MORPH_CLOSE, self._close), np.uint8)


class OfflineDetector:
    """Background subtraction + scale-aware blob fitting. Stateful: one instance per camera."""

    name = "offline"

    def __init__(
        self,
        cfg: DetectorConfig,
        ctx: DetectorContext | None = None,
        background: BackgroundParams | None = None,
        fit: FitParams | None = None,
    ) -> None:
        self._cfg = cfg
        self._ctx = ctx or DetectorContext()
        self._background_params = background or BackgroundParams()
        self._fit = fit or FitParams()
        self._background: BackgroundModel | None = None
        self._frame_size: tuple[int, int] | None = None
        self._scale: PersonScaleMap | None = None

    @property
    def scale_map(self) -> PersonScaleMap | None:
        return self._scale

    def _reset_for(self, frame_size: tuple[int, int]) -> None:
        # A new frame size (a reconnecting stream changed resolution) invalidates the learnt scene.
        self._frame_size = frame_size
        self._background = BackgroundModel(self._background_params)
        h, cal_size = self._ctx.image_to_ground_m, self._ctx.image_size_px
        self._scale = None
        if h is not None and cal_size is not None:
            self._scale = PersonScaleMap.from_homography(
                rescale_homography(h, cal_size, frame_size), frame_size, self._cfg.person_height_m
            )

    def foreground(self, frame: Frame) -> Mask:
        """Update the background model with this frame and return its foreground mask."""
        size = (frame.image.shape[1], frame.image.shape[0])
        if size != self._frame_size or self._background is None:
            self._reset_for(size)
        assert self._background is not None
        return self._background.apply(frame.image)

    def detect(self, frame: Frame) -> Detections:
        mask = self.foreground(frame)
        dets = fit_people(mask, self._scale, self._fit) if self._scale is not None else blobs_to_people(mask, self._fit)
        keep = dets.scores >= min(self._cfg.confidence, 0.99)
        return dets[keep]


@register("offline")
def _build(cfg: DetectorConfig, ctx: DetectorContext) -> OfflineDetector:
    return OfflineDetector(cfg, ctx)
