"""Resampling raw readings onto the grid: mean per bin, gaps as NaN, bad input rejected clearly."""

from __future__ import annotations

import numpy as np
import pytest

from forecasting.resample import resample_to_grid


def test_mean_per_bin_with_gap_and_unsorted_duplicates() -> None:
    t = [125.0, 61.0, 0.0, 59.0, 61.0, 300.0]
    v = [9.0, 2.0, 1.0, 3.0, 4.0, 7.0]
    g = resample_to_grid(t, v, 60.0)
    assert g.start_s == 0.0
    assert list(g.times_s) == [0.0, 60.0, 120.0, 180.0, 240.0, 300.0]
    np.testing.assert_allclose(g.values[[0, 1, 2, 5]], [2.0, 3.0, 9.0, 7.0])
    assert np.isnan(g.values[3]) and np.isnan(g.values[4])
    assert list(g.counts) == [2, 2, 1, 0, 0, 1]
    assert g.n_observed == 4


def test_nan_readings_are_dropped_not_averaged() -> None:
    g = resample_to_grid([0.0, 1.0, 2.0], [1.0, float("nan"), 3.0], 10.0)
    assert g.values.tolist() == [2.0]


@pytest.mark.parametrize(
    ("times", "values", "message"),
    [
        ([], [], "no finite observations"),
        ([0.0, 1.0], [float("nan"), float("nan")], "no finite observations"),
        ([0.0, 1.0], [1.0], "differ in length"),
        ([0.0, float("nan")], [1.0, 2.0], "timestamps"),
        ([0.0, 1.0], [1.0, float("inf")], "infinite"),
    ],
)
def test_bad_input_is_a_clear_error(times: list[float], values: list[float], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        resample_to_grid(times, values, 10.0)


def test_step_must_be_positive() -> None:
    with pytest.raises(ValueError, match="step_s"):
        resample_to_grid([0.0], [1.0], 0.0)
