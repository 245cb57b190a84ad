"""GFL head decoding (NanoDet's) against boxes computed by hand, and pairing outputs with strides by shape."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pytest

from edge.detectors.gfl import GflHead, GflLevel, GflShapeError, decode_gfl, match_levels

BINS = 11
Float = npt.NDArray[np.float32]


def _one_hot(cells: int, sides: tuple[int, int, int, int], strength: float = 30.0) -> Float:
    """Box logits whose softmax puts (almost) all weight on bin `sides[i]` for side i (l, t, r, b)."""
    logits = np.zeros((cells, 4 * BINS), np.float32)
    for side, k in enumerate(sides):
        logits[:, side * BINS + k] = strength
    return logits


def _level(
    stride: int, grid_w: int, grid_h: int, scores: dict[int, float], box_logits: Float | None = None
) -> GflLevel:
    """A level with person scores `scores` (cell index -> score), 0 elsewhere, and 80 classes."""
    cells = grid_w * grid_h
    s = np.zeros((cells, 80), np.float32)
    for cell, value in scores.items():
        s[cell, 0] = value
    logits = _one_hot(cells, (0, 0, 0, 0)) if box_logits is None else box_logits
    return GflLevel(stride, grid_w, s, logits)


def test_one_hot_bins_give_distances_of_bin_times_stride_from_the_cell_centre() -> None:
    # 4 x 3 grid at stride 16, cell 6 = row 1, column 2: centre ((2 + 0.5) * 16, (1 + 0.5) * 16) = (40, 24).
    level = _level(16, 4, 3, {6: 0.9}, _one_hot(12, (1, 2, 3, 4)))
    boxes, scores = decode_gfl([level], 0.5)
    np.testing.assert_allclose(boxes, [[40 - 16, 24 - 32, 40 + 48, 24 + 64]], atol=1e-3)
    np.testing.assert_allclose(scores, [0.9])


def test_uniform_bins_give_five_strides_the_mean_of_0_to_10() -> None:
    level = _level(8, 2, 2, {0: 0.8}, np.zeros((4, 4 * BINS), np.float32))
    boxes, _ = decode_gfl([level], 0.5)
    # Cell 0's centre is (4, 4); every side is 5 strides = 40 px away.
    np.testing.assert_allclose(boxes, [[4 - 40, 4 - 40, 4 + 40, 4 + 40]], atol=1e-4)


def test_the_distance_is_the_expectation_not_the_argmax() -> None:
    logits = np.zeros((1, 4 * BINS), np.float32)
    # Left side: bins 2 and 3 equally likely -> 2.5 strides; the other sides on bin 0.
    logits[0, [2, 3]] = 30.0
    for side in (1, 2, 3):
        logits[0, side * BINS] = 30.0
    boxes, _ = decode_gfl([_level(32, 1, 1, {0: 0.9}, logits)], 0.5)
    np.testing.assert_allclose(boxes, [[16 - 80, 16, 16, 16]], atol=1e-3)


def test_cells_are_row_major_and_each_level_uses_its_own_stride() -> None:
    # 3 wide, 2 high at stride 8: cell 4 is (x=1, y=1), centre (12, 12); cell 2 is (x=2, y=0), centre (20, 4).
    fine = _level(8, 3, 2, {4: 0.7, 2: 0.6})
    # 2 x 1 at stride 32: cell 1 is (x=1, y=0), centre (48, 16).
    coarse = _level(32, 2, 1, {1: 0.95}, _one_hot(2, (1, 1, 1, 1)))
    boxes, scores = decode_gfl([fine, coarse], 0.5)
    np.testing.assert_allclose(boxes, [[20, 4, 20, 4], [12, 12, 12, 12], [16, -16, 80, 48]], atol=1e-3)
    np.testing.assert_allclose(scores, [0.6, 0.7, 0.95])


def test_confidence_is_inclusive_and_filters_below() -> None:
    level = _level(8, 4, 1, {0: 0.39, 1: 0.4, 2: 0.41})
    _, scores = decode_gfl([level], 0.4)
    np.testing.assert_allclose(sorted(scores.tolist()), [0.4, 0.41])
    boxes, scores = decode_gfl([level], 0.5)
    assert boxes.shape == (0, 4) and scores.shape == (0,)
    assert boxes.dtype == np.float32


def test_only_the_chosen_class_is_decoded() -> None:
    level = _level(8, 2, 1, {0: 0.9})
    level.scores[1, 2] = 0.8  # a car in cell 1
    boxes, _ = decode_gfl([level], 0.5)
    np.testing.assert_allclose(boxes, [[4, 4, 4, 4]], atol=1e-4)  # cell 0's centre only
    cars, car_scores = decode_gfl([level], 0.5, class_id=2)
    np.testing.assert_allclose(cars, [[12, 4, 12, 4]], atol=1e-4)
    np.testing.assert_allclose(car_scores, [0.8])


def test_no_levels_no_boxes() -> None:
    boxes, scores = decode_gfl([], 0.1)
    assert boxes.shape == (0, 4) and scores.shape == (0,)


DEFAULT_HEAD = GflHead()


def _outputs(height: int, width: int, head: GflHead = DEFAULT_HEAD) -> dict[tuple[int, str], Float]:
    """Per (stride, 'scores' | 'boxes') a [1, cells, C] tensor whose values say which stride it is."""
    out = {}
    for s in head.strides:
        cells = -(-height // s) * -(-width // s)
        out[(s, "scores")] = np.full((1, cells, head.num_classes), s / 100, np.float32)
        out[(s, "boxes")] = np.full((1, cells, 4 * head.bins), s, np.float32)
    return out


@pytest.mark.parametrize("order", ["nanodet", "reversed", "boxes_first", "shuffled"])
def test_levels_are_paired_by_shape_whatever_the_output_order(order: str) -> None:
    outputs = _outputs(96, 160)
    keys = list(outputs)
    if order == "reversed":
        keys.reverse()
    elif order == "boxes_first":
        keys.sort(key=lambda k: (k[1] != "boxes", k[0]))
    elif order == "shuffled":
        keys = [keys[i] for i in np.random.default_rng(3).permutation(len(keys))]
    levels = match_levels([outputs[k] for k in keys], (96, 160))
    assert [lv.stride for lv in levels] == [8, 16, 32]
    assert [lv.grid_w for lv in levels] == [20, 10, 5]
    for lv in levels:
        cells = (96 // lv.stride) * (160 // lv.stride)
        assert lv.scores.shape == (cells, 80) and lv.box_logits.shape == (cells, 44)
        assert np.all(lv.scores == np.float32(lv.stride / 100)) and np.all(lv.box_logits == lv.stride)


def test_a_size_not_divisible_by_the_stride_rounds_the_grid_up() -> None:
    outputs = _outputs(100, 50)  # 13 x 7 at stride 8, 7 x 4 at 16, 4 x 2 at 32
    levels = match_levels(list(outputs.values()), (100, 50))
    assert [(lv.grid_w, lv.scores.shape[0]) for lv in levels] == [(7, 91), (4, 28), (2, 8)]


def test_a_custom_head_is_matched_with_its_own_classes_and_bins() -> None:
    head = GflHead(strides=(8, 16), num_classes=1, bins=8)
    levels = match_levels(list(_outputs(32, 32, head).values()), (32, 32), head)
    assert [(lv.stride, lv.scores.shape, lv.box_logits.shape) for lv in levels] == [
        (8, (16, 1), (16, 32)),
        (16, (4, 1), (4, 32)),
    ]


def test_wrong_shapes_raise_a_shape_error_saying_what_was_expected() -> None:
    outputs = _outputs(64, 64)
    wrong_classes = {**outputs, (16, "scores"): np.zeros((1, 16, 81), np.float32)}
    with pytest.raises(GflShapeError, match=r"stride 16 one \[1, 16, 80\] score and one \[1, 16, 44\] box") as err:
        match_levels(list(wrong_classes.values()), (64, 64))
    assert "[1, 16, 81]" in str(err.value)  # and what it got
    # Made for another input size: 64x64 outputs do not fit a 64x96 input.
    with pytest.raises(GflShapeError, match=r"input 96x64"):
        match_levels(list(outputs.values()), (64, 96))
    missing = [v for k, v in outputs.items() if k != (32, "boxes")]
    with pytest.raises(GflShapeError, match="stride 32"):
        match_levels(missing, (64, 64))
    # Two candidates for one slot are ambiguous, not silently the first.
    with pytest.raises(GflShapeError, match="stride 8"):
        match_levels([*outputs.values(), outputs[(8, "boxes")]], (64, 64))
    assert issubclass(GflShapeError, ValueError)
