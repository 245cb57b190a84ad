"""`make demo`'s script headless: the whole stack comes up, the forecast alert precedes the current-level
alert with the nearest patrols (read through central's API), an edge's zone gets live data, and Ctrl-C
(SIGINT) stops every child cleanly."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from scripts.stack import Api, find_mosquitto

pytestmark = [pytest.mark.integration, pytest.mark.timeout(180)]
REPO = Path(__file__).resolve().parents[2]
URL_LINE = re.compile(r"console: (http://127\.0\.0\.1:\d+)/\s+login: (\w+) / (\S+)")


def _pump(proc: subprocess.Popen[str], lines: list[str]) -> None:
    assert proc.stdout is not None
    for line in proc.stdout:
        lines.append(line)


def _wait_line(lines: list[str], pattern: re.Pattern[str], timeout_s: float) -> re.Match[str]:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        for line in list(lines):
            m = pattern.search(line)
            if m:
                return m
        time.sleep(0.2)
    raise AssertionError(f"no line matching {pattern.pattern!r}:\n{''.join(lines)}")


def _edge_pid(tmp_path: Path) -> int:
    """The demo's edge process: the one whose command line names this test's work folder."""
    for proc in Path("/proc").iterdir():
        try:
            cmd = (proc / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"scripts.demo_edge" in cmd and any(str(tmp_path).encode() in part for part in cmd):
            return int(proc.name)
    raise AssertionError("no edge process found")


def _both_alerts(api: Api) -> tuple[dict[str, Any], dict[str, Any]] | None:
    market = [a for a in api.alerts() if a["zone"] == "market"]
    forecast = [a for a in market if a["kind"] == "forecast"]
    current = [a for a in market if a["kind"] == "current"]
    if forecast and current:
        return min(forecast, key=lambda a: a["opened_at"]), min(current, key=lambda a: a["opened_at"])
    return None


def test_demo_forecast_alert_precedes_current_alert_and_ctrl_c_stops_all(tmp_path: Path) -> None:
    if find_mosquitto() is None:
        pytest.skip("mosquitto is not installed")
    argv = [sys.executable, "-m", "scripts.demo", "--speed", "20", "--duration", "120", "--http-port", "0"]
    proc = subprocess.Popen(
        [*argv, "--out", str(tmp_path / "demo")],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    lines: list[str] = []
    threading.Thread(target=_pump, args=(proc, lines), daemon=True).start()
    try:
        m = _wait_line(lines, URL_LINE, 60)
        url, user, password = m.group(1), m.group(2), m.group(3)
        api = Api(url, user, password)
        deadline = time.monotonic() + 90
        both = None
        while both is None and time.monotonic() < deadline:
            assert proc.poll() is None, "".join(lines)
            both = _both_alerts(api)
            if both is None:
                time.sleep(1.0)
        assert both is not None, "".join(lines)
        forecast, current = both
        # The forecast warned first, in scaled (demo) time, and both name the nearest patrols.
        assert forecast["opened_at"] < current["opened_at"]
        assert forecast["level"] in ("warning", "critical") and current["level"] in ("warning", "critical")
        assert current["patrols"] and forecast["patrols"], current
        assert {p["id"] for p in api.get("/api/patrols")} == {"alice", "bob", "carol"}
        # The edge on video reports too: a camera that is not the scenario's has zones with data.
        edge_zones = [z for z in api.get("/api/zones") if z["camera"] != "stream1"]
        assert edge_zones and any(z["latest"] is not None for z in edge_zones), edge_zones
        api.close()
        # A crashed edge is reported (name, status, log tail) and restarted (issue 16, point 8).
        os.kill(_edge_pid(tmp_path), signal.SIGKILL)
        _wait_line(lines, re.compile(r"edge .* died: killed by SIGKILL"), 15)
        _wait_line(lines, re.compile(r"restarted edge .*\(restart 1 of \d+"), 15)
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
    assert proc.wait(30) == 0, "".join(lines)
    out = "".join(lines)
    assert "demo: stopped" in out
    assert out.count(" died: ") == 1, out  # the children stopped on Ctrl-C are not reported as deaths
    stamps = [float(m.group(1)) for m in re.finditer(r"^demo: \[\s*(-?[\d.]+) min\]", out, re.M)]
    assert stamps and stamps == sorted(stamps), out  # the demo's lines in time order
    # Every child is gone: nothing answers on the console's port any more.
    with pytest.raises(httpx.HTTPError):
        httpx.get(url + "/healthz", timeout=2.0)
