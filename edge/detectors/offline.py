"""`offline` backend, the default: a hybrid needing no downloaded weights.

A Gaussian-mixture background model (OpenCV MOG2) marks pixels that differ from the learnt scene,
shadows excluded; morphology removes speckle and joins a body's parts; the calibration's expected
person size at each foot position then explains each blob as zero, one or several people
(`fitting.fit_people`). Without a calibration the blobs are used directly (`fitting.blobs_to_people`).

Where people are expected at least `HogParams.min_height_px` tall (everywhere, when uncalibrated),
OpenCV's built-in HOG people detector also runs, at those sizes only (`hog.plan_strips`), and the two
are fused (`fusion.fuse`): HOG carries the detector while the background is being learnt and for people
the background model cannot see; background subtraction carries it where people are too small for HOG
and for people HOG misses behind others. Confident HOG hits also correct a rough calibration's person
scale online (`refine.ScaleRefiner`).

Moving people standing still for longer than about a tenth of `history_s` fade into the background;
where HOG runs, it still sees them.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

from edge.config import DetectorConfig
from edge.detectors.base import DetectorContext, confidence_of, register
from edge.detectors.fitting import FitParams, blobs_to_people, fit_people
from edge.detectors.fusion import FusionParams, HogEvidence, fuse
from edge.detectors.hog import HogParams, HogPeopleDetector, Strip, plan_strips
from edge.detectors.refine import RefineParams, ScaleRefiner
from edge.detectors.scale import PersonScaleMap, rescale_homography
from edge.types import Detections, Frame

Mask = npt.NDArray[np.uint8]


@dataclass(frozen=True)
class BackgroundParams:
    # MOG2 calls a colour background once it holds 1 - 0.9 of a pixel's weight, so at learning rate
    # a (per frame) a person standing still joins the background after about 0.1 / a frames. The rate
    # is set from source time so this lasts about 0.1 * history_s seconds at any frame rate.
    history_s: float = 150.0
    warmup_s: float = 3.0  # first seconds: learn fast (rate 1 / 2n) so the scene is known quickly
    var_threshold: float = 16.0  # squared Mahalanobis distance for "foreground"
    gain_grid_px: int = 4  # sampling step of the brightness compensation
    blur_px: int = 3  # pre-blur against sensor noise and compression blocks
    open_px: int = 3
    close_w_px: int = 3
    close_h_px: int = 7  # taller than wide: joins head, torso and legs split by similar colours


class BackgroundModel:
    """Foreground masks of a fixed camera: 255 = moving object, 0 = background or shadow."""

    def __init__(self, params: BackgroundParams | None = None) -> None:
        self.params = params or BackgroundParams()
        self._mog = cv2.createBackgroundSubtractorMOG2(
            history=500, varThreshold=self.params.var_threshold, detectShadows=True
        )
        self._open = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (self.params.open_px, self.params.open_px))
        self._close = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (self.params.close_w_px, self.params.close_h_px))

        self._frames = 0
        self._t0_s: float | None = None
        self._last_t_s: float | None = None
        self._dt_s = 0.1

    @property
    def warm(self) -> bool:
        """Past the fast-learning start: its foreground is now evidence (before, it shows ghosts)."""
        if self._t0_s is None or self._last_t_s is None:
            return False
        return self._last_t_s - self._t0_s >= self.params.warmup_s and self._frames >= 3

    def learning_rate(self, t_s: float) -> float:
        """Per-frame rate: 1 / 2n while warming up, then frame interval / history."""
        if self._last_t_s is not None and t_s > self._last_t_s:
            # smoothed frame interval; a stalled or jumping live clock must not swing the rate
            self._dt_s = 0.9 * self._dt_s + 0.1 * min(t_s - self._last_t_s, 1.0)
        if self._t0_s is None:
            self._t0_s = t_s
        self._last_t_s = t_s
        self._frames += 1
        if t_s - self._t0_s < self.params.warmup_s or self._frames < 3:
            return 1.0 / (2 * self._frames)
        return min(1.0, self._dt_s / self.params.history_s)

    def compensate_gain(self, image: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint8]:
        """The image scaled to the background's brightness.

        A passing cloud changes the whole scene by a few percent, more than the model's tolerance on
        bright surfaces, and learning it away at a slow rate would take minutes. The median ratio over
        a sparse grid ignores the people, who cover a minority of the pixels.
        """
        if self._frames < 2:
            return image
        background = self._mog.getBackgroundImage()
        if background is None or background.shape != image.shape:
            return image
        step = self.params.gain_grid_px
        sample = image[::step, ::step].reshape(-1, image.shape[2] if image.ndim == 3 else 1).astype(np.float32)
        ref = np.asarray(background)[::step, ::step].reshape(sample.shape).astype(np.float32)
        usable = np.all((sample > 15) & (sample < 240) & (ref > 15) & (ref < 240), axis=1)
        if usable.sum() < 100:
            return image
        gain = np.median(ref[usable] / sample[usable], axis=0)
        if np.all(np.abs(gain - 1.0) < 0.01):
            return image
        gain = np.clip(gain, 0.5, 2.0)
        return np.asarray(cv2.convertScaleAbs(image.astype(np.float32) * gain.reshape(1, 1, -1)), np.uint8)

    def apply(self, image: npt.NDArray[np.uint8], t_s: float) -> Mask:
        rate = self.learning_rate(t_s)
        if self.params.blur_px > 1:
            image = np.asarray(cv2.GaussianBlur(image, (self.params.blur_px, self.params.blur_px), 0), np.uint8)
        image = self.compensate_gain(image)
        raw = self._mog.apply(image, learningRate=rate)
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
        hog: HogParams | None = None,
        fusion: FusionParams | None = None,
        refine: RefineParams | None = None,
    ) -> None:
        self._cfg = cfg
        self._ctx = ctx or DetectorContext()
        self._background_params = background or BackgroundParams()
        self._fit = fit or FitParams()
        self._background: BackgroundModel | None = None
        self._frame_size: tuple[int, int] | None = None
        self._scale: PersonScaleMap | None = None
        self._hog_params = hog or HogParams()
        self._fusion = fusion or FusionParams()
        self._hog: HogPeopleDetector | None = None
        self._strips: list[Strip] = []
        self._refine_params = refine or RefineParams()
        self._refiner = ScaleRefiner(self._refine_params)
        self._base_scale: PersonScaleMap | None = None

    @property
    def scale_correction(self) -> float:
        """Factor applied to the calibrated person heights, learnt from confident HOG hits (1: none)."""
        return self._refiner.applied_factor

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
        self._base_scale = self._scale
        self._refiner = ScaleRefiner(self._refine_params)
        self._strips = plan_strips(self._scale, frame_size[1], self._hog_params) if self._cfg.hog else []
        self._hog = HogPeopleDetector(self._hog_params) if self._strips else None

    @property
    def hog_strips(self) -> list[Strip]:
        """Where HOG looks, per pyramid level (empty: HOG is off for this camera)."""
        return list(self._strips)

    def foreground(self, frame: Frame) -> Mask:
        """Update the background model with this frame and return its foreground mask."""
        size = (frame.image.shape[1], frame.image.shape[0])
        if size != self._frame_size or self._background is None:
            self._reset_for(size)
        assert self._background is not None
        return self._background.apply(frame.image, frame.t_s)

    def detect(self, frame: Frame) -> Detections:
        mask = self.foreground(frame)
        dets = fit_people(mask, self._scale, self._fit) if self._scale is not None else blobs_to_people(mask, self._fit)
        if self._hog is not None:
            dets = self._fuse_hog(frame, mask, dets)
        keep = dets.scores >= min(confidence_of(self._cfg), 0.99)
        return dets[keep]

    def _fuse_hog(self, frame: Frame, mask: Mask, bg: Detections) -> Detections:
        assert self._hog is not None and self._background is not None
        hits = self._hog.detect(frame.image, self._strips)
        min_h = self._hog_params.min_height_px
        if self._base_scale is not None and len(hits):
            self._learn_scale(hits.xyxy, hits.margins)
        if self._scale is not None:
            foot = hits.xyxy
            expected = self._scale.at((foot[:, 0] + foot[:, 2]) / 2, foot[:, 3]) if len(hits) else None
            bg_foot = bg.foot_points_px
            bg_expected = self._scale.at(bg_foot[:, 0], bg_foot[:, 1]) if len(bg) else np.zeros(0, np.float32)
            in_hog_area = np.nan_to_num(bg_expected, nan=0.0) >= min_h
        else:
            expected = None
            in_hog_area = bg.heights_px >= min_h
        evidence = HogEvidence(hits.xyxy, hits.margins, expected, foreground_fraction(mask, hits.xyxy))
        return fuse(evidence, bg, in_hog_area, self._background.warm, self._fusion)

    def _learn_scale(self, xyxy: npt.NDArray[np.float32], margins: npt.NDArray[np.float32]) -> None:
        assert self._base_scale is not None and self._frame_size is not None
        base = self._base_scale.at((xyxy[:, 0] + xyxy[:, 2]) / 2, xyxy[:, 3])
        self._refiner.add(xyxy[:, 3] - xyxy[:, 1], base, margins)
        factor = self._refiner.update()
        if factor is not None:
            self._scale = PersonScaleMap((self._base_scale.height_px * np.float32(factor)).astype(np.float32))
            self._strips = plan_strips(self._scale, self._frame_size[1], self._hog_params) or self._strips


def foreground_fraction(mask: Mask, xyxy: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    """Share of foreground pixels inside each box (clipped to the frame; 0 for an empty box)."""
    height, width = mask.shape[:2]
    if len(xyxy) == 0:
        return np.zeros(0, np.float32)
    integral = cv2.integral((mask > 0).astype(np.uint8), sdepth=cv2.CV_32S)
    x0 = np.clip(np.round(xyxy[:, 0]), 0, width).astype(np.int64)
    x1 = np.clip(np.round(xyxy[:, 2]), 0, width).astype(np.int64)
    y0 = np.clip(np.round(xyxy[:, 1]), 0, height).astype(np.int64)
    y1 = np.clip(np.round(xyxy[:, 3]), 0, height).astype(np.int64)
    inside = integral[y1, x1] - integral[y0, x1] - integral[y1, x0] + integral[y0, x0]
    area = (x1 - x0) * (y1 - y0)
    return np.where(area > 0, inside / np.maximum(area, 1), 0.0).astype(np.float32)


@register("offline")
def _build(cfg: DetectorConfig, ctx: DetectorContext) -> OfflineDetector:
    return OfflineDetector(cfg, ctx)
