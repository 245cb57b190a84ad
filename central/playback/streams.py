"""Zone metric streams: per-interval samples of a zone, and their conversion to wire messages.

Every timeline kind (scripted levels, real trajectories, the gym series, a recording) produces
`ZoneSample`s on the scenario clock; `zone_messages` turns them into `ZoneMetricsMessage`s for
a given wall-clock start. Pure: no I/O.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from central.playback.records import Record
from central.playback.scenario import LevelsTimeline, Scenario, Zone
from contract import pedestrian
from contract.edge_messages import ZoneMetricsMessage
from contract.pedestrian import los_band
from contract.topics import metrics_topic

# The frame rate the generated frame numbers pretend to; only used to fill frame_start/frame_end.
NOMINAL_FPS = 10.0


@dataclass(frozen=True)
class ZoneSample:
    """One zone over the interval (`t_end_s - interval_s`, `t_end_s`] on the scenario clock."""

    t_end_s: float
    count: float
    count_max: int
    density: float
    speed_p50_mps: float | None
    speed_p85_mps: float | None
    direction_deg: float | None = None
    inflow: int = 0  # people who entered the zone in the interval (the edge's line counts); 0 where unknown


def weidmann_speed_mps(density: float) -> float | None:
    """Free walking speed at a density (Weidmann 1993 fundamental diagram); None for an empty zone."""
    return None if density <= 0 else pedestrian.weidmann_speed_mps(density)


def level_at(timeline: LevelsTimeline, t_s: float) -> float:
    ts = [p.t_s for p in timeline.points]
    ds = [p.density for p in timeline.points]
    return float(np.interp(t_s, ts, ds))


def levels_crossing_s(timeline: LevelsTimeline, threshold: float) -> float | None:
    """First time the noise-free scripted curve reaches `threshold`, or None if it never does."""
    pts = timeline.points
    if pts[0].density >= threshold:
        return pts[0].t_s
    for a, b in itertools.pairwise(pts):
        if b.density >= threshold > a.density:
            return a.t_s + (threshold - a.density) / (b.density - a.density) * (b.t_s - a.t_s)
    return None


def levels_samples(timeline: LevelsTimeline, area_m2: float, duration_s: float, interval_s: float) -> list[ZoneSample]:
    rng = np.random.default_rng(timeline.seed)
    out: list[ZoneSample] = []
    n = math.floor(duration_s / interval_s + 1e-9)
    for i in range(1, n + 1):
        t = i * interval_s
        mid = t - interval_s / 2
        density = max(0.0, level_at(timeline, mid) * (1.0 + timeline.noise * float(rng.standard_normal())))
        count = density * area_m2
        # The busiest frame of an interval exceeds its mean by about one Poisson standard deviation.
        count_max = math.ceil(count + math.sqrt(count)) if count > 0 else 0
        speed = weidmann_speed_mps(density) if count >= 0.5 else None
        out.append(
            ZoneSample(
                t_end_s=t,
                count=round(count, 3),
                count_max=count_max,
                density=round(density, 5),
                speed_p50_mps=None if speed is None else round(speed, 3),
                speed_p85_mps=None if speed is None else round(min(20.0, speed * 1.2), 3),
            )
        )
    return out


def first_crossing_s(
    samples: Sequence[ZoneSample], threshold: float, window_s: float, interval_s: float
) -> float | None:
    """First interval end at which the trailing `window_s` mean density reaches `threshold`.

    The mean keeps one noisy interval from counting as the crossing of a measured stream.
    """
    if not samples:
        return None
    k = max(1, round(window_s / interval_s))
    d = np.array([s.density for s in samples], dtype=float)
    csum = np.concatenate([[0.0], np.cumsum(d)])
    for i in range(len(d)):
        lo = max(0, i + 1 - k)
        if (csum[i + 1] - csum[lo]) / (i + 1 - lo) >= threshold:
            return samples[i].t_end_s
    return None


def zone_messages(
    scenario: Scenario, zone: Zone, samples: Sequence[ZoneSample], start_epoch: float
) -> list[ZoneMetricsMessage]:
    """Wire messages for one zone; `seq` is filled later per camera (see `assign_seq`)."""
    area = scenario.area_m2(zone)
    out = []
    for s in samples:
        t0 = max(0.0, s.t_end_s - scenario.interval_s)
        has_speed = s.speed_p50_mps is not None
        out.append(
            ZoneMetricsMessage.model_validate(
                {
                    "schema": "crowd.zone_metrics/1",
                    "site": scenario.site.id,
                    "camera": zone.camera,
                    "zone": zone.edge_zone,
                    "seq": 0,
                    "measured_at": start_epoch + s.t_end_s,
                    "frame_start": round(t0 * NOMINAL_FPS),
                    "frame_end": max(round(t0 * NOMINAL_FPS), round(s.t_end_s * NOMINAL_FPS) - 1),
                    "t_start": t0,
                    "t_end": s.t_end_s,
                    "count": s.count,
                    "count_max": max(s.count_max, math.ceil(s.count - 1e-9)),
                    "area_m2": round(area, 3),
                    "density": s.density,
                    "speed_p50": s.speed_p50_mps,
                    "speed_p85": s.speed_p85_mps,
                    "los": los_band(s.density),
                    "stale": False,
                    "direction_deg": s.direction_deg,
                    "inflow": s.inflow,
                    "speed_source": "tracks" if has_speed else "none",
                }
            )
        )
    return out


def assign_seq(messages: Sequence[ZoneMetricsMessage], seq_start: int = 0) -> list[ZoneMetricsMessage]:
    """Order by time and number per camera, as one edge per camera would."""
    ordered = sorted(messages, key=lambda m: (m.measured_at, m.camera, m.zone))
    next_seq: dict[str, int] = {}
    out = []
    for m in ordered:
        seq = next_seq.get(m.camera, seq_start)
        next_seq[m.camera] = seq + 1
        out.append(m.model_copy(update={"seq": seq}))
    return out


def message_record(scenario: Scenario, message: ZoneMetricsMessage) -> Record:
    topic = metrics_topic(scenario.site.topic_prefix, message.site, message.camera, message.zone)
    payload = message.model_dump_json(by_alias=True).encode("utf-8")
    return Record(received_at=message.measured_at, topic=topic, payload=payload, qos=1, retain=True)
