"""The scaled clock, central's clock config and replay payloads stamped on a scaled clock (no I/O)."""

from __future__ import annotations

import itertools
import json

import pytest

from central.clock import FakeClock, ScaledClock, SystemClock
from central.clock import FakeClock as ReplayClock
from central.config import ConfigError, parse
from central.playback.builders import build
from central.playback.records import Record
from central.playback.replay import MemoryPublisher, replay
from central.playback.runner import caught_up, scenario_origin
from central.playback.scenario import parse as parse_scenario
from central.service import clock_from_config


def test_scaled_clock_runs_speed_times_faster_from_its_start() -> None:
    wall = FakeClock(1_000.0)
    clock = ScaledClock(1_000.0, 10.0, wall)
    assert clock.now() == 1_000.0
    wall.advance(3.0)
    assert clock.now() == pytest.approx(1_030.0)
    assert clock.at(1_006.0) == pytest.approx(1_060.0)
    assert clock.wall_at(1_060.0) == pytest.approx(1_006.0)
    with pytest.raises(ValueError, match="speed"):
        ScaledClock(0.0, 0.0)


def test_central_clock_config() -> None:
    assert isinstance(clock_from_config(parse({})), SystemClock)
    c = clock_from_config(parse({"clock": {"speed": 20, "start_s": 5_000.0}}))
    assert isinstance(c, ScaledClock) and c.speed == 20 and c.start_s == 5_000.0
    with pytest.raises(ConfigError, match=r"clock\.speed"):
        parse({"clock": {"speed": 0}})
    with pytest.raises(ConfigError, match=r"clock\.tick"):
        parse({"clock": {"tick": 1}})


def _metric(t: float, seq: int) -> Record:
    body = {"schema": "crowd.zone_metrics/1", "measured_at": t, "t_start": 0.0, "t_end": 10.0, "seq": seq}
    return Record(t, "crowd/v1/s/c/zones/z/metrics", json.dumps(body).encode(), qos=1, retain=False)


def test_replay_stamps_payloads_on_the_scaled_clock_keeping_recorded_spacing() -> None:
    wall = ReplayClock(t=2_000.0)
    pub = MemoryPublisher(wall)
    scaled = ScaledClock(1_900.0, 10.0)
    recs = [_metric(50.0, 0), _metric(60.0, 1), _metric(90.0, 2)]
    replay(recs, pub, wall, speed=10.0, retime="wall", payload_time=scaled.at)
    sent_at = [t for t, _ in pub.sent]
    stamped = [json.loads(r.payload)["measured_at"] for _, r in pub.sent]
    assert sent_at == pytest.approx([2_000.0, 2_001.0, 2_004.0])  # wall gaps divided by the speed
    # Scaled time at the moment of sending, so the gaps are the recorded 10 s and 30 s again.
    assert stamped == pytest.approx([scaled.at(t) for t in sent_at])
    assert [b - a for a, b in itertools.pairwise(stamped)] == pytest.approx([10.0, 30.0])


SCENARIO = {
    "name": "tiny",
    "kind": "buildup",
    "site": {"id": "demo", "origin": [8.54, 47.37]},
    "duration_s": 600,
    "interval_s": 10,
    "zones": [
        {
            "id": "plaza",
            "camera": "cam1",
            "edge_zone": "plaza",
            "polygon_m": [[0, 0], [10, 0], [10, 10], [0, 10]],
            "thresholds": {"warning": 1.0, "critical": 2.0},
            "timeline": {"kind": "levels", "points": [{"t_s": 0, "density": 0.2}, {"t_s": 600, "density": 1.5}]},
        }
    ],
    "expected_alerts": [{"kind": "current", "zone": "plaza", "level": "warning", "window_s": [0, 60]}],
}


def test_scenario_origin_maps_scenario_seconds_onto_central_time() -> None:
    built = build(parse_scenario(SCENARIO), start_epoch=10_000.0)
    first = min(r.received_at for r in built.records()) - built.start_epoch
    clock = ScaledClock(20_000.0, 30.0)
    origin = scenario_origin(built, clock, started_wall_s=20_100.0)
    # The first record (scenario second `first`) was stamped at clock.at(20_100) = 23_000.
    assert origin + first == pytest.approx(23_000.0)


def test_caught_up_needs_every_zone_at_the_last_time() -> None:
    zone = {"id": "plaza", "latest": {"measured_at": 99.0}}
    assert not caught_up([zone], {"plaza"}, 100.0)
    assert not caught_up([{"id": "plaza", "latest": None}], {"plaza"}, 100.0)
    assert caught_up([{"id": "plaza", "latest": {"measured_at": 100.0}}], {"plaza"}, 100.0)
    assert not caught_up([{"id": "plaza", "latest": {"measured_at": 100.0}}], {"plaza", "other"}, 100.0)
