"""Evaluator commands: the typed work other threads hand to the evaluator's thread, and the port they use.

Ingest (MQTT thread) and the API (HTTP threads) never mutate the evaluator's state: they `submit` one
of these commands, and the evaluator's thread runs its handler (`central.evaluator.Evaluator`) on the
next step.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Protocol

from central import alerts as al
from central.liveness import CameraStats, CameraStatus
from central.patrols import PatrolPosition
from contract.central_messages import AlertMessage, ForecastMessage


@dataclass(frozen=True)
class OperatorStep:
    """An operator changed an alert in the store (API thread): publish it and merge it into the rules."""

    alert: al.Alert


@dataclass(frozen=True)
class RemoteAlert:
    """Another worker's alert event (MQTT): onto this worker's live stream, unless it is our own echo."""

    message: AlertMessage


@dataclass(frozen=True)
class RemoteForecast:
    """Another worker's forecast of a zone it owns (MQTT): this worker's view of that zone."""

    site: str
    zone: str
    message: ForecastMessage


Command = PatrolPosition | CameraStatus | CameraStats | OperatorStep | RemoteAlert | RemoteForecast


class CommandSink(Protocol):
    """What ingest needs of the evaluator: hand over commands, note backlog, wake it after a write."""

    wake: threading.Event

    def submit(self, item: Command) -> None: ...

    def note_backlog(self, zone: str) -> None: ...
