"""Record and replay metric streams through a real Mosquitto broker."""

from __future__ import annotations

import itertools
import json
import threading
import time
from pathlib import Path

import pytest

from central.clock import SystemClock
from central.playback.builders import build
from central.playback.mqtt import MqttError, MqttPublisher, MqttRecorder, record
from central.playback.records import read_records
from central.playback.replay import replay
from central.playback.scenario import load
from contract.edge_messages import ZoneMetricsMessage
from tests.support.mosquitto import MosquittoBroker, free_port

pytestmark = pytest.mark.integration
SCEN = Path(__file__).resolve().parents[2] / "configs" / "scenarios"


def test_scenario_replayed_sped_up_arrives_in_order_and_on_time(broker: MosquittoBroker, tmp_path: Path) -> None:
    built = build(load(SCEN / "plaza_buildup.yaml"))
    # The first two minutes of the scenario: metrics of two zones every 10 s, patrol fixes every 30 s.
    recs = [r for r in built.records() if r.received_at - built.start_epoch <= 120]
    out = tmp_path / "got.jsonl"
    speed = 40.0
    with MqttRecorder(broker.host, broker.port, "#", out) as rec:
        with MqttPublisher(broker.host, broker.port) as pub:
            stats = replay(recs, pub, SystemClock(), speed=speed, retime="wall")
        assert rec.wait_for(len(recs), timeout_s=10)
    got = read_records(out)
    assert stats.sent == len(recs) == len(got)
    assert [r.topic for r in got] == [r.topic for r in recs]
    metrics = [(r, ZoneMetricsMessage.model_validate_json(r.payload)) for r in got if "/zones/" in r.topic]
    assert len(metrics) == 2 * 12
    # Re-timed to the wall clock: measured_at is when it was sent, so within a fraction of a second of arrival.
    for r, m in metrics:
        assert abs(r.received_at - m.measured_at) < 0.5
    # Gaps: 120 scenario seconds at x40 take 3 s.
    span = got[-1].received_at - got[0].received_at
    assert 3.0 - 0.3 < span < 3.0 + 1.0
    assert [m.seq for _, m in metrics] == list(range(24))
    patrol = [json.loads(r.payload) for r in got if r.topic.startswith("owntracks/")]
    assert {p["tid"] for p in patrol} == {"AL", "BO", "CA"}


def test_record_then_replay_keeps_payloads_and_timing(broker: MosquittoBroker, tmp_path: Path) -> None:
    first, second = tmp_path / "first.jsonl", tmp_path / "second.jsonl"
    sent = [(0.0, b'{"n":0}'), (0.4, b'{"n":1}'), (1.0, b"\x00\x01raw")]
    with MqttRecorder(broker.host, broker.port, "crowd/#", first) as rec:
        with MqttPublisher(broker.host, broker.port) as pub:
            t0 = time.monotonic()
            for at, payload in sent:
                time.sleep(max(0.0, at - (time.monotonic() - t0)))
                pub.publish("crowd/v1/s/c/zones/z/metrics", payload, qos=1, retain=False)
            pub.publish("other/topic", b"not recorded", qos=1, retain=False)
        assert rec.wait_for(3, timeout_s=5)
    recorded = read_records(first)
    assert [r.payload for r in recorded] == [p for _, p in sent]
    gaps = [b.received_at - a.received_at for a, b in itertools.pairwise(recorded)]
    assert gaps == pytest.approx([0.4, 0.6], abs=0.15)

    with MqttRecorder(broker.host, broker.port, "crowd/#", second) as rec:
        with MqttPublisher(broker.host, broker.port) as pub:
            replay(recorded, pub, SystemClock(), speed=2.0)
        assert rec.wait_for(3, timeout_s=5)
    again = read_records(second)
    assert [r.payload for r in again] == [r.payload for r in recorded]
    gaps2 = [b.received_at - a.received_at for a, b in itertools.pairwise(again)]
    assert gaps2 == pytest.approx([g / 2 for g in gaps], abs=0.15)


def test_record_function_gets_retained_and_stops(broker: MosquittoBroker, tmp_path: Path) -> None:
    with MqttPublisher(broker.host, broker.port) as pub:
        pub.publish("crowd/v1/s/c/status", b'{"state":"online"}', qos=1, retain=True)
    out = tmp_path / "r.jsonl"
    assert record(broker.host, broker.port, "crowd/#", out, max_messages=1, duration_s=10) == 1
    (only,) = read_records(out)
    assert only.retain and only.payload == b'{"state":"online"}'
    # A stop event ends an open-ended recording promptly (Ctrl-C in the CLI sets it).
    stop = threading.Event()
    threading.Timer(0.5, stop.set).start()
    t = time.monotonic()
    assert record(broker.host, broker.port, "nothing/#", tmp_path / "empty.jsonl", stop=stop) == 0
    assert time.monotonic() - t < 3.0


def test_unreachable_broker_is_a_clear_error(tmp_path: Path) -> None:
    port = free_port()
    with pytest.raises(MqttError, match=f"127.0.0.1:{port}"), MqttPublisher("127.0.0.1", port, timeout_s=1):
        pass
    with pytest.raises(MqttError, match="cannot connect"), MqttRecorder("127.0.0.1", port, "#", tmp_path / "x.jsonl"):
        pass


TINY = """
name: tiny
kind: other
site: {origin: [8.54, 47.37]}
duration_s: 60
interval_s: 10
zones:
  - {id: z, camera: cam, edge_zone: e, polygon_m: [[0, 0], [10, 0], [10, 10], [0, 10]],
     thresholds: {warning: 1, critical: 2},
     timeline: {kind: levels, points: [{t_s: 0, density: 0.5}], noise: 0}}
patrols:
  - {user: u, tid: UU, route_m: [[0, 0], [100, 0]], period_s: 30}
"""


def test_cli_replay_of_a_scenario_and_cli_record(broker: MosquittoBroker, tmp_path: Path) -> None:
    from central.cli import main

    scen = tmp_path / "tiny.yaml"
    scen.write_text(TINY)
    got = tmp_path / "got.jsonl"
    conn = ["--host", broker.host, "--port", str(broker.port)]
    with MqttRecorder(broker.host, broker.port, "#", got) as rec:
        t = time.time()
        assert main(["replay", str(scen), "--speed", "30", *conn]) == 0
        assert rec.wait_for(6 + 3, timeout_s=5)
    msgs = read_records(got)
    metrics = [ZoneMetricsMessage.model_validate_json(r.payload) for r in msgs if "/zones/" in r.topic]
    assert [m.density for m in metrics] == [0.5] * 6
    # Scenarios are re-timed to the wall clock by default.
    assert all(t - 1 < m.measured_at < time.time() + 1 for m in metrics)
    # The CLI recorder gets the retained last metric and the last patrol fix.
    out = tmp_path / "cli.jsonl"
    assert main(["record", str(out), "--topic", "#", "--max-messages", "2", "--duration", "10", *conn]) == 0
    assert {r.topic.split("/")[0] for r in read_records(out)} == {"crowd", "owntracks"}
    assert main(["replay", str(tmp_path / "missing.jsonl"), *conn]) == 2
