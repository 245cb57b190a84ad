"""Command dispatch: what the edge does with a request on its `cmd` topic (contract CommandMessage).

`status` and `stats` publish the edge's status or stats again, now; `snapshot` is answered with one
SnapshotMessage by the `SnapshotDesk` set with `set_snapshot_desk` (edge/snapshot.py), or refused when
none is set. A payload that does not validate is logged and ignored, and a command that fails is logged:
a command must never take the edge down. How the answers reach the broker is the publisher's business
(edge/mqtt_client.py): `CommandDesk` only calls the functions it is given.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from contract.edge_messages import CommandMessage, SnapshotMessage
from contract.wire import MessageError, decode
from edge.config import SnapshotConfig
from edge.snapshot import SnapshotDesk

__all__ = ["CommandDesk"]

# A child of the publisher's logger, as these lines were logged by it before dispatch had its own module:
# a level set for edge.mqtt_client still applies to them.
log = logging.getLogger("edge.mqtt_client.commands")


class CommandDesk:
    """Decodes one camera's commands and answers each through the publisher's functions."""

    def __init__(
        self,
        *,
        site: str,
        camera: str,
        publish_status: Callable[[], object],
        publish_stats: Callable[[], object],
        send_snapshot: Callable[[SnapshotMessage], object],
    ) -> None:
        self.site = site
        self.camera = camera
        self._publish_status = publish_status
        self._publish_stats = publish_stats
        self._send_snapshot = send_snapshot
        self.snapshots: SnapshotDesk | None = None

    def handle(self, topic: str, payload: bytes) -> None:
        """One message from the `cmd` topic; never raises."""
        try:
            cmd = decode(CommandMessage, payload)
        except MessageError as err:
            log.warning("mqtt: ignored malformed payload on %s: %s", topic, err)
            return
        try:
            if cmd.command == "status":
                self._publish_status()
            elif cmd.command == "stats":
                self._publish_stats()
            else:
                self._answer_snapshot(cmd)
        except Exception:  # a command must never take the edge down
            log.exception("mqtt: command %r on %s failed", cmd.command, topic)

    def _answer_snapshot(self, cmd: CommandMessage) -> None:
        # Encoded on paho's thread: one small, rate-limited picture delays other commands by milliseconds.
        desk = self.snapshots or SnapshotDesk(SnapshotConfig(enabled=False), site=self.site, camera=self.camera)
        reply = desk.answer(cmd)
        log.info("mqtt: snapshot request %r answered %s", cmd.request_id, reply.status)
        self._send_snapshot(reply)
