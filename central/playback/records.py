"""Recorded MQTT messages and their JSONL file format.

One JSON object per line: `{"received_at": UNIX s, "topic", "qos", "retain", "payload": text}`,
with `payload_b64` instead of `payload` for a payload that is not UTF-8. Lines are written and
flushed one at a time, so a recording cut short by Ctrl-C or a crash keeps every message it got.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any


class RecordError(ValueError):
    """A recording line that cannot be read; the message names the file and line."""


@dataclass(frozen=True)
class Record:
    received_at: float
    topic: str
    payload: bytes
    qos: int = 1
    retain: bool = False

    def __post_init__(self) -> None:
        if not self.topic or any(c in self.topic for c in "+#"):
            raise ValueError(f"Record: not a publishable topic: {self.topic!r}")
        if self.qos not in (0, 1, 2):
            raise ValueError(f"Record: qos must be 0, 1 or 2, got {self.qos}")

    def json(self) -> dict[str, Any] | None:
        """The payload as a JSON object, or None when it is not one."""
        try:
            value = json.loads(self.payload)
        except (ValueError, UnicodeDecodeError):
            return None
        return value if isinstance(value, dict) else None

    def to_line(self) -> str:
        out: dict[str, Any] = {
            "received_at": self.received_at,
            "topic": self.topic,
            "qos": self.qos,
            "retain": self.retain,
        }
        try:
            out["payload"] = self.payload.decode("utf-8")
        except UnicodeDecodeError:
            out["payload_b64"] = base64.b64encode(self.payload).decode("ascii")
        return json.dumps(out, separators=(",", ":"))

    @classmethod
    def from_line(cls, line: str, where: str = "<line>") -> Record:
        try:
            obj = json.loads(line)
        except ValueError as err:
            raise RecordError(f"{where}: not JSON: {err}") from None
        if not isinstance(obj, dict):
            raise RecordError(f"{where}: expected an object")
        try:
            if "payload_b64" in obj:
                payload = base64.b64decode(obj["payload_b64"], validate=True)
            else:
                payload = str(obj["payload"]).encode("utf-8")
            return cls(
                received_at=float(obj["received_at"]),
                topic=str(obj["topic"]),
                payload=payload,
                qos=int(obj.get("qos", 1)),
                retain=bool(obj.get("retain", False)),
            )
        except KeyError as err:
            raise RecordError(f"{where}: missing key {err}") from None
        except (TypeError, ValueError) as err:
            raise RecordError(f"{where}: {err}") from None


def write_line(fh: IO[str], record: Record) -> None:
    fh.write(record.to_line() + "\n")
    fh.flush()


def write_records(path: str | Path, records: Iterable[Record]) -> int:
    n = 0
    with Path(path).open("w", encoding="utf-8") as fh:
        for r in records:
            fh.write(r.to_line() + "\n")
            n += 1
    return n


def iter_records(path: str | Path) -> Iterator[Record]:
    """Read a recording; a torn last line (the recorder was killed mid-write) is skipped, any other bad line is an error."""
    p = Path(path)
    with p.open(encoding="utf-8") as fh:
        lines = fh.readlines()
    for i, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            yield Record.from_line(line, f"{p}:{i}")
        except RecordError:
            if i == len(lines) and not line.endswith("\n"):
                return
            raise


def read_records(path: str | Path) -> list[Record]:
    return list(iter_records(path))
