"""Replaying recorded messages with their original timing, or sped up.

The replayer is pure scheduling over two small interfaces, a `Publisher` and a `SleepingClock`
(central/clock.py), so its timing is unit-tested with in-memory twins (`MemoryPublisher`, `FakeClock`) and the MQTT adapter is tested against a real broker.
With `retime="wall"`, timestamps inside the payloads (`measured_at` of zone metrics, `tst` of OwnTracks
locations) are rewritten to the time the message is sent on central's clock, so central's alerts fire
in present time even for an old recording. Sped up, that clock must be central's scaled clock
(`payload_time=ScaledClock(start, speed).at`): payloads then keep their recorded spacing in scaled
seconds, and central's pending, hold and staleness durations mean what they mean at real speed.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Literal, Protocol

from central.clock import SleepingClock
from central.playback.records import Record

Retime = Literal["keep", "wall"]


class Publisher(Protocol):
    def publish(self, topic: str, payload: bytes, qos: int, retain: bool) -> None: ...


@dataclass
class MemoryPublisher:
    """In-memory twin: remembers what was published and when (by its clock)."""

    clock: SleepingClock
    sent: list[tuple[float, Record]] = field(default_factory=list)

    def publish(self, topic: str, payload: bytes, qos: int, retain: bool) -> None:
        self.sent.append((self.clock.now(), Record(self.clock.now(), topic, payload, qos, retain)))


@dataclass(frozen=True)
class ReplayStats:
    sent: int
    started_at: float
    finished_at: float
    late_max_s: float


def retime_payload(record: Record, new_time: float) -> bytes:
    """The payload with its own timestamp moved to `new_time`; other payloads unchanged."""
    obj = record.json()
    if obj is None:
        return record.payload
    if obj.get("schema") == "crowd.zone_metrics/1" and isinstance(obj.get("measured_at"), int | float):
        shift = new_time - float(obj["measured_at"])
        obj["measured_at"] = new_time
        # Live sources carry UNIX t_start/t_end too; keep them on the same clock as measured_at.
        if isinstance(obj.get("t_end"), int | float) and obj["t_end"] > 1e9:
            obj["t_start"] = float(obj["t_start"]) + shift
            obj["t_end"] = float(obj["t_end"]) + shift
    elif obj.get("_type") == "location" and isinstance(obj.get("tst"), int | float):
        obj["tst"] = int(new_time)
    else:
        return record.payload
    return json.dumps(obj, separators=(",", ":")).encode("utf-8")


def replay(
    records: Sequence[Record],
    publisher: Publisher,
    clock: SleepingClock,
    *,
    speed: float = 1.0,
    retime: Retime = "keep",
    should_stop: Callable[[], bool] = lambda: False,
    on_sent: Callable[[Record, float], None] | None = None,
    payload_time: Callable[[float], float] | None = None,
) -> ReplayStats:
    """Publish `records` in order of `received_at`, keeping their gaps divided by `speed`.

    With `retime="wall"` a payload's own time becomes `payload_time(wall time it is due)` (default: the
    wall time itself, right at speed 1 only).

    Each message is scheduled from the replay's start, not from the previous message, so
    publishing time does not accumulate drift over a long recording.
    """
    if speed <= 0:
        raise ValueError(f"speed must be > 0, got {speed}")
    ordered = sorted(records, key=lambda r: r.received_at)
    start = clock.now()
    if not ordered:
        return ReplayStats(0, start, start, 0.0)
    t0 = ordered[0].received_at
    late_max = 0.0
    sent = 0
    for r in ordered:
        if should_stop():
            break
        due = start + (r.received_at - t0) / speed
        wait = due - clock.now()
        if wait > 0:
            clock.sleep(wait)
            if should_stop():
                break
        late_max = max(late_max, clock.now() - due)
        if retime == "wall":
            payload = retime_payload(r, due if payload_time is None else payload_time(due))
        else:
            payload = r.payload
        publisher.publish(r.topic, payload, r.qos, r.retain)
        sent += 1
        if on_sent is not None:
            on_sent(r, due)
    return ReplayStats(sent=sent, started_at=start, finished_at=clock.now(), late_max_s=late_max)
