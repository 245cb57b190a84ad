"""The edge's command dispatch (edge/mqtt_commands.py) and client set-up (edge/mqtt_connection.py), without a broker.

With a broker: tests/integration/test_mqtt_publisher.py (malformed commands) and test_mqtt_snapshot.py.
"""

from __future__ import annotations

import logging

import pytest
from paho.mqtt.enums import MQTTProtocolVersion

from contract.edge_messages import CommandMessage, SnapshotMessage
from contract.wire import encode
from edge.config import MqttConfig, SnapshotConfig, TlsConfig
from edge.mqtt_commands import CommandDesk
from edge.mqtt_connection import Credentials, new_client
from edge.snapshot import SnapshotDesk

TOPIC = "crowd/v1/north/cam-1/cmd"


class Calls:
    def __init__(self, fail: str | None = None) -> None:
        self.made: list[str] = []
        self.snapshots: list[SnapshotMessage] = []
        self.fail = fail

    def _call(self, name: str) -> None:
        self.made.append(name)
        if name == self.fail:
            raise RuntimeError(f"{name} broke")

    def desk(self) -> CommandDesk:
        def send(reply: SnapshotMessage) -> None:
            self._call("snapshot")
            self.snapshots.append(reply)

        return CommandDesk(
            site="north",
            camera="cam-1",
            publish_status=lambda: self._call("status"),
            publish_stats=lambda: self._call("stats"),
            send_snapshot=send,
        )


def command(name: str, request_id: str | None = None) -> bytes:
    return encode(CommandMessage.model_validate({"command": name, "request_id": request_id}))


@pytest.mark.parametrize("name", ["status", "stats"])
def test_status_and_stats_commands_publish_that_message_only(name: str) -> None:
    calls = Calls()
    calls.desk().handle(TOPIC, command(name))
    assert calls.made == [name]


def test_a_snapshot_without_a_desk_is_refused_with_the_request_id() -> None:
    calls = Calls()
    calls.desk().handle(TOPIC, command("snapshot", "req-1"))
    [reply] = calls.snapshots
    assert (reply.site, reply.camera, reply.request_id, reply.status) == ("north", "cam-1", "req-1", "refused")
    assert reply.jpeg is None and "turned off" in (reply.reason or "")


def test_a_snapshot_is_answered_by_the_desk_set() -> None:
    calls = Calls()
    desk = calls.desk()
    desk.snapshots = SnapshotDesk(SnapshotConfig(), site="north", camera="cam-1")
    desk.handle(TOPIC, command("snapshot", "req-2"))
    [reply] = calls.snapshots
    assert (reply.request_id, reply.status, reply.reason) == ("req-2", "unavailable", "no frame processed yet")


@pytest.mark.parametrize(
    "payload",
    [b"not json", b"{}", b'{"schema": "crowd.command/1", "command": "reboot"}', b'{"command": "status", "x": 1}'],
)
def test_malformed_payloads_are_logged_under_the_publishers_logger_and_ignored(
    payload: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="edge.mqtt_client")
    calls = Calls()
    calls.desk().handle(TOPIC, payload)
    assert calls.made == []
    [record] = caplog.records
    assert record.name.startswith("edge.mqtt_client") and record.levelno == logging.WARNING
    assert "ignored malformed payload" in record.getMessage() and TOPIC in record.getMessage()


@pytest.mark.parametrize("name", ["status", "snapshot"])
def test_a_failing_command_is_logged_and_never_raises(name: str, caplog: pytest.LogCaptureFixture) -> None:
    calls = Calls(fail=name)
    calls.desk().handle(TOPIC, command(name))
    assert calls.made == [name]
    [record] = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert f"command {name!r}" in record.getMessage() and record.exc_info is not None


def test_a_new_client_carries_id_credentials_will_and_session_choice() -> None:
    # paho keeps these in private attributes; paho-mqtt is pinned below 3 (pyproject.toml).
    cfg = MqttConfig(tls=TlsConfig(insecure=True))
    v5 = new_client(
        cfg,
        Credentials("edge", "pw"),
        MQTTProtocolVersion.MQTTv5,
        client_id="x" * 200,
        will_topic="t/s",
        will_payload=b"off",
    )
    assert len(v5._client_id) == 128
    assert (v5._username, v5._password) == (b"edge", b"pw")
    assert (v5._will_topic, v5._will_payload, v5._will_qos, v5._will_retain) == (b"t/s", b"off", 1, True)
    assert v5._ssl_context is not None
    v311 = new_client(
        MqttConfig(), Credentials(None), MQTTProtocolVersion.MQTTv311, client_id="c", will_topic="t", will_payload=b""
    )
    assert v311._clean_session is False and v311._username is None and v311._ssl_context is None
