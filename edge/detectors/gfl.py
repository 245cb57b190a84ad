"""Decoding of a GFL detection head (NanoDet's) into person boxes (pure).

Per stride s the network gives, for each cell of its (H/s) x (W/s) grid in row-major order, a class
score row (sigmoid already applied) and 4 x (reg_max + 1) box logits: for each side (left, top,
right, bottom) a distribution over the distances 0..reg_max in strides. The distance is the
distribution's expectation (softmax, then the mean), which is finer than its argmax. Distances are
measured from the cell's centre, (x + 0.5) * s: taking the corner instead shifts every box up and
left by half a stride.

Outputs are told apart by shape, not by name: converters rename tensors freely, but the number of
cells says the stride and the last dimension says scores (classes) or boxes (4 x bins).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = ["GflHead", "GflLevel", "decode_gfl", "match_levels"]

PERSON_CLASS = 0
Float = npt.NDArray[np.float32]


class GflShapeError(ValueError):
    """Outputs that are not a GFL head for this input size; the message says what was expected."""


@dataclass(frozen=True)
class GflHead:
    """The head's fixed shape: strides, classes and bins per side (reg_max + 1)."""

    strides: tuple[int, ...] = (8, 16, 32)
    num_classes: int = 80
    bins: int = 11


@dataclass(frozen=True)
class GflLevel:
    """One stride's outputs: scores (cells, classes) and box logits (cells, 4 * bins)."""

    stride: int
    grid_w: int
    scores: Float
    box_logits: Float


def match_levels(
    outputs: Sequence[npt.NDArray[Any]], input_hw: tuple[int, int], head: GflHead = GflHead()
) -> list[GflLevel]:
    """Pair each stride with its score and box tensors by their shapes, for an input of `input_hw`."""
    height, width = input_hw
    arrays = [np.asarray(o) for o in outputs]
    levels = []
    for stride in head.strides:
        grid_h, grid_w = -(-height // stride), -(-width // stride)
        cells = grid_h * grid_w
        scores = [a for a in arrays if a.ndim == 3 and a.shape[1] == cells and a.shape[2] == head.num_classes]
        boxes = [a for a in arrays if a.ndim == 3 and a.shape[1] == cells and a.shape[2] == 4 * head.bins]
        if len(scores) != 1 or len(boxes) != 1:
            got = ", ".join(str(list(a.shape)) for a in arrays)
            raise GflShapeError(
                f"expected for stride {stride} one [1, {cells}, {head.num_classes}] score and one "
                f"[1, {cells}, {4 * head.bins}] box output (input {width}x{height}); got {got}"
            )
        levels.append(GflLevel(stride, grid_w, scores[0][0].astype(np.float32), boxes[0][0].astype(np.float32)))
    return levels


def decode_gfl(levels: Sequence[GflLevel], confidence: float, class_id: int = PERSON_CLASS) -> tuple[Float, Float]:
    """Boxes xyxy in network-input pixels and scores of `class_id` at or above `confidence` (before NMS)."""
    all_boxes: list[Float] = []
    all_scores: list[Float] = []
    for level in levels:
        score = level.scores[:, class_id]
        cells = np.flatnonzero(score >= confidence)
        if cells.size == 0:
            continue
        bins = level.box_logits.shape[1] // 4
        logits = level.box_logits[cells].reshape(-1, 4, bins)
        weights = np.exp(logits - logits.max(axis=2, keepdims=True))
        weights /= weights.sum(axis=2, keepdims=True)
        distance = (weights @ np.arange(bins, dtype=np.float32)) * level.stride  # (n, 4): l, t, r, b
        cx = (cells % level.grid_w + 0.5) * level.stride
        cy = (cells // level.grid_w + 0.5) * level.stride
        boxes = np.stack(
            [cx - distance[:, 0], cy - distance[:, 1], cx + distance[:, 2], cy + distance[:, 3]], axis=1
        ).astype(np.float32)
        all_boxes.append(boxes)
        all_scores.append(score[cells].astype(np.float32))
    if not all_boxes:
        return np.zeros((0, 4), np.float32), np.zeros(0, np.float32)
    return np.concatenate(all_boxes), np.concatenate(all_scores)
