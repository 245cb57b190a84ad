"""The density-map counter's pure parts: where it looks, which cells belong to which zone, how much of the count
it carries, and the aggregator using its estimates. No network: maps are made in the tests."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pytest

from contract.edge_messages import ZoneMetricsMessage
from edge.density import DensityEstimate, DensityPlanError, PlanSettings, blend_count, density_weight, hidden_share
from edge.density.csrnet import MAP_STRIDE
from edge.density.plan import HEAD_FRACTION, plan_density
from edge.geometry import Homography, make_zone
from edge.metrics import MetricsSettings, Observation, ZoneMetricsAggregator
from edge.publishing import to_message

W, H = 640, 480


def _linear_heights(slope: float = 0.25, horizon: float = -100.0) -> npt.NDArray[np.float32]:
    """A camera whose people are `slope * (v - horizon)` px tall with their feet on row v, at every column."""
    rows = np.arange(H, dtype=np.float32)
    return np.repeat((slope * (rows - horizon))[:, None], W, axis=1).astype(np.float32)


def _box(x0: float, y0: float, x1: float, y1: float) -> npt.NDArray[np.float64]:
    return np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]], np.float64)


def test_cells_count_where_the_feet_stand_not_where_the_heads_are() -> None:
    heights = _linear_heights()
    near, far = _box(0, 300, W, H), _box(0, 150, W, 299)  # rasterised polygons include their edge rows
    plan = plan_density((W, H), {"near": near, "far": far}, heights, PlanSettings(person_height_px=400))
    # Never enlarged: at scale 1 the crop is the frame's own pixels, sides multiples of the map's stride.
    assert plan.scale == (1.0, 1.0)
    x0, y0, x1, y1 = plan.crop_px
    assert (x1 - x0) % MAP_STRIDE == 0 and (y1 - y0) % MAP_STRIDE == 0
    # The crop reaches up to the heads of the people standing on the far zone's far edge.
    assert y0 <= 150 - HEAD_FRACTION * heights[150, 0] + MAP_STRIDE
    # A person standing on row 320 (inside 'near') has their head on row 320 - 0.93 h, inside 'far''s rows:
    foot_v = 320.0
    head_v = foot_v - HEAD_FRACTION * float(heights[int(foot_v), 0])
    assert 150 < head_v < 300
    i = int((head_v - y0) // MAP_STRIDE)
    j = 40
    assert plan.zone_cells["near"][i, j] == 1.0 and plan.zone_cells["far"][i, j] == 0.0
    # Every cell belongs to at most one zone: nobody is counted twice.
    assert float((plan.zone_cells["near"] + plan.zone_cells["far"]).max()) == 1.0


def test_crop_is_shrunk_for_large_people_and_capped_in_pixels() -> None:
    zone = {"z": _box(100, 200, 500, 470)}
    big = _linear_heights(slope=0.8)  # people ~300 px tall
    plan = plan_density((W, H), zone, big, PlanSettings(person_height_px=100))
    assert plan.typical_person_px is not None and plan.typical_person_px > 250
    sx, sy = plan.scale
    assert sx == pytest.approx(100 / plan.typical_person_px, rel=0.05) and sy == pytest.approx(sx, rel=0.05)
    capped = plan_density((W, H), zone, big, PlanSettings(person_height_px=400, max_input_px=20_000))
    assert capped.input_wh[0] * capped.input_wh[1] <= 20_000 * 1.2
    assert all(side % MAP_STRIDE == 0 for side in capped.input_wh)


def test_eye_level_camera_shares_a_cell_among_the_zones_its_people_may_stand_in() -> None:
    """Seen from eye level every head is near the horizon: a cell there may hold a person standing anywhere."""
    rows = np.arange(H, dtype=np.float32)
    heights = np.repeat(((rows - 200.0) / HEAD_FRACTION)[:, None], W, axis=1)  # every head on row 200
    heights[rows <= 210] = np.nan
    near, far = _box(0, 400, W, H), _box(0, 211, W, 399)
    plan = plan_density((W, H), {"near": near, "far": far}, heights.astype(np.float32), PlanSettings(400))
    total = plan.zone_cells["near"] + plan.zone_cells["far"]
    i = int((200 - plan.crop_px[1]) // MAP_STRIDE)
    assert total[i].min() == pytest.approx(1.0, abs=0.02)  # the heads' row is shared, nobody lost...
    assert 0.2 < float(plan.zone_cells["near"][i, 10]) < 0.6  # ...in proportion to the rows each zone spans


def test_uncalibrated_cells_count_where_they_lie() -> None:
    plan = plan_density((W, H), {"left": _box(0, 0, 320, H), "right": _box(320, 0, W, H)}, None)
    assert plan.typical_person_px is None and plan.crop_px == (0, 0, W, H)
    total = plan.zone_cells["left"] + plan.zone_cells["right"]
    assert np.all(total == 1.0)
    assert plan.zone_cells["left"][:, : 320 // MAP_STRIDE].all()


def test_zone_outside_the_frame_is_a_clear_error_and_a_tiny_one_a_share_of_a_cell() -> None:
    with pytest.raises(DensityPlanError, match="'gone' lies outside the 640x480 frame"):
        plan_density((W, H), {"gone": _box(700, 500, 900, 700)}, None)
    # A zone smaller than a map cell is not an error: at most a share of one cell (its count comes from boxes).
    dot = plan_density((W, H), {"dot": _box(10, 10, 12, 12)}, None)
    assert 0.0 <= float(dot.zone_cells["dot"].sum()) < 1.0


def test_hidden_share_counts_boxes_another_box_covers() -> None:
    assert hidden_share(np.zeros((0, 4))) == 0.0
    assert hidden_share(np.array([[0, 0, 10, 20]])) == 0.0
    apart = np.array([[0, 0, 10, 20], [20, 0, 30, 20], [40, 0, 50, 20]], float)
    assert hidden_share(apart) == 0.0
    # The second box is half behind the first; the third stands alone.
    overlapping = np.array([[0, 0, 10, 20], [5, 0, 15, 20], [40, 0, 50, 20]], float)
    assert hidden_share(overlapping) == pytest.approx(2 / 3)  # 50% each way for the pair
    slight = np.array([[0, 0, 10, 20], [8, 0, 18, 20]], float)  # 20% covered: separable
    assert hidden_share(slight) == 0.0


def test_weight_rises_with_hidden_share_and_blend_adds_the_missed_people() -> None:
    assert density_weight(0.05, 0.1, 0.6) == 0.0
    assert density_weight(0.35, 0.1, 0.6) == pytest.approx(0.5)
    assert density_weight(0.9, 0.1, 0.6) == 1.0
    with pytest.raises(ValueError):
        density_weight(0.5, 0.6, 0.6)
    est = DensityEstimate("z", 10.0, density_count=30.0, detected=20, hidden=0.35, weight=0.5)
    # The map saw 10 more people than the boxes: half of that correction at weight 0.5.
    assert blend_count(22.0, est) == pytest.approx(27.0)
    assert blend_count(22.0, None) == 22.0
    assert blend_count(22.0, DensityEstimate("z", 10.0, 30.0, 20, 0.0, 0.0)) == 22.0
    # A map seeing fewer people than the boxes never removes a person a box found.
    assert blend_count(12.0, DensityEstimate("z", 0.0, 3.0, 10, 1.0, 1.0)) == 12.0
    with pytest.raises(ValueError):
        DensityEstimate("z", 0.0, 1.0, 1, 0.5, 1.5)


def _obs(k: int, t: float, n: int) -> Observation:
    g = np.column_stack([np.linspace(1, 9, n), np.full(n, 5.0)]) if n else np.zeros((0, 2))
    return Observation(k, t, np.arange(n, dtype=np.int64), g, g.copy(), g.copy(), g.copy())


def test_aggregator_applies_a_fresh_estimate_and_reports_its_share() -> None:
    zone = make_zone("z", Homography.from_matrix(np.eye(3)), ground_m=[[0, 0], [10, 0], [10, 10], [0, 10]])
    agg = ZoneMetricsAggregator("cam", [zone], [], MetricsSettings(interval_s=1.0, density_max_age_s=3.0))
    agg.add_density([DensityEstimate("z", 0.0, density_count=14.0, detected=10, hidden=0.6, weight=0.8)])
    out = []
    for k in range(60):  # 10 fps, 6 s, 10 people visible
        out += agg.add(_obs(k, k / 10, 10))
    out += agg.flush()
    fresh, old = out[:3], out[4:]
    for m in fresh:  # 10 + 0.8 * 4 people the boxes missed
        assert m.count == pytest.approx(13.2) and m.count_source == "density" and m.density_weight == 0.8
        assert m.count_max >= 14 and m.density == pytest.approx(13.2 / 100)
    for m in old:  # older than density_max_age_s: the boxes alone again
        assert m.count == pytest.approx(10.0) and m.count_source != "density" and m.density_weight == 0.0
    wire = to_message(fresh[0], site="s", seq=1, measured_at_s=1.0)
    assert isinstance(wire, ZoneMetricsMessage) and wire.count_source == "density" and wire.density_weight == 0.8


def test_a_light_weight_keeps_the_detector_as_the_named_source() -> None:
    zone = make_zone("z", Homography.from_matrix(np.eye(3)), ground_m=[[0, 0], [10, 0], [10, 10], [0, 10]])
    agg = ZoneMetricsAggregator("cam", [zone], [], MetricsSettings(interval_s=1.0))
    agg.add_density([DensityEstimate("z", 0.0, density_count=20.0, detected=10, hidden=0.2, weight=0.2)])
    out = [m for k in range(10) for m in agg.add(_obs(k, k / 10, 10))] + agg.flush()
    assert out[0].count == pytest.approx(12.0) and out[0].count_source in {"tracks", "detections"}
    assert out[0].density_weight == pytest.approx(0.2)


class _NoModel:
    def density_map(self, image_bgr: npt.NDArray[np.uint8]) -> npt.NDArray[np.float32]:
        h, w = image_bgr.shape[:2]
        return np.full((h // MAP_STRIDE, w // MAP_STRIDE), 0.01, np.float32)


def test_runs_often_in_a_crowd_rarely_when_sparse_and_never_for_people_too_small() -> None:
    from edge.config import DensityConfig
    from edge.density import DensityCounter
    from edge.types import Detections

    zone = make_zone("z", Homography.from_matrix(np.eye(3)), image_px=[[0, 0], [W, 0], [W, H], [0, H]])
    cfg = DensityConfig(interval_s=5.0, sparse_interval_s=30.0, min_people=3)
    counter = DensityCounter(_NoModel(), cfg, [zone], None, (W, H))
    image = np.zeros((H, W, 3), np.uint8)

    def boxes(n: int) -> Detections:
        x = np.arange(n, dtype=np.float32) * 50
        xyxy = np.stack([x, np.full(n, 100.0), x + 40, np.full(n, 300.0)], axis=1).astype(np.float32)
        return Detections(xyxy, np.full(n, 0.9, np.float32))

    assert counter.due(0.0, boxes(0))  # the first frame
    counter.run(image, 0.0, boxes(0))
    assert not counter.due(6.0, boxes(1)) and counter.due(6.0, boxes(3))  # a crowd: every interval_s
    assert not counter.due(29.0, boxes(0)) and counter.due(30.0, boxes(0))  # sparse: every sparse_interval_s
    run = counter.run(image, 30.0, boxes(4))
    assert run.estimates[0].detected == 4 and run.estimates[0].weight == 0.0  # boxes side by side: nobody hidden
    tiny = DensityConfig(min_person_px=400)
    calibrated = Homography.from_points(
        [[0, 300], [640, 300], [0, 470], [640, 470]], [[-9, 28], [9, 28], [-4, 10], [4, 10]]
    )
    zone_m = make_zone("z", calibrated, image_px=[[0, 300], [W, 300], [W, 470], [0, 470]])
    assert not DensityCounter(_NoModel(), tiny, [zone_m], calibrated, (W, H)).due(0.0, boxes(9))
