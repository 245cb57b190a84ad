"""The real `crowd-edge run` process on the shared PETS clip, publishing to a real Mosquitto broker.

Checks the contract end to end: what the edge publishes validates against the documented JSON
Schemas and equals its JSONL output; a SIGKILLed edge leaves `offline` retained; a broker outage
in the middle of a run loses and duplicates nothing once the receiver drops duplicates.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from contract.edge_messages import StatsMessage, StatusMessage, ZoneMetricsMessage
from contract.wire import json_schema
from edge.sinks import read_jsonl
from tests.support.mosquitto import MosquittoBroker
from tests.support.mqtt_probe import Probe, Received, wait_until

pytestmark = [pytest.mark.integration, pytest.mark.timeout(240)]

REPO = Path(__file__).resolve().parents[2]
SITE = "pets"
CAMERA = "pets09-view001"
BASE = f"crowd/v1/{SITE}/{CAMERA}"
SCHEMAS = {
    "crowd.zone_metrics/1": json_schema(ZoneMetricsMessage),
    "crowd.status/1": json_schema(StatusMessage),
    "crowd.stats/1": json_schema(StatsMessage),
}


def write_config(tmp_path: Path, shared_data: Path, broker: MosquittoBroker) -> Path:
    cfg = yaml.safe_load((REPO / "configs" / "pets09_s2l1.yaml").read_text())
    cfg["site"] = SITE
    cfg["camera"]["source"] = str(shared_data / "pets09_s2l1" / "video" / "vtest_PETS09-S2L1_View001_480x360.avi")
    cfg["mqtt"] = {
        "host": broker.host,
        "port": broker.port,
        "queue_path": str(tmp_path / "edge-queue.sqlite"),
        "stats_interval_s": 1.0,
        "keepalive_s": 5,
    }
    path = tmp_path / "edge.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


def start_edge(config: Path, out: Path, *extra: str) -> subprocess.Popen[bytes]:
    log = (out.parent / "edge.log").open("wb")
    cmd = [sys.executable, "-m", "edge.cli", "run", str(config), "--output", str(out), "-q", *extra]
    return subprocess.Popen(cmd, cwd=REPO, stdout=log, stderr=subprocess.STDOUT)


def edge_log(out: Path) -> str:
    return (out.parent / "edge.log").read_text(errors="replace")[-3000:]


def rows_so_far(path: Path) -> list[dict[str, Any]]:
    return read_jsonl(path) if path.exists() else []


def metrics(msgs: list[Received]) -> list[dict[str, Any]]:
    return [m.json() for m in msgs if m.topic.endswith("/metrics")]


def deduped(msgs: list[Received]) -> list[dict[str, Any]]:
    seen: set[tuple[str, int]] = set()
    out = []
    for p in metrics(msgs):
        if (p["camera"], p["seq"]) not in seen:
            seen.add((p["camera"], p["seq"]))
            out.append(p)
    return out


def assert_same_intervals(received: list[dict[str, Any]], jsonl: list[dict[str, Any]]) -> None:
    """Every JSONL row was received once, in order, with the same values plus the MQTT envelope."""
    assert len(received) == len(jsonl)
    for got, row in zip(received, jsonl, strict=True):
        assert {k: got[k] for k in row} == row
    seqs = [p["seq"] for p in received]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)


def test_pets_run_publishes_only_schema_valid_messages_equal_to_its_jsonl(
    broker: MosquittoBroker, shared_data: Path, tmp_path: Path
) -> None:
    config = write_config(tmp_path, shared_data, broker)
    probe = Probe(broker.host, broker.port, "crowd/v1/#")
    out = tmp_path / "metrics.jsonl"
    proc = start_edge(config, out)
    assert proc.wait(timeout=200) == 0, edge_log(out)
    rows = read_jsonl(out)
    assert rows, "the run wrote no intervals"
    got = probe.wait_for("every interval", lambda s: len(metrics(s)) >= len(rows), timeout_s=30)
    got = probe.wait_for("the stopped status", lambda s: s[-1].topic == f"{BASE}/status", timeout_s=30)
    probe.close()

    for m in got:
        jsonschema.validate(m.json(), SCHEMAS[m.json()["schema"]])
    assert_same_intervals(metrics(got), rows)
    statuses = [m.json() for m in got if m.topic == f"{BASE}/status"]
    assert [s["state"] for s in statuses] == ["online", "stopped"]
    assert any(m.topic == f"{BASE}/stats" for m in got)
    # A file's source time maps onto the wall clock from the start of the run.
    started = statuses[0]["started_at"]
    assert all(abs(p["measured_at"] - (started + p["t_end"])) < 1e-6 for p in metrics(got))


def test_sigkilled_edge_leaves_offline_retained(broker: MosquittoBroker, shared_data: Path, tmp_path: Path) -> None:
    config = write_config(tmp_path, shared_data, broker)
    probe = Probe(broker.host, broker.port, f"{BASE}/#")
    out = tmp_path / "metrics.jsonl"
    proc = start_edge(config, out, "--realtime")
    try:
        probe.wait_for("online and a first interval", lambda s: len(metrics(s)) >= 1, timeout_s=60)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
    probe.wait_for("offline", lambda s: s[-1].topic == f"{BASE}/status" and s[-1].json()["state"] == "offline")
    probe.close()
    late = Probe(broker.host, broker.port, f"{BASE}/status")
    retained = late.wait_for("the retained status", lambda s: len(s) >= 1)
    late.close()
    assert retained[0].retain and retained[0].json()["state"] == "offline"
    jsonschema.validate(retained[0].json(), SCHEMAS["crowd.status/1"])


def test_broker_outage_mid_run_loses_and_duplicates_no_interval(
    broker: MosquittoBroker, shared_data: Path, tmp_path: Path
) -> None:
    config = write_config(tmp_path, shared_data, broker)
    probe = Probe(broker.host, broker.port, f"{BASE}/zones/+/metrics", client_id="central-like", persistent=True)
    out = tmp_path / "metrics.jsonl"
    proc = start_edge(config, out, "--realtime")
    try:
        probe.wait_for("the first intervals", lambda s: len(s) >= 3, timeout_s=60)
        broker.stop()
        down_at = time.monotonic()
        time.sleep(5.5)
        broker.start()
        # Intervals closed during the outage sit in the edge's queue; let a few more close after it.
        n_jsonl = lambda: len(rows_so_far(out))  # noqa: E731
        before = n_jsonl()
        wait_until("more intervals after the outage", lambda: n_jsonl() >= before + 6, timeout_s=60)
        assert time.monotonic() - down_at >= 5.0
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=60) == 0, edge_log(out)
    finally:
        if proc.poll() is None:
            proc.kill()
    rows = read_jsonl(out)
    got = probe.wait_for("every interval once", lambda s: len(deduped(s)) >= len(rows), timeout_s=30)
    probe.close()
    assert_same_intervals(deduped(got), rows)
    assert "queueing on disk" in edge_log(out)


def test_edge_restarted_with_a_non_empty_queue_drains_it_in_order_first(
    broker: MosquittoBroker, shared_data: Path, tmp_path: Path
) -> None:
    config = write_config(tmp_path, shared_data, broker)
    broker.stop()
    first_out = tmp_path / "first" / "metrics.jsonl"
    first_out.parent.mkdir()
    proc = start_edge(config, first_out, "--realtime")
    try:
        wait_until("a few intervals while the broker is down", lambda: len(rows_so_far(first_out)) >= 9, timeout_s=60)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=60) == 0, edge_log(first_out)
    finally:
        if proc.poll() is None:
            proc.kill()
    queued = read_jsonl(first_out)

    broker.start()
    probe = Probe(broker.host, broker.port, f"{BASE}/zones/+/metrics")
    second_out = tmp_path / "second" / "metrics.jsonl"
    second_out.parent.mkdir()
    proc = start_edge(config, second_out, "--realtime")
    try:
        probe.wait_for("the queue and fresh intervals", lambda s: len(s) >= len(queued) + 3, timeout_s=60)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=60) == 0, edge_log(second_out)
    finally:
        if proc.poll() is None:
            proc.kill()
    fresh = read_jsonl(second_out)
    got = probe.wait_for("everything", lambda s: len(deduped(s)) >= len(queued) + len(fresh), timeout_s=30)
    probe.close()
    assert_same_intervals(deduped(got), queued + fresh)
    first_run = {p["measured_at"] - p["t_end"] for p in deduped(got)[: len(queued)]}
    assert len(first_run) == 1, "queued intervals keep the first run's times"
