"""The real Publisher: paho-mqtt 2 (MQTT 5, 3.1.1 as a fallback) behind an on-disk store-and-forward queue.

Path of a metrics message: `publish_metrics` numbers it (`seq`) and writes it to the SQLite outbox in
one transaction; a sender thread hands queued rows to paho in order, a window at a time, while the
broker is connected; when the broker acknowledges a row (PUBACK), the row is deleted. What paho
holds when the connection drops, it re-sends after reconnecting (persistent session); the rest
waits on disk. A row acknowledged but not yet deleted when the process dies is sent again on the
next start: receivers drop duplicates by `(camera, seq)`.

Status (`online` on every connect, `offline` as last will, `stopped` on a clean stop) and stats are
live information and bypass the queue. The edge subscribes only to its `cmd` topic and hands what comes
there to its `CommandDesk` (edge/mqtt_commands.py); a snapshot reply goes out on the snapshot topic,
not retained.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections import deque
from collections.abc import Mapping, Sequence
from typing import Any

import paho.mqtt.client as mqtt
import psutil
from paho.mqtt.enums import MQTTErrorCode, MQTTProtocolVersion
from paho.mqtt.reasoncodes import ReasonCode

from contract.edge_messages import SnapshotMessage, StatsMessage, StatusMessage, ZoneMetricsMessage
from contract.topics import cmd_topic, metrics_topic, snapshot_topic, stats_topic, status_topic
from contract.wire import encode
from edge.config import EdgeConfig, MqttConfig
from edge.mqtt_commands import CommandDesk
from edge.mqtt_connection import (
    SESSION_EXPIRY_S,
    Credentials,
    connect,
    new_client,
    resolve_credentials,
    should_fall_back_to_311,
)
from edge.outbox import Envelope, Outbox
from edge.publishing import (
    HealthSource,
    PipelineHealth,
    PublisherFigures,
    WallClock,
    measured_at,
    stats_message,
    status_message,
    to_message,
)
from edge.snapshot import SnapshotDesk
from edge.types import ZoneMetrics

# Credentials, resolve_credentials, should_fall_back_to_311 and SESSION_EXPIRY_S live in edge/mqtt_connection.py
# and stay importable from here.
__all__ = [
    "SESSION_EXPIRY_S",
    "Credentials",
    "MqttPublisher",
    "publisher_for",
    "resolve_credentials",
    "should_fall_back_to_311",
]

log = logging.getLogger(__name__)

_WINDOW = 200  # rows handed to paho and not yet acknowledged; bounds paho's memory
_HOUR_S = 3600.0


class MqttPublisher:
    """Publishes one camera's metrics, status and stats; see the module docstring for the guarantees."""

    def __init__(
        self,
        cfg: MqttConfig,
        *,
        site: str,
        camera: str,
        clock: WallClock = time.time,
        env: Mapping[str, str] | None = None,
        protocol: MQTTProtocolVersion = MQTTProtocolVersion.MQTTv5,
    ) -> None:
        self.cfg = cfg
        self.site = site
        self.camera = camera
        self.prefix = cfg.topic_prefix.rstrip("/")
        self._clock = clock
        self._credentials = resolve_credentials(cfg, os.environ if env is None else env)
        self._protocol = protocol
        self.started_at = clock()
        self.outbox = Outbox(cfg.queue_path, cfg.queue_max_messages)
        self._dropped_at_start = self.outbox.dropped_total
        self._seq_counter = f"seq/{camera}"
        self._health: HealthSource = PipelineHealth
        self._commands = CommandDesk(
            site=site,
            camera=camera,
            publish_status=self.publish_status,
            publish_stats=self.publish_stats,
            send_snapshot=self._send_snapshot,
        )
        self._process = psutil.Process()
        self._process.cpu_percent(None)  # the first call only sets the baseline

        self._lock = threading.Lock()
        self._inflight: dict[int, int | None] = {}  # paho mid -> outbox id (None: status/stats)
        self._early_acks: set[int] = set()  # acks that beat publish() returning its mid
        self._acked_ids: set[int] = set()
        self._sent: deque[int] = deque()  # outbox ids in the order handed to paho
        self._last_sent_id = 0
        self._connected = threading.Event()
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._fallback = False
        self._stopped = False
        self._connects: deque[float] = deque()
        self._ever_connected = False
        self._last_connect_error: str | None = None
        self._client = self._new_client()
        self._sender = threading.Thread(target=self._run_sender, name=f"mqtt-sender-{camera}", daemon=True)

    # -- public surface ---------------------------------------------------------------------------

    @property
    def connected(self) -> bool:
        return self._connected.is_set()

    @property
    def buffered(self) -> int:
        """Messages in the outbox, sent or not, that the broker has not acknowledged yet."""
        return len(self.outbox)

    def start(self) -> None:
        user = self._credentials.username
        log.info(
            "mqtt: connecting to %s:%d as %s (password %s, tls %s); %d queued message(s) to drain first",
            self.cfg.host,
            self.cfg.port,
            user or "<anonymous>",
            "set" if self._credentials.password else "not set",
            "on" if self.cfg.tls else "off",
            len(self.outbox),
        )
        self._connect()
        self._sender.start()

    def set_health_source(self, source: HealthSource) -> None:
        self._health = source

    def set_snapshot_desk(self, desk: SnapshotDesk) -> None:
        self._commands.snapshots = desk

    def publish_metrics(self, metrics: Sequence[ZoneMetrics]) -> list[ZoneMetricsMessage]:
        drafts: list[ZoneMetricsMessage] = []
        for m in metrics:
            try:
                drafts.append(to_message(m, site=self.site, seq=0, measured_at_s=measured_at(m.t_end, self.started_at)))
            except ValueError as err:  # pydantic's ValidationError is a ValueError
                log.error("mqtt: interval of zone %r frames %d-%d breaks the contract, not sent: %s",
                          m.zone, m.frame_start, m.frame_end, err)  # fmt: skip
        if not drafts:
            return []
        with self.outbox.transaction() as tx:
            first = tx.next_seq(self._seq_counter, len(drafts))
            messages = [d.model_copy(update={"seq": first + i}) for i, d in enumerate(drafts)]
            for msg in messages:
                topic = metrics_topic(self.prefix, self.site, self.camera, msg.zone)
                tx.put(Envelope(topic, encode(msg), qos=1, retain=True))
        self._wake.set()
        return messages

    def publish_stats(self) -> StatsMessage:
        msg = self._stats_message()
        if self.connected:
            self._publish_direct(stats_topic(self.prefix, self.site, self.camera), encode(msg))
        return msg

    def publish_status(self) -> StatusMessage:
        msg = self._status("online")
        if self.connected:
            self._publish_direct(status_topic(self.prefix, self.site, self.camera), encode(msg))
        return msg

    def wait_drained(self, timeout_s: float) -> bool:
        """Wait until the broker has acknowledged everything queued; False on timeout."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if len(self.outbox) == 0:
                return True
            time.sleep(0.02)
        return len(self.outbox) == 0

    def stop(self, drain_timeout_s: float = 5.0) -> None:
        """Send what the timeout allows, announce 'stopped', disconnect; what is left stays on disk. Idempotent."""
        if self._stopped:
            return
        self._stopped = True
        if self._sender.is_alive() and self.connected:
            self.wait_drained(drain_timeout_s)
        self._stopping.set()
        self._wake.set()
        if self._sender.is_alive():
            self._sender.join(timeout=10)
        if self.connected:
            info = self._publish_direct(
                status_topic(self.prefix, self.site, self.camera), encode(self._status("stopped"))
            )
            try:
                info.wait_for_publish(timeout=3)
            except (RuntimeError, ValueError) as err:
                log.warning("mqtt: could not confirm the 'stopped' status: %s", err)
        self._connected.clear()  # a clean disconnect is not an outage worth a warning
        self._client.disconnect()
        self._client.loop_stop()
        left = len(self.outbox)
        if left:
            log.warning("mqtt: stopped with %d message(s) queued in %s; they go first on the next start",
                        left, self.outbox.path)  # fmt: skip
        self.outbox.close()

    # -- paho client ------------------------------------------------------------------------------

    def _new_client(self) -> mqtt.Client:
        client = new_client(
            self.cfg,
            self._credentials,
            self._protocol,
            client_id=f"crowd-edge-{self.site}-{self.camera}",
            will_topic=status_topic(self.prefix, self.site, self.camera),
            will_payload=encode(self._status("offline")),
        )
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_publish = self._on_publish
        client.on_message = self._on_message
        return client

    def _connect(self) -> None:
        connect(self._client, self.cfg, self._protocol)

    def _on_connect(self, client: mqtt.Client, userdata: Any, flags: Any, reason: ReasonCode, props: Any) -> None:
        if reason.is_failure:
            text = f"{reason} ({reason.value:#04x})"
            if text != self._last_connect_error:
                log.error("mqtt: broker %s:%d refused the connection: %s", self.cfg.host, self.cfg.port, text)
                self._last_connect_error = text
            if should_fall_back_to_311(self._protocol, reason.value):
                self._fallback = True
                self._wake.set()
            return
        self._last_connect_error = None
        now = time.monotonic()
        if self._ever_connected:
            self._connects.append(now)
        self._ever_connected = True
        log.info("mqtt: connected to %s:%d (%s)", self.cfg.host, self.cfg.port, self._protocol.name)
        client.subscribe(cmd_topic(self.prefix, self.site, self.camera), qos=1)
        self._publish_direct(status_topic(self.prefix, self.site, self.camera), encode(self._status("online")))
        self._connected.set()
        self._wake.set()

    def _on_disconnect(self, client: mqtt.Client, userdata: Any, flags: Any, reason: ReasonCode, props: Any) -> None:
        if self._connected.is_set():
            log.warning("mqtt: disconnected from the broker (%s); queueing on disk until it returns", reason)
        self._connected.clear()

    def _on_publish(self, client: mqtt.Client, userdata: Any, mid: int, reason: ReasonCode, props: Any) -> None:
        if reason.is_failure:
            # Retrying a refused message (not authorised, bad topic) would block the queue for ever.
            log.error("mqtt: broker refused message %d: %s", mid, reason)
        with self._lock:
            if mid in self._inflight:
                outbox_id = self._inflight.pop(mid)
                if outbox_id is not None:
                    self._acked_ids.add(outbox_id)
            else:
                self._early_acks.add(mid)
        self._wake.set()

    def _on_message(self, client: mqtt.Client, userdata: Any, message: mqtt.MQTTMessage) -> None:
        self._commands.handle(message.topic, bytes(message.payload))

    def _send_snapshot(self, reply: SnapshotMessage) -> None:
        # Not retained: a picture is for the one who asked, not for whoever subscribes later.
        self._publish_direct(snapshot_topic(self.prefix, self.site, self.camera), encode(reply), retain=False)

    def _publish_direct(
        self, topic: str, payload: bytes, outbox_id: int | None = None, *, retain: bool = True
    ) -> mqtt.MQTTMessageInfo:
        info = self._client.publish(topic, payload, qos=1, retain=retain)
        with self._lock:
            if info.mid in self._early_acks:
                self._early_acks.discard(info.mid)
                if outbox_id is not None:
                    self._acked_ids.add(outbox_id)
            else:
                self._inflight[info.mid] = outbox_id
        return info

    # -- sender thread ----------------------------------------------------------------------------

    def _run_sender(self) -> None:
        next_stats = time.monotonic() + self.cfg.stats_interval_s
        while not self._stopping.is_set():
            self._wake.wait(timeout=0.05)
            self._wake.clear()
            try:
                if self._fallback:
                    self._fall_back()
                self._collect_acks()
                if self.connected:
                    self._fill_window()
                if time.monotonic() >= next_stats:
                    next_stats = time.monotonic() + self.cfg.stats_interval_s
                    self.publish_stats()
            except Exception:  # keep sending: a failing round must not silently end publishing
                log.exception("mqtt: sender round failed; retrying")
                time.sleep(0.5)
        self._collect_acks()

    def _fill_window(self) -> None:
        room = _WINDOW - len(self._sent)
        if room <= 0:
            return
        for row in self.outbox.peek(room, after_id=self._last_sent_id):
            env = row.envelope
            info = self._publish_direct(env.topic, env.payload, outbox_id=row.id)
            if info.rc not in (MQTTErrorCode.MQTT_ERR_SUCCESS, MQTTErrorCode.MQTT_ERR_NO_CONN):
                log.warning("mqtt: paho did not take message %d: %s", row.id, mqtt.error_string(info.rc))
            self._sent.append(row.id)  # NO_CONN: paho keeps it and sends it on reconnect
            self._last_sent_id = row.id

    def _collect_acks(self) -> None:
        last: int | None = None
        with self._lock:
            while self._sent and self._sent[0] in self._acked_ids:
                last = self._sent.popleft()
                self._acked_ids.discard(last)
        if last is not None:
            self.outbox.ack_through(last)

    def _fall_back(self) -> None:
        log.warning("mqtt: broker does not speak MQTT 5; falling back to 3.1.1")
        self._fallback = False
        self._client.loop_stop()
        self._protocol = MQTTProtocolVersion.MQTTv311
        with self._lock:
            self._inflight.clear()
            self._early_acks.clear()
            self._acked_ids.clear()
            self._sent.clear()
        self._last_sent_id = 0  # resend from the head of the queue; receivers drop duplicates
        self._client = self._new_client()
        self._connect()

    # -- messages ---------------------------------------------------------------------------------

    def _status(self, state: str) -> StatusMessage:
        return status_message(
            site=self.site, camera=self.camera, state=state, started_at=self.started_at, at=self._clock()
        )

    def _stats_message(self) -> StatsMessage:
        now = time.monotonic()
        while self._connects and self._connects[0] < now - _HOUR_S:
            self._connects.popleft()
        figures = PublisherFigures(
            broker_reconnects_1h=len(self._connects),
            buffered_messages=len(self.outbox),
            queue_dropped=self.outbox.dropped_total - self._dropped_at_start,
            cpu_percent=self._process.cpu_percent(None),
        )
        return stats_message(
            site=self.site, camera=self.camera, health=self._health(), at=self._clock(), publisher=figures
        )


def publisher_for(cfg: EdgeConfig) -> MqttPublisher:
    """The publisher of one edge config: topics from `site` and `camera.id`, the rest from `mqtt`."""
    return MqttPublisher(cfg.mqtt, site=cfg.site, camera=cfg.camera.id)
