"""The edge health server over real HTTP on localhost."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from edge.health import EdgeHealth, HealthServer
from tests.support.mosquitto import free_port

REPO = Path(__file__).resolve().parents[2]

pytestmark = [pytest.mark.integration, pytest.mark.timeout(60)]


class FakeClock:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


def test_healthz_and_metrics_over_http() -> None:
    clock = FakeClock()
    health = EdgeHealth(site="pets", camera="view1", version="9.9", stale_after_s=5, start_grace_s=0, clock=clock)
    with HealthServer(health, host="127.0.0.1", port=0) as server:
        base = f"http://127.0.0.1:{server.port}"
        clock.t = 1
        r = httpx.get(f"{base}/healthz")
        assert r.status_code == 503 and r.json()["status"] == "starting"
        health.beat()
        r = httpx.get(f"{base}/healthz")
        assert r.status_code == 200
        assert r.json() == {"status": "ok", "healthy": True, "uptime_s": 1.0, "frames": 1, "last_frame_age_s": 0.0}
        m = httpx.get(f"{base}/metrics")
        assert m.status_code == 200 and m.headers["content-type"].startswith("text/plain")
        assert 'crowd_edge_info{camera="view1",site="pets",version="9.9"} 1.0' in m.text
        assert "crowd_edge_frames_total 1.0" in m.text
        clock.t = 7
        assert httpx.get(f"{base}/healthz").status_code == 503
        assert httpx.get(f"{base}/nope").status_code == 404


def test_crowd_edge_run_serves_health_and_stops_on_sigterm(shared_data: Path, tmp_path: Path) -> None:
    video = shared_data / "pets09_s2l1" / "video" / "vtest_PETS09-S2L1_View001_480x360.avi"
    port = free_port()
    cmd = [sys.executable, "-m", "edge.cli", "run", str(REPO / "configs" / "pets09_s2l1.yaml"), "--source", str(video)]
    # No broker here: the MQTT side and its SIGTERM flush are tested with the publisher.
    cmd += ["--realtime", "--quiet", "--no-mqtt", "--health-port", str(port), "--health-host", "127.0.0.1"]
    env = {**os.environ, "PYTHONPATH": str(REPO)}  # run from a scratch folder, whether or not the repo is installed
    proc = subprocess.Popen(cmd, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 40
        report: dict[str, object] = {}
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                r = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2)
                report = r.json()
                if r.status_code == 200 and isinstance(report["frames"], int) and report["frames"] >= 5:
                    break
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        assert report.get("status") == "ok", f"edge never became healthy: {report}"
        metrics = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=2).text
        assert 'crowd_edge_info{camera="pets09-view001",site="site"' in metrics
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=10)
        assert proc.returncode == 0, out.decode(errors="replace")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
