"""A snapshot on demand from the real `crowd-edge run` process on the PETS clip, over a real Mosquitto.

The edge answers one `snapshot` command with a JPEG of its latest processed frame (long side capped,
people pixelated by its default config) and refuses a second, immediate one with the rate limit's reason.
"""

from __future__ import annotations

import base64
import signal
from pathlib import Path

import cv2
import numpy as np
import pytest
import yaml

from contract.edge_messages import CommandMessage, SnapshotMessage
from contract.topics import cmd_topic, snapshot_topic
from contract.wire import decode, encode
from tests.integration.test_mqtt_edge import CAMERA, SITE, edge_log, start_edge, write_config
from tests.support.mosquitto import MosquittoBroker
from tests.support.mqtt_probe import Probe

pytestmark = [pytest.mark.integration, pytest.mark.timeout(240)]


def replies(probe: Probe) -> list[SnapshotMessage]:
    return [decode(SnapshotMessage, m.payload) for m in probe.snapshot("/snapshot")]


def test_edge_answers_one_snapshot_then_refuses_an_immediate_second(
    broker: MosquittoBroker, shared_data: Path, tmp_path: Path
) -> None:
    config = write_config(tmp_path, shared_data, broker)
    cfg = yaml.safe_load(config.read_text())
    cfg["snapshot"] = {"min_interval_s": 60, "max_side_px": 320}
    config.write_text(yaml.safe_dump(cfg))
    out = tmp_path / "m.jsonl"
    probe = Probe(broker.host, broker.port, f"crowd/v1/{SITE}/{CAMERA}/#")
    proc = start_edge(config, out, "--realtime")
    try:
        # Frames flow once the first interval is out; before that the edge may truthfully say "unavailable".
        probe.wait_for("first metrics", lambda ms: any(m.topic.endswith("/metrics") for m in ms), timeout_s=90)
        assert not any(m.topic.endswith("/snapshot") for m in probe.snapshot()), "nothing pictured unasked"
        cmd = cmd_topic("crowd/v1", SITE, CAMERA)
        probe.publish(cmd, encode(CommandMessage(command="snapshot", request_id="first")))
        probe.wait_for("the snapshot", lambda _: len(replies(probe)) >= 1, timeout_s=20)
        probe.publish(cmd, encode(CommandMessage(command="snapshot", request_id="second")))
        probe.wait_for("the refusal", lambda _: len(replies(probe)) >= 2, timeout_s=20)
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(30)
        probe.close()
    first, second = replies(probe)
    assert (first.request_id, first.status, first.blurred) == ("first", "ok", True), edge_log(out)
    assert first.jpeg is not None and first.width == 320 and first.height == 240
    img = cv2.imdecode(np.frombuffer(base64.b64decode(first.jpeg), np.uint8), cv2.IMREAD_COLOR)
    assert img.shape == (240, 320, 3)
    assert (second.request_id, second.status, second.jpeg) == ("second", "refused", None)
    assert second.retry_after_s is not None and 0 < second.retry_after_s <= 60
    assert all(not m.retain for m in probe.snapshot("/snapshot"))
    assert snapshot_topic("crowd/v1", SITE, CAMERA) in {m.topic for m in probe.snapshot("/snapshot")}
