"""The onnxruntime session both ONNX backends (`onnx`, `nanodet`) open their model with.

onnxruntime is imported here, lazily, so that a node running the offline fallback never pays for it.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from edge.detectors.base import DetectorError, ModelNotFoundError

__all__ = ["cpu_session", "default_model"]


def cpu_session(path: Path, threads: int, *, missing: str, fix: str = "") -> Any:
    """A CPU session on `path` with `threads` intra-op threads (0: onnxruntime's choice).

    Raises ModelNotFoundError(`missing`) when the file is not there, and DetectorError naming the file
    (and `fix`, how to repair it) when onnxruntime cannot load it: a truncated or foreign file.
    """
    import onnxruntime as ort

    if not path.is_file():
        raise ModelNotFoundError(missing)
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    # Idle workers sleep instead of spinning: between detections (every N frames) a spinning
    # pool burns the cores that decoding and optical flow need.
    opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
    try:
        return ort.InferenceSession(str(path), sess_options=opts, providers=["CPUExecutionProvider"])
    except Exception as err:  # onnxruntime raises its own untyped errors
        raise DetectorError(f"cannot load ONNX model {path}: {err}{f'; {fix}' if fix else ''}") from None


def default_model(int8_file: str, float_file: str) -> Path:
    """The 8-bit build where it exists (the same outputs for less CPU), else the float one; in `$CROWD_MODELS_DIR`,
    else the project's own models/ folder (where scripts/build_models.py writes them)."""
    env = os.environ.get("CROWD_MODELS_DIR")
    root = Path(env) if env else Path(__file__).resolve().parents[2] / "models"
    int8 = root / int8_file
    return int8 if int8.is_file() else root / float_file
