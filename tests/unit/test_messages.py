"""The MQTT wire contract: models, JSON Schemas, topics, conversion from ZoneMetrics and the generated doc."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import jsonschema
import pytest
from paho.mqtt.enums import MQTTProtocolVersion

from contract.docs import TOPIC_DOCS
from contract.edge_messages import CommandMessage, StatsMessage, StatusMessage, ZoneMetricsMessage
from contract.topics import TopicRef, cmd_topic, metrics_topic, parse_topic, stats_topic, status_topic
from contract.wire import MessageError, decode, encode, json_schema
from edge.config import MqttConfig
from edge.mqtt_client import resolve_credentials, should_fall_back_to_311
from edge.publishing import MemoryPublisher, MetricsSink, PipelineHealth, measured_at, to_message
from edge.types import ZoneMetrics
from scripts import gen_mqtt_docs


def zone_metrics(**over: Any) -> ZoneMetrics:
    base: dict[str, Any] = dict(
        camera="cam-1",
        zone="z1",
        frame_start=0,
        frame_end=6,
        t_start=0.0,
        t_end=1.0,
        count=2.5,
        count_max=3,
        area_m2=50.0,
        density=0.05,
        speed_p50=1.1,
        speed_p85=1.4,
        los="A",
        stale=False,
        direction_deg=90.0,
        inflow=1,
        outflow=2,
        speed_source="tracks",
        lines={"gate": {"in": 1, "out": 2}},
    )
    base.update(over)
    return ZoneMetrics(**base)


@pytest.mark.parametrize("doc", TOPIC_DOCS, ids=lambda d: d.title)
def test_every_example_validates_against_its_schema_and_round_trips(doc: Any) -> None:
    payload = encode(doc.example)
    jsonschema.validate(json.loads(payload), json_schema(doc.model))
    assert decode(doc.model, payload) == doc.example


def test_schema_lists_every_field_as_required_because_the_edge_always_sends_it() -> None:
    schema = json_schema(ZoneMetricsMessage)
    assert set(schema["required"]) == set(schema["properties"])
    assert schema["additionalProperties"] is False
    incomplete = json.loads(encode(TOPIC_DOCS[1].example))
    del incomplete["lines"]
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(incomplete, schema)


def test_metrics_message_carries_the_jsonl_fields_plus_site_seq_and_measured_at() -> None:
    wire = set(ZoneMetricsMessage.model_json_schema(by_alias=True)["properties"])
    jsonl = {f.name for f in dataclasses.fields(ZoneMetrics)}
    assert wire == jsonl | {"schema", "site", "seq", "measured_at"}


def test_to_message_copies_every_value_and_adds_the_envelope() -> None:
    m = zone_metrics()
    msg = to_message(m, site="north", seq=7, measured_at_s=1_700_000_001.0)
    wire = json.loads(encode(msg))
    for f in dataclasses.fields(ZoneMetrics):
        assert wire[f.name] == getattr(m, f.name), f.name
    assert (wire["schema"], wire["site"], wire["seq"], wire["measured_at"]) == (
        "crowd.zone_metrics/1",
        "north",
        7,
        1_700_000_001.0,
    )


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"density": float("nan")}, "density"),
        ({"speed_source": "radar"}, "speed_source"),
        ({"zone": "a/b"}, "zone"),
        ({"speed_p50": -1.0}, "speed_p50"),
    ],
)
def test_values_that_break_the_contract_are_refused(change: dict[str, Any], field: str) -> None:
    with pytest.raises(ValueError, match=field):
        to_message(zone_metrics(**change), site="north", seq=0, measured_at_s=1.0)


def test_decode_reports_what_is_wrong() -> None:
    good = json.loads(encode(TOPIC_DOCS[1].example))
    with pytest.raises(MessageError, match="not JSON"):
        decode(ZoneMetricsMessage, b"{not json")
    with pytest.raises(MessageError, match="not JSON"):
        decode(ZoneMetricsMessage, b"\xff\xfe")
    with pytest.raises(MessageError, match="colour: Extra"):
        decode(ZoneMetricsMessage, json.dumps({**good, "colour": "red"}))
    with pytest.raises(MessageError, match="density"):
        decode(ZoneMetricsMessage, json.dumps({**good, "density": "NaN"}).replace('"NaN"', "NaN"))
    with pytest.raises(MessageError, match="schema"):
        decode(ZoneMetricsMessage, json.dumps({**good, "schema": "crowd.zone_metrics/2"}))
    with pytest.raises(MessageError, match="<root>"):
        decode(CommandMessage, b"[1, 2]")
    with pytest.raises(MessageError, match="command"):
        decode(CommandMessage, b'{"command": "reboot"}')


def test_topics_build_and_parse_back() -> None:
    p = "crowd/v1"
    assert parse_topic(p, metrics_topic(p, "s", "c", "z")) == TopicRef("s", "c", "metrics", "z")
    assert parse_topic(p, status_topic(p, "s", "c")) == TopicRef("s", "c", "status")
    assert parse_topic(p, stats_topic(p, "s", "c")) == TopicRef("s", "c", "stats")
    assert parse_topic(p + "/", cmd_topic(p, "s", "c")) == TopicRef("s", "c", "cmd")
    for foreign in ("crowd/v2/s/c/status", "crowd/v1/s/c/other", "crowd/v1/s/c/zones/z/x", "crowd/v1/s//status"):
        assert parse_topic(p, foreign) is None, foreign


def test_measured_at_maps_file_time_onto_the_run_start_and_keeps_live_time() -> None:
    assert measured_at(61.5, run_started_at=1_700_000_000.0) == 1_700_000_061.5
    assert measured_at(1_700_000_123.0, run_started_at=1_600_000_000.0) == 1_700_000_123.0


def test_memory_publisher_numbers_messages_and_reports_status() -> None:
    clock = iter(float(t) for t in range(1_700_000_000, 1_700_000_100))
    pub = MemoryPublisher("north", "cam-1", clock=lambda: next(clock), first_seq=10)
    pub.start()
    sink = MetricsSink(pub)
    sink.write([zone_metrics(zone="a"), zone_metrics(zone="b")])
    sink.write([])
    sink.write([zone_metrics(zone="a", t_start=1.0, t_end=2.0)])
    pub.set_health_source(lambda: PipelineHealth(capture_fps=7.0, processed_fps=6.5, frames_dropped=2))
    stats = pub.publish_stats()
    sink.close()
    assert [m.seq for m in pub.metrics] == [10, 11, 12]
    assert [m.zone for m in pub.metrics] == ["a", "b", "a"]
    assert pub.metrics[2].measured_at == pub.started_at + 2.0
    assert [s.state for s in pub.statuses] == ["online", "stopped"]
    assert (stats.capture_fps, stats.processed_fps, stats.frames_dropped) == (7.0, 6.5, 2)
    for msg, model in [(pub.statuses[0], StatusMessage), (stats, StatsMessage), (pub.metrics[0], ZoneMetricsMessage)]:
        jsonschema.validate(json.loads(encode(msg)), json_schema(model))


def test_credentials_come_from_config_then_environment_and_never_show_in_repr() -> None:
    env = {"CROWD_MQTT_USERNAME": "env-user", "CROWD_MQTT_PASSWORD": "env-secret"}
    from_env = resolve_credentials(MqttConfig(), env)
    assert (from_env.username, from_env.password) == ("env-user", "env-secret")
    from_cfg = resolve_credentials(MqttConfig(username="u", password="cfg-secret"), env)
    assert (from_cfg.username, from_cfg.password) == ("u", "cfg-secret")
    assert "secret" not in repr(from_cfg)
    assert "secret" not in repr(MqttConfig(username="u", password="cfg-secret"))
    assert resolve_credentials(MqttConfig(), {}).username is None


def test_only_a_refused_protocol_version_triggers_the_311_fallback() -> None:
    assert should_fall_back_to_311(MQTTProtocolVersion.MQTTv5, 0x84)
    assert should_fall_back_to_311(MQTTProtocolVersion.MQTTv5, 0x01)
    assert not should_fall_back_to_311(MQTTProtocolVersion.MQTTv5, 0x86)  # bad user name or password
    assert not should_fall_back_to_311(MQTTProtocolVersion.MQTTv311, 0x01)


def test_docs_mqtt_md_is_generated_from_the_current_models() -> None:
    committed = gen_mqtt_docs.DOC_PATH.read_text(encoding="utf-8")
    assert committed == gen_mqtt_docs.render(), "docs/mqtt.md is stale: run .venv/bin/python -m scripts.gen_mqtt_docs"


def test_every_schema_in_the_doc_is_valid_json_schema() -> None:
    for doc in gen_mqtt_docs.collect_topic_docs():
        jsonschema.Draft202012Validator.check_schema(json_schema(doc.model))
