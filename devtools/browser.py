"""The console in a real browser: Chromium, and the real central service as a subprocess (tests, screenshots,
the site benchmark).

Central runs as `crowd-central run CONFIG` in its own process so a test can stop and restart it on the
same port (the console must reconnect by itself) exactly as an operator's server would restart.
"""

from __future__ import annotations

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
REPO = Path(__file__).resolve().parents[1]

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
