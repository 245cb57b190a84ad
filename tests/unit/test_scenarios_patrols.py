"""The patrol simulator: walking speed along WGS-84 routes, OwnTracks messages central can parse."""

from __future__ import annotations

import json
from typing import Any

import pytest

from central.geo import haversine_m
from central.playback.patrols import owntracks_topic, patrol_records, position_at
from central.playback.scenario import Scenario, parse


def scenario(patrol: dict[str, Any]) -> Scenario:
    return parse(
        {
            "name": "p",
            "kind": "other",
            "site": {"origin": [8.54, 47.37]},
            "duration_s": 600,
            "zones": [
                {
                    "id": "z",
                    "camera": "c",
                    "edge_zone": "e",
                    "polygon_m": [[0, 0], [10, 0], [10, 10]],
                    "thresholds": {"warning": 1, "critical": 2},
                    "timeline": {"kind": "levels", "points": [{"t_s": 0, "density": 0.1}]},
                }
            ],
            "patrols": [patrol],
        }
    )


def test_walks_a_loop_at_its_speed() -> None:
    sc = scenario({"user": "a", "tid": "AA", "route_m": [[0, 0], [100, 0], [100, 50], [0, 50]], "speed_mps": 2.0})
    p = sc.patrols[0]
    assert (position_at(sc, p, 0).x_m, position_at(sc, p, 0).y_m) == (0.0, 0.0)
    assert (position_at(sc, p, 25).x_m, position_at(sc, p, 25).y_m) == pytest.approx((50.0, 0.0))
    assert (position_at(sc, p, 75).x_m, position_at(sc, p, 75).y_m) == pytest.approx((100.0, 50.0))
    # The loop closes back to the first waypoint: 300 m around, so 150 s later it is where it started.
    assert (position_at(sc, p, 150).x_m, position_at(sc, p, 150).y_m) == pytest.approx((0.0, 0.0), abs=1e-9)
    assert (position_at(sc, p, 175).x_m, position_at(sc, p, 175).y_m) == pytest.approx((50.0, 0.0))
    # Between two reports on one straight leg, the great-circle distance is speed x time.
    a, b = position_at(sc, p, 5), position_at(sc, p, 20)
    assert haversine_m(a.lon, a.lat, b.lon, b.lat) == pytest.approx(30.0, rel=1e-3)


def test_back_and_forth_and_start_offset() -> None:
    sc = scenario({"user": "b", "tid": "B", "route_m": [[0, 0], [0, 60]], "loop": False, "start_offset_m": 30})
    p = sc.patrols[0]
    ys = [round(position_at(sc, p, t).y_m, 6) for t in (0, 30 / 1.3, 60 / 1.3, 90 / 1.3, 150 / 1.3)]
    assert ys == pytest.approx([30.0, 60.0, 30.0, 0.0, 60.0])


def test_routes_in_lonlat_equal_routes_in_metres() -> None:
    sc_m = scenario({"user": "c", "tid": "C", "route_m": [[0, 0], [80, 40]]})
    ring = [list(sc_m.site.frame.to_lonlat(0, 0)), list(sc_m.site.frame.to_lonlat(80, 40))]
    sc_ll = scenario({"user": "c", "tid": "C", "route": ring})
    for t in (0, 17, 49):
        a, b = position_at(sc_m, sc_m.patrols[0], t), position_at(sc_ll, sc_ll.patrols[0], t)
        assert (a.lon, a.lat) == pytest.approx((b.lon, b.lat), abs=1e-9)


def test_owntracks_records_parse_in_central() -> None:
    from central.patrols import parse_owntracks

    sc = scenario({"user": "dora", "device": "p1", "tid": "DO", "route_m": [[0, 0], [50, 0]], "period_s": 60})
    recs = patrol_records(sc, start_epoch=1_750_000_000.0)
    assert len(recs) == 11  # t = 0, 60, ..., 600
    assert {r.topic for r in recs} == {owntracks_topic(sc.patrols[0])} == {"owntracks/dora/p1"}
    assert all(r.retain and r.qos == 1 for r in recs)
    first: dict[str, Any] = json.loads(recs[0].payload)
    assert first == {"_type": "location", "lat": 47.37, "lon": 8.54, "acc": 8, "tst": 1_750_000_000, "tid": "DO"}
    pos = parse_owntracks(recs[3].topic, recs[3].payload)
    assert pos is not None
    assert pos.patrol_id == "dora" and pos.at_s == 1_750_000_180
    expected = position_at(sc, sc.patrols[0], 180)
    assert (pos.lon, pos.lat) == pytest.approx((expected.lon, expected.lat), abs=1e-6)
