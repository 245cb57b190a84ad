"""MQTT adapters for playback: a recorder that writes a topic filter to JSONL, and a publisher.

paho-mqtt 2 with its network loop in a background thread. Both wait for the broker's
acknowledgements so that a test (or a replay that ends) knows its messages really arrived.
"""

from __future__ import annotations

import threading
import time
import uuid
from pathlib import Path
from types import TracebackType
from typing import IO, Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.reasoncodes import ReasonCode

from central.playback.records import Record, write_line


class MqttError(RuntimeError):
    pass


def _client(client_id: str) -> mqtt.Client:
    return mqtt.Client(callback_api_version=CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv311)


def _failed(rc: ReasonCode | int) -> bool:
    return bool(rc.is_failure) if isinstance(rc, ReasonCode) else rc != 0


class MqttPublisher:
    """Publisher over a real broker. Use as a context manager."""

    def __init__(
        self, host: str, port: int, *, username: str | None = None, password: str | None = None, timeout_s: float = 10.0
    ) -> None:
        self.timeout_s = timeout_s
        self._connected = threading.Event()
        self._client = _client(f"crowd-replay-{uuid.uuid4().hex[:8]}")
        if username:
            self._client.username_pw_set(username, password)
        self._client.on_connect = self._on_connect
        self._client.max_inflight_messages_set(100)
        self._client.max_queued_messages_set(0)
        self._host, self._port = host, port

    def _on_connect(self, client: mqtt.Client, userdata: Any, flags: Any, rc: ReasonCode, props: Any) -> None:
        if not _failed(rc):
            self._connected.set()

    def __enter__(self) -> MqttPublisher:
        try:
            self._client.connect(self._host, self._port, keepalive=30)
        except OSError as err:
            raise MqttError(f"cannot connect to the broker at {self._host}:{self._port}: {err}") from None
        self._client.loop_start()
        if not self._connected.wait(self.timeout_s):
            self.close()
            raise MqttError(f"the broker at {self._host}:{self._port} did not accept the connection")
        return self

    def __exit__(self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None) -> None:
        self.close()

    def publish(self, topic: str, payload: bytes, qos: int, retain: bool) -> None:
        info = self._client.publish(topic, payload, qos=qos, retain=retain)
        if qos > 0:
            info.wait_for_publish(self.timeout_s)
            if not info.is_published():
                raise MqttError(f"publish to {topic} was not acknowledged within {self.timeout_s} s")

    def close(self) -> None:
        self._client.disconnect()
        self._client.loop_stop()


class MqttRecorder:
    """Subscribe to `topic_filter` and append each message to a JSONL file as it arrives.

    Retained messages the broker replays on subscribe are recorded too, flagged `retain`.
    Use as a context manager; `wait_for(n)` blocks until n messages were written.
    """

    def __init__(
        self,
        host: str,
        port: int,
        topic_filter: str,
        out_path: str | Path,
        *,
        qos: int = 1,
        username: str | None = None,
        password: str | None = None,
        timeout_s: float = 10.0,
    ) -> None:
        self.topic_filter, self.qos, self.timeout_s = topic_filter, qos, timeout_s
        self.out_path = Path(out_path)
        self.count = 0
        self._cond = threading.Condition()
        self._subscribed = threading.Event()
        self._fh: IO[str] | None = None
        self._client = _client(f"crowd-record-{uuid.uuid4().hex[:8]}")
        if username:
            self._client.username_pw_set(username, password)
        self._client.on_connect = self._on_connect
        self._client.on_subscribe = self._on_subscribe
        self._client.on_message = self._on_message
        self._host, self._port = host, port

    def _on_connect(self, client: mqtt.Client, userdata: Any, flags: Any, rc: ReasonCode, props: Any) -> None:
        if not _failed(rc):
            # Subscribing in on_connect re-subscribes after a reconnect too.
            client.subscribe(self.topic_filter, qos=self.qos)

    def _on_subscribe(self, client: mqtt.Client, userdata: Any, mid: int, rcs: list[ReasonCode], props: Any) -> None:
        if rcs and not any(_failed(rc) for rc in rcs):
            self._subscribed.set()

    def _on_message(self, client: mqtt.Client, userdata: Any, msg: mqtt.MQTTMessage) -> None:
        rec = Record(time.time(), msg.topic, bytes(msg.payload), qos=msg.qos, retain=bool(msg.retain))
        with self._cond:
            if self._fh is None:
                return
            write_line(self._fh, rec)
            self.count += 1
            self._cond.notify_all()

    def __enter__(self) -> MqttRecorder:
        self.out_path.parent.mkdir(parents=True, exist_ok=True)
        self._fh = self.out_path.open("a", encoding="utf-8")
        try:
            self._client.connect(self._host, self._port, keepalive=30)
        except OSError as err:
            self.close()
            raise MqttError(f"cannot connect to the broker at {self._host}:{self._port}: {err}") from None
        self._client.loop_start()
        if not self._subscribed.wait(self.timeout_s):
            self.close()
            raise MqttError(f"could not subscribe to {self.topic_filter!r} at {self._host}:{self._port}")
        return self

    def __exit__(self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None) -> None:
        self.close()

    def wait_for(self, n: int, timeout_s: float) -> bool:
        deadline = time.monotonic() + timeout_s
        with self._cond:
            while self.count < n:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(left)
        return True

    def close(self) -> None:
        self._client.disconnect()
        self._client.loop_stop()
        with self._cond:
            if self._fh is not None:
                self._fh.close()
                self._fh = None


def record(
    host: str,
    port: int,
    topic_filter: str,
    out_path: str | Path,
    *,
    duration_s: float | None = None,
    max_messages: int | None = None,
    stop: threading.Event | None = None,
    username: str | None = None,
    password: str | None = None,
) -> int:
    """Record until `duration_s` passes, `max_messages` arrived or `stop` is set; returns the count."""
    stop = stop or threading.Event()
    deadline = None if duration_s is None else time.monotonic() + duration_s
    with MqttRecorder(host, port, topic_filter, out_path, username=username, password=password) as rec:
        while not stop.is_set():
            if max_messages is not None and rec.count >= max_messages:
                break
            if deadline is not None and time.monotonic() >= deadline:
                break
            wait = 0.2 if deadline is None else max(0.0, min(0.2, deadline - time.monotonic()))
            if max_messages is not None:
                rec.wait_for(max_messages, wait)
            else:
                stop.wait(wait)
        return rec.count
