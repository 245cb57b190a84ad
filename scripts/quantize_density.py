"""Quantize the built CSRNet to 8-bit integers: the same counts for a fraction of the CPU time.

    .venv/bin/python -m scripts.quantize_density models/csrnet.onnx models/csrnet-int8.onnx

The same recipe as the detector's (`scripts/quantize_detector.py`: convolutions only, weights per output
channel, percentile-calibrated activations), calibrated on a dense crowd of the project's own synthetic scene,
never on the evaluation frames. Refused unless, on every calibration frame, the 8-bit map correlates with the
float one and their counts (the maps' sums) agree within `MAX_COUNT_GAP`.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import numpy.typing as npt

from edge.density.csrnet import preprocess
from edge.synthetic_scene import Camera, SceneSpec, SyntheticScene
from scripts.quantize_detector import quantize

# A guard against a broken quantization, not an accuracy claim: the synthetic frames are not real scenes, and
# the tests measure the model the edge runs (the 8-bit one) on real frames.
MAX_COUNT_GAP = 0.08
_SIZE_PX = (480, 352)  # multiples of 8; one size for all frames (the calibrator stacks their histograms)


def calibration_blobs(frames: int = 6) -> list[npt.NDArray[np.float32]]:
    spec = SceneSpec(frames / 2.0, 2.0, 60, base_people=45, build_start_frac=0.0, build_end_frac=0.3)
    scene = SyntheticScene(spec, Camera(width_px=_SIZE_PX[0], height_px=_SIZE_PX[1], focal_px=520.0))
    return [preprocess(np.ascontiguousarray(image)) for _index, image, _truth in scene.frames()][:frames]


def count_gap(a: Path, b: Path, blobs: list[npt.NDArray[np.float32]]) -> float:
    """Largest relative difference between the two models' counts over `blobs`."""
    import onnxruntime as ort

    sessions = [ort.InferenceSession(str(p), providers=["CPUExecutionProvider"]) for p in (a, b)]
    worst = 0.0
    for blob in blobs:
        fp, q8 = (float(s.run(None, {s.get_inputs()[0].name: blob})[0].sum()) for s in sessions)
        worst = max(worst, abs(q8 - fp) / max(abs(fp), 1.0))
    return worst


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("src", type=Path)
    ap.add_argument("dst", type=Path)
    args = ap.parse_args()
    if not args.src.is_file():
        print(f"quantize_density: {args.src} not found", file=sys.stderr)
        return 2
    blobs = calibration_blobs()
    try:
        correlation = quantize(args.src, args.dst, blobs)
        gap = count_gap(args.src, args.dst, blobs)
    except (RuntimeError, OSError, ValueError) as err:
        print(f"quantize_density: {err}", file=sys.stderr)
        return 1
    if gap > MAX_COUNT_GAP:
        args.dst.unlink(missing_ok=True)
        print(
            f"quantize_density: 8-bit counts differ by {gap:.1%} from the float model's; not written", file=sys.stderr
        )
        return 1
    print(f"quantize_density: wrote {args.dst} (map correlation >= {correlation:.3f}, counts within {gap:.1%})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
