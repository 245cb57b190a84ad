"""Communicator, broker link: the broker behind the communicator interface: paho-mqtt 2, MQTT 5, manual acks, central's subscriptions.

Metrics come through a shared subscription (`$share/<group>/...`) so several workers split them, over a
persistent session (clean start off, session expiry) so a restart or a broker outage loses nothing.
"""

from __future__ import annotations

import logging
import os
import threading
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.subscribeoptions import SubscribeOptions

from central.config import CentralConfig
from central.mqtt.communicator import Inbound, MessageHandler
from central.obs import Telemetry

log = logging.getLogger(__name__)


class MqttCommunicator:
    """The Communicator on a real broker; paho queues publications while disconnected."""

    def __init__(self, cfg: CentralConfig, telemetry: Telemetry) -> None:
        self.cfg = cfg
        self.telemetry = telemetry
        self.prefix = cfg.mqtt.topic_prefix
        client_id = cfg.mqtt.client_id or f"crowd-central-{cfg.site.id}-{cfg.worker.index}"
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5, manual_ack=True
        )
        self.client.max_inflight_messages_set(1000)
        self.client.max_queued_messages_set(0)
        self.client.reconnect_delay_set(min_delay=1, max_delay=10)
        username = cfg.mqtt.username or os.environ.get("CROWD_MQTT_USERNAME")
        password = cfg.mqtt.password or os.environ.get("CROWD_MQTT_PASSWORD")
        if username or password:
            self.client.username_pw_set(username, password)
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = self._on_disconnect
        self.client.on_message = self._on_message
        self.connected = threading.Event()
        self._handler: MessageHandler | None = None
        # Edges' snapshot replies bypass ingest (they are answers to API requests, not data to store).
        self.snapshot_sink: MessageHandler | None = None

    def set_handler(self, handler: MessageHandler) -> None:
        self._handler = handler

    def start(self) -> None:
        props = Properties(PacketTypes.CONNECT)
        props.SessionExpiryInterval = self.cfg.mqtt.session_expiry_s
        # Let the broker send many unacknowledged messages: acks wait for the batch commit.
        props.ReceiveMaximum = 10000
        self.client.connect_async(
            self.cfg.mqtt.host, self.cfg.mqtt.port, keepalive=30, clean_start=False, properties=props
        )
        self.client.loop_start()

    def stop(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()

    def publish(self, topic: str, payload: bytes, *, qos: int = 1, retain: bool = False) -> None:
        self.client.publish(topic, payload, qos=qos, retain=retain)

    def ack(self, mid: int, qos: int) -> None:
        self.client.ack(mid, qos)

    # -- paho's network thread -----------------------------------------------------------------------
    def _on_connect(self, client: mqtt.Client, _u: Any, _f: Any, reason: Any, _p: Any) -> None:
        if reason.is_failure:
            log.warning("broker refused the connection: %s", reason)
            return
        p = self.prefix
        group = self.cfg.mqtt.share_group
        client.subscribe(
            [
                (f"$share/{group}/{p}/+/+/zones/+/metrics", SubscribeOptions(qos=1)),
                (f"{p}/+/+/status", SubscribeOptions(qos=1)),
                (f"{p}/+/+/stats", SubscribeOptions(qos=0)),
                ("owntracks/+/+", SubscribeOptions(qos=1)),
                (f"{p}/patrols/+/location", SubscribeOptions(qos=1)),
                # Other workers' alerts and forecasts, for this worker's console clients (not our own: noLocal).
                (f"{p}/alerts/+", SubscribeOptions(qos=1, noLocal=True)),
                (f"{p}/+/zones/+/forecast", SubscribeOptions(qos=0, noLocal=True)),
                # QoS 0: a lost reply is a timeout for the operator, and needs no manual ack.
                (f"{p}/+/+/snapshot", SubscribeOptions(qos=0)),
            ]
        )
        self.connected.set()
        self.telemetry.mqtt_connected.set(1)
        log.info("connected to the broker", extra={"fields": {"host": self.cfg.mqtt.host, "port": self.cfg.mqtt.port}})

    def _on_disconnect(self, _c: mqtt.Client, _u: Any, _f: Any, reason: Any, _p: Any) -> None:
        self.connected.clear()
        self.telemetry.mqtt_connected.set(0)
        log.warning("disconnected from the broker: %s; reconnecting", reason)

    def _on_message(self, _c: mqtt.Client, _u: Any, msg: mqtt.MQTTMessage) -> None:
        if msg.topic.endswith("/snapshot"):
            if self.snapshot_sink is not None:
                self.snapshot_sink(Inbound(msg.topic, bytes(msg.payload), msg.mid, msg.qos))
            return
        if self._handler is not None:
            self._handler(Inbound(msg.topic, bytes(msg.payload), msg.mid, msg.qos))
