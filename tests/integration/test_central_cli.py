"""`crowd-central` as a process: run serves the API and the console page, SIGTERM exits cleanly in < 10 s;
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
from tests.support.central_harness import ZONE_A, EdgeClient, metric, wait_for
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
        "zones": [{"id": "za", "camera": "cam1", "edge_zone": "a", "polygon": ZONE_A}],
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
        t0 = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        proc.wait(10)
        assert time.monotonic() - t0 < 10 and proc.returncode == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(5)
    logs = [
        json.loads(line) for line in (proc.stderr.read() if proc.stderr else "").splitlines() if line.startswith("{")
    ]
    assert any(entry["msg"] == "central stopped" for entry in logs)
    assert "admin-pw-123" not in json.dumps(logs)


def _ok(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1).status_code == 200
    except httpx.HTTPError:
        return False
