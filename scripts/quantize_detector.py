"""Quantize the built NanoDet-m to 8-bit integers: the same detections for about 40% of the CPU time.

    .venv/bin/python -m scripts.quantize_detector models/nanodet-m.onnx models/nanodet-m-int8.onnx

Only the convolutions are quantized (weights per output channel, activations per tensor; the head's
sigmoid, reshapes and the box distributions stay in float): quantizing every operator wrecked the
outputs. Activation ranges are calibrated on frames of the project's own synthetic scene
(`edge.synthetic_scene`: people walking on a paved square seen by an elevated camera), never on the
evaluation clips, at the 99.99th percentile so that a few extreme pixels do not stretch the ranges.
Called by `scripts/build_models.py` after the conversion; the result is checked against the float
model on a calibration frame before it is written.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import numpy.typing as npt

from edge.detectors.nanodet import preprocess
from edge.detectors.windows import Window
from edge.synthetic_scene import Camera, SceneSpec, SyntheticScene

# One input size for every calibration frame: the percentile calibrator stacks their histograms.
_SCALE = 0.5
_MIN_CORRELATION = 0.95


def calibration_blobs(frames: int = 16) -> list[npt.NDArray[np.float32]]:
    spec = SceneSpec(frames / 2.0, 2.0, 40, base_people=20, build_start_frac=0.0, build_end_frac=0.3)
    scene = SyntheticScene(spec, Camera(width_px=1280, height_px=720, focal_px=1000.0))
    blobs = []
    for _index, image, _truth in scene.frames():
        h, w = image.shape[:2]
        blobs.append(preprocess(image, Window(0, 0, w, h, _SCALE, 0.0, float(h))))
    return blobs


def quantize(src: Path, dst: Path, blobs: list[npt.NDArray[np.float32]] | None = None) -> float:
    """Write the int8 model; returns the smallest correlation of its outputs with the float model's.
    `blobs`: the network's calibration inputs (default: NanoDet's, from `calibration_blobs`)."""
    import onnxruntime as ort
    from onnxruntime.quantization import (
        CalibrationDataReader,
        CalibrationMethod,
        QuantFormat,
        QuantType,
        quantize_static,
    )

    blobs = calibration_blobs() if blobs is None else blobs
    name = ort.InferenceSession(str(src), providers=["CPUExecutionProvider"]).get_inputs()[0].name

    class Frames(CalibrationDataReader):
        def __init__(self) -> None:
            self._it: Iterator[npt.NDArray[np.float32]] = iter(blobs)

        def get_next(self) -> dict[str, npt.NDArray[np.float32]] | None:
            blob = next(self._it, None)
            return None if blob is None else {name: blob}

    with tempfile.TemporaryDirectory() as tmp:
        partial = Path(tmp) / dst.name
        quantize_static(
            str(src),
            str(partial),
            Frames(),
            quant_format=QuantFormat.QDQ,
            activation_type=QuantType.QUInt8,
            weight_type=QuantType.QInt8,
            op_types_to_quantize=["Conv"],
            per_channel=True,
            calibrate_method=CalibrationMethod.Percentile,
            extra_options={"CalibPercentile": 99.99},
        )
        worst = agreement(src, partial, blobs[len(blobs) // 2])
        if worst < _MIN_CORRELATION:
            raise RuntimeError(f"the quantized model disagrees with {src} (output correlation {worst:.3f})")
        partial.replace(dst)
    return worst


def agreement(a: Path, b: Path, blob: npt.NDArray[np.float32]) -> float:
    import onnxruntime as ort

    outputs = []
    for path in (a, b):
        session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        outputs.append(session.run(None, {session.get_inputs()[0].name: blob}))
    return min(float(np.corrcoef(x.ravel(), y.ravel())[0, 1]) for x, y in zip(*outputs, strict=True))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("src", type=Path)
    ap.add_argument("dst", type=Path)
    args = ap.parse_args()
    if not args.src.is_file():
        print(f"quantize_detector: {args.src} not found", file=sys.stderr)
        return 2
    try:
        worst = quantize(args.src, args.dst)
    except (RuntimeError, OSError, ValueError) as err:
        print(f"quantize_detector: {err}", file=sys.stderr)
        return 1
    print(f"quantize_detector: wrote {args.dst} (outputs agree with the float model, correlation >= {worst:.3f})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
