"""Helpers for central's integration tests: configs, real databases, an MQTT edge publisher, waiting."""

from __future__ import annotations

import contextlib
import json
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from central.config import CentralConfig, parse

PG_ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
SITE = "s1"
PREFIX = "crowd/v1"

# Two 30 m x 22 m zones a few hundred metres apart (Zurich old town), one camera each.
ZONE_A = [[8.5400, 47.3700], [8.5404, 47.3700], [8.5404, 47.3702], [8.5400, 47.3702]]
ZONE_B = [[8.5450, 47.3720], [8.5454, 47.3720], [8.5454, 47.3722], [8.5450, 47.3722]]


def base_config(
    db_url: str, mqtt_port: int = 1883, *, users: list[dict[str, Any]] | None = None, **sections: Any
) -> CentralConfig:
    data: dict[str, Any] = {
        "site": {"id": SITE, "name": "Test <b>site</b>"},
        "mqtt": {"host": "127.0.0.1", "port": mqtt_port, "topic_prefix": PREFIX},
        "database": {"url": db_url, "batch_ms": 20},
        "http": {"port": 0},
        "users": users or [],
        "zones": [
            {
                "id": "za",
                "camera": "cam1",
                "edge_zone": "a",
                "polygon": ZONE_A,
                "thresholds": {"warning": 1.0, "critical": 2.0},
            },
            {
                "id": "zb",
                "camera": "cam2",
                "edge_zone": "b",
                "polygon": ZONE_B,
                "thresholds": {"warning": 1.0, "critical": 2.0},
            },
        ],
        "alerts": {"pending_s": 20, "keep_firing_s": 20, "camera_stale_s": 30},
        "forecast": {"step_s": 10, "horizon_s": 600},
    }
    for key, value in sections.items():
        data[key] = {**data.get(key, {}), **value} if isinstance(value, dict) else value
    return parse(data)


def metric(
    seq: int, measured_at: float, density: float, *, camera: str = "cam1", zone: str = "a", **extra: Any
) -> dict[str, Any]:
    area = 100.0
    body: dict[str, Any] = {
        "schema": "crowd.zone_metrics/1",
        "site": SITE,
        "camera": camera,
        "zone": zone,
        "seq": seq,
        "measured_at": measured_at,
        "frame_start": seq * 10,
        "frame_end": seq * 10 + 9,
        "t_start": measured_at - 1.0,
        "t_end": measured_at,
        "count": density * area,
        "count_max": int(density * area) + 1,
        "area_m2": area,
        "density": density,
        "speed_p50": 1.0,
        "speed_p85": 1.3,
        "los": "C",
        "stale": False,
    }
    body.update(extra)
    return body


def metric_topic(camera: str = "cam1", zone: str = "a", site: str = SITE) -> str:
    return f"{PREFIX}/{site}/{camera}/zones/{zone}/metrics"


class EdgeClient:
    """A plain paho client standing in for an edge node, a patrol phone or a console-side subscriber."""

    def __init__(self, port: int, client_id: str | None = None) -> None:
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=client_id or f"t-{uuid.uuid4().hex[:8]}", protocol=mqtt.MQTTv5
        )
        self.received: list[tuple[str, bytes, bool]] = []
        self.client.on_message = lambda _c, _u, m: self.received.append((m.topic, bytes(m.payload), bool(m.retain)))
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()

    def subscribe(self, topic: str) -> None:
        self.client.subscribe(topic, qos=1)
        time.sleep(0.2)

    def send(self, topic: str, payload: dict[str, Any] | bytes, qos: int = 1, retain: bool = False) -> None:
        data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        self.client.publish(topic, data, qos=qos, retain=retain).wait_for_publish(10)

    def metrics(self, bodies: list[dict[str, Any]]) -> None:
        infos = [
            self.client.publish(metric_topic(b["camera"], b["zone"], b["site"]), json.dumps(b), qos=1) for b in bodies
        ]
        for info in infos:
            info.wait_for_publish(10)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def wait_for(pred: Callable[[], Any], timeout_s: float = 10.0, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = pred()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")


def postgres_available() -> bool:
    try:
        import psycopg

        with psycopg.connect("host=127.0.0.1 port=5432 user=postgres dbname=test", connect_timeout=2):
            return True
    except Exception:
        return False


@contextlib.contextmanager
def fresh_postgres_db() -> Iterator[str]:
    """A new, empty database on the local PostgreSQL server, dropped afterwards; skips where none runs."""
    if not postgres_available():
        pytest.skip("no PostgreSQL server on 127.0.0.1:5432")
    import psycopg

    name = f"central_test_{uuid.uuid4().hex[:10]}"
    with psycopg.connect("host=127.0.0.1 port=5432 user=postgres dbname=test", autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    finally:
        with psycopg.connect("host=127.0.0.1 port=5432 user=postgres dbname=test", autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
