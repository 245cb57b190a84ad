"""A real Mosquitto broker on a free port, that its user can stop and restart (tests, benchmarks, the demo).

The broker keeps its persistence file in its own folder, so a restart keeps retained messages and
persistent sessions, like a production broker with `persistence true`.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from pathlib import Path


def find_mosquitto() -> str | None:
    return shutil.which("mosquitto") or ("/usr/sbin/mosquitto" if Path("/usr/sbin/mosquitto").exists() else None)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class MosquittoBroker:
    """Start with `start()`, stop with `stop()`; `restart()` keeps the same port and persistence."""

    def __init__(self, workdir: Path, port: int | None = None, extra_config: str = "") -> None:
        exe = find_mosquitto()
        if exe is None:
            raise RuntimeError("mosquitto is not installed (scripts/setup.sh installs it)")
        self.exe = exe
        self.workdir = workdir
        self.port = port or free_port()
        self.host = "127.0.0.1"
        self.extra_config = extra_config
        self.proc: subprocess.Popen[bytes] | None = None
        self.conf_path = workdir / "mosquitto.conf"
        self.log_path = workdir / "mosquitto.log"

    def _write_config(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        default_auth = "allow_anonymous true\n" if "allow_anonymous" not in self.extra_config else ""
        self.conf_path.write_text(
            f"listener {self.port} 127.0.0.1\n"
            f"{default_auth}"
            "persistence true\n"
            f"persistence_location {self.workdir}/\n"
            "autosave_interval 1\n"
            "max_queued_messages 100000\n"
            "log_type error\nlog_type warning\nlog_type notice\n"
            f"{self.extra_config}\n"
        )

    def start(self, timeout_s: float = 10.0) -> None:
        if self.proc is not None and self.proc.poll() is None:
            return
        self._write_config()
        log = self.log_path.open("ab")
        self.proc = subprocess.Popen([self.exe, "-c", str(self.conf_path)], stdout=log, stderr=log)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"mosquitto exited at start: {self.log_path.read_text(errors='replace')[-2000:]}")
            try:
                with socket.create_connection((self.host, self.port), timeout=0.2):
                    return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"mosquitto did not listen on {self.port} within {timeout_s} s")

    def stop(self) -> None:
        if self.proc is None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=5)
        self.proc = None

    def restart(self) -> None:
        self.stop()
        self.start()

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None
