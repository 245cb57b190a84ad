"""Privacy of annotated frames: with blur_people, no tracked person's pixels survive."""

from __future__ import annotations

import numpy as np

from edge.annotate import pixelate_boxes


def _textured(h: int, w: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 255, size=(h, w, 3), dtype=np.uint8)


def test_pixelation_destroys_detail_inside_boxes_only() -> None:
    img = _textured(120, 160)
    original = img.copy()
    box = np.array([[40.0, 20.0, 88.0, 100.0]], dtype=np.float32)
    pixelate_boxes(img, box, block_px=8)
    inside = img[20:100, 40:88].astype(int)
    # Coarse blocks: every 8x8 block is a single colour, so neighbouring pixels inside a block are equal.
    assert np.all(inside[:, 0:8] == inside[:, 0:1])
    assert not np.array_equal(inside, original[20:100, 40:88])
    # Outside the box nothing changed.
    mask = np.ones(img.shape[:2], bool)
    mask[20:100, 40:88] = False
    assert np.array_equal(img[mask], original[mask])


def test_boxes_partly_outside_the_frame_and_tiny_boxes_are_safe() -> None:
    img = _textured(50, 50, seed=1)
    original = img.copy()
    boxes = np.array([[-10.0, -10.0, 20.0, 30.0], [45.0, 45.0, 80.0, 90.0], [10.0, 10.0, 10.5, 10.5]], np.float32)
    pixelate_boxes(img, boxes, block_px=4)
    assert img.shape == original.shape
    assert not np.array_equal(img[0:30, 0:20], original[0:30, 0:20])
    assert np.array_equal(img[10:11, 30:40], original[10:11, 30:40])
