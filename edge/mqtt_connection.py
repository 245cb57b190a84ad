"""How the edge's paho client is made and connected: credentials, TLS, last will, MQTT 5 session or 3.1.1.

The publisher (edge/mqtt_client.py) owns the client's callbacks and what it sends; this module only
builds a client from the `mqtt` config section and starts its connection. MQTT 5 asks the broker to keep
the session (subscriptions and unacknowledged QoS 1 messages) for a week; 3.1.1, the fallback for brokers
that refuse version 5, asks for a persistent session (clean_session False).
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Mapping
from typing import Literal

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from edge.config import MqttConfig

__all__ = ["SESSION_EXPIRY_S", "Credentials", "connect", "new_client", "resolve_credentials", "should_fall_back_to_311"]

SESSION_EXPIRY_S = 7 * 24 * 3600


def _not_after_disconnect(record: logging.LogRecord) -> bool:
    # paho 2.2's loop thread may log this as an error once after a clean disconnect; it means nothing.
    return not str(record.msg).startswith("Client is not connected")


# Named as before the connection code had its own module, so logging set up for it still applies.
_PAHO_LOG = logging.getLogger("edge.mqtt_client.paho")
_PAHO_LOG.addFilter(_not_after_disconnect)


@dataclasses.dataclass(frozen=True)
class Credentials:
    username: str | None
    password: str | None = dataclasses.field(default=None, repr=False)


def resolve_credentials(cfg: MqttConfig, env: Mapping[str, str]) -> Credentials:
    """Config values win; CROWD_MQTT_USERNAME / CROWD_MQTT_PASSWORD fill what the config leaves out."""
    return Credentials(
        username=cfg.username or env.get("CROWD_MQTT_USERNAME") or None,
        password=cfg.password or env.get("CROWD_MQTT_PASSWORD") or None,
    )


def should_fall_back_to_311(protocol: MQTTProtocolVersion, reason_value: int) -> bool:
    """A v5 CONNECT refused for its protocol version (0x84; 0x01 from a 3.1.1 broker) is retried as 3.1.1."""
    return protocol == MQTTProtocolVersion.MQTTv5 and reason_value in (0x01, 0x84)


def new_client(
    cfg: MqttConfig,
    credentials: Credentials,
    protocol: MQTTProtocolVersion,
    *,
    client_id: str,
    will_topic: str,
    will_payload: bytes,
) -> mqtt.Client:
    """A paho client, not yet connected and without callbacks; it reconnects by itself (1-5 s apart)."""
    v5 = protocol == MQTTProtocolVersion.MQTTv5
    client = mqtt.Client(
        CallbackAPIVersion.VERSION2,
        client_id=client_id[:128],
        protocol=protocol,
        clean_session=None if v5 else False,
        reconnect_on_failure=True,
    )
    client.enable_logger(_PAHO_LOG)
    client.reconnect_delay_set(min_delay=1, max_delay=5)
    if credentials.username or credentials.password:
        client.username_pw_set(credentials.username, credentials.password)
    tls = cfg.tls
    if tls is not None:
        client.tls_set(ca_certs=tls.ca_certs, certfile=tls.certfile, keyfile=tls.keyfile)
        client.tls_insecure_set(tls.insecure)
    client.will_set(will_topic, will_payload, qos=1, retain=True)
    return client


def connect(client: mqtt.Client, cfg: MqttConfig, protocol: MQTTProtocolVersion) -> None:
    """Start connecting in paho's own thread; the client's on_connect tells how it went."""
    props: Properties | None = None
    clean_start: bool | Literal[3] = mqtt.MQTT_CLEAN_START_FIRST_ONLY
    if protocol == MQTTProtocolVersion.MQTTv5:
        props = Properties(PacketTypes.CONNECT)
        props.SessionExpiryInterval = SESSION_EXPIRY_S
        clean_start = False
    client.connect_async(cfg.host, cfg.port, keepalive=cfg.keepalive_s, clean_start=clean_start, properties=props)
    client.loop_start()
