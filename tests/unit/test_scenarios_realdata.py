"""Scenarios built from the real shared data: ETH/UCY trajectories and the campus-gym series."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from central.playback.builders import build, peak_density
from central.playback.gym import gym_samples, load_gym
from central.playback.scenario import GymTimeline, ScenarioError, TrajectoriesTimeline, load
from central.playback.trajectories import load_obsmat, points_in_polygon, stacked_samples

pytestmark = pytest.mark.integration
SCEN = Path(__file__).resolve().parents[2] / "configs" / "scenarios"
SQUARE = [(-4.0, -4.0), (4.0, -4.0), (4.0, 4.0), (-4.0, 4.0)]


def test_one_layer_reproduces_the_recorded_counts(shared_data: Path) -> None:
    tr = load_obsmat(shared_data / "trajectories" / "students03" / "obsmat.txt")
    assert 200 < tr.period_s < 230  # 3.6 minutes at 0.4 s
    tl = TrajectoriesTimeline.model_validate({"dataset": "students03", "layers": [{"t_s": 0, "layers": 1}]})
    s = stacked_samples(tr, tl, SQUARE, 64.0, duration_s=tr.period_s // 4 * 4, interval_s=4.0)
    # Direct count from the file: people inside the square in each 0.4 s frame, averaged per 4 s.
    frame = np.round(tr.t_s / 0.4).astype(int)
    inside = points_in_polygon(tr.x_m, tr.y_m, SQUARE)
    per_frame = np.bincount(frame[inside], minlength=frame.max() + 1)
    for i, x in enumerate(s):
        expect = per_frame[i * 10 : (i + 1) * 10].mean()
        assert x.count == pytest.approx(expect, abs=1e-3)
        assert x.count_max == per_frame[i * 10 : (i + 1) * 10].max()
    speeds = [x.speed_p50_mps for x in s if x.speed_p50_mps is not None]
    assert 0.4 < float(np.median(speeds)) < 1.5  # walking


def test_point_in_polygon_concave() -> None:
    u = [(0.0, 0.0), (3.0, 0.0), (3.0, 3.0), (2.0, 3.0), (2.0, 1.0), (1.0, 1.0), (1.0, 3.0), (0.0, 3.0)]
    x = np.array([0.5, 1.5, 1.5, 2.5, 4.0])
    y = np.array([2.0, 2.0, 0.5, 2.0, 1.0])
    assert points_in_polygon(x, y, u).tolist() == [True, False, True, True, False]


def test_students03_buildup_crosses_near_its_script(shared_data: Path) -> None:
    sc = load(SCEN / "students03_buildup.yaml")
    b = build(sc, data_dir=shared_data)
    d = np.array([x.density for x in b.samples["campus"]])
    assert d[:30].mean() < 0.35  # the recorded crowd before the ramp
    assert d[-30:].mean() > 1.2  # six layers
    crossing = {e.crossing_s for e in b.expected}
    assert len(crossing) == 1
    (c,) = crossing
    assert 900 <= c <= 1300  # scripted: layers reach ~4.3 x 0.23/m2 = 1.0 around minute 17-20
    # At least 5 minutes of rising history before the crossing, which a forecast can use.
    assert c - 300 >= 600


def test_students03_calm_stays_calm(shared_data: Path) -> None:
    sc = load(SCEN / "students03_calm.yaml")
    b = build(sc, data_dir=shared_data)
    assert peak_density(b, "campus") < 0.6 * sc.zones[0].thresholds.warning


def test_gym_scenarios(shared_data: Path) -> None:
    up = build(load(SCEN / "gym_buildup.yaml"), data_dir=shared_data)
    (c,) = {e.crossing_s for e in up.expected}
    # 2016-01-20: the after-class rush passes 100 people (1.0/m2 over 100 m2) at about 16:30.
    assert 2 * 3600 <= c <= 3 * 3600
    assert up.samples["gym"][0].count == pytest.approx(73, abs=10)
    calm_sc = load(SCEN / "gym_calm.yaml")
    calm = build(calm_sc, data_dir=shared_data)
    assert peak_density(calm, "gym") < 0.5 * calm_sc.zones[0].thresholds.warning


def test_gym_refuses_to_bridge_a_hole(shared_data: Path) -> None:
    series = load_gym(shared_data / "timeseries" / "berkeley_gym_10min" / "campus_gym_crowdedness_2015-08_2016-08.csv")
    gaps = series["local"].diff().dt.total_seconds()
    at = series["local"].iloc[int(gaps.idxmax()) - 1]  # the last sample before the longest hole
    tl = GymTimeline.model_validate({"date": str(at.date()), "from_hour": at.hour})
    with pytest.raises(ValueError, match="hole"):
        gym_samples(series, tl, 100.0, duration_s=86400, interval_s=600)
    outside = GymTimeline.model_validate({"date": "2030-01-01", "from_hour": 0})
    with pytest.raises(ValueError, match="does not cover"):
        gym_samples(series, outside, 100.0, 3600, 60)


def test_missing_data_folder_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError, match="needs the shared data folder"):
        build(load(SCEN / "gym_calm.yaml"), data_dir=tmp_path / "absent")
