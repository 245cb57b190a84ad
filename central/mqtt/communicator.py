"""Communicator: the interface central talks MQTT through, and its in-memory twin for tests.

Central's stages never see paho: ingest receives `Inbound` messages from `Communicator.on_message` and
acknowledges them with `ack` once stored; publication sends with `publish`. `MqttCommunicator`
(central/mqtt/paho_link.py) is the broker; `MemoryCommunicator` keeps everything in lists.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class Inbound:
    """One received message; `mid` and `qos` are what `ack` needs."""

    topic: str
    payload: bytes
    mid: int = 0
    qos: int = 0


@dataclass(frozen=True)
class Published:
    topic: str
    payload: bytes
    qos: int
    retain: bool


MessageHandler = Callable[[Inbound], None]


class Publisher(Protocol):
    """What publication needs: send one message (queued while disconnected)."""

    def publish(self, topic: str, payload: bytes, *, qos: int = 1, retain: bool = False) -> None: ...


class Communicator(Publisher, Protocol):
    """Publish, receive through one handler, acknowledge by hand, and tell whether the broker is there."""

    connected: threading.Event

    def set_handler(self, handler: MessageHandler) -> None: ...

    def ack(self, mid: int, qos: int) -> None: ...

    def start(self) -> None: ...

    def stop(self) -> None: ...


class MemoryCommunicator:
    """In-memory twin of the MQTT link: `messages` holds what was published, `deliver` plays a message in."""

    def __init__(self) -> None:
        self.messages: list[Published] = []
        self.acked: list[int] = []
        self.connected = threading.Event()
        self._handler: MessageHandler | None = None
        self._lock = threading.Lock()
        self._mid = 0

    def publish(self, topic: str, payload: bytes, *, qos: int = 1, retain: bool = False) -> None:
        with self._lock:
            self.messages.append(Published(topic, payload, qos, retain))

    def set_handler(self, handler: MessageHandler) -> None:
        self._handler = handler

    def ack(self, mid: int, qos: int) -> None:
        with self._lock:
            self.acked.append(mid)

    def start(self) -> None:
        self.connected.set()

    def stop(self) -> None:
        self.connected.clear()

    def deliver(self, topic: str, payload: bytes, qos: int = 1) -> int:
        """Hand one message to the handler as the broker would; returns its message id."""
        with self._lock:
            self._mid += 1
            mid = self._mid
        if self._handler is not None:
            self._handler(Inbound(topic, payload, mid, qos))
        return mid
