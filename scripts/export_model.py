"""Export ultralytics YOLO weights to ONNX for the edge's `onnx` detector.

Needs the optional `export` extra (ultralytics + torch) and, to fetch named weights such as
`yolo11n.pt`, internet access; run it on a machine that has both and copy the .onnx to the edge node.

    pip install torch==2.13.0 'crowd-analytics[export]'
    python -m scripts.export_model yolo11n.pt --imgsz 640 --out models/yolo11n.onnx

The export has one input `images` [1, 3, imgsz, imgsz] and one output [1, 84, anchors], which is what
`edge.detectors.onnx` decodes; the script checks that before reporting success.
"""

from __future__ import annotations

import argparse
import importlib
import shutil
import sys
from pathlib import Path


def check_export(path: Path, imgsz: int) -> str:
    """One line describing a valid export; raises SystemExit naming what is wrong otherwise."""
    import onnx

    model = onnx.load(str(path))
    inputs = [i for i in model.graph.input if i.name not in {t.name for t in model.graph.initializer}]
    if len(inputs) != 1 or len(model.graph.output) != 1:
        raise SystemExit(f"{path}: expected one input and one output, got {len(inputs)} and {len(model.graph.output)}")

    def dims(value: onnx.ValueInfoProto) -> list[int | str]:
        return [d.dim_value or d.dim_param for d in value.type.tensor_type.shape.dim]

    in_dims, out_dims = dims(inputs[0]), dims(model.graph.output[0])
    if len(out_dims) != 3 or out_dims[1] != 84:
        raise SystemExit(f"{path}: output {out_dims} is not [1, 84, anchors]; is this a COCO detection model?")
    fixed_side = [d for d in in_dims[2:] if isinstance(d, int)]
    if len(in_dims) != 4 or any(d != imgsz for d in fixed_side):
        raise SystemExit(f"{path}: input {in_dims} does not match --imgsz {imgsz}")
    return f"{path}: input {in_dims}, output {out_dims}"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("weights", help="ultralytics weights: a .pt path, or a name such as yolo11n.pt to download")
    ap.add_argument("--imgsz", type=int, default=640, help="square network input side (multiple of 32)")
    ap.add_argument("--out", type=Path, default=None, help="where to write the .onnx (default: models/<name>.onnx)")
    ap.add_argument("--opset", type=int, default=17)
    args = ap.parse_args(argv)
    if args.imgsz % 32:
        ap.error("--imgsz must be a multiple of 32")
    try:
        ultralytics = importlib.import_module("ultralytics")
    except ImportError:
        print("ultralytics is not installed: pip install torch==2.13.0 'crowd-analytics[export]'", file=sys.stderr)
        return 2
    weights = Path(args.weights)
    if weights.suffix != ".pt":
        ap.error(f"expected a .pt file, got {weights}")
    out = args.out or Path("models") / f"{weights.stem}.onnx"
    # A missing local file is downloaded by ultralytics when it names a released model; say so.
    if not weights.exists():
        print(f"{weights} not found locally: ultralytics will try to download it", file=sys.stderr)
    model = ultralytics.YOLO(str(weights))
    exported = Path(model.export(format="onnx", imgsz=args.imgsz, opset=args.opset, dynamic=False, simplify=False))
    out.parent.mkdir(parents=True, exist_ok=True)
    if exported.resolve() != out.resolve():
        shutil.move(str(exported), out)
    print(check_export(out, args.imgsz))
    print(f"use it with: detector: {{kind: onnx, model: {out}, input_size: {args.imgsz}}}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
