"""How the edge hands its products to the outside world: the Publisher interface and its in-memory twin.

The pipeline sees only `Publisher`; `edge.mqtt_client.MqttPublisher` is the real one (MQTT with an
on-disk store-and-forward queue), `MemoryPublisher` keeps everything in lists for unit tests.
`MetricsSink` adapts a publisher to the pipeline's sink interface (`write`/`close`).
"""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib import metadata
from typing import Protocol

from contract.edge_messages import StatsMessage, StatusMessage, ZoneMetricsMessage
from edge.types import ZoneMetrics

__all__ = [
    "LIVE_TIME_THRESHOLD_S",
    "MemoryPublisher",
    "MetricsSink",
    "PipelineHealth",
    "Publisher",
    "PublisherFigures",
    "WallClock",
    "edge_version",
    "health_from",
    "measured_at",
    "stats_message",
    "status_message",
    "to_message",
]

# Source times below this are seconds since the start of a file; above, UNIX time of a live source.
# 1e9 s is September 2001: no file is 31 years long and no live clock is that far behind.
LIVE_TIME_THRESHOLD_S = 1e9
_ZONE_METRICS_FIELDS = tuple(f.name for f in dataclasses.fields(ZoneMetrics))


@dataclass(frozen=True)
class PipelineHealth:
    """The pipeline's share of the stats message; the publisher adds its own figures (queue, broker, CPU)."""

    capture_fps: float = 0.0
    processed_fps: float = 0.0
    frames_dropped: int = 0
    frames_skipped: int = 0
    detector_ms: float = 0.0
    source_reconnects_1h: int = 0


HealthSource = Callable[[], PipelineHealth]


class HasHealthFigures(Protocol):
    """Anything carrying the pipeline's health figures by name (edge.pipeline.PipelineStats does)."""

    @property
    def capture_fps(self) -> float: ...
    @property
    def processed_fps(self) -> float: ...
    @property
    def frames_dropped(self) -> int: ...
    @property
    def frames_skipped(self) -> int: ...
    @property
    def detector_ms(self) -> float: ...
    @property
    def source_reconnects_1h(self) -> int: ...


def health_from(stats: HasHealthFigures) -> PipelineHealth:
    return PipelineHealth(
        capture_fps=stats.capture_fps,
        processed_fps=stats.processed_fps,
        frames_dropped=stats.frames_dropped,
        frames_skipped=stats.frames_skipped,
        detector_ms=stats.detector_ms,
        source_reconnects_1h=stats.source_reconnects_1h,
    )


WallClock = Callable[[], float]


def edge_version() -> str:
    try:
        return metadata.version("crowd-analytics")
    except metadata.PackageNotFoundError:
        return "0+unknown"


def measured_at(t_end: float, run_started_at: float) -> float:
    """UNIX time an interval ended: live sources carry it already; files map source time onto the run's start."""
    return t_end if t_end >= LIVE_TIME_THRESHOLD_S else run_started_at + t_end


def to_message(metrics: ZoneMetrics, *, site: str, seq: int, measured_at_s: float) -> ZoneMetricsMessage:
    """The wire form of one interval; raises pydantic's ValidationError when a value breaks the contract."""
    # A shallow read of the fields: dataclasses.asdict deep-copies and was half the cost of a publish.
    fields = {name: getattr(metrics, name) for name in _ZONE_METRICS_FIELDS}
    return ZoneMetricsMessage.model_validate({**fields, "site": site, "seq": seq, "measured_at": measured_at_s})


@dataclass(frozen=True)
class PublisherFigures:
    """The publisher's own share of the stats message; the in-memory twin has none to report."""

    broker_reconnects_1h: int = 0
    buffered_messages: int = 0
    queue_dropped: int = 0
    cpu_percent: float = 0.0


def stats_message(
    *, site: str, camera: str, at: float, health: PipelineHealth, publisher: PublisherFigures
) -> StatsMessage:
    """The stats message of the real publisher and of its twin, built one way so they cannot drift."""
    return StatsMessage(site=site, camera=camera, at=at, **dataclasses.asdict(health), **dataclasses.asdict(publisher))


def status_message(*, site: str, camera: str, state: str, started_at: float, at: float) -> StatusMessage:
    return StatusMessage.model_validate(
        {
            "site": site,
            "camera": camera,
            "state": state,
            "version": edge_version(),
            "started_at": started_at,
            "at": at,
        }
    )


class Publisher(Protocol):
    """What the pipeline needs from a publisher. Implementations are thread-safe."""

    def start(self) -> None:
        """Connect (or begin trying to) and announce the edge as online."""

    def publish_metrics(self, metrics: Sequence[ZoneMetrics]) -> list[ZoneMetricsMessage]:
        """Number and queue one batch of intervals; returns the messages as they will be sent."""
        ...

    def set_health_source(self, source: HealthSource) -> None:
        """Where periodic stats get the pipeline's figures from."""

    def publish_stats(self) -> StatsMessage:
        """Publish the current stats now (periodic stats also go out on their own)."""
        ...

    def stop(self, drain_timeout_s: float = 5.0) -> None:
        """Send what can be sent within the timeout, announce 'stopped', disconnect; the rest stays queued."""


class MemoryPublisher:
    """The in-memory twin of `MqttPublisher`: same numbering and messages, kept in lists."""

    def __init__(self, site: str, camera: str, clock: WallClock = time.time, first_seq: int = 0) -> None:
        self.site = site
        self.camera = camera
        self._clock = clock
        self.started_at = clock()
        self._next_seq = first_seq
        self._lock = threading.Lock()
        self._health: HealthSource = PipelineHealth
        self.metrics: list[ZoneMetricsMessage] = []
        self.statuses: list[StatusMessage] = []
        self.stats: list[StatsMessage] = []

    def start(self) -> None:
        self.statuses.append(self._status("online"))

    def publish_metrics(self, metrics: Sequence[ZoneMetrics]) -> list[ZoneMetricsMessage]:
        with self._lock:
            out = [
                to_message(
                    m, site=self.site, seq=self._next_seq + i, measured_at_s=measured_at(m.t_end, self.started_at)
                )
                for i, m in enumerate(metrics)
            ]
            self._next_seq += len(out)
            self.metrics.extend(out)
        return out

    def set_health_source(self, source: HealthSource) -> None:
        self._health = source

    def publish_stats(self) -> StatsMessage:
        msg = stats_message(
            site=self.site, camera=self.camera, health=self._health(), at=self._clock(), publisher=PublisherFigures()
        )
        self.stats.append(msg)
        return msg

    def stop(self, drain_timeout_s: float = 5.0) -> None:
        self.statuses.append(self._status("stopped"))

    def _status(self, state: str) -> StatusMessage:
        return status_message(
            site=self.site, camera=self.camera, state=state, started_at=self.started_at, at=self._clock()
        )


class MetricsSink:
    """The pipeline's sink interface (`write`, `close`) on top of a Publisher."""

    def __init__(self, publisher: Publisher, drain_timeout_s: float = 5.0) -> None:
        self._publisher = publisher
        self._drain_timeout_s = drain_timeout_s

    def write(self, metrics: Sequence[ZoneMetrics]) -> None:
        if metrics:
            self._publisher.publish_metrics(metrics)

    def close(self) -> None:
        self._publisher.stop(self._drain_timeout_s)


def _memory_publisher_is_a_publisher(p: MemoryPublisher) -> Publisher:
    return p  # mypy checks the twin against the Protocol here; MqttPublisher is checked where the CLI uses it
