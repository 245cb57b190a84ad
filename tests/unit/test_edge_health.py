"""Health state of the edge (pure: a fake clock, no HTTP)."""

from __future__ import annotations

import pytest
from prometheus_client.parser import text_string_to_metric_families

from contract.edge_messages import StatsMessage
from edge.health import EdgeHealth


class FakeClock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def make(clock: FakeClock) -> EdgeHealth:
    return EdgeHealth(site="pets", camera="view1", version="0.1.0", stale_after_s=10, start_grace_s=60, clock=clock)


def samples(health: EdgeHealth) -> dict[str, float]:
    text = health.metrics_text().decode()
    return {s.name: s.value for fam in text_string_to_metric_families(text) for s in fam.samples}


def test_starting_is_healthy_only_within_the_grace_period() -> None:
    clock = FakeClock()
    h = make(clock)
    clock.t += 59
    r = h.check()
    assert (r.status, r.healthy, r.frames, r.last_frame_age_s) == ("starting", True, 0, None)
    clock.t += 2
    assert (h.check().status, h.check().healthy) == ("starting", False)


def test_frames_keep_it_ok_and_silence_makes_it_stale() -> None:
    clock = FakeClock()
    h = make(clock)
    h.beat()
    clock.t += 10
    assert h.check().status == "ok" and h.check().healthy
    clock.t += 0.5
    r = h.check()
    assert (r.status, r.healthy, r.last_frame_age_s) == ("stale", False, pytest.approx(10.5))
    h.beat()
    assert h.check().status == "ok"
    assert h.check().frames == 2


def test_stopping_is_unhealthy_even_with_fresh_frames() -> None:
    clock = FakeClock()
    h = make(clock)
    h.beat()
    h.stopping()
    assert (h.check().status, h.check().healthy) == ("stopping", False)


def test_metrics_mirror_stats_in_base_units() -> None:
    clock = FakeClock()
    h = make(clock)
    h.beat()
    clock.t += 3
    stats = StatsMessage(
        site="pets",
        camera="view1",
        at=1.7e9,
        capture_fps=7.0,
        processed_fps=6.5,
        frames_dropped=4,
        frames_skipped=1,
        detector_ms=42.0,
        source_reconnects_1h=2,
        broker_reconnects_1h=3,
        buffered_messages=120,
        queue_dropped=5,
        cpu_percent=88.0,
    )
    h.update(stats)
    s = samples(h)
    assert s["crowd_edge_processed_fps"] == 6.5
    assert s["crowd_edge_detector_seconds"] == pytest.approx(0.042)
    assert s["crowd_edge_buffered_messages"] == 120
    assert s["crowd_edge_queue_dropped"] == 5
    assert s["crowd_edge_frames_total"] == 1
    assert s["crowd_edge_last_frame_age_seconds"] == pytest.approx(3.0)
    assert s["crowd_edge_healthy"] == 1.0
    assert s["crowd_edge_info"] == 1.0
    clock.t += 60
    assert samples(h)["crowd_edge_healthy"] == 0.0


def test_two_edges_in_one_process_do_not_share_metrics() -> None:
    a, b = make(FakeClock()), make(FakeClock())
    a.beat()
    assert samples(a)["crowd_edge_frames_total"] == 1
    assert samples(b)["crowd_edge_frames_total"] == 0


def test_bad_thresholds_are_rejected() -> None:
    with pytest.raises(ValueError, match="stale_after_s"):
        EdgeHealth(site="s", camera="c", version="v", stale_after_s=0)


def test_watched_figures_are_read_live_at_every_scrape() -> None:
    figures = {"processed_fps": 12.5, "detector_ms": 20.0}
    h = EdgeHealth(site="s", camera="c", version="1", clock=lambda: 0.0)
    h.watch(lambda: figures)
    text = h.metrics_text().decode()
    assert "crowd_edge_processed_fps 12.5" in text
    assert "crowd_edge_detector_seconds 0.02" in text
    figures["processed_fps"] = 3.0
    del figures["detector_ms"]  # a missing figure keeps its last value rather than dropping to zero
    text = h.metrics_text().decode()
    assert "crowd_edge_processed_fps 3.0" in text
    assert "crowd_edge_detector_seconds 0.02" in text
