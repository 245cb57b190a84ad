"""Starting the product's processes on localhost: a Mosquitto broker and central, each a child process.

Used by `make demo` (scripts/demo.py), the scenario runner and the end-to-end tests. Every child runs in
its own process group so that stopping it (SIGTERM, a wait, then SIGKILL) also stops what it started.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import yaml

from devtools.broker import find_mosquitto, free_port

REPO = Path(__file__).resolve().parents[1]


class StackError(RuntimeError):
    """A process of the stack could not be started; the text says which and why."""


@dataclass
class Child:
    """A started child process, its log file and a name for messages."""

    name: str
    proc: subprocess.Popen[bytes]
    log_path: Path
    argv: list[str] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)

    def alive(self) -> bool:
        return self.proc.poll() is None

    def log_tail(self, chars: int = 2000) -> str:
        try:
            return self.log_path.read_text(encoding="utf-8", errors="replace")[-chars:]
        except OSError:
            return ""

    def restart(self) -> Child:
        """The same command again, its output appended to the same log (the old process must have exited)."""
        return spawn(self.name, self.argv, self.log_path, self.env)

    def stop(self, timeout_s: float = 10.0) -> int | None:
        """SIGTERM to the child's process group, wait, then SIGKILL; returns the exit status."""
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout_s)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)
        return self.proc.returncode


def spawn(name: str, argv: list[str], log_path: Path, env: dict[str, str] | None = None) -> Child:
    log_path.parent.mkdir(parents=True, exist_ok=True)
    log = log_path.open("ab")
    full_env = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
    # A new session: Ctrl-C in the terminal reaches only the supervisor, which stops the children in order.
    proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, cwd=REPO, env=full_env, start_new_session=True)
    log.close()
    return Child(name, proc, log_path, list(argv), dict(env or {}))


def start_mosquitto(workdir: Path, port: int | None = None) -> tuple[Child, int]:
    exe = find_mosquitto()
    if exe is None:
        raise StackError(
            "mosquitto is not installed: `sudo apt-get install mosquitto` (scripts/setup.sh tries this). "
            "Central needs MQTT 5 shared subscriptions, which the pure-Python brokers do not offer."
        )
    port = port or free_port()
    workdir.mkdir(parents=True, exist_ok=True)
    conf = workdir / "mosquitto.conf"
    conf.write_text(
        f"listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\n"
        "max_queued_messages 100000\nlog_type error\nlog_type warning\n",
        encoding="utf-8",
    )
    child = spawn("mosquitto", [exe, "-c", str(conf)], workdir / "mosquitto.log")
    wait_port("127.0.0.1", port, child, 10.0)
    return child, port


def wait_port(host: str, port: int, child: Child, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if not child.alive():
            raise StackError(f"{child.name} exited at start:\n{child.log_tail()}")
        try:
            with socket.create_connection((host, port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise StackError(f"{child.name} did not listen on {host}:{port} within {timeout_s} s")


def central_config(
    site_and_zones: dict[str, Any],
    *,
    mqtt_port: int,
    http_port: int,
    db_path: Path,
    password_env: str,
    alerts: dict[str, Any] | None = None,
    forecast: dict[str, Any] | None = None,
    patrols: dict[str, Any] | None = None,
    backlog: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A whole central config around a scenario's (or the demo's) `site` and `zones` sections."""
    cfg: dict[str, Any] = {
        **site_and_zones,
        "mqtt": {"host": "127.0.0.1", "port": mqtt_port},
        "database": {"url": f"sqlite:///{db_path}"},
        "http": {"host": "127.0.0.1", "port": http_port},
        "users": [
            {"username": "operator", "role": "operator", "password_env": password_env},
            {"username": "admin", "role": "admin", "password_env": password_env},
        ],
    }
    for key, section in (("alerts", alerts), ("forecast", forecast), ("patrols", patrols), ("backlog", backlog)):
        if section:
            cfg[key] = section
    return cfg


@dataclass
class Central:
    child: Child
    url: str
    username: str
    password: str


def start_central(
    config: dict[str, Any],
    workdir: Path,
    *,
    password: str,
    password_env: str = "CROWD_DEMO_PASSWORD",
    speed: float = 1.0,
    clock_start_s: float | None = None,
    timeout_s: float = 60.0,
) -> Central:
    """Write `config`, run `crowd-central run` on it (scaled clock at `speed`) and wait for /healthz."""
    workdir.mkdir(parents=True, exist_ok=True)
    path = workdir / "central.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    argv = [sys.executable, "-m", "central.cli", "run", str(path), "--speed", repr(speed)]
    if clock_start_s is not None:
        argv += ["--clock-start", repr(clock_start_s)]
    child = spawn("central", argv, workdir / "central.log", env={password_env: password})
    url = f"http://127.0.0.1:{config['http']['port']}"
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if not child.alive():
            raise StackError(f"central exited at start:\n{child.log_tail()}")
        try:
            r = httpx.get(url + "/healthz", timeout=1.0)
            if r.status_code == 200 and r.json().get("mqtt_connected"):
                return Central(child, url, "operator", password)
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    child.stop()
    raise StackError(f"central did not become healthy within {timeout_s} s:\n{child.log_tail()}")


class Api:
    """A logged-in client of central's HTTP API (docs/api.md)."""

    def __init__(self, url: str, username: str, password: str) -> None:
        self.client = httpx.Client(base_url=url, timeout=10.0)
        r = self.client.post("/api/login", json={"username": username, "password": password})
        r.raise_for_status()
        self.client.headers["Authorization"] = f"Bearer {r.json()['token']}"

    def get(self, path: str, **params: Any) -> Any:
        r = self.client.get(path, params=params)
        r.raise_for_status()
        return r.json()

    def alerts(self) -> list[dict[str, Any]]:
        body = self.get("/api/alerts", state="all")
        if not isinstance(body, list):
            raise ValueError("/api/alerts did not answer a list")
        return body

    def close(self) -> None:
        self.client.close()
