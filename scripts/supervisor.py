"""Watching the demo's child processes, and its one time-ordered log.

`make demo` used to say nothing when a child died: the console just went quiet. The supervisor polls every
child; one that exits is reported (its name, exit status and the tail of its log) and then restarted if it
may be (an edge: the demo's picture survives a crashed video pipeline) up to `restarts` times, or, for a
child the demo cannot run without (the broker, central), the whole demo is stopped: an operator would rather
see "central died, here is why" than a console that no longer updates.

`DemoLog` prints every line of the demo (alerts, deaths, restarts, the scenario) stamped with central's clock
at the moment it is printed, under one lock, so the lines come out in time order whichever thread prints.
"""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from scripts.stack import Child


class DemoLog:
    """`demo: [  m.m min] text`, m.m = minutes of central's (scaled) time since the scenario's start."""

    def __init__(self, write: Callable[[str], None] = lambda line: print(line, flush=True)) -> None:
        self._write = write
        self._lock = threading.Lock()
        self._minutes: Callable[[], float] | None = None
        self._last = float("-inf")

    def set_clock(self, minutes: Callable[[], float]) -> None:
        self._minutes = minutes

    def __call__(self, text: str) -> None:
        with self._lock:  # the stamp is read under the lock: lines are printed in stamp order
            if self._minutes is None:
                self._write(f"demo: {text}")
                return
            self._last = max(self._last, self._minutes())  # a clock read cannot go back; never print it so
            self._write(f"demo: [{self._last:5.1f} min] {text}")


def exit_text(code: int | None) -> str:
    if code is None:
        return "still running"
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name} (exit status {code})"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit status {code}"


@dataclass
class _Watched:
    child: Child
    restarts: int  # how many restarts it may still have; 0 for a child the demo stops without
    essential: bool
    done: int = 0
    gave_up: bool = False


class Supervisor:
    """Reports and restarts (or gives up on) children; `failed` is set once an essential one died."""

    def __init__(self, say: Callable[[str], None], tail_lines: int = 12, restart_delay_s: float = 1.0) -> None:
        self.say = say
        self.tail_lines = tail_lines
        self.restart_delay_s = restart_delay_s
        self.failed = threading.Event()
        self._watched: list[_Watched] = []
        self._lock = threading.Lock()

    def add(self, child: Child, *, restarts: int = 0, essential: bool = False) -> None:
        with self._lock:
            self._watched.append(_Watched(child, restarts, essential))

    def children(self) -> list[Child]:
        """The current process of every child, in the order added (a restarted one replaces its old one)."""
        with self._lock:
            return [w.child for w in self._watched]

    def check(self) -> None:
        """One look at every child; reports each death once."""
        with self._lock:
            watched = list(self._watched)
        for w in watched:
            if w.gave_up or w.child.alive():
                continue
            tail = "\n".join("    " + line for line in w.child.log_tail(4000).splitlines()[-self.tail_lines :])
            self.say(
                f"{w.child.name} died: {exit_text(w.child.proc.returncode)}; "
                f"last lines of {w.child.log_path}:\n{tail or '    (empty)'}"
            )
            if w.essential:
                w.gave_up = True
                self.say(f"the demo cannot go on without {w.child.name}: stopping")
                self.failed.set()
            elif w.done < w.restarts:
                w.done += 1
                time.sleep(self.restart_delay_s)  # a child that dies at once should not spin
                w.child = w.child.restart()
                self.say(f"restarted {w.child.name} (restart {w.done} of {w.restarts}, pid {w.child.proc.pid})")
            else:
                w.gave_up = True
                self.say(f"{w.child.name} died {w.done + 1} times: not restarted again; the rest of the demo goes on")

    def run(self, stop: threading.Event, interval_s: float = 1.0) -> None:
        """Check until `stop`; an essential child's death sets `stop` too (the demo then shuts down)."""
        while not stop.is_set():
            self.check()
            if self.failed.is_set():
                stop.set()
                return
            stop.wait(interval_s)
