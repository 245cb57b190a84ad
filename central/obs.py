"""Process, observability: Prometheus metrics (one registry per service instance) and JSON-lines logs."""

from __future__ import annotations

import json
import logging
import sys
import time

from prometheus_client import CollectorRegistry, Counter, Gauge


class Telemetry:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.ingested = Counter("central_messages_ingested", "Edge metric messages stored.", registry=self.registry)
        self.rejected = Counter(
            "central_messages_rejected", "Messages rejected to the dead letters.", ["reason"], registry=self.registry
        )
        self.duplicates = Counter(
            "central_messages_duplicate",
            "Metric messages dropped as duplicates by (camera, seq).",
            registry=self.registry,
        )
        self.alerts_open = Gauge("central_alerts_open", "Open alerts owned by this worker.", registry=self.registry)
        self.ingest_lag = Gauge(
            "central_ingest_lag_seconds",
            "Arrival time minus measured_at of the newest stored metric.",
            registry=self.registry,
        )
        self.write_queue = Gauge("central_write_queue", "Metric messages waiting to be stored.", registry=self.registry)
        self.backlog_rows = Gauge(
            "central_backlog_rows", "Backlog metrics stored but not evaluated yet.", registry=self.registry
        )
        self.refits = Counter(
            "central_forecast_refits", "Background forecaster refits.", ["result"], registry=self.registry
        )
        self.patrol_positions = Counter(
            "central_patrol_positions", "Patrol positions received.", registry=self.registry
        )
        self.mqtt_connected = Gauge(
            "central_mqtt_connected", "1 while connected to the broker.", registry=self.registry
        )
        self.forecasts = Counter("central_forecasts", "Zone forecasts made.", registry=self.registry)
        self.forecast_zones_waiting = Gauge(
            "central_forecast_zones_waiting",
            "Owned zones with forecast work queued (rules already evaluated).",
            registry=self.registry,
        )
        self.forecast_wait = Gauge(
            "central_forecast_wait_seconds",
            "How long the oldest queued forecast work has waited (wall clock).",
            registry=self.registry,
        )
        self.forecast_bins_skipped = Gauge(
            "central_forecast_bins_skipped",
            "Bins not forecast since start-up because the forecast lane was overloaded (forecast less often).",
            registry=self.registry,
        )


class JsonLinesFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, object] = {
            "ts": round(record.created, 3),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        extra = getattr(record, "fields", None)
        if isinstance(extra, dict):
            out.update(extra)
        if record.exc_info:
            out["exc"] = self.formatException(record.exc_info)
        return json.dumps(out, default=str)


def setup_logging(level: str = "INFO") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonLinesFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    logging.Formatter.converter = time.gmtime
