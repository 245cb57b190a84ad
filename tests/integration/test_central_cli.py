"""`crowd-central` as a process: run serves the API and the console page, logs JSON lines only, and SIGTERM
exits cleanly in < 10 s even while it works through a backlog;
hash-password prints an argon2 hash; check-config names the bad key."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
import yaml

from central.auth import verify_password
from tests.support.central_harness import ZONE_A, ZONE_B, EdgeClient, metric, wait_for
from tests.support.mosquitto import MosquittoBroker, free_port

pytestmark = pytest.mark.integration
REPO = Path(__file__).resolve().parents[2]


def _cli(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "central.cli", *args], input=stdin, capture_output=True, text=True, cwd=REPO, timeout=60
    )


def test_hash_password_prints_a_verifiable_argon2_hash() -> None:
    out = _cli("hash-password", "--stdin", stdin="a long passphrase\n")
    assert out.returncode == 0, out.stderr
    h = out.stdout.strip()
    assert h.startswith("$argon2id$") and verify_password(h, "a long passphrase")
    assert _cli("hash-password", "--stdin", stdin="short\n").returncode == 2


def test_check_config_names_the_bad_key(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("zones:\n  - {id: z, camera: c, edge_zone: e, polygon: [[1, 2]]}\n")
    out = _cli("check-config", str(bad))
    assert out.returncode == 2 and "zones.0.polygon" in out.stderr
    assert _cli("check-config", str(REPO / "configs" / "central.example.yaml")).returncode == 0


def test_run_serves_and_exits_cleanly_on_sigterm(broker: MosquittoBroker, tmp_path: Path) -> None:
    port = free_port()
    cfg = {
        "site": {"id": "s1"},
        "mqtt": {"host": "127.0.0.1", "port": broker.port},
        "database": {"url": f"sqlite:///{tmp_path / 'c.sqlite'}"},
        "http": {"host": "127.0.0.1", "port": port},
        "users": [{"username": "adam", "role": "admin", "password_env": "CROWD_TEST_ADMIN_PW"}],
        "zones": [
            {"id": "za", "camera": "cam1", "edge_zone": "a", "polygon": ZONE_A},
            {"id": "zb", "camera": "cam2", "edge_zone": "b", "polygon": ZONE_B},
        ],
    }
    path = tmp_path / "central.yaml"
    path.write_text(yaml.safe_dump(cfg))
    env = {**os.environ, "CROWD_TEST_ADMIN_PW": "admin-pw-123"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "central.cli", "run", str(path)],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        wait_for(lambda: _ok(f"{base}/healthz"), 30, "central's /healthz")
        assert httpx.get(f"{base}/healthz").json()["mqtt_connected"] is True
        token = httpx.post(f"{base}/api/login", json={"username": "adam", "password": "admin-pw-123"}).json()["token"]
        edge = EdgeClient(broker.port)
        edge.metrics([metric(1, 1_800_000_000.0, 0.4)])
        edge.close()
        h = {"Authorization": f"Bearer {token}"}
        wait_for(lambda: httpx.get(f"{base}/api/zones", headers=h).json()[0]["latest"], 10, "the metric")
        page = httpx.get(f"{base}/")
        if (REPO / "central" / "web" / "index.html").exists():
            assert page.status_code == 200 and "<html" in page.text.lower()
        # Stop it while it is busy: an edge draining a backlog (every reading its own forecast bin).
        edge = EdgeClient(broker.port)
        old = time.time() - 86400.0
        edge.metrics([metric(i, old + 10.0 * i, 0.3 + 0.001 * i, camera="cam2", zone="b") for i in range(1500)])
        edge.close()
        wait_for(lambda: _gauge(httpx.get(f"{base}/metrics", headers=h).text, "central_backlog_rows") > 0, 5, "backlog")
        t0 = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        proc.wait(10)
        assert time.monotonic() - t0 < 10 and proc.returncode == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(5)
    assert not (proc.stdout.read() if proc.stdout else "").strip()
    lines = [line for line in (proc.stderr.read() if proc.stderr else "").splitlines() if line.strip()]
    logs = [json.loads(line) for line in lines]  # every line a JSON object: nothing unstructured on stderr
    assert all(isinstance(e, dict) and {"ts", "level", "logger", "msg"} <= set(e) for e in logs)
    assert any(entry["msg"] == "central started" for entry in logs)
    assert any(entry["msg"] == "central stopped" for entry in logs)
    assert "admin-pw-123" not in json.dumps(logs)


def _gauge(text: str, name: str) -> float:
    return next((float(line.split()[-1]) for line in text.splitlines() if line.startswith(name + " ")), 0.0)


def _ok(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1).status_code == 200
    except httpx.HTTPError:
        return False
