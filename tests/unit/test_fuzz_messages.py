"""Fuzzing the MQTT wire parsers: any payload is either a valid message or a clear rejection.

Anyone with broker credentials can publish bytes to central's topics, so the parsers must never
raise anything but their own rejection type (an unexpected exception type would escape the ingest
loop), never accept a non-finite number or a malformed id, and never take long on any input.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from contract.edge_messages import CommandMessage, StatsMessage, StatusMessage, ZoneMetricsMessage
from contract.topics import metrics_topic, parse_topic
from contract.wire import MessageError, decode, encode

pytestmark = pytest.mark.timeout(120)

FUZZ = settings(max_examples=150, deadline=2000, database=None, suppress_health_check=[HealthCheck.too_slow])
MODELS: list[type[Any]] = [ZoneMetricsMessage, StatusMessage, StatsMessage, CommandMessage]
ID_RE = re.compile(r"^[A-Za-z0-9_.-]{1,128}$")

VALID: dict[type[Any], dict[str, Any]] = {
    ZoneMetricsMessage: {
        "schema": "crowd.zone_metrics/1",
        "site": "pets",
        "camera": "view1",
        "zone": "crossing",
        "seq": 12,
        "measured_at": 1.7e9,
        "frame_start": 0,
        "frame_end": 6,
        "t_start": 0.0,
        "t_end": 1.0,
        "count": 5.5,
        "count_max": 7,
        "area_m2": 40.0,
        "density": 0.1375,
        "speed_p50": 1.0,
        "speed_p85": 1.3,
        "los": "A",
        "stale": False,
        "direction_deg": 90.0,
        "inflow": 1,
        "outflow": 0,
        "speed_source": "tracks",
        "lines": {"gate": {"in": 1, "out": 0}},
    },
    StatusMessage: {
        "schema": "crowd.status/1",
        "site": "pets",
        "camera": "view1",
        "state": "online",
        "version": "0.1.0",
        "started_at": 1.7e9,
        "at": 1.7e9,
    },
    StatsMessage: {
        "schema": "crowd.stats/1",
        "site": "pets",
        "camera": "view1",
        "at": 1.7e9,
        "capture_fps": 7.0,
        "processed_fps": 7.0,
        "frames_dropped": 0,
        "frames_skipped": 0,
        "detector_ms": 30.0,
        "source_reconnects_1h": 0,
        "broker_reconnects_1h": 0,
        "buffered_messages": 0,
        "queue_dropped": 0,
        "cpu_percent": 50.0,
    },
    CommandMessage: {"schema": "crowd.command/1", "command": "stats", "request_id": "r1"},
}

# Any JSON value, including the non-finite numbers Python's json module reads and writes.
json_leaves = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=40)
    | st.sampled_from(["", "a/b", "+", "#", "x" * 200, "\u0000", "NaN", "1e999", "online", "view1"])
)
json_values = st.recursive(
    json_leaves,
    lambda children: st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=10), children, max_size=5),
    max_leaves=20,
)


def check_accepted(msg: Any) -> None:
    """Invariants of any message a parser accepted."""
    for name, value in msg.model_dump().items():
        if isinstance(value, float):
            assert math.isfinite(value), f"{name} accepted a non-finite number"
        if name in ("site", "camera", "zone"):
            assert ID_RE.match(value), f"{name} accepted id {value!r}"
    # What was accepted survives the edge's own encoding unchanged.
    assert decode(type(msg), encode(msg)) == msg


@pytest.mark.parametrize("model", MODELS, ids=lambda c: c.__name__)
def test_valid_examples_are_accepted(model: type[Any]) -> None:
    check_accepted(decode(model, json.dumps(VALID[model]).encode()))


@pytest.mark.parametrize("model", MODELS, ids=lambda c: c.__name__)
@FUZZ
@given(payload=st.binary(max_size=512) | json_values.map(lambda v: json.dumps(v).encode()))
def test_arbitrary_payload_is_rejected_cleanly(model: type[Any], payload: bytes) -> None:
    try:
        msg = decode(model, payload)
    except MessageError as err:
        assert str(err).startswith(model.__name__)
    else:
        check_accepted(msg)
    try:
        direct = model.model_validate_json(payload)
    except ValidationError:
        return
    check_accepted(direct)


@pytest.mark.parametrize("model", MODELS, ids=lambda c: c.__name__)
@FUZZ
@given(data=st.data())
def test_one_field_changed_to_anything(model: type[Any], data: st.DataObject) -> None:
    doc = dict(VALID[model])
    key = data.draw(st.sampled_from([*doc, "unknown_key"]))
    doc[key] = data.draw(json_values)
    if data.draw(st.booleans()):
        doc.pop(data.draw(st.sampled_from(sorted(doc))))
    try:
        msg = decode(model, json.dumps(doc))
    except MessageError as err:
        # The reason names the field when one field is at fault.
        assert str(err).startswith(model.__name__)
    else:
        check_accepted(msg)


@pytest.mark.parametrize(
    "payload",
    [
        b"[" * 100_000,
        b'{"a":' * 50_000,
        b"1" * 100_000,
        b"\xff\xfe\x00",
        b'{"site": "pets", "site": "x/y"}',
        "\ud800".encode("utf-8", "surrogatepass"),
        b"",
    ],
    ids=["deep-array", "deep-object", "huge-int", "bad-utf8", "dupe-key", "surrogate", "empty"],
)
@pytest.mark.parametrize("model", MODELS, ids=lambda c: c.__name__)
def test_hostile_payloads_are_rejected_cleanly(model: type[Any], payload: bytes) -> None:
    with pytest.raises(MessageError):
        decode(model, payload)
    with pytest.raises(ValidationError):
        model.model_validate_json(payload)


@FUZZ
@given(topic=st.text(alphabet=st.sampled_from("crowd/v1pets+#zonesmetricstatcd$ \u00e9"), max_size=60) | st.text())
def test_parse_topic_never_raises_and_round_trips(topic: str) -> None:
    ref = parse_topic("crowd/v1", topic)
    if ref is None:
        return
    for part in (ref.site, ref.camera, ref.zone or "z"):
        assert part and "/" not in part
    if ref.kind == "metrics":
        assert ref.zone is not None
        assert metrics_topic("crowd/v1", ref.site, ref.camera, ref.zone) == topic
    else:
        assert f"crowd/v1/{ref.site}/{ref.camera}/{ref.kind}" == topic
