"""End to end with an edge on video: real Mosquitto, `crowd-edge run` on a clip rendered here (people
walking onto a plaza, edge/synthetic_scene.py), `crowd-central run`, and simulated patrols publishing
OwnTracks. The build-up clip raises the plaza's current-level alert with its nearest patrol, visible
through GET /api/alerts within a bounded time; a calm clip raises none.

The edge reads the file as fast as it can and stamps intervals with video time from its start, so its
data runs ahead of the wall clock; central's rules work on data time, so that changes nothing but speed.
"""

from __future__ import annotations

import secrets
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from central.clock import SystemClock
from central.playback.mqtt import MqttPublisher
from central.playback.patrols import patrol_records
from central.playback.replay import replay
from central.playback.scenario import parse as parse_scenario
from scripts.stack import Api, Central, free_port, start_central
from tests.support.mosquitto import MosquittoBroker

pytestmark = [pytest.mark.integration, pytest.mark.timeout(180)]
REPO = Path(__file__).resolve().parents[2]
ORIGIN = (8.54, 47.37)
PASSWORD_ENV = "CROWD_E2E_PASSWORD"

# Only patrols matter here; the scenario format needs a zone, which nobody plays.
PATROL_SCENARIO = {
    "name": "patrols",
    "kind": "other",
    "site": {"id": "demo", "origin": list(ORIGIN)},
    "duration_s": 300,
    "interval_s": 10,
    "zones": [
        {
            "id": "unused",
            "camera": "none",
            "edge_zone": "none",
            "polygon_m": [[500, 500], [510, 500], [510, 510]],
            "thresholds": {"warning": 1.0, "critical": 2.0},
            "timeline": {"kind": "levels", "points": [{"t_s": 0, "density": 0.1}]},
        }
    ],
    "patrols": [
        {"user": "near", "tid": "NE", "route_m": [[0, -30], [0, -20]], "loop": False, "period_s": 5},
        {"user": "far", "tid": "FA", "route_m": [[300, 300], [310, 300]], "loop": False, "period_s": 5},
    ],
}


def render(out: Path, peak: int, base: int) -> Path:
    subprocess.run(
        [
            sys.executable,
            "-m",
            "edge.synthetic",
            "--out",
            str(out),
            "--seconds",
            "60",
            "--fps",
            "8",
            "--peak-people",
            str(peak),
            "--base-people",
            str(base),
        ],
        check=True,
        cwd=REPO,
        capture_output=True,
    )
    return out / "edge.yaml"


def central_cfg(port: int, db: Path) -> dict[str, Any]:
    lon, lat = ORIGIN
    d = 0.00004  # about 3-4.5 m
    return {
        "site": {"id": "demo", "name": "E2E"},
        "mqtt": {"host": "127.0.0.1", "port": port},
        "database": {"url": f"sqlite:///{db}", "batch_ms": 20},
        "http": {"host": "127.0.0.1", "port": free_port()},
        "users": [{"username": "operator", "role": "operator", "password_env": PASSWORD_ENV}],
        "zones": [
            {
                "id": "plaza",
                "camera": "synthetic",
                "edge_zone": "plaza",
                "polygon": [[lon - d, lat - d], [lon + d, lat - d], [lon + d, lat + d], [lon - d, lat + d]],
                # The clip's plaza (25 m2) reaches about 0.7-0.8 persons/m2 at its peak.
                "thresholds": {"warning": 0.4, "critical": 1.5},
            }
        ],
        # A 60 s clip is far too short a history for a 10-minute forecast: from a cold start the forecaster's
        # early intervals are wide enough to alert on a calm plaza (seen with 20 s), so this test is about
        # the current-level alert only; the forecast alerts are the scenario tests' business.
        "alerts": {"pending_s": 3, "keep_firing_s": 10, "forecast_min_history_s": 120},
    }


def run_edge(cfg_path: Path, port: int, work: Path) -> subprocess.CompletedProcess[str]:
    cfg = yaml.safe_load(cfg_path.read_text())
    cfg["mqtt"] = {"host": "127.0.0.1", "port": port, "queue_path": str(work / "edge-queue.sqlite")}
    path = work / "edge-mqtt.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return subprocess.run(
        [sys.executable, "-m", "edge.cli", "run", str(path), "--quiet"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )


def play_scene(
    broker: MosquittoBroker, tmp_path: Path, peak: int, base: int
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Alerts and zones from central's API after an edge played the clip; central is stopped on return."""
    work = tmp_path / f"peak{peak}"
    clip_cfg = render(work / "clip", peak, base)
    password = secrets.token_urlsafe(10)
    central: Central = start_central(
        central_cfg(broker.port, work / "central.sqlite"), work, password=password, password_env=PASSWORD_ENV
    )
    stop = threading.Event()
    patrols = patrol_records(parse_scenario(PATROL_SCENARIO), start_epoch=time.time())

    def walk() -> None:
        with MqttPublisher(broker.host, broker.port) as pub:
            replay(patrols, pub, SystemClock(stop), retime="wall", should_stop=stop.is_set)

    walker = threading.Thread(target=walk, daemon=True)
    walker.start()
    try:
        edge = run_edge(clip_cfg, broker.port, work)
        assert edge.returncode == 0, edge.stderr[-2000:]
        api = Api(central.url, "operator", password)
        # Bounded: the edge is done; central must show its alerts within 20 s.
        deadline = time.monotonic() + 20
        alerts: list[dict[str, Any]] = []
        while time.monotonic() < deadline:
            zone = next(z for z in api.get("/api/zones") if z["id"] == "plaza")
            alerts = api.alerts()
            if zone["latest"] is not None and (peak <= base or any(a["kind"] == "current" for a in alerts)):
                break
            time.sleep(0.5)
        if peak <= base:
            time.sleep(3.0)  # a calm run: give a late alert its chance to show
        result = api.alerts(), api.get("/api/zones")
        api.close()
        return result
    finally:
        stop.set()
        walker.join(5)
        assert central.child.stop() == 0, central.child.log_tail()


def test_buildup_clip_raises_current_alert_with_nearest_patrol(broker: MosquittoBroker, tmp_path: Path) -> None:
    alerts, _ = play_scene(broker, tmp_path, peak=30, base=4)
    current = [a for a in alerts if a["kind"] == "current" and a["zone"] == "plaza"]
    assert current, alerts
    a = current[0]
    assert a["level"] == "warning" and a["value"] >= 0.4
    # Both patrols are reported; the one 20-30 m south is the nearest, well ahead of the one 400 m away.
    assert [p["id"] for p in a["patrols"]][:2] == ["near", "far"], a["patrols"]
    assert a["patrols"][0]["distance_m"] < 40 < a["patrols"][1]["distance_m"]


def test_calm_clip_raises_no_alert(broker: MosquittoBroker, tmp_path: Path) -> None:
    alerts, zones = play_scene(broker, tmp_path, peak=3, base=3)
    plaza = next(z for z in zones if z["id"] == "plaza")
    assert plaza["latest"] is not None  # the edge's data arrived
    assert [a for a in alerts if a["kind"] in ("current", "forecast")] == []
