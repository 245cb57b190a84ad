"""Helpers for the console's browser test: the real central service as a subprocess, Chromium, and MQTT.

Central runs as `crowd-central run CONFIG` in its own process so a test can stop and restart it on the
same port (the console must reconnect by itself) exactly as an operator's server would restart.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import yaml

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
REPO = Path(__file__).resolve().parents[2]

# A small site near Bern: two zones side by side, 40 m x 30 m each (about 1200 m²).
CENTER_LON = 7.4474
CENTER_LAT = 46.9480
M_PER_DEG_LAT = 110574.0
M_PER_DEG_LON = 111320.0 * math.cos(math.radians(CENTER_LAT))


def find_chromium() -> str | None:
    return CHROMIUM if Path(CHROMIUM).exists() else shutil.which("chromium")


def offset(east_m: float, north_m: float) -> list[float]:
    """[lon, lat] of a point east_m / north_m metres from the site centre."""
    return [CENTER_LON + east_m / M_PER_DEG_LON, CENTER_LAT + north_m / M_PER_DEG_LAT]


def rectangle(east_m: float, north_m: float, width_m: float, height_m: float) -> list[list[float]]:
    return [
        offset(east_m, north_m),
        offset(east_m + width_m, north_m),
        offset(east_m + width_m, north_m + height_m),
        offset(east_m, north_m + height_m),
    ]


@dataclass(frozen=True)
class ConsoleUser:
    username: str
    role: str
    password: str
    env: str


class CentralProcess:
    """`crowd-central run` on a fixed free port; `restart()` keeps the port and the database."""

    def __init__(
        self, workdir: Path, config: dict[str, Any], users: list[ConsoleUser], env: dict[str, str] | None = None
    ) -> None:
        self.workdir = workdir
        self.port = int(config["http"]["port"])
        self.url = f"http://127.0.0.1:{self.port}"
        self.config_path = workdir / "central.yaml"
        self.log_path = workdir / "central.log"
        workdir.mkdir(parents=True, exist_ok=True)
        self.config_path.write_text(yaml.safe_dump(config, sort_keys=False, allow_unicode=True))
        self.env = {**os.environ, **{u.env: u.password for u in users}, **(env or {})}
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout_s: float = 60.0) -> None:
        log = self.log_path.open("ab")
        code = "import sys; from central.cli import main; sys.argv = ['crowd-central', *sys.argv[1:]]; sys.exit(main())"
        self.proc = subprocess.Popen(
            [sys.executable, "-c", code, "run", str(self.config_path)],
            cwd=REPO,
            env=self.env,
            stdout=log,
            stderr=log,
        )
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"central exited at start (rc {self.proc.returncode}):\n{self.log_tail()}")
            try:
                with urllib.request.urlopen(f"{self.url}/healthz", timeout=1) as response:
                    if response.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                time.sleep(0.2)
        raise RuntimeError(f"central did not answer /healthz within {timeout_s} s:\n{self.log_tail()}")

    def stop(self) -> None:
        if self.proc is None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=5)
        self.proc = None

    def log_tail(self, chars: int = 4000) -> str:
        return self.log_path.read_text(errors="replace")[-chars:] if self.log_path.exists() else ""


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
