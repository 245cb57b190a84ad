"""Simulated patrols walking WGS-84 routes and reporting like the OwnTracks phone app.

A patrol's position is a pure function of scenario time, so the same scenario replays identically at
any speed; `patrol_records` turns the reports into recorded messages that the replayer publishes
alongside the metric streams (OwnTracks: topic `owntracks/<user>/<device>`, JSON `_type: location`).
"""

from __future__ import annotations

import itertools
import json
import math
from dataclasses import dataclass

from central.playback.records import Record
from central.playback.scenario import Patrol, Scenario


@dataclass(frozen=True)
class PatrolPosition:
    t_s: float
    x_m: float
    y_m: float
    lon: float
    lat: float


def _cumulative_m(route_m: list[tuple[float, float]]) -> list[float]:
    cum = [0.0]
    for (x0, y0), (x1, y1) in itertools.pairwise(route_m):
        cum.append(cum[-1] + math.hypot(x1 - x0, y1 - y0))
    return cum


def _point_at(route_m: list[tuple[float, float]], cum: list[float], d_m: float) -> tuple[float, float]:
    for i in range(1, len(cum)):
        if d_m <= cum[i] or i == len(cum) - 1:
            seg = cum[i] - cum[i - 1]
            f = 0.0 if seg <= 0 else min(1.0, max(0.0, (d_m - cum[i - 1]) / seg))
            (x0, y0), (x1, y1) = route_m[i - 1], route_m[i]
            return (x0 + f * (x1 - x0), y0 + f * (y1 - y0))
    return route_m[-1]


def position_at(scenario: Scenario, patrol: Patrol, t_s: float) -> PatrolPosition:
    """Where the patrol is `t_s` seconds into the scenario, walking at `speed_mps`."""
    route = scenario.route_m(patrol)
    if patrol.loop and route[0] != route[-1]:
        route = [*route, route[0]]
    cum = _cumulative_m(route)
    length = cum[-1]
    if length <= 0:
        x, y = route[0]
    else:
        d = patrol.start_offset_m + patrol.speed_mps * max(0.0, t_s)
        if patrol.loop:
            d = d % length
        else:
            # Back and forth: a triangle wave over twice the length.
            d = d % (2 * length)
            d = d if d <= length else 2 * length - d
        x, y = _point_at(route, cum, d)
    lon, lat = scenario.site.frame.to_lonlat(x, y)
    return PatrolPosition(t_s=t_s, x_m=x, y_m=y, lon=lon, lat=lat)


def owntracks_topic(patrol: Patrol) -> str:
    return f"owntracks/{patrol.user}/{patrol.device}"


def owntracks_payload(patrol: Patrol, pos: PatrolPosition, epoch_s: float) -> dict[str, object]:
    return {
        "_type": "location",
        "lat": round(pos.lat, 7),
        "lon": round(pos.lon, 7),
        "acc": round(patrol.acc_m),
        "tst": int(epoch_s),
        "tid": patrol.tid,
    }


def patrol_records(scenario: Scenario, start_epoch: float) -> list[Record]:
    """Every patrol's reports over the scenario, one each `period_s`, starting at t=0."""
    out: list[Record] = []
    for p in scenario.patrols:
        n = math.floor(scenario.duration_s / p.period_s + 1e-9)
        for i in range(n + 1):
            t = i * p.period_s
            pos = position_at(scenario, p, t)
            payload = json.dumps(owntracks_payload(p, pos, start_epoch + t), separators=(",", ":"))
            # OwnTracks publishes locations retained with QoS 1, so a new subscriber sees the last one.
            out.append(Record(start_epoch + t, owntracks_topic(p), payload.encode("utf-8"), qos=1, retain=True))
    return out
