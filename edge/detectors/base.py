"""The detector interface, its errors and the registry of backends keyed by `DetectorConfig.kind`.

Backends live in their own modules and are imported only when chosen, so a node running the offline
default never imports onnxruntime, and ultralytics (an optional extra) is never imported unless asked for.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

from edge.config import DetectorConfig
from edge.types import Detections, Frame

log = logging.getLogger(__name__)


class DetectorError(RuntimeError):
    """A detector that cannot be built or run; the message says what to fix."""


class ModelNotFoundError(DetectorError, FileNotFoundError):
    """The configured model file does not exist; the message names the path."""


DEFAULT_CONFIDENCE = 0.35


def confidence_of(cfg: DetectorConfig, default: float = DEFAULT_CONFIDENCE) -> float:
    """The configured minimum score, or the backend's own default when the config leaves it unset."""
    return default if cfg.confidence is None else cfg.confidence


@runtime_checkable
class Detector(Protocol):
    """Finds people in one frame. Implementations may keep state between frames (a background model)."""

    name: str
    # Optional (read with getattr): boxes scoring below it are counted per frame but not tracked.
    # track_min_score: float

    def detect(self, frame: Frame) -> Detections:
        """Person boxes xyxy in the frame's own pixels, scores in [0, 1]."""
        ...


@dataclass(frozen=True)
class DetectorContext:
    """What the pipeline knows about the camera besides the detector's own config section.

    `image_to_ground_m` is the 3x3 homography from pixels of frames of `image_size_px` (width, height)
    to ground metres; both are None where the camera is not calibrated. `zone_polygons_px` are the
    zones' image polygons at `image_size_px`: a backend may look only where people are counted.
    """

    image_to_ground_m: npt.NDArray[np.float64] | None = None
    image_size_px: tuple[int, int] | None = None
    zone_polygons_px: tuple[npt.NDArray[np.float64], ...] = ()


Factory = Callable[[DetectorConfig, DetectorContext], Detector]

# kind -> module that registers it on import; keeps heavy imports lazy.
_BUILTIN_MODULES: dict[str, str] = {
    "nanodet": "edge.detectors.nanodet",
    "offline": "edge.detectors.offline",
    "onnx": "edge.detectors.onnx",
    "ultralytics": "edge.detectors.ultralytics",
}
_REGISTRY: dict[str, Factory] = {}


def register(kind: str) -> Callable[[Factory], Factory]:
    """Class or function decorator: make `kind` buildable by `build_detector`."""

    def deco(factory: Factory) -> Factory:
        _REGISTRY[kind] = factory
        return factory

    return deco


def available_kinds() -> list[str]:
    return sorted(set(_BUILTIN_MODULES) | set(_REGISTRY))


def resolve_auto(cfg: DetectorConfig) -> DetectorConfig:
    """`kind: auto` made concrete: the pretrained `nanodet` when its model file is there, else `offline`,
    with a log line saying which and why (an operator must know the node runs without its network)."""
    if cfg.kind != "auto":
        return cfg
    from edge.detectors.nanodet import default_model_path  # no onnxruntime import here

    model = Path(cfg.model) if cfg.model else default_model_path()
    if model.is_file():
        log.info("detector: nanodet (%s)", model)
        return cfg.model_copy(update={"kind": "nanodet", "model": str(model)})
    log.warning(
        "detector: no pretrained model at %s (build it with `python3 scripts/build_models.py`); falling back to "
        "the offline detector (background subtraction + HOG), which loses people who stand still for long",
        model,
    )
    return cfg.model_copy(update={"kind": "offline"})


def build_detector(
    cfg: DetectorConfig,
    image_to_ground: npt.NDArray[np.float64] | None = None,
    image_size: tuple[int, int] | None = None,
    zone_polygons_px: Sequence[npt.ArrayLike] = (),
) -> Detector:
    """Build the backend named by `cfg.kind` (`auto`: see `resolve_auto`).

    `image_to_ground` and `zone_polygons_px` are valid for frames of `image_size` (width, height);
    detectors that use them rescale them when frames come in another size.
    """
    if image_to_ground is not None:
        h = np.asarray(image_to_ground, dtype=np.float64)
        if h.shape != (3, 3) or not np.all(np.isfinite(h)):
            raise DetectorError(f"image_to_ground must be a finite 3x3 matrix, got shape {h.shape}")
        if image_size is None:
            raise DetectorError("image_to_ground needs image_size (width, height) it is valid for")
        if len(image_size) != 2 or min(image_size) <= 0:
            raise DetectorError(f"image_size must be (width, height) > 0, got {image_size}")
        image_to_ground = h
    polygons = tuple(np.asarray(p, np.float64).reshape(-1, 2) for p in zone_polygons_px)
    ctx = DetectorContext(image_to_ground, (int(image_size[0]), int(image_size[1])) if image_size else None, polygons)
    cfg = resolve_auto(cfg)
    kind = cfg.kind
    if kind not in _REGISTRY and kind in _BUILTIN_MODULES:
        importlib.import_module(_BUILTIN_MODULES[kind])
    if kind not in _REGISTRY:
        raise DetectorError(f"unknown detector kind {kind!r}; known: {', '.join(available_kinds())}")
    return _REGISTRY[kind](cfg, ctx)
