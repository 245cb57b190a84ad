"""Where the pipeline's ZoneMetrics go: the `Sink` interface, a JSONL file and an in-memory twin.

The MQTT publisher plugs in through the same interface (`edge.publishing.MetricsSink`).
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Any, Protocol

from edge.types import ZoneMetrics


class Sink(Protocol):
    def write(self, metrics: Sequence[ZoneMetrics]) -> None:
        """Take one batch (the zones of one or more closed intervals), in order."""
        ...

    def close(self) -> None:
        """Flush and release; called once, also on SIGTERM/SIGINT."""
        ...


def metrics_to_dict(m: ZoneMetrics) -> dict[str, Any]:
    """The JSONL form: the dataclass fields; non-finite numbers become null rather than invalid JSON."""
    out = dataclasses.asdict(m)
    for k, v in out.items():
        if isinstance(v, float) and not math.isfinite(v):
            out[k] = None
    return out


class JsonlSink:
    """One JSON object per zone per interval, flushed after every batch so a killed run keeps its lines."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        if self.path.parent and not self.path.parent.exists():
            self.path.parent.mkdir(parents=True, exist_ok=True)
        self._fh: IO[str] | None = self.path.open("w", encoding="utf-8")

    def write(self, metrics: Sequence[ZoneMetrics]) -> None:
        if self._fh is None:
            raise RuntimeError(f"{self.path}: sink already closed")
        for m in metrics:
            self._fh.write(json.dumps(metrics_to_dict(m), separators=(",", ":")) + "\n")
        self._fh.flush()

    def close(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None


class MemorySink:
    def __init__(self) -> None:
        self.metrics: list[ZoneMetrics] = []
        self.closed = False

    def write(self, metrics: Sequence[ZoneMetrics]) -> None:
        self.metrics.extend(metrics)

    def close(self) -> None:
        self.closed = True


def read_jsonl(path: str | Path) -> list[dict[str, Any]]:
    rows = []
    with Path(path).open(encoding="utf-8") as fh:
        for n, line in enumerate(fh, 1):
            line = line.strip()
            if not line:
                continue
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError as err:
                raise ValueError(f"{path}:{n}: not JSON: {err}") from None
    return rows
