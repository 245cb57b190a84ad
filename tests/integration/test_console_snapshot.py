"""Camera view in the console: real central, real Mosquitto, real headless Chromium, a stand-in edge.

The stand-in answers `snapshot` commands on the broker as an edge does (contract models, a real JPEG).
An operator's View shows the picture with its time; a viewer's is refused by central; a site with
`snapshots.enabled: false` refuses everyone; every request lands in the snapshot audit.
"""

from __future__ import annotations

import base64
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import paho.mqtt.client as mqtt
import pytest

from contract.edge_messages import CommandMessage, SnapshotMessage
from contract.topics import cmd_topic, snapshot_topic
from contract.wire import MessageError, decode, encode
from tests.integration.test_console_browser import (
    OPERATOR,
    PREFIX,
    SECRET_ENV,
    SITE,
    VIEWER,
    ConsoleErrors,
    browser,
    central_config,
    mqtt_client,
    publish_camera_online,
    sign_in,
)
from tests.support.console import CentralProcess, Mqtt
from tests.support.mosquitto import MosquittoBroker

pytestmark = [pytest.mark.integration, pytest.mark.slow, pytest.mark.timeout(300)]
__all__ = ["browser", "mqtt_client"]  # fixtures used by name

SIZE = (1366, 768)


class StandInEdge:
    """Answers snapshot commands for cam1 with a 320x240 JPEG, as edge/snapshot.py's desk would."""

    def __init__(self, broker: MosquittoBroker) -> None:
        self.requests: list[CommandMessage] = []
        ok, jpeg = cv2.imencode(".jpg", np.full((240, 320, 3), 90, np.uint8), [cv2.IMWRITE_JPEG_QUALITY, 70])
        assert ok
        self.jpeg = base64.b64encode(jpeg.tobytes()).decode()
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="stand-in-edge", protocol=mqtt.MQTTv5)
        self.client.on_message = self._on_message
        self.client.connect(broker.host, broker.port)
        self.client.subscribe(cmd_topic(PREFIX, SITE, "cam1"), qos=1)
        self.client.loop_start()

    def _on_message(self, client: mqtt.Client, _u: Any, msg: mqtt.MQTTMessage) -> None:
        try:
            cmd = decode(CommandMessage, bytes(msg.payload))
        except MessageError:
            return
        if cmd.command != "snapshot":
            return
        self.requests.append(cmd)
        reply = SnapshotMessage(
            site=SITE, camera="cam1", request_id=cmd.request_id, status="ok", reason=None, retry_after_s=None,
            taken_at=time.time(), width=320, height=240, blurred=True, jpeg=self.jpeg,
        )  # fmt: skip
        client.publish(snapshot_topic(PREFIX, SITE, "cam1"), encode(reply), qos=1)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


@pytest.fixture
def edge(broker: MosquittoBroker) -> Iterator[StandInEdge]:
    stand_in = StandInEdge(broker)
    try:
        yield stand_in
    finally:
        stand_in.close()


def start_central(broker: MosquittoBroker, workdir: Path, enabled: bool) -> CentralProcess:
    config = {**central_config(broker, workdir), "snapshots": {"enabled": enabled, "timeout_s": 5}}
    process = CentralProcess(
        workdir / "central", config, [OPERATOR, VIEWER], {SECRET_ENV: "snapshot-test-secret-0123456789"}
    )
    process.start()
    return process


def click_view(page: Any) -> str:
    """Click cam1's View button; the dialog's final status line."""
    page.wait_for_selector("#cameras tr[data-camera='cam1'] .cam-view", timeout=15000)
    page.click("#cameras tr[data-camera='cam1'] .cam-view")
    page.wait_for_selector("#camera-view-status[data-state='shown'], #camera-view-status[data-state='refused']")
    return str(page.inner_text("#camera-view-status"))


def audit_rows(page: Any) -> list[dict[str, Any]]:
    return list(page.evaluate("fetch('/api/snapshots/audit', {credentials: 'same-origin'}).then((r) => r.json())"))


def unexpected(errors: ConsoleErrors) -> list[str]:
    # Chromium logs every refused request (403) as a console error; those refusals are the point here.
    return [e for e in errors.errors if "status of 403" not in e]


def test_operator_sees_a_picture_viewer_is_refused_and_both_are_audited(
    broker: MosquittoBroker, edge: StandInEdge, browser: Any, mqtt_client: Mqtt, tmp_path: Path
) -> None:
    central = start_central(broker, tmp_path, enabled=True)
    try:
        publish_camera_online(mqtt_client, time.time())
        errors = ConsoleErrors()
        page = sign_in(browser, central, OPERATOR, errors, SIZE)
        status = click_view(page)
        assert status.startswith("Taken ") and "pixelated" in status, status
        assert page.evaluate("document.getElementById('camera-view-img').naturalWidth") == 320
        page.screenshot(path=str(tmp_path / "camera-view-operator.png"))
        page.click("#camera-view-close")
        assert len(edge.requests) == 1 and edge.requests[0].request_id is not None

        viewer_page = sign_in(browser, central, VIEWER, errors, SIZE)
        refused = click_view(viewer_page)
        assert "403" in refused and "only operators and admins" in refused, refused
        assert viewer_page.is_hidden("#camera-view-img")
        assert len(edge.requests) == 1, "a viewer's request never reaches the edge"

        rows = audit_rows(page)
        assert [(r["by"], r["camera"], r["outcome"]) for r in rows] == [
            (VIEWER.username, "cam1", "forbidden"),
            (OPERATOR.username, "cam1", "ok"),
        ]
        assert all(r["site"] == SITE and r["at"] > 0 for r in rows)
        assert unexpected(errors) == []
    finally:
        central.stop()


def test_a_site_with_snapshots_off_refuses_the_operator(
    broker: MosquittoBroker, edge: StandInEdge, browser: Any, mqtt_client: Mqtt, tmp_path: Path
) -> None:
    central = start_central(broker, tmp_path, enabled=False)
    try:
        publish_camera_online(mqtt_client, time.time())
        errors = ConsoleErrors()
        page = sign_in(browser, central, OPERATOR, errors, SIZE)
        refused = click_view(page)
        assert "turned off for this site" in refused, refused
        assert edge.requests == []
        assert [(r["by"], r["outcome"]) for r in audit_rows(page)] == [(OPERATOR.username, "disabled")]
        assert unexpected(errors) == []
    finally:
        central.stop()
