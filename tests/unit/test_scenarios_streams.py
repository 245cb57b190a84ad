"""Metric-stream generation from scripted levels, and the resolution of expected alerts."""

from __future__ import annotations

from pathlib import Path

import pytest

from central.playback.builders import build
from central.playback.scenario import LevelsTimeline, load
from central.playback.streams import (
    ZoneSample,
    first_crossing_s,
    levels_crossing_s,
    levels_samples,
    los_band,
    weidmann_speed_mps,
)
from contract.edge_messages import ZoneMetricsMessage

SCEN = Path(__file__).resolve().parents[2] / "configs" / "scenarios"


def timeline(points: list[tuple[float, float]], noise: float = 0.0) -> LevelsTimeline:
    return LevelsTimeline.model_validate(
        {"points": [{"t_s": t, "density": d} for t, d in points], "noise": noise, "seed": 0}
    )


def test_levels_crossing_is_interpolated() -> None:
    tl = timeline([(0, 0.2), (100, 0.2), (300, 1.2)])
    assert levels_crossing_s(tl, 0.7) == pytest.approx(200.0)
    assert levels_crossing_s(tl, 0.1) == 0.0
    assert levels_crossing_s(tl, 1.5) is None


def test_noise_free_samples_follow_the_script() -> None:
    tl = timeline([(0, 0.0), (100, 1.0)])
    s = levels_samples(tl, area_m2=50.0, duration_s=100, interval_s=10)
    assert [x.t_end_s for x in s] == [10.0 * i for i in range(1, 11)]
    # Each interval carries the script's value at its middle.
    assert [x.density for x in s] == pytest.approx([0.05 + 0.1 * i for i in range(10)])
    assert [x.count for x in s] == pytest.approx([50 * (0.05 + 0.1 * i) for i in range(10)])
    assert all(x.count_max >= x.count for x in s)


def test_noise_is_seeded_and_bounded() -> None:
    tl = timeline([(0, 1.0)], noise=0.1)
    a = levels_samples(tl, 100.0, 600, 10)
    b = levels_samples(tl, 100.0, 600, 10)
    assert a == b
    d = [x.density for x in a]
    assert 0.9 < sum(d) / len(d) < 1.1
    assert max(d) > 1.05 and min(d) < 0.95


def test_speed_model_and_los() -> None:
    assert weidmann_speed_mps(0.0) is None
    speeds = [weidmann_speed_mps(d) for d in (0.2, 1.0, 2.0, 4.0, 6.0)]
    assert all(v is not None for v in speeds)
    vals = [v for v in speeds if v is not None]
    assert vals == sorted(vals, reverse=True)
    assert 1.2 < vals[0] <= 1.34 and vals[-1] == 0.0
    assert [los_band(d) for d in (0.0, 0.35, 0.5, 0.8, 1.5, 3.0)] == ["A", "B", "C", "D", "E", "F"]


def test_first_crossing_needs_the_trailing_mean() -> None:
    dens = [0.5] * 10 + [2.0] + [0.5] * 5 + [1.2] * 10
    s = [ZoneSample(10.0 * (i + 1), d * 10, int(d * 10), d, None, None) for i, d in enumerate(dens)]
    # One interval at 2.0 lifts a 6-interval mean to 0.75 only; the sustained 1.2 lifts it past 1.0 in its 5th interval.
    assert first_crossing_s(s, 1.0, window_s=60, interval_s=10) == 210.0
    assert first_crossing_s(s, 1.0, window_s=10, interval_s=10) == 110.0
    assert first_crossing_s([], 1.0, 60, 10) is None


def test_built_buildup_scenario() -> None:
    sc = load(SCEN / "plaza_buildup.yaml")
    b = build(sc, start_epoch=1_800_000_000.0)
    assert len(b.messages) == 2 * 180
    for m in b.messages:
        ZoneMetricsMessage.model_validate(m.model_dump(by_alias=True))
        assert m.site == "demo" and m.camera == "cam1"
        assert m.density == pytest.approx(m.count / m.area_m2, rel=1e-3)
    seqs = [m.seq for m in b.messages]
    assert seqs == list(range(len(seqs)))
    assert [m.measured_at for m in b.messages] == sorted(m.measured_at for m in b.messages)
    assert b.messages[0].measured_at == 1_800_000_010.0
    # The plaza's scripted crossing of 1.0: 0.3 at 300 s rising 1.1 over 1200 s.
    crossing = 300 + 0.7 / 1.1 * 1200
    assert {(e.kind, e.zone) for e in b.expected} == {("forecast", "plaza"), ("current", "plaza")}
    for e in b.expected:
        assert e.crossing_s == pytest.approx(crossing)
    forecast = next(e for e in b.expected if e.kind == "forecast")
    assert (forecast.earliest_s, forecast.latest_s) == pytest.approx((crossing - 720, crossing + 30))
    # The measured stream crosses where the script does (noise 5 %).
    plaza = b.samples["plaza"]
    measured = first_crossing_s(plaza, 1.0, 60, 10)
    assert measured is not None and abs(measured - crossing) < 90
    recs = b.records()
    assert len(recs) == len(b.messages) + len(b.patrol_records)
    assert [r.received_at for r in recs] == sorted(r.received_at for r in recs)
    assert recs[0].topic.startswith(("crowd/v1/demo/cam1/zones/", "owntracks/"))


def test_calm_control_stays_below_warning() -> None:
    from central.playback.builders import peak_density

    sc = load(SCEN / "plaza_calm.yaml")
    b = build(sc)
    assert b.expected == []
    for z in sc.zones:
        assert peak_density(b, z.id) < 0.8 * z.thresholds.warning


def test_a_crossing_that_never_comes_is_an_error() -> None:
    from central.playback.scenario import ScenarioError, parse

    raw = load(SCEN / "plaza_buildup.yaml").model_dump(by_alias=True, exclude_none=True)
    raw["zones"][0]["thresholds"] = {"warning": 5.0, "critical": 6.0}
    with pytest.raises(ScenarioError, match="never reaches its warning threshold"):
        build(parse(raw))
