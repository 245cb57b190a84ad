"""Calibration-guided windows for a fixed-input network: bands of foot rows, their scales and crops."""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt
import pytest

from edge.detectors.windows import PlanSettings, Window, plan_windows, zones_box

F64 = npt.NDArray[np.float64]
HD = (1920, 1080)
# A wide-angle view: people stand from row 150 (12.5 px tall) to the bottom (245 px tall), ratio ~20.
HD_BOX = (100.0, 150.0, 1800.0, 1080.0)
SETTINGS = PlanSettings()


def linear_heights(rows: int, horizon: float, px_per_row: float) -> F64:
    """Person height by foot row, growing linearly below the horizon; NaN on and above it (sky)."""
    v = np.arange(rows, dtype=np.float64)
    out = px_per_row * (v - horizon)
    out[v <= horizon] = np.nan
    return out


HD_HEIGHTS = linear_heights(HD[1], 100, 0.25)


def box_rows(box: tuple[float, float, float, float], heights: F64) -> npt.NDArray[np.int64]:
    """The box's integer rows where someone can stand."""
    rows = np.arange(math.floor(box[1]), min(math.ceil(box[3]), len(heights) - 1) + 1)
    return rows[np.isfinite(heights[rows]) & (heights[rows] > 0)]


def owned(window: Window, rows: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    return rows[(rows >= window.foot_v0) & (rows <= window.foot_v1)]


def test_every_foot_row_of_the_frame_is_owned_by_exactly_one_window() -> None:
    windows = plan_windows(HD, HD_BOX, HD_HEIGHTS, SETTINGS)
    assert len(windows) >= 3  # a 20x range of heights with bands of 1.6x
    rows = np.arange(HD[1])
    owners = np.zeros(HD[1], int)
    for w in windows:
        owners[(rows >= w.foot_v0) & (rows <= w.foot_v1)] += 1
    assert owners.tolist() == [1] * HD[1]
    # Above the box's top row belongs to the top band, feet below the frame's edge to the bottom one.
    assert min(w.foot_v0 for w in windows) == 0 and max(w.foot_v1 for w in windows) == HD[1]


def test_each_band_makes_its_smallest_person_min_person_px_tall_unless_capped() -> None:
    windows = plan_windows(HD, HD_BOX, HD_HEIGHTS, SETTINGS)
    rows = box_rows(HD_BOX, HD_HEIGHTS)
    capped = 0
    for w in windows:
        mine = owned(w, rows)
        assert len(mine), w
        smallest = HD_HEIGHTS[mine].min() * w.scale
        if w.scale == pytest.approx(SETTINGS.max_scale):
            capped += 1
            assert smallest < SETTINGS.min_person_px  # capped only where it had to be
        else:
            # No more upscaling than needed: the smallest person is min_person_px tall, not more.
            assert smallest == pytest.approx(SETTINGS.min_person_px, rel=0.01)
    assert capped == 1  # the far rows (12.5 px people) need 5x; 2x is the cap


def test_a_band_spans_at_most_band_ratio_of_scales() -> None:
    for ratio in (1.3, 1.6, 2.5):
        settings = PlanSettings(band_ratio=ratio)
        windows = plan_windows(HD, HD_BOX, HD_HEIGHTS, settings)
        rows = box_rows(HD_BOX, HD_HEIGHTS)
        for w in windows:
            scales = np.clip(
                settings.min_person_px / HD_HEIGHTS[owned(w, rows)], settings.min_scale, settings.max_scale
            )
            assert scales.max() / scales.min() <= ratio + 1e-9
        # Bands of the next one's size would have fitted: it is not cutting more bands than needed.
        assert len(windows) <= len(plan_windows(HD, HD_BOX, HD_HEIGHTS, PlanSettings(band_ratio=ratio / 1.2)))


def test_inputs_are_multiples_of_32_holding_the_scaled_crop() -> None:
    for box in (HD_BOX, (0.0, 0.0, 1920.0, 1080.0), (333.3, 407.7, 901.1, 777.7)):
        for w in plan_windows(HD, box, HD_HEIGHTS, SETTINGS):
            (sw, sh), (iw, ih) = w.scaled_wh, w.input_wh
            assert iw % 32 == 0 and ih % 32 == 0
            assert sw <= iw < sw + 32 and sh <= ih < sh + 32
            assert (sw, sh) == (round((w.x1 - w.x0) * w.scale), round((w.y1 - w.y0) * w.scale))
            assert w.cost_px == iw * ih


def test_crops_hold_the_heads_feet_and_zone_columns_of_their_rows() -> None:
    windows = plan_windows(HD, HD_BOX, HD_HEIGHTS, SETTINGS)
    rows = box_rows(HD_BOX, HD_HEIGHTS)
    for w in windows:
        mine = owned(w, rows)
        heads = mine - 1.15 * HD_HEIGHTS[mine]
        assert w.y0 <= max(heads.min(), 0)
        assert w.y1 >= min(mine.max() + 1, HD[1])
        assert w.x0 <= HD_BOX[0] and w.x1 >= HD_BOX[2]
        assert w.x0 >= 0 and w.x1 <= HD[0] and w.y0 >= 0 and w.y1 <= HD[1]
    # Cropped to the zones: nobody is looked for far left or right of them.
    narrow = (800.0, 600.0, 1000.0, 900.0)
    for w in plan_windows(HD, narrow, HD_HEIGHTS, SETTINGS):
        assert w.x0 > 600 and w.x1 < 1200


def test_without_calibration_one_window_at_the_fallback_long_side() -> None:
    settings = PlanSettings(fallback_long_side_px=416)
    for heights in (None, np.full(HD[1], np.nan), np.zeros(HD[1])):
        [w] = plan_windows(HD, (0.0, 0.0, 1920.0, 1080.0), heights, settings)
        assert (w.x0, w.y0, w.x1, w.y1) == (0, 0, 1920, 1080)
        assert w.scaled_wh == (416, 234) and w.input_wh == (416, 256)
        assert (w.foot_v0, w.foot_v1) == (0.0, 1080.0)
    # A box of the zones: its columns, all rows above its bottom (heads of people on its top row).
    [w] = plan_windows(HD, (400.0, 500.0, 1200.5, 900.0), None, settings)
    assert (w.x0, w.y0, w.x1, w.y1) == (400, 0, 1201, 900)
    assert max(w.scaled_wh) == 416
    # A small zone is not blown up beyond max_scale.
    [w] = plan_windows(HD, (900.0, 0.0, 950.0, 40.0), None, settings)
    assert w.scale == settings.max_scale


def test_one_window_when_it_is_cheaper_than_the_bands() -> None:
    # People 80 to 188 px tall: more than one band's ratio, yet a small area.
    frame, box, heights = (640, 480), (100.0, 200.0, 500.0, 470.0), linear_heights(480, 0, 0.4)
    bands = plan_windows(frame, box, heights, PlanSettings(call_overhead_px=0))
    assert len(bands) == 2
    [whole] = plan_windows(frame, box, heights, PlanSettings())  # 40 000 px per call
    assert sum(b.cost_px for b in bands) < whole.cost_px  # cheaper in pixels, dearer in calls
    assert sum(b.cost_px + 40_000 for b in bands) >= whole.cost_px + 40_000
    assert (whole.foot_v0, whole.foot_v1) == (0.0, 480.0)
    assert whole.scale == pytest.approx(64 / heights[200], rel=0.01)  # the smallest person of all
    # A narrow range of heights is one band whatever the call costs.
    assert len(plan_windows(frame, (100.0, 380.0, 500.0, 470.0), heights, PlanSettings(call_overhead_px=0))) == 1


def test_rows_where_no_one_can_stand_are_skipped() -> None:
    # Sky down to row 300 inside the box: bands start below it and still own every row.
    heights = linear_heights(HD[1], 300, 0.3)
    windows = plan_windows(HD, HD_BOX, heights, SETTINGS)
    assert np.all(np.isfinite([w.scale for w in windows]))
    assert len(windows) > 1 and min(w.y0 for w in windows) >= 300 - 1  # no crop reaches into the sky
    assert sum(w.foot_v1 - w.foot_v0 + 1 for w in windows) == HD[1] + 1


def test_zones_box_is_clipped_to_the_frame() -> None:
    inside = [np.array([[100, 50], [300, 80], [200, 220]], np.float64)]
    assert zones_box(inside, (640, 480)) == (100.0, 50.0, 300.0, 220.0)
    sticking_out = [np.array([[-50, -10], [700, 100], [100, 600]], np.float64), np.array([[10, 20], [30, 40]])]
    assert zones_box(sticking_out, (640, 480)) == (0.0, 0.0, 640.0, 480.0)
    two = [np.array([[10, 10], [20, 10], [20, 20]], np.float64), np.array([[400, 300], [500, 300], [500, 350]])]
    assert zones_box(two, (640, 480)) == (10.0, 10.0, 500.0, 350.0)


def test_zones_box_without_usable_points_is_the_whole_frame() -> None:
    whole = (0.0, 0.0, 640.0, 480.0)
    assert zones_box([], (640, 480)) == whole
    assert zones_box([np.zeros((0, 2))], (640, 480)) == whole
    assert zones_box([np.full((4, 2), np.nan)], (640, 480)) == whole
    assert zones_box([np.array([[-100.0, -100.0], [-50.0, -20.0]])], (640, 480)) == whole  # all off-frame
    assert zones_box([np.array([[10.0, 10.0], [11.0, 200.0]])], (640, 480)) == whole  # under 2 px wide
    # NaN points are dropped, not spread.
    partly = np.array([[10.0, 20.0], [np.nan, 5.0], [100.0, np.inf], [110.0, 90.0]])
    assert zones_box([partly], (640, 480)) == (10.0, 20.0, 110.0, 90.0)


def test_an_empty_window_is_refused() -> None:
    with pytest.raises(ValueError, match="empty crop"):
        Window(10, 10, 10, 20, 1.0, 0.0, 1.0)
    with pytest.raises(ValueError):
        Window(0, 0, 10, 10, 0.0, 0.0, 1.0)
    with pytest.raises(ValueError):
        Window(0, 0, 10, 10, 1.0, 5.0, 4.0)
