"""The scenario format: every shipped scenario loads, and bad files fail naming the key."""

from __future__ import annotations

import copy
import math
from pathlib import Path
from typing import Any

import pytest

from central.playback.geo import LocalFrame, polygon_area_m2
from central.playback.scenario import ScenarioError, load, parse

SCENARIOS = sorted((Path(__file__).resolve().parents[2] / "configs" / "scenarios").glob("*.yaml"))

BASE: dict[str, Any] = {
    "name": "t",
    "kind": "buildup",
    "site": {"origin": [8.54, 47.37]},
    "duration_s": 600,
    "zones": [
        {
            "id": "z",
            "camera": "c",
            "edge_zone": "e",
            "polygon_m": [[0, 0], [10, 0], [10, 10], [0, 10]],
            "thresholds": {"warning": 1.0, "critical": 2.0},
            "timeline": {"kind": "levels", "points": [{"t_s": 0, "density": 0.2}, {"t_s": 600, "density": 1.5}]},
        }
    ],
    "expected_alerts": [{"kind": "current", "zone": "z", "window_s": [0, 60]}],
}


def variant(**changes: Any) -> dict[str, Any]:
    d = copy.deepcopy(BASE)
    d.update(changes)
    return d


def test_shipped_scenarios_load() -> None:
    assert len(SCENARIOS) >= 6
    kinds = {load(p).kind for p in SCENARIOS}
    assert kinds == {"buildup", "calm"}


def test_unknown_key_is_rejected_and_named() -> None:
    d = variant()
    d["zones"][0]["thresholdz"] = 3
    with pytest.raises(ScenarioError, match=r"zones\.0\.thresholdz"):
        parse(d)


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: d["zones"][0].update(polygon=[[8.5, 47.3], [8.6, 47.3], [8.6, 47.4]]), "exactly one of 'polygon'"),
        (lambda d: d["zones"][0]["thresholds"].update(critical=0.5), "must be above warning"),
        (lambda d: d["zones"][0]["timeline"]["points"].reverse(), "strictly increasing"),
        (lambda d: d["expected_alerts"][0].update(zone="nope"), "unknown zone 'nope'"),
        (lambda d: d["expected_alerts"][0].update(window_s=[60, 0]), "earliest, latest"),
        (lambda d: d.update(kind="calm"), "calm scenario expects no alerts"),
        (lambda d: d.update(expected_alerts=[]), "at least one alert"),
        (lambda d: d["zones"][0]["timeline"].update(kind="video"), "timeline"),
        (lambda d: d["zones"].append(copy.deepcopy(d["zones"][0])), "duplicate ids"),
    ],
)
def test_bad_scenarios_fail_clearly(mutate: Any, message: str) -> None:
    d = variant()
    mutate(d)
    with pytest.raises(ScenarioError, match=message):
        parse(d)


def test_not_a_mapping_and_unreadable_file(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError, match="must be a mapping"):
        parse([1, 2])
    with pytest.raises(ScenarioError, match="cannot read"):
        load(tmp_path / "missing.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: [unclosed\n")
    with pytest.raises(ScenarioError, match="not valid YAML"):
        load(bad)


def test_local_frame_round_trip_and_scale() -> None:
    f = LocalFrame(8.54, 47.37)
    lon, lat = f.to_lonlat(100.0, -50.0)
    x, y = f.to_local(lon, lat)
    assert (x, y) == pytest.approx((100.0, -50.0), abs=1e-6)
    # One degree of latitude is about 111.2 km; a degree of longitude shrinks with cos(latitude).
    assert f.to_local(8.54, 48.37)[1] == pytest.approx(111_195, rel=1e-3)
    assert f.to_local(9.54, 47.37)[0] == pytest.approx(111_195 * math.cos(math.radians(47.37)), rel=1e-3)
    with pytest.raises(ValueError, match="lon/lat"):
        LocalFrame(47.37, 98.0)


def test_metre_and_lonlat_polygons_agree_with_central_geo() -> None:
    from central import geo as central_geo

    sc = parse(variant())
    zone = sc.zones[0]
    assert sc.area_m2(zone) == pytest.approx(100.0)
    ring = sc.polygon_lonlat(zone)
    assert central_geo.area_m2(ring) == pytest.approx(100.0, rel=1e-3)
    assert polygon_area_m2([(0, 0), (4, 0), (0, 3)]) == pytest.approx(6.0)


def test_central_site_config_is_valid_for_central() -> None:
    from central.config import CentralConfig

    for path in SCENARIOS:
        sc = load(path)
        cfg = CentralConfig.model_validate(sc.central_site_config())
        assert [z.id for z in cfg.zones] == [z.id for z in sc.zones]
        assert cfg.zones[0].thresholds is not None
        assert cfg.zones[0].thresholds.warning == sc.zones[0].thresholds.warning
