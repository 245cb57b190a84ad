"""The onnxruntime session both ONNX backends (`onnx`, `nanodet`) open their model with.

onnxruntime is imported here, lazily, so that a node running the offline fallback never pays for it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from edge.detectors.base import DetectorError, ModelNotFoundError

__all__ = ["cpu_session"]


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
