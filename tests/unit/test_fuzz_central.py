"""Fuzzing central's MQTT parsers: OwnTracks and patrol locations, zone metrics against the registry.

Any patrol phone or edge with a broker account can send central arbitrary bytes. Each parser must
either return a well-formed value or raise its own rejection type (which central turns into a dead
letter), never another exception and never take long.
"""

from __future__ import annotations

import json
import math
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from central.config import parse as parse_central_config
from central.ingest import Rejected, parse_metric
from central.patrols import PatrolMessageError, PatrolPosition, parse_owntracks, parse_patrol_location
from central.zones import ZoneRegistry

pytestmark = pytest.mark.timeout(120)

FUZZ = settings(max_examples=150, deadline=2000, database=None, suppress_health_check=[HealthCheck.too_slow])

REGISTRY = ZoneRegistry(
    parse_central_config(
        {
            "site": {"id": "pets"},
            "zones": [
                {
                    "id": "pets-crossing",
                    "camera": "view1",
                    "edge_zone": "crossing",
                    "polygon": [[-0.9465, 51.4414], [-0.9463, 51.4414], [-0.9463, 51.44152]],
                }
            ],
        }
    )
)
METRIC: dict[str, Any] = {
    "schema": "crowd.zone_metrics/1",
    "site": "pets",
    "camera": "view1",
    "zone": "crossing",
    "seq": 1,
    "measured_at": 1.7e9,
    "frame_start": 0,
    "frame_end": 6,
    "t_start": 0.0,
    "t_end": 1.0,
    "count": 3.0,
    "count_max": 4,
    "area_m2": 40.0,
    "density": 0.075,
    "speed_p50": 1.0,
    "speed_p85": 1.2,
    "los": "A",
    "stale": False,
}
METRIC_TOPIC = "crowd/v1/pets/view1/zones/crossing/metrics"
OWNTRACKS: dict[str, Any] = {"_type": "location", "lat": 51.44, "lon": -0.946, "acc": 8, "tst": 1.7e9, "batt": 80}

json_leaves = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=30)
    | st.sampled_from(["location", "transition", "", "a/b", "+", "#", "view1", "pets"])
)
json_values = st.recursive(
    json_leaves,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=15,
)
payloads = st.binary(max_size=400) | json_values.map(lambda v: json.dumps(v).encode())
HOSTILE = [b"[" * 100_000, b'{"_type": "location", "lat":' * 20_000, b"9" * 100_000, b"\xff\xfe", b""]


def check_position(pos: PatrolPosition) -> None:
    assert -90 <= pos.lat <= 90 and -180 <= pos.lon <= 180
    assert all(math.isfinite(v) for v in (pos.lat, pos.lon, pos.acc_m, pos.at_s))


def mutate(data: st.DataObject, base: dict[str, Any]) -> bytes:
    doc = dict(base)
    doc[data.draw(st.sampled_from([*doc, "extra"]))] = data.draw(json_values)
    return json.dumps(doc).encode()


@FUZZ
@given(data=st.data())
def test_owntracks_parser(data: st.DataObject) -> None:
    topic = data.draw(st.sampled_from(["owntracks/p1/phone", "owntracks/p1", "owntracks/p+/x", "owntracks/a/b/c"]))
    payload = mutate(data, OWNTRACKS) if data.draw(st.booleans()) else data.draw(payloads)
    try:
        pos = parse_owntracks(topic, payload)
    except PatrolMessageError:
        return
    if pos is not None:
        assert topic == "owntracks/p1/phone" and pos.patrol_id == "p1"
        check_position(pos)


@FUZZ
@given(data=st.data())
def test_patrol_location_parser(data: st.DataObject) -> None:
    patrol = data.draw(st.sampled_from(["p1", "", "a/b", "x" * 200]) | st.text(max_size=12))
    payload = mutate(data, OWNTRACKS) if data.draw(st.booleans()) else data.draw(payloads)
    try:
        pos = parse_patrol_location(patrol, payload)
    except PatrolMessageError:
        return
    assert pos.patrol_id == patrol
    check_position(pos)


@FUZZ
@given(data=st.data())
def test_metric_parser(data: st.DataObject) -> None:
    payload = mutate(data, METRIC) if data.draw(st.booleans()) else data.draw(payloads)
    topic = data.draw(st.sampled_from([METRIC_TOPIC, "crowd/v1/pets/view2/zones/crossing/metrics"]))
    try:
        row = parse_metric(topic, payload, "crowd/v1", REGISTRY, now=1.7e9)
    except Rejected:
        return
    assert (row.site, row.camera, row.zone) == ("pets", "view1", "pets-crossing") and topic == METRIC_TOPIC
    assert math.isfinite(row.density) and row.density >= 0


def test_valid_messages_are_accepted() -> None:
    pos = parse_owntracks("owntracks/p1/phone", json.dumps(OWNTRACKS).encode())
    assert pos is not None and (pos.patrol_id, pos.lat) == ("p1", 51.44)
    row = parse_metric(METRIC_TOPIC, json.dumps(METRIC).encode(), "crowd/v1", REGISTRY, now=1.7e9)
    assert (row.zone, row.seq) == ("pets-crossing", 1)


@pytest.mark.parametrize("payload", HOSTILE, ids=["deep-array", "deep-object", "huge-int", "bad-utf8", "empty"])
def test_hostile_payloads_are_rejected_cleanly(payload: bytes) -> None:
    with pytest.raises(PatrolMessageError):
        parse_owntracks("owntracks/p1/phone", payload)
    with pytest.raises(PatrolMessageError):
        parse_patrol_location("p1", payload)
    with pytest.raises(Rejected):
        parse_metric(METRIC_TOPIC, payload, "crowd/v1", REGISTRY, now=1.7e9)
