"""The edge health server over real HTTP on localhost."""

from __future__ import annotations

import httpx
import pytest

from edge.health import EdgeHealth, HealthServer

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
