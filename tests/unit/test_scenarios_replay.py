"""Replay timing, payload re-timing and the JSONL recording format (in-memory twins, no broker)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from central.clock import FakeClock
from central.playback.records import Record, RecordError, read_records, write_records
from central.playback.replay import MemoryPublisher, replay, retime_payload


def metric(t: float, seq: int = 0) -> Record:
    body = {"schema": "crowd.zone_metrics/1", "measured_at": t, "t_start": t - 10, "t_end": t, "seq": seq}
    return Record(t, "crowd/v1/s/c/zones/z/metrics", json.dumps(body).encode(), qos=1, retain=True)


def test_original_timing_divided_by_speed() -> None:
    clock = FakeClock(t=5_000.0)
    pub = MemoryPublisher(clock)
    recs = [metric(100.0), metric(110.0), metric(140.0), metric(140.0)]
    stats = replay(list(reversed(recs)), pub, clock, speed=10.0)
    assert stats.sent == 4
    assert [t for t, _ in pub.sent] == pytest.approx([5_000.0, 5_001.0, 5_004.0, 5_004.0])
    # Kept as recorded: topic, payload bytes, QoS and retain.
    assert [r.payload for _, r in pub.sent] == [r.payload for r in recs]
    assert all(r.retain and r.qos == 1 for _, r in pub.sent)
    assert stats.late_max_s == 0.0


def test_schedule_does_not_drift_when_publishing_is_slow() -> None:
    clock = FakeClock(t=0.0)

    class SlowPublisher(MemoryPublisher):
        def publish(self, topic: str, payload: bytes, qos: int, retain: bool) -> None:
            super().publish(topic, payload, qos, retain)
            clock.t += 0.3  # each publish takes 0.3 s

    pub = SlowPublisher(clock)
    replay([metric(float(i)) for i in range(10)], pub, clock, speed=1.0)
    # Due at 0, 1, 2, ...: every publish starts on time since 0.3 s < the 1 s gap.
    assert [t for t, _ in pub.sent] == pytest.approx([float(i) for i in range(10)])


def test_retime_to_wall_clock() -> None:
    clock = FakeClock(t=2_000_000_000.0)
    pub = MemoryPublisher(clock)
    owntracks = Record(1_500_000_020.0, "owntracks/a/p", b'{"_type":"location","lat":1,"lon":2,"tst":1500000020}')
    other = Record(1_500_000_030.0, "x/raw", b"\x00\xff binary")
    replay([metric(1_500_000_000.0), owntracks, other], pub, clock, speed=2.0, retime="wall")
    m = json.loads(pub.sent[0][1].payload)
    assert m["measured_at"] == 2_000_000_000.0 and m["t_end"] == 2_000_000_000.0 and m["t_start"] == 1_999_999_990.0
    assert m["seq"] == 0
    assert json.loads(pub.sent[1][1].payload)["tst"] == 2_000_000_010
    assert pub.sent[2][1].payload == b"\x00\xff binary"
    # Source-time t_start/t_end (seconds into a file) are not UNIX times and stay as they are.
    src = Record(50.0, "t", json.dumps({"schema": "crowd.zone_metrics/1", "measured_at": 50.0, "t_end": 12.0}).encode())
    assert json.loads(retime_payload(src, 99.0)) == {
        "schema": "crowd.zone_metrics/1",
        "measured_at": 99.0,
        "t_end": 12.0,
    }


def test_stop_and_bad_speed() -> None:
    clock = FakeClock()
    pub = MemoryPublisher(clock)
    stats = replay([metric(float(i)) for i in range(10)], pub, clock, should_stop=lambda: len(pub.sent) >= 3)
    assert stats.sent == 3
    with pytest.raises(ValueError, match="speed"):
        replay([], pub, clock, speed=0)
    assert replay([], pub, clock).sent == 0


def test_jsonl_round_trip_and_torn_tail(tmp_path: Path) -> None:
    recs = [metric(1.5), Record(2.0, "bin/x", bytes(range(256)), qos=0, retain=False)]
    p = tmp_path / "rec.jsonl"
    assert write_records(p, recs) == 2
    assert read_records(p) == recs
    # A recorder killed mid-line leaves a torn last line: it is dropped, the rest is kept.
    with p.open("a") as fh:
        fh.write('{"received_at": 3.0, "topic": "t", "pay')
    assert read_records(p) == recs
    # A bad line in the middle is an error that names the line.
    p.write_text(metric(1.0).to_line() + "\nnot json\n" + metric(2.0).to_line() + "\n")
    with pytest.raises(RecordError, match=r"rec\.jsonl:2: not JSON"):
        read_records(p)
    with pytest.raises(RecordError, match="missing key 'topic'"):
        Record.from_line('{"received_at": 1, "payload": "x"}')
    with pytest.raises(ValueError, match="publishable topic"):
        Record(1.0, "a/#", b"")
