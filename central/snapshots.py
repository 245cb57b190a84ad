"""Snapshot requests: send an edge a `snapshot` command and wait, bounded, for its reply.

The API thread that asks blocks on an Event; the MQTT thread that receives the reply (topic
`<prefix>/<site>/<camera>/snapshot`, see docs/mqtt.md) hands it over by `request_id`. Every central worker
receives every reply; a worker that did not ask finds no waiter and drops it. Replies are never stored: a
picture is for the operator who asked, the audit row (central/snapshot_api.py) is what is kept.
"""

from __future__ import annotations

import logging
import secrets
import threading

from central.mqtt.communicator import Inbound, Publisher
from contract.edge_messages import CommandMessage, SnapshotMessage
from contract.topics import cmd_topic
from contract.wire import MessageError, decode, encode

log = logging.getLogger(__name__)


class SnapshotRequests:
    def __init__(self, publisher: Publisher, prefix: str) -> None:
        self.publisher = publisher
        self.prefix = prefix.rstrip("/")
        self._waiting: dict[str, tuple[threading.Event, list[SnapshotMessage]]] = {}
        self._lock = threading.Lock()

    def request(self, site: str, camera: str, timeout_s: float) -> SnapshotMessage | None:
        """The edge's reply (picture or refusal), or None when none came within `timeout_s`."""
        request_id = f"snap-{secrets.token_hex(8)}"  # unguessable: nobody else's reply can pose as this one's
        done = threading.Event()
        box: list[SnapshotMessage] = []
        with self._lock:
            self._waiting[request_id] = (done, box)
        try:
            cmd = CommandMessage(command="snapshot", request_id=request_id)
            # QoS 1, not retained: an edge that is down must not find a stale request when it comes back.
            self.publisher.publish(cmd_topic(self.prefix, site, camera), encode(cmd), qos=1, retain=False)
            done.wait(timeout_s)
        finally:
            with self._lock:
                self._waiting.pop(request_id, None)
        reply = box[0] if box else None
        if reply is not None and (reply.site, reply.camera) != (site, camera):
            log.warning(
                "snapshot reply %s came from %s/%s, not %s/%s", request_id, reply.site, reply.camera, site, camera
            )
            return None
        return reply

    def offer(self, msg: Inbound) -> None:
        """A message on a snapshot topic, from the MQTT thread."""
        try:
            reply = decode(SnapshotMessage, msg.payload)
        except MessageError as err:
            log.warning("ignored malformed snapshot reply on %s: %s", msg.topic, err)
            return
        with self._lock:
            waiter = self._waiting.get(reply.request_id or "")
        if waiter is not None:
            waiter[1].append(reply)
            waiter[0].set()
