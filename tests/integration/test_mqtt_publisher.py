"""The MQTT publisher against a real Mosquitto broker: contract, outage, restart, last will, bad input.

These drive `MqttPublisher` with synthetic ZoneMetrics; test_mqtt_edge.py does the same checks with
the real `crowd-edge` process on the PETS clip.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from paho.mqtt.enums import MQTTProtocolVersion

from contract.edge_messages import CommandMessage, StatsMessage, StatusMessage, ZoneMetricsMessage
from contract.wire import encode, json_schema
from edge.config import MqttConfig
from edge.mqtt_client import MqttPublisher
from edge.publishing import PipelineHealth
from edge.types import ZoneMetrics
from tests.support.mosquitto import MosquittoBroker
from tests.support.mqtt_probe import Probe, Received, wait_until

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]

SITE, CAMERA = "site-a", "cam-1"
PREFIX = "crowd/v1"
BASE = f"{PREFIX}/{SITE}/{CAMERA}"
SCHEMAS = {
    "crowd.zone_metrics/1": json_schema(ZoneMetricsMessage),
    "crowd.status/1": json_schema(StatusMessage),
    "crowd.stats/1": json_schema(StatsMessage),
}


def interval(k: int, zone: str) -> ZoneMetrics:
    return ZoneMetrics(
        camera=CAMERA,
        zone=zone,
        frame_start=7 * k,
        frame_end=7 * k + 6,
        t_start=float(k),
        t_end=float(k + 1),
        count=1.0 + k % 3,
        count_max=2 + k % 3,
        area_m2=40.0,
        density=(1.0 + k % 3) / 40.0,
        speed_p50=1.0,
        speed_p85=1.3,
        los="A",
        stale=False,
    )


def batch(k: int) -> list[ZoneMetrics]:
    return [interval(k, "north"), interval(k, "south")]


def mqtt_cfg(broker: MosquittoBroker, tmp_path: Path, **over: Any) -> MqttConfig:
    return MqttConfig(host=broker.host, port=broker.port, queue_path=str(tmp_path / "outbox.sqlite"), **over)


def metrics_of(msgs: list[Received]) -> list[dict[str, Any]]:
    return [m.json() for m in msgs if m.topic.endswith("/metrics")]


def first_seen_seqs(msgs: list[Received]) -> list[int]:
    """Seqs in arrival order after dropping duplicates by (camera, seq), as a receiver must."""
    seen: set[tuple[str, int]] = set()
    out = []
    for p in metrics_of(msgs):
        key = (p["camera"], p["seq"])
        if key not in seen:
            seen.add(key)
            out.append(p["seq"])
    return out


@pytest.mark.parametrize("protocol", [MQTTProtocolVersion.MQTTv5, MQTTProtocolVersion.MQTTv311], ids=["v5", "v311"])
def test_every_message_validates_and_status_goes_online_then_stopped(
    broker: MosquittoBroker, tmp_path: Path, protocol: MQTTProtocolVersion
) -> None:
    probe = Probe(broker.host, broker.port, f"{PREFIX}/#")
    pub = MqttPublisher(mqtt_cfg(broker, tmp_path, stats_interval_s=0.3), site=SITE, camera=CAMERA, protocol=protocol)
    pub.set_health_source(lambda: PipelineHealth(capture_fps=7.0, processed_fps=7.0, detector_ms=12.5))
    pub.start()
    sent = [m for k in range(3) for m in pub.publish_metrics(batch(k))]
    probe.wait_for(
        "6 metrics and a stats message", lambda s: len(metrics_of(s)) >= 6 and any("/stats" in m.topic for m in s)
    )
    pub.stop()
    probe.wait_for(
        "stopped status", lambda s: any(m.topic.endswith("/status") and m.json()["state"] == "stopped" for m in s)
    )
    got = probe.snapshot()
    probe.close()

    for m in got:
        payload = m.json()
        jsonschema.validate(payload, SCHEMAS[payload["schema"]])
    assert [p["seq"] for p in metrics_of(got)] == [0, 1, 2, 3, 4, 5]
    assert metrics_of(got) == [json.loads(encode(m)) for m in sent]
    assert {m.topic for m in got if m.topic.endswith("/metrics")} == {
        f"{BASE}/zones/north/metrics",
        f"{BASE}/zones/south/metrics",
    }
    states = [m.json()["state"] for m in got if m.topic == f"{BASE}/status"]
    assert states[0] == "online" and states[-1] == "stopped"
    stats = next(m.json() for m in got if m.topic == f"{BASE}/stats")
    assert (stats["capture_fps"], stats["detector_ms"]) == (7.0, 12.5)

    # Retained: a subscriber arriving later still sees the last state and the latest interval per zone.
    late = Probe(broker.host, broker.port, f"{PREFIX}/#")
    retained = late.wait_for("retained status and metrics", lambda s: len(s) >= 4)
    late.close()
    by_topic = {m.topic: m.json() for m in retained if m.retain}
    assert by_topic[f"{BASE}/status"]["state"] == "stopped"
    assert by_topic[f"{BASE}/zones/north/metrics"]["seq"] == 4
    assert by_topic[f"{BASE}/zones/south/metrics"]["seq"] == 5


def test_broker_outage_loses_and_duplicates_nothing_after_dedupe(broker: MosquittoBroker, tmp_path: Path) -> None:
    probe = Probe(broker.host, broker.port, f"{BASE}/zones/+/metrics", client_id="central-test", persistent=True)
    pub = MqttPublisher(mqtt_cfg(broker, tmp_path, keepalive_s=5), site=SITE, camera=CAMERA)
    pub.start()
    wait_until("publisher connected", lambda: pub.connected)
    stop_producing = threading.Event()
    produced: list[int] = []

    def produce() -> None:
        k = 0
        while not stop_producing.is_set():
            produced.extend(m.seq for m in pub.publish_metrics(batch(k)))
            k += 1
            time.sleep(0.05)

    producer = threading.Thread(target=produce)
    producer.start()
    try:
        probe.wait_for("some metrics before the outage", lambda s: len(s) >= 10)
        broker.stop()
        outage_started = time.monotonic()
        wait_until("publisher notices the outage", lambda: not pub.connected)
        while time.monotonic() - outage_started < 5.0:
            time.sleep(0.1)
        buffered_during_outage = pub.buffered
        broker.start()
        wait_until("publisher reconnected", lambda: pub.connected, timeout_s=30)
        time.sleep(1.0)  # keep producing after the broker is back
    finally:
        stop_producing.set()
        producer.join()
    assert pub.wait_drained(30), f"{pub.buffered} messages still queued"
    stats = pub.publish_stats()
    pub.stop()
    got = probe.wait_for("every interval", lambda s: set(first_seen_seqs(s)) >= set(produced), timeout_s=30)
    probe.close()

    assert buffered_during_outage > 20, "the outage should have queued messages on disk"
    assert stats.broker_reconnects_1h >= 1
    assert first_seen_seqs(got) == produced == list(range(len(produced)))
    measured = [p["measured_at"] for p in metrics_of(got) if p["zone"] == "north"]
    assert measured == sorted(measured), "queued intervals keep their original times and order"


def test_restart_with_a_non_empty_queue_drains_it_in_order_first(broker: MosquittoBroker, tmp_path: Path) -> None:
    cfg = mqtt_cfg(broker, tmp_path)
    broker.stop()
    first = MqttPublisher(cfg, site=SITE, camera=CAMERA)
    first.start()
    queued = [m for k in range(5) for m in first.publish_metrics(batch(k))]
    first.stop(drain_timeout_s=0.1)

    broker.start()
    probe = Probe(broker.host, broker.port, f"{BASE}/zones/+/metrics")
    second = MqttPublisher(cfg, site=SITE, camera=CAMERA)
    assert second.buffered == 10
    second.start()
    fresh = second.publish_metrics(batch(5))
    assert [m.seq for m in fresh] == [10, 11], "seq survives the restart"
    assert second.wait_drained(20)
    second.stop()
    got = probe.wait_for("12 intervals", lambda s: len(metrics_of(s)) >= 12)
    probe.close()
    assert metrics_of(got) == [json.loads(encode(m)) for m in queued + fresh]


def test_full_queue_drops_the_oldest_and_reports_it_in_stats(broker: MosquittoBroker, tmp_path: Path) -> None:
    broker.stop()
    pub = MqttPublisher(mqtt_cfg(broker, tmp_path, queue_max_messages=10), site=SITE, camera=CAMERA)
    pub.start()
    for k in range(8):
        pub.publish_metrics(batch(k))
    stats = pub.publish_stats()
    assert (stats.buffered_messages, stats.queue_dropped) == (10, 6)
    broker.start()
    probe = Probe(broker.host, broker.port, f"{BASE}/zones/+/metrics")
    assert pub.wait_drained(20)
    pub.stop()
    got = probe.wait_for("the 10 kept intervals", lambda s: len(metrics_of(s)) >= 10)
    probe.close()
    assert [p["seq"] for p in metrics_of(got)] == list(range(6, 16))


def test_malformed_commands_are_logged_and_ignored(
    broker: MosquittoBroker, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="edge.mqtt_client")
    probe = Probe(broker.host, broker.port, f"{BASE}/#")
    pub = MqttPublisher(mqtt_cfg(broker, tmp_path, stats_interval_s=3600), site=SITE, camera=CAMERA)
    pub.start()
    wait_until("publisher connected", lambda: pub.connected)
    time.sleep(0.3)  # its subscription is sent right after CONNACK
    bad = [b"", b"\xff\xfe\x00", b"{", b"[]", b'{"command": "reboot"}', b'{"command": "stats", "x": 1}', b"9" * 100_000]
    for payload in bad:
        probe.publish(f"{BASE}/cmd", payload)
    wait_until("a log line per bad payload", lambda: caplog.text.count("ignored malformed payload") >= len(bad))
    assert not any("/stats" in m.topic for m in probe.snapshot())

    probe.publish(f"{BASE}/cmd", encode(CommandMessage(command="stats")))
    probe.wait_for("stats answered", lambda s: any(m.topic == f"{BASE}/stats" for m in s))
    probe.publish(f"{BASE}/cmd", encode(CommandMessage(command="status")))
    probe.wait_for("status answered", lambda s: sum(m.topic == f"{BASE}/status" for m in s) >= 2)
    pub.publish_metrics(batch(0))
    probe.wait_for("metrics still flow", lambda s: len(metrics_of(s)) >= 2)
    assert pub.connected
    pub.stop()
    probe.close()


_KILLABLE = """
import sys, time
from edge.config import MqttConfig
from edge.mqtt_client import MqttPublisher
pub = MqttPublisher(MqttConfig(host=sys.argv[1], port=int(sys.argv[2]), queue_path=sys.argv[3]), site=sys.argv[4], camera=sys.argv[5])
pub.start()
while not pub.connected:
    time.sleep(0.05)
print("connected", flush=True)
time.sleep(600)
"""


def test_sigkill_leaves_offline_retained_as_last_will(broker: MosquittoBroker, tmp_path: Path) -> None:
    probe = Probe(broker.host, broker.port, f"{BASE}/status")
    args = [broker.host, str(broker.port), str(tmp_path / "q.sqlite"), SITE, CAMERA]
    proc = subprocess.Popen(
        [sys.executable, "-c", _KILLABLE, *args], stdout=subprocess.PIPE, cwd=Path(__file__).parents[2]
    )
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == b"connected"
        probe.wait_for("online", lambda s: any(m.json()["state"] == "online" for m in s))
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)
    finally:
        if proc.poll() is None:
            proc.kill()
    probe.wait_for("offline", lambda s: s[-1].json()["state"] == "offline")
    probe.close()
    late = Probe(broker.host, broker.port, f"{BASE}/status")
    retained = late.wait_for("retained status", lambda s: len(s) >= 1)
    late.close()
    assert retained[0].retain and retained[0].json()["state"] == "offline"
    jsonschema.validate(retained[0].json(), SCHEMAS["crowd.status/1"])
