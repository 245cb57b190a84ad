"""The hybrid offline detector's pure parts: where HOG looks, and how its hits meet background boxes.

HOG itself is OpenCV's; what is ours is the planning of its scan (which sizes, which rows) and the
fusion rules, checked here with injected boxes so every rule is seen to decide.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from edge.detectors.fusion import FusionParams, HogEvidence, covered_by, fuse, hog_scores, merge_hits, plausible_size
from edge.detectors.hog import PERSON_BOTTOM, PERSON_TOP, HogParams, HogPeopleDetector, plan_strips
from edge.detectors.offline import foreground_fraction
from edge.detectors.refine import RefineParams, ScaleRefiner
from edge.detectors.scale import PersonScaleMap
from edge.types import Detections


def f32(rows: list[list[float]]) -> np.ndarray:
    return np.asarray(rows, np.float32).reshape(-1, 4)


def linear_map(width: int, height: int, horizon_row: float, gain: float) -> PersonScaleMap:
    """A level camera's scale map: a person with feet on row v is gain * (v - horizon) px tall."""
    rows = np.arange(height, dtype=np.float32)[:, None].repeat(width, axis=1)
    expected = gain * (rows - horizon_row)
    expected[expected < 8] = np.nan
    return PersonScaleMap(expected.astype(np.float32))


def hog(
    xyxy: list[list[float]],
    margins: list[float],
    expected: list[float] | None = None,
    support: list[float] | None = None,
) -> HogEvidence:
    return HogEvidence(
        f32(xyxy),
        np.asarray(margins, np.float32),
        None if expected is None else np.asarray(expected, np.float32),
        None if support is None else np.asarray(support, np.float32),
    )


def bg(xyxy: list[list[float]], scores: list[float]) -> Detections:
    return Detections(f32(xyxy), np.asarray(scores, np.float32))


NO_BG = bg([], [])
NONE = np.zeros(0, bool)


# --- where HOG looks ---------------------------------------------------------------------------


def test_hog_is_off_where_people_are_all_small() -> None:
    # an elevated camera whose nearest person is 90 px: HOG would need upscaling, so it never runs
    small = linear_map(480, 360, horizon_row=-60.0, gain=0.2)
    assert np.nanmax(small.height_px) < 100
    assert plan_strips(small, 360, HogParams()) == []


def test_each_level_scans_only_the_rows_where_its_size_can_stand() -> None:
    scale = linear_map(640, 480, horizon_row=260.0, gain=1.5)
    p = HogParams()
    strips = plan_strips(scale, 480, p)
    assert strips, "people up to 330 px tall: HOG must run"
    heights = [s.person_h_px for s in strips]
    assert heights[0] == pytest.approx(p.min_height_px)
    assert all(b / a == pytest.approx(p.level_step) for a, b in itertools.pairwise(heights))
    for s in strips:
        window_h = s.person_h_px / (PERSON_BOTTOM - PERSON_TOP)
        # feet rows whose expected height is within the tolerance, and at least min_height_px
        lo = max(s.person_h_px / p.scale_tolerance, p.min_height_px)
        hi = s.person_h_px * p.scale_tolerance
        foot_lo = 260.0 + lo / 1.5
        foot_hi = min(479.0, 260.0 + hi / 1.5)
        assert s.row0 == pytest.approx(foot_lo - PERSON_BOTTOM * window_h, abs=2.0)
        assert s.row1 == pytest.approx(foot_hi + 1 + (1 - PERSON_BOTTOM) * window_h, abs=2.0)
        # a thin strip, not the frame
        assert s.row1 - s.row0 < window_h + 0.6 * s.person_h_px
    # no level for people taller than the frame allows
    assert heights[-1] <= 1.5 * (479 - 260) * p.level_step


def test_without_calibration_every_size_is_scanned_everywhere() -> None:
    strips = plan_strips(None, 480, HogParams())
    assert [s.row0 for s in strips] == [0] * len(strips)
    assert [s.row1 for s in strips] == [480] * len(strips)
    assert strips[0].person_h_px == 100.0 and strips[-1].person_h_px <= 480 * 1.12


def test_hog_finds_nobody_on_a_blank_frame() -> None:
    scale = linear_map(320, 240, horizon_row=100.0, gain=1.2)
    strips = plan_strips(scale, 240, HogParams())
    assert strips
    hits = HogPeopleDetector().detect(np.full((240, 320, 3), 128, np.uint8), strips)
    assert len(hits) == 0 and hits.xyxy.shape == (0, 4)


# --- fusion rules ------------------------------------------------------------------------------


def test_plausible_size_is_a_ratio_band_and_rejects_unknown() -> None:
    ok = plausible_size(np.array([100, 124, 126, 79, 81, 100], np.float32), np.array([100] * 5 + [np.nan]), 1.25)
    assert ok.tolist() == [True, True, False, False, True, False]


def test_hog_box_implausible_for_its_foot_position_is_dropped() -> None:
    # same margin; one is 100 px where 100 is expected, the other 200 px (a pole near a far foot)
    ev = hog([[0, 0, 40, 100], [200, 0, 280, 200]], [1.0, 1.0], expected=[100, 100])
    out = fuse(ev, NO_BG, NONE, bg_warm=True)
    np.testing.assert_allclose(out.xyxy, [[0, 0, 40, 100]])


def test_without_calibration_size_is_not_judged() -> None:
    ev = hog([[0, 0, 40, 100], [200, 0, 280, 200]], [1.0, 1.0])
    assert len(fuse(ev, NO_BG, NONE, bg_warm=True)) == 2


def test_hits_of_one_person_merge_into_their_weighted_mean() -> None:
    xyxy = f32([[100, 100, 140, 200], [104, 100, 144, 200], [300, 100, 340, 200]])
    scores = np.array([0.9, 0.3, 0.5], np.float32)
    merged, kept = merge_hits(xyxy, scores, 0.3)
    assert kept.tolist() == pytest.approx([0.9, 0.5])
    np.testing.assert_allclose(merged[0], [101, 100, 141, 200], atol=1e-4)
    np.testing.assert_allclose(merged[1], [300, 100, 340, 200])


def test_hog_score_is_the_margin_logistic_and_foreground_moves_it() -> None:
    p = FusionParams()
    assert hog_scores(np.array([0.0], np.float32), None, p)[0] == pytest.approx(0.5)
    assert hog_scores(np.array([-0.3], np.float32), None, p)[0] == pytest.approx(1 / (1 + np.exp(0.6)))
    on_mover, on_still = hog_scores(np.array([0.0, 0.0], np.float32), np.array([0.6, 0.0], np.float32), p)
    assert on_mover > 0.5 > on_still


def test_foreground_counts_only_once_the_background_is_warm() -> None:
    ev = hog([[0, 0, 40, 100]], [0.0], support=[0.0])
    cold = fuse(ev, NO_BG, NONE, bg_warm=False).scores[0]
    warm = fuse(ev, NO_BG, NONE, bg_warm=True).scores[0]
    assert cold == pytest.approx(0.5) and warm < cold


def test_background_box_on_a_hog_person_is_the_same_person() -> None:
    ev = hog([[100, 100, 140, 200]], [0.0])
    b = bg([[102, 102, 142, 202]], [0.9])
    out = fuse(ev, b, np.array([True]), bg_warm=True)
    assert len(out) == 1
    np.testing.assert_allclose(out.xyxy[0], [100, 100, 140, 200])
    assert out.scores[0] == pytest.approx(0.9)  # the background box lends its confidence


def test_unexplained_background_box_where_hog_looks_waits_for_the_warm_background() -> None:
    ev = hog([[100, 100, 140, 200]], [1.0])
    b = bg([[400, 100, 440, 200]], [0.8])
    # while the scene is being learnt such a box is likely a ghost of someone who was standing there
    assert len(fuse(ev, b, np.array([True]), bg_warm=False)) == 1
    # afterwards it is someone HOG missed (hidden behind another, say)
    assert len(fuse(ev, b, np.array([True]), bg_warm=True)) == 2


def test_background_boxes_too_small_for_hog_are_kept_even_while_warming_up() -> None:
    b = bg([[400, 100, 420, 150], [10, 10, 30, 60]], [0.8, 0.6])
    out = fuse(hog([], []), b, np.array([False, False]), bg_warm=False)
    np.testing.assert_allclose(out.xyxy, b.xyxy)
    np.testing.assert_allclose(out.scores, b.scores)


def test_fragment_inside_a_confident_hog_person_is_not_someone_else() -> None:
    # the torso blob of a near person, fitted as a small far person, lies inside the HOG box
    ev = hog([[100, 100, 180, 300]], [1.0])
    fragment = bg([[120, 120, 150, 190]], [0.9])
    assert len(fuse(ev, fragment, np.array([False]), bg_warm=False)) == 1
    # a weak HOG hit does not get to swallow it
    weak = hog([[100, 100, 180, 300]], [-0.2])
    assert len(fuse(weak, fragment, np.array([False]), bg_warm=False)) == 2


def test_flags_must_match_the_background_boxes() -> None:
    with pytest.raises(ValueError, match="flags"):
        fuse(hog([], []), bg([[0, 0, 1, 1]], [1.0]), np.zeros(2, bool), bg_warm=True)


def test_covered_by_and_foreground_fraction() -> None:
    a = f32([[0, 0, 10, 10], [50, 50, 60, 60]])
    b = f32([[5, 0, 20, 10]])
    np.testing.assert_allclose(covered_by(a, b), [0.5, 0.0])
    assert covered_by(a, f32([])).tolist() == [0.0, 0.0]
    mask = np.zeros((20, 20), np.uint8)
    mask[0:10, 0:5] = 255
    np.testing.assert_allclose(
        foreground_fraction(mask, f32([[0, 0, 10, 10], [-5, -5, 5, 5], [3, 3, 3, 9]])), [0.5, 1.0, 0.0]
    )


# --- online scale correction -------------------------------------------------------------------


def test_scale_refiner_waits_for_enough_confident_people() -> None:
    r = ScaleRefiner(RefineParams(min_samples=4, min_margin=0.5))
    # weak hits do not vote, however many
    r.add(np.full(50, 80.0, np.float32), np.full(50, 100.0, np.float32), np.full(50, 0.2, np.float32))
    assert r.estimate() is None and r.update() is None
    # nor do hits where nobody is expected
    r.add(np.full(5, 80.0, np.float32), np.full(5, np.nan, np.float32), np.ones(5, np.float32))
    assert r.estimate() is None
    r.add(np.array([80, 80, 90, 300], np.float32), np.full(4, 100.0, np.float32), np.ones(4, np.float32))
    # the median resists the one outlier
    assert r.estimate() == pytest.approx(np.exp(np.median(np.log([0.8, 0.8, 0.9, 3.0]))))
    assert r.update() == pytest.approx(r.estimate())
    assert r.applied_factor == pytest.approx(r.estimate())
    # no change beyond the step: nothing to re-apply
    assert r.update() is None


def test_scale_refiner_never_trusts_the_calibration_less_than_its_limit() -> None:
    r = ScaleRefiner(RefineParams(min_samples=1, max_factor=1.5))
    r.add(np.array([400.0], np.float32), np.array([100.0], np.float32), np.array([2.0], np.float32))
    assert r.estimate() == pytest.approx(1.5)
