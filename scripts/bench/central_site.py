"""A synthetic site for central's benchmarks: N zones on a grid, four per camera, a viewer login,
central as its own process (`crowd-central run`), and an edge-like publisher of metric messages."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from devtools.broker import MosquittoBroker, free_port
from devtools.browser import CentralProcess, ConsoleUser, rectangle

SITE = "bench"
PREFIX = "crowd/v1"
VIEWER = ConsoleUser("bench", "viewer", "bench-viewer-pass-1", "CROWD_BENCH_VIEWER_PASSWORD")
AREA_M2 = 100.0


@dataclass(frozen=True)
class ZoneRef:
    id: str
    camera: str
    edge_zone: str


def zones(n: int) -> list[ZoneRef]:
    return [ZoneRef(f"z{i}", f"cam{i // 4}", f"e{i % 4}") for i in range(n)]


def central_config(broker: MosquittoBroker, workdir: Path, refs: list[ZoneRef], **alerts: Any) -> dict[str, Any]:
    cols = 40
    return {
        "site": {"id": SITE, "name": "bench"},
        "mqtt": {"host": broker.host, "port": broker.port, "topic_prefix": PREFIX},
        "database": {"url": f"sqlite:///{workdir / 'central.sqlite'}"},
        "http": {"host": "127.0.0.1", "port": free_port()},
        "users": [{"username": VIEWER.username, "role": VIEWER.role, "password_env": VIEWER.env}],
        "zones": [
            {
                "id": z.id,
                "camera": z.camera,
                "edge_zone": z.edge_zone,
                "polygon": rectangle(12.0 * (i % cols), 12.0 * (i // cols), 10.0, 10.0),
                "thresholds": {"warning": 1.0, "critical": 2.0},
            }
            for i, z in enumerate(refs)
        ],
        "alerts": {"camera_stale_s": 3600, **alerts},
        "forecast": {"step_s": 10, "horizon_s": 600},
    }


def start_central(broker: MosquittoBroker, workdir: Path, refs: list[ZoneRef], **alerts: Any) -> CentralProcess:
    proc = CentralProcess(workdir, central_config(broker, workdir, refs, **alerts), [VIEWER])
    proc.start()
    return proc


class EdgeFleet:
    """One MQTT client publishing metric messages for many zones, as their edge nodes would."""

    def __init__(self, broker: MosquittoBroker) -> None:
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="bench-fleet", protocol=mqtt.MQTTv5)
        self.client.max_inflight_messages_set(1000)
        self.client.max_queued_messages_set(0)
        self.client.connect(broker.host, broker.port)
        self.client.loop_start()
        self._seq: dict[str, int] = {}
        self._lock = threading.Lock()

    def publish(self, z: ZoneRef, density: float, measured_at: float | None = None) -> mqtt.MQTTMessageInfo:
        with self._lock:
            seq = self._seq[z.camera] = self._seq.get(z.camera, 0) + 1
        now = time.time() if measured_at is None else measured_at
        body = {
            "schema": "crowd.zone_metrics/1",
            "site": SITE,
            "camera": z.camera,
            "zone": z.edge_zone,
            "seq": seq,
            "measured_at": now,
            "frame_start": seq * 25,
            "frame_end": seq * 25 + 24,
            "t_start": now - 1.0,
            "t_end": now,
            "count": density * AREA_M2,
            "count_max": int(density * AREA_M2) + 1,
            "area_m2": AREA_M2,
            "density": density,
            "speed_p50": 1.1,
            "speed_p85": 1.4,
            "los": "C",
            "stale": False,
        }
        topic = f"{PREFIX}/{SITE}/{z.camera}/zones/{z.edge_zone}/metrics"
        return self.client.publish(topic, json.dumps(body), qos=1)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()
