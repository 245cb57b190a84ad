"""Patrol fusion (pure): geometry, OwnTracks parsing, nearest patrols with ETA and staleness."""

from __future__ import annotations

import json

import pytest

from central import geo
from central.patrols import PatrolMessageError, PatrolPosition, nearest, parse_owntracks, parse_patrol_location

ZONE = [(8.5400, 47.3700), (8.5404, 47.3700), (8.5404, 47.3702), (8.5400, 47.3702)]


def test_haversine_matches_a_known_distance() -> None:
    # One degree of latitude is about 111.2 km everywhere on the sphere.
    assert geo.haversine_m(8.54, 47.0, 8.54, 48.0) == pytest.approx(111_195, rel=1e-3)
    assert geo.haversine_m(8.54, 47.37, 8.54, 47.37) == 0.0


def test_area_of_a_small_rectangle() -> None:
    width = geo.haversine_m(8.5400, 47.3700, 8.5404, 47.3700)
    height = geo.haversine_m(8.5400, 47.3700, 8.5400, 47.3702)
    assert geo.area_m2(ZONE) == pytest.approx(width * height, rel=1e-3)


def test_distance_is_zero_inside_and_to_the_nearest_edge_outside() -> None:
    assert geo.distance_to_polygon_m(ZONE, 8.5402, 47.3701) == 0.0
    north = geo.distance_to_polygon_m(ZONE, 8.5402, 47.3703)
    assert north == pytest.approx(geo.haversine_m(8.5402, 47.3702, 8.5402, 47.3703), rel=1e-2)


def test_overlap_fraction_of_half_a_zone() -> None:
    west_half = [(8.5390, 47.3690), (8.5402, 47.3690), (8.5402, 47.3710), (8.5390, 47.3710)]
    assert geo.overlap_fraction(ZONE, west_half) == pytest.approx(0.5, abs=0.03)
    assert geo.overlap_fraction(ZONE, [(0.0, 0.0), (1.0, 0.0), (1.0, 1.0)]) == 0.0


def _pos(pid: str, lon: float, lat: float, at: float = 1000.0, acc: float = 5.0) -> PatrolPosition:
    return PatrolPosition(pid, pid, lat, lon, acc, at, "owntracks")


def test_nearest_first_top_three_with_eta_and_stale_flags() -> None:
    positions = [
        _pos("far", 8.5500, 47.3750),
        _pos("inside", 8.5402, 47.3701),
        _pos("near", 8.5402, 47.3705),
        _pos("old", 8.5402, 47.3704, at=900.0),
        _pos("vague", 8.5402, 47.3706, acc=80.0),
    ]
    out = nearest(ZONE, positions, 1000.0, walking_speed_mps=1.4, stale_after_s=60, max_accuracy_m=25)
    assert [p.patrol_id for p in out] == ["inside", "old", "near"]
    assert out[0].distance_m == 0.0 and out[0].eta_s == 0.0 and not out[0].stale
    assert out[1].stale  # 100 s old
    assert out[2].eta_s == pytest.approx(out[2].distance_m / 1.4)
    vague = nearest(ZONE, positions[-1:], 1000.0, walking_speed_mps=1.4, stale_after_s=60, max_accuracy_m=25)
    assert vague[0].stale  # 80 m accuracy


def test_moving_changes_the_ranking() -> None:
    a, b = _pos("a", 8.5402, 47.3705), _pos("b", 8.5402, 47.3710)

    def ranking(positions: list[PatrolPosition]) -> list[str]:
        found = nearest(ZONE, positions, 1000.0, walking_speed_mps=1.4, stale_after_s=60.0, max_accuracy_m=25.0)
        return [p.patrol_id for p in found]

    assert ranking([a, b]) == ["a", "b"]
    b2 = _pos("b", 8.5402, 47.3701)
    assert ranking([a, b2]) == ["b", "a"]


def test_owntracks_location_is_parsed_and_other_types_ignored() -> None:
    payload = json.dumps({"_type": "location", "lat": 47.37, "lon": 8.54, "acc": 12, "tst": 1700000000, "batt": 80})
    pos = parse_owntracks("owntracks/alice/phone", payload.encode())
    assert pos is not None and (pos.patrol_id, pos.lat, pos.lon, pos.acc_m, pos.at_s) == (
        "alice",
        47.37,
        8.54,
        12.0,
        1700000000.0,
    )
    assert parse_owntracks("owntracks/alice/phone", b'{"_type": "transition", "event": "enter"}') is None


@pytest.mark.parametrize(
    ("topic", "payload"),
    [
        ("owntracks/alice/phone", b"not json"),
        ("owntracks/alice/phone", b"[1, 2]"),
        ("owntracks/alice/phone", b'{"_type": "location", "lat": "north", "lon": 8.5, "tst": 1}'),
        ("owntracks/alice/phone", b'{"_type": "location", "lat": 91, "lon": 8.5, "tst": 1}'),
        ("owntracks/alice/phone", b'{"_type": "location", "lat": NaN, "lon": 8.5, "tst": 1}'),
        ("owntracks/<b>x</b>/phone", b'{"_type": "location", "lat": 47, "lon": 8.5, "tst": 1}'),
    ],
)
def test_bad_owntracks_messages_are_rejected_with_a_reason(topic: str, payload: bytes) -> None:
    with pytest.raises(PatrolMessageError):
        parse_owntracks(topic, payload)


def test_crowd_patrol_location_message() -> None:
    body = {"schema": "crowd.patrol_location/1", "lat": 47.37, "lon": 8.54, "acc_m": 4, "at": 1700000000, "name": "P1"}
    pos = parse_patrol_location("p1", json.dumps(body).encode())
    assert (pos.patrol_id, pos.name, pos.acc_m) == ("p1", "P1", 4.0)
    with pytest.raises(PatrolMessageError):
        parse_patrol_location("p1", json.dumps({**body, "extra": 1}).encode())
