#!/usr/bin/env bash
# The edge benchmark's baseline venv (.venv-bench, gitignored): supervision with the project's own
# OpenCV, onnxruntime and numpy versions, nothing else (scripts/bench/baseline_sv.py imports nothing
# from the project). Idempotent: a second run finds everything in place and does nothing.
#
#   scripts/bench/build_baseline_env.sh
#
# supervision is pinned below 0.27: later releases dropped sv.ByteTrack (moved to the `trackers` package).
# It needs the non-headless opencv-python, which would clash with the project's headless OpenCV in .venv,
# hence a venv of its own.
set -euo pipefail
cd "$(dirname "$0")/../.."
VENV=.venv-bench

if [[ ! -x .venv/bin/python ]]; then
    echo "the project's .venv is missing: set it up first (its versions are the ones pinned here)" >&2
    exit 1
fi
# Same decoder, runtime and numpy as the project's venv, so the baseline differs only in its own code.
pins=$(.venv/bin/python - <<'PY'
from importlib.metadata import version
print(f"opencv-python=={version('opencv-python-headless')} onnxruntime=={version('onnxruntime')} numpy=={version('numpy')}")
PY
)
check=$(cat <<'PY'
import sys
from importlib.metadata import version
import cv2, numpy, onnxruntime, supervision
supervision.ByteTrack
want = dict(p.split("==") for p in sys.argv[1:])
have = {name: version(name) for name in want}
major, minor = (int(x) for x in supervision.__version__.split(".")[:2])
sys.exit(0 if have == want and (major, minor) in ((0, 25), (0, 26)) else 1)
PY
)
# shellcheck disable=SC2086
if [[ -x $VENV/bin/python ]] && $VENV/bin/python -c "$check" $pins 2>/dev/null; then
    echo "$VENV is there with supervision $($VENV/bin/python -c 'import supervision; print(supervision.__version__)') and $pins; nothing to do"
    exit 0
fi

if [[ ! -x $VENV/bin/python ]]; then
    python3 -m venv "$VENV"
fi
# shellcheck disable=SC2086
$VENV/bin/pip install -q "supervision>=0.25,<0.27" $pins
# shellcheck disable=SC2086
$VENV/bin/python -c "$check" $pins
echo "$VENV: supervision $($VENV/bin/python -c 'import supervision; print(supervision.__version__)'), $pins"
