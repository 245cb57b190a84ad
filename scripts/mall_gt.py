"""The Mall dataset's head annotations as MOT ground truth, so that `crowd-edge eval` scores the Mall.

The Mall data set marks every person's head (`../shared/data/mall_train/gt_heads.csv`, 0-based pixels,
frame numbers 1-based) inside its walkway region. The edge counts people by where their feet are, so
each head becomes a person box reaching down to the feet, through the person height per image row of
`configs/mall.yaml`'s calibration (derived there from the data set's perspective map):
a person whose feet are on row v is `PERSON_SLOPE * (v - HORIZON_ROW)` pixels tall, and the head
point sits `HEAD_FRAC` of that below the top of the head. Feet below the frame are clipped to its last
row, as a detector's box is. The zone in `configs/mall.yaml` is the walkway region moved down the same
way, so a person is in it exactly when their head is in the data set's region.

    .venv/bin/python -m scripts.mall_gt [--out out/mall/gt.txt]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import numpy.typing as npt

ROOT = Path(__file__).resolve().parent.parent
HEADS = ROOT.parent / "shared" / "data" / "mall_train" / "gt_heads.csv"
FRAME_SIZE_PX = (640, 480)
# Fitted to the data set's perspective map (1/sqrt(p) is linear in the row, zero at row -142) and to
# confident NanoDet boxes on frames 1-800 (height = 0.231 (v + 127)); the two agree within 7%.
PERSON_SLOPE = 0.231
HORIZON_ROW = -127.0
HEAD_FRAC = 0.07


def foot_row(head_v: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """The feet's row for a head point: head = foot - (1 - HEAD_FRAC) * slope * (foot - horizon)."""
    k = (1.0 - HEAD_FRAC) * PERSON_SLOPE
    return (head_v - k * HORIZON_ROW) / (1.0 - k)


def mot_rows(heads: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """MOT rows `frame, id, left, top, w, h, conf, X, Y, z` (no ground positions: -1)."""
    frame, x, head_v = heads[:, 0], heads[:, 1], heads[:, 2]
    foot = foot_row(head_v)
    height = PERSON_SLOPE * (foot - HORIZON_ROW)
    top = head_v - HEAD_FRAC * height
    bottom = np.minimum(foot, FRAME_SIZE_PX[1] - 1.0)
    width = 0.4 * height
    ids = np.arange(1, len(heads) + 1, dtype=np.float64)  # the data set has no identities
    ones = np.ones(len(heads))
    return np.column_stack([frame, ids, x - width / 2, top, width, bottom - top, ones, -ones, -ones, -ones])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--heads", type=Path, default=HEADS)
    ap.add_argument("--out", type=Path, default=ROOT / "out" / "mall" / "gt.txt")
    args = ap.parse_args()
    try:
        heads = np.loadtxt(args.heads, delimiter=",", skiprows=1, ndmin=2)
    except (OSError, ValueError) as err:
        print(f"{args.heads}: cannot read the Mall head annotations: {err}")
        return 2
    if heads.shape[1] != 3:
        print(f"{args.heads}: expected columns frame, x_px, y_px; got {heads.shape[1]} columns")
        return 2
    args.out.parent.mkdir(parents=True, exist_ok=True)
    fmt = ["%d", "%d", "%.1f", "%.1f", "%.1f", "%.1f", "%d", "%d", "%d", "%d"]
    np.savetxt(args.out, mot_rows(heads), delimiter=",", fmt=fmt)
    print(f"{args.out}: {len(heads)} people in {len(np.unique(heads[:, 0]))} frames")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
