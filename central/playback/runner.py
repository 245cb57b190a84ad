"""Playing a built scenario against a central on a scaled clock, and mapping its alerts back to scenario time.

Central runs on `ScaledClock(clock_start_s, speed)`; the replay sends each message when it is due on the
wall clock and stamps it with central's scaled time at that moment. Scenario second `s` is therefore
central time `origin_s + s` exactly, whatever the speed, and central's alert times are read back on the
scenario clock by subtracting `origin_s`.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from central.clock import ScaledClock, SystemClock
from central.playback.builders import BuiltScenario
from central.playback.replay import Publisher, ReplayStats, replay
from central.playback.scorer import RaisedAlert, Score, score


@dataclass(frozen=True)
class PlayResult:
    stats: ReplayStats
    origin_s: float  # central's time of scenario second 0
    last_measured_s: float  # central's time of the last metric sent


def scenario_origin(built: BuiltScenario, clock: ScaledClock, started_wall_s: float) -> float:
    """Central's time of scenario second 0, for a replay whose first record was due at `started_wall_s`."""
    records = built.records()
    first = min(r.received_at for r in records) if records else built.start_epoch
    return clock.at(started_wall_s) - (first - built.start_epoch)


def play(
    built: BuiltScenario,
    publisher: Publisher,
    clock: ScaledClock,
    *,
    stop: threading.Event | None = None,
    on_sent: Callable[[float], None] | None = None,
) -> PlayResult:
    """Replay the scenario's records at `clock.speed`, payload times on `clock`."""
    stop = stop or threading.Event()
    records = built.records()
    stats = replay(
        records,
        publisher,
        SystemClock(stop),
        speed=clock.speed,
        retime="wall",
        should_stop=stop.is_set,
        payload_time=clock.at,
        on_sent=(lambda _r, due: on_sent(due)) if on_sent is not None else None,
    )
    origin = scenario_origin(built, clock, stats.started_at)
    metric_ts = [r.received_at for r in records if "/zones/" in r.topic]
    last = origin + (max(metric_ts) - built.start_epoch) if metric_ts else origin
    return PlayResult(stats, origin, last)


def raised_alerts(
    built: BuiltScenario, alerts: Sequence[Mapping[str, Any]], origin_s: float, speed: float = 1.0
) -> list[RaisedAlert]:
    """The API's alerts of this scenario's zones, opening times on the scenario clock."""
    zones = {z.id for z in built.scenario.zones}
    return [RaisedAlert.from_api(a, t0=origin_s, speed=speed) for a in alerts if a.get("zone") in zones]


def score_alerts(built: BuiltScenario, alerts: Sequence[Mapping[str, Any]], origin_s: float) -> Score:
    return score(built.expected, raised_alerts(built, alerts, origin_s))


def caught_up(zones: Sequence[Mapping[str, Any]], scenario_zone_ids: set[str], last_measured_s: float) -> bool:
    """Whether central has processed every scenario zone up to the last metric sent."""
    seen = {
        z["id"]: float(z["latest"]["measured_at"])
        for z in zones
        if z.get("id") in scenario_zone_ids and isinstance(z.get("latest"), Mapping)
    }
    return len(seen) == len(scenario_zone_ids) and all(t >= last_measured_s - 1e-3 for t in seen.values())


def wait_caught_up(
    fetch_zones: Callable[[], Sequence[Mapping[str, Any]]],
    built: BuiltScenario,
    last_measured_s: float,
    timeout_s: float,
    settle_s: float = 1.0,
) -> bool:
    """Poll until central has every zone's last metric, then give its engine `settle_s` to finish the step."""
    ids = {z.id for z in built.scenario.zones}
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if caught_up(fetch_zones(), ids, last_measured_s):
            time.sleep(settle_s)
            return True
        time.sleep(0.25)
    return False
