#!/usr/bin/env bash
# Build YOLO11n ONNX exports with random weights from ultralytics' yolo11n.yaml, offline.
# Random weights find nobody but cost exactly what the trained network costs: the superseded edge
# benchmark used them (docs/benchmarks.md, "before the real detector"); edge_fps now runs the real
# NanoDet-m (scripts/build_models.py). Kept to reproduce those figures; no released weights are downloaded.
#
#   scripts/build_yolo_onnx.sh            # writes models/yolo11n_320.onnx and models/yolo11n_640.onnx
#                                         # and models/yolo11n_{320,640}_dynamic.onnx (free input sides, so the
#                                         # edge feeds a 16:9 frame as 320x192, not padded to 320x320)
#
# torch/ultralytics go into a separate venv (.venv-export, gitignored), never into .venv: the CPU
# wheel of torch is pinned because without the pin pip pulls a CUDA build of several GB.
# The same venv gets supervision for the benchmark's baseline (it needs opencv-python, which would
# clash with the project's headless OpenCV), with the project's OpenCV, onnxruntime and numpy versions.
# supervision is pinned below 0.27: later releases dropped sv.ByteTrack (moved to the `trackers` package).
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=.venv-export
SIZES=(320 640)

missing=0
for s in "${SIZES[@]}"; do [[ -s models/yolo11n_${s}.onnx && -s models/yolo11n_${s}_dynamic.onnx ]] || missing=1; done
export YOLO_OFFLINE=1 YOLO_CONFIG_DIR=${YOLO_CONFIG_DIR:-$PWD/.venv-export/ultralytics-config}
if [[ $missing == 0 && -x $VENV/bin/python ]] && $VENV/bin/python -c "import supervision; supervision.ByteTrack" 2>/dev/null; then
    echo "models/yolo11n_{320,640}.onnx and $VENV are there; nothing to do"
    exit 0
fi

if [[ ! -x $VENV/bin/python ]]; then
    python3 -m venv "$VENV"
fi
constraints=$(mktemp)
trap 'rm -f "$constraints"' EXIT
echo "torch==2.13.0" > "$constraints"
if ! $VENV/bin/python -c "import ultralytics, onnx, onnxruntime, supervision; supervision.ByteTrack" 2>/dev/null; then
    $VENV/bin/pip install -q -c "$constraints" torch==2.13.0 ultralytics onnx onnxslim "supervision>=0.25,<0.27"
    # Same decoder and runtime as the project's venv, so the baseline differs only in its own code.
    pins=$(.venv/bin/python - <<'PY'
from importlib.metadata import version
print(f"opencv-python=={version('opencv-python-headless')} onnxruntime=={version('onnxruntime')} numpy=={version('numpy')}")
PY
)
    # shellcheck disable=SC2086
    $VENV/bin/pip install -q -c "$constraints" $pins
fi

mkdir -p models
work=$(mktemp -d)
for s in "${SIZES[@]}"; do
    out=models/yolo11n_${s}.onnx
    if [[ -s $out ]]; then echo "$out exists"; continue; fi
    (cd "$work" && "$OLDPWD/$VENV/bin/python" - "$s" <<'PY'
import shutil, sys
from ultralytics import YOLO
size = int(sys.argv[1])
path = YOLO("yolo11n.yaml").export(format="onnx", imgsz=size, simplify=False, opset=17, dynamic=False)
shutil.move(path, f"yolo11n_{size}.onnx")
PY
    )
    mv "$work/yolo11n_${s}.onnx" "$out"
    .venv/bin/python -c "from scripts.export_model import check_export; from pathlib import Path; print(check_export(Path('$out'), $s))"
done
for s in "${SIZES[@]}"; do
    out=models/yolo11n_${s}_dynamic.onnx
    if [[ -s $out ]]; then echo "$out exists"; continue; fi
    (cd "$work" && "$OLDPWD/$VENV/bin/python" - "$s" <<'PY'
import shutil, sys
from ultralytics import YOLO
size = int(sys.argv[1])
path = YOLO("yolo11n.yaml").export(format="onnx", imgsz=size, simplify=False, opset=17, dynamic=True)
shutil.move(path, f"yolo11n_{size}_dynamic.onnx")
PY
    )
    mv "$work/yolo11n_${s}_dynamic.onnx" "$out"
done
for s in "${SIZES[@]}"; do
    # The dynamic export leaves even its class dimension symbolic: check it by running a 16:9 input.
    .venv/bin/python - "models/yolo11n_${s}_dynamic.onnx" "$s" <<'PY'
import sys
import numpy as np
import onnxruntime as ort
path, size = sys.argv[1], int(sys.argv[2])
session = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
(out,) = session.run(None, {session.get_inputs()[0].name: np.zeros((1, 3, size * 3 // 5, size), np.float32)})
if out.shape[:2] != (1, 84):
    raise SystemExit(f"{path}: output {list(out.shape)} is not [1, 84, anchors]")
print(f"{path}: input {session.get_inputs()[0].shape}, a {size * 3 // 5}x{size} input gives {list(out.shape)}")
PY
done
rm -rf "$work"
