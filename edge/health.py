"""The edge's health endpoint: Prometheus `/metrics` and a `/healthz` liveness check over HTTP.

The pipeline calls `EdgeHealth.beat()` for every frame it finishes and `EdgeHealth.update(stats)`
with each `StatsMessage` it publishes, so the figures here are the ones central sees over MQTT, read
by a local Prometheus or the container's HEALTHCHECK even when the broker is unreachable.
`/healthz` answers 200 while frames flow and 503 once none came for `stale_after_s`, so a hung
video source or a wedged detector gets the container restarted. Nothing here carries an image or a
person: only the edge's own figures.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Literal

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Info, generate_latest

from contract.edge_messages import StatsMessage

__all__ = ["DEFAULT_HEALTH_PORT", "EdgeHealth", "HealthReport", "HealthServer"]

DEFAULT_HEALTH_PORT = 9108

HealthStatus = Literal["starting", "ok", "stale", "stopping"]


@dataclass(frozen=True)
class HealthReport:
    """What `/healthz` returns. `healthy` decides the HTTP code: 200 or 503."""

    status: HealthStatus
    healthy: bool
    uptime_s: float
    frames: int
    last_frame_age_s: float | None


# StatsMessage field -> (metric name, help, scale to the metric's unit)
_STATS_GAUGES: dict[str, tuple[str, str, float]] = {
    "capture_fps": ("crowd_edge_capture_fps", "Frames per second read from the source.", 1.0),
    "processed_fps": ("crowd_edge_processed_fps", "Frames per second through the whole pipeline.", 1.0),
    "frames_dropped": ("crowd_edge_frames_dropped", "Frames replaced by newer ones before processing.", 1.0),
    "frames_skipped": ("crowd_edge_frames_skipped", "Frames that failed to decode.", 1.0),
    "detector_ms": ("crowd_edge_detector_seconds", "Mean detector time per detection, seconds.", 1e-3),
    "source_reconnects_1h": ("crowd_edge_source_reconnects_1h", "Video source reconnects in the last hour.", 1.0),
    "broker_reconnects_1h": ("crowd_edge_broker_reconnects_1h", "Broker reconnects in the last hour.", 1.0),
    "buffered_messages": ("crowd_edge_buffered_messages", "Messages waiting in the store-and-forward queue.", 1.0),
    "queue_dropped": ("crowd_edge_queue_dropped", "Messages dropped because the queue was full.", 1.0),
    "cpu_percent": ("crowd_edge_cpu_percent", "CPU use of the edge process, percent of one core.", 1.0),
}


class EdgeHealth:
    """Thread-safe health state of one edge process, with its own Prometheus registry.

    `clock` is a monotonic clock in seconds (injectable for tests). Before the first frame the edge
    is `starting` and counts as healthy for `start_grace_s` (opening a stream or loading a model
    takes time); after that, frames older than `stale_after_s` make it `stale` and unhealthy.
    """

    def __init__(
        self,
        *,
        site: str,
        camera: str,
        version: str,
        stale_after_s: float = 30.0,
        start_grace_s: float = 120.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if stale_after_s <= 0 or start_grace_s < 0:
            raise ValueError("stale_after_s must be > 0 and start_grace_s >= 0")
        self._clock = clock
        self._stale_after_s = stale_after_s
        self._start_grace_s = start_grace_s
        self._lock = threading.Lock()
        self._started = clock()
        self._last_frame: float | None = None
        self._frames = 0
        self._stopping = False
        self.registry = CollectorRegistry(auto_describe=True)
        Info("crowd_edge", "Which edge this is.", registry=self.registry).info(
            {"site": site, "camera": camera, "version": version}
        )
        self._frames_total = Counter(
            "crowd_edge_frames", "Frames that went through the whole pipeline.", registry=self.registry
        )
        Gauge(
            "crowd_edge_last_frame_age_seconds",
            "Seconds since the last processed frame (since start before the first one).",
            registry=self.registry,
        ).set_function(self._last_frame_age_or_uptime)
        Gauge("crowd_edge_healthy", "1 while /healthz answers 200, else 0.", registry=self.registry).set_function(
            lambda: 1.0 if self.check().healthy else 0.0
        )
        self._gauges = {
            field: Gauge(name, doc, registry=self.registry) for field, (name, doc, _) in _STATS_GAUGES.items()
        }

    def beat(self) -> None:
        """One frame went through the pipeline."""
        with self._lock:
            self._last_frame = self._clock()
            self._frames += 1
        self._frames_total.inc()

    def update(self, stats: StatsMessage) -> None:
        """Mirror the latest published stats into the Prometheus gauges."""
        for field, (_, _, scale) in _STATS_GAUGES.items():
            self._gauges[field].set(float(getattr(stats, field)) * scale)

    def watch(self, figures: Callable[[], Mapping[str, float]]) -> None:
        """Read the gauges live from `figures` at every scrape (keys named as in StatsMessage).

        Pull rather than push: /metrics then shows the pipeline's state now, with or without a broker,
        instead of whatever the last stats message said. Keys `figures` lacks keep their last value.
        """

        def reader(field: str, scale: float) -> Callable[[], float]:
            last = [0.0]

            def read() -> float:
                value = figures().get(field)
                if value is not None:
                    last[0] = float(value) * scale
                return last[0]

            return read

        for field, (_, _, scale) in _STATS_GAUGES.items():
            self._gauges[field].set_function(reader(field, scale))

    def stopping(self) -> None:
        """Shutdown began: report unhealthy so no orchestrator routes to, or waits on, this process."""
        with self._lock:
            self._stopping = True

    def _last_frame_age_or_uptime(self) -> float:
        with self._lock:
            ref = self._last_frame if self._last_frame is not None else self._started
        return max(0.0, self._clock() - ref)

    def check(self) -> HealthReport:
        with self._lock:
            now = self._clock()
            uptime = max(0.0, now - self._started)
            age = None if self._last_frame is None else max(0.0, now - self._last_frame)
            frames, stopping = self._frames, self._stopping
        status: HealthStatus
        if stopping:
            status, healthy = "stopping", False
        elif age is None:
            status, healthy = "starting", uptime <= self._start_grace_s
        elif age <= self._stale_after_s:
            status, healthy = "ok", True
        else:
            status, healthy = "stale", False
        return HealthReport(status=status, healthy=healthy, uptime_s=uptime, frames=frames, last_frame_age_s=age)

    def metrics_text(self) -> bytes:
        return generate_latest(self.registry)


class _Handler(BaseHTTPRequestHandler):
    health: EdgeHealth  # set on the subclass made per server

    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0]
        if path == "/metrics":
            self._send(200, CONTENT_TYPE_LATEST, self.health.metrics_text())
        elif path == "/healthz":
            report = self.health.check()
            body = json.dumps(asdict(report)).encode()
            self._send(200 if report.healthy else 503, "application/json", body)
        else:
            self._send(404, "text/plain; charset=utf-8", b"not found: try /healthz or /metrics\n")

    def _send(self, code: int, content_type: str, body: bytes) -> None:
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(body)

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        # A scrape every few seconds would drown the edge's own log; errors are still logged.
        pass


class HealthServer:
    """Serves one EdgeHealth on `host:port` from a daemon thread. Port 0 picks a free port."""

    def __init__(self, health: EdgeHealth, host: str = "0.0.0.0", port: int = DEFAULT_HEALTH_PORT) -> None:
        handler = type("_BoundHandler", (_Handler,), {"health": health})
        self._server = ThreadingHTTPServer((host, port), handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="edge-health", daemon=True)

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def start(self) -> HealthServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> HealthServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
