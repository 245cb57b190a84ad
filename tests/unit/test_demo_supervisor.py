"""`make demo`'s supervisor (scripts/supervisor.py) on tiny real child processes: a killed child is reported
(name, exit status, log tail) and restarted, an essential one stops the demo; and the demo's lines are in
time order (scripts/demo.py's alert lines by the time of the change, every line stamped monotonically)."""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

from scripts.demo import alert_changes
from scripts.stack import spawn
from scripts.supervisor import DemoLog, Supervisor

SLEEPER = [sys.executable, "-c", "print('edge up', flush=True); import time; time.sleep(60)"]


def _wait(cond: Callable[[], bool], timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not cond():
        assert time.monotonic() < deadline
        time.sleep(0.05)


def test_a_killed_child_is_reported_and_restarted_then_given_up(tmp_path: Path) -> None:
    lines: list[str] = []
    sup = Supervisor(lines.append, restart_delay_s=0.0)
    child = spawn("edge cam1", SLEEPER, tmp_path / "edge.log")
    sup.add(child, restarts=1)
    try:
        _wait(lambda: "edge up" in child.log_tail())
        sup.check()
        assert lines == []  # alive: nothing to say
        os.killpg(child.proc.pid, signal.SIGKILL)
        child.proc.wait(5)
        sup.check()
        assert "edge cam1 died: killed by SIGKILL" in lines[0] and "edge up" in lines[0]
        assert str(tmp_path / "edge.log") in lines[0]
        assert lines[1].startswith("restarted edge cam1 (restart 1 of 1")
        again = sup.children()[0]
        assert again is not child and again.alive() and again.argv == SLEEPER
        os.killpg(again.proc.pid, signal.SIGKILL)
        again.proc.wait(5)
        sup.check()
        sup.check()  # reported once
        assert len(lines) == 4 and "not restarted again" in lines[3] and not sup.failed.is_set()
    finally:
        for c in sup.children():
            c.stop()


def test_an_essential_child_dying_stops_the_demo(tmp_path: Path) -> None:
    lines: list[str] = []
    sup = Supervisor(lines.append)
    argv = [sys.executable, "-c", "print('database gone'); raise SystemExit(3)"]
    sup.add(spawn("central", argv, tmp_path / "c.log"), essential=True)
    sup.children()[0].proc.wait(10)
    stop = threading.Event()
    sup.run(stop, interval_s=0.05)
    assert stop.is_set() and sup.failed.is_set()
    assert "central died: exit status 3" in lines[0] and "database gone" in lines[0]
    assert "cannot go on without central" in lines[1]


def test_alert_lines_follow_the_time_of_the_change_not_of_the_opening() -> None:
    def alert(aid: str, level: str, opened: float, updated: float) -> dict[str, object]:
        return {
            "id": aid,
            "kind": "forecast",
            "zone": aid,
            "level": level,
            "state": "open",
            "opened_at": opened,
            "updated_at": updated,
            "patrols": [{"id": "alice", "distance_m": 40.0}],
        }

    seen: dict[str, str] = {}
    assert len(alert_changes([alert("market", "warning", 60, 60)], seen, 0.0)) == 1
    # Next poll: market escalated at 300 s; the square opened at 200 s. Printed in that order.
    got = alert_changes([alert("market", "critical", 60, 300), alert("square", "warning", 200, 200)], seen, 0.0)
    assert got[0].startswith("forecast warning alert in square (open), opened at 3.3 min")
    assert got[1].startswith("forecast alert in market now critical (open), changed at 5.0 min")
    assert alert_changes([alert("market", "critical", 60, 300)], seen, 0.0) == []


def test_demo_log_stamps_never_go_back() -> None:
    out: list[str] = []
    log = DemoLog(out.append)
    log("starting")
    reads = iter([1.0, 2.5, 2.0, 3.0])  # a clock read taken earlier may reach the lock later
    log.set_clock(lambda: next(reads))
    for text in "abcd":
        log(text)
    assert out == [
        "demo: starting",
        "demo: [  1.0 min] a",
        "demo: [  2.5 min] b",
        "demo: [  2.5 min] c",
        "demo: [  3.0 min] d",
    ]
