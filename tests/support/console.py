"""Helpers for the console's browser test: the real central service as a subprocess, Chromium, and MQTT.

Chromium and the central process live in `devtools.browser` (the screenshot script and the site benchmark
use them too); MQTT and message builders are the tests' own.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass
from typing import Any

import paho.mqtt.client as mqtt

from devtools.browser import (
    CENTER_LAT,
    CENTER_LON,
    CHROMIUM,
    CHROMIUM_ARGS,
    REPO,
    CentralProcess,
    ConsoleUser,
    find_chromium,
    offset,
    rectangle,
)

__all__ = [
    "CENTER_LAT",
    "CENTER_LON",
    "CHROMIUM",
    "CHROMIUM_ARGS",
    "REPO",
    "CentralProcess",
    "ConsoleUser",
    "MetricPoint",
    "Mqtt",
    "find_chromium",
    "offset",
    "owntracks",
    "rectangle",
    "zone_metrics",
]


class Mqtt:
    """A connected paho client that publishes and waits until the broker has each message."""

    def __init__(self, host: str, port: int) -> None:
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"console-test-{os.getpid()}")
        self.client.connect(host, port)
        self.client.loop_start()

    def publish(self, topic: str, payload: dict[str, Any], retain: bool = False) -> None:
        info = self.client.publish(topic, json.dumps(payload), qos=1, retain=retain)
        info.wait_for_publish(timeout=10)
        if not info.is_published():
            raise RuntimeError(f"broker did not take the message on {topic}")

    def close(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()


@dataclass(frozen=True)
class MetricPoint:
    measured_at: float
    density: float
    speed_mps: float = 1.2


def zone_metrics(site: str, camera: str, zone: str, seq: int, area_m2: float, point: MetricPoint) -> dict[str, Any]:
    """One edge ZoneMetricsMessage (edge/messages.py) as its JSON; LOS by the Fruin walkway bands."""
    from contract.edge_messages import ZoneMetricsMessage

    bands = {"A": 0.0, "B": 0.31, "C": 0.43, "D": 0.72, "E": 1.08, "F": 2.17}
    los = [letter for letter, low in bands.items() if point.density >= low][-1]
    count = point.density * area_m2
    message = ZoneMetricsMessage.model_validate(
        {
            "site": site,
            "camera": camera,
            "zone": zone,
            "seq": seq,
            "measured_at": point.measured_at,
            "frame_start": seq * 10,
            "frame_end": seq * 10 + 9,
            "t_start": point.measured_at - 10,
            "t_end": point.measured_at,
            "count": count,
            "count_max": math.ceil(count),
            "area_m2": area_m2,
            "density": point.density,
            "speed_p50": point.speed_mps,
            "speed_p85": point.speed_mps * 1.25,
            "los": los,
            "stale": False,
        }
    )
    return message.model_dump(by_alias=True, mode="json")


def owntracks(lon: float, lat: float, acc_m: float, at_s: float) -> dict[str, Any]:
    return {"_type": "location", "lat": lat, "lon": lon, "acc": acc_m, "tst": int(at_s)}
