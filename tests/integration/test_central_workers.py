"""Two central workers on one machine share the MQTT subscription and one database: the load is split,
and the alerts are exactly those one worker alone raises — none duplicated, none lost."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from central.clock import FakeClock
from central.config import CentralConfig
from central.service import CentralService
from central.zones import owner_of
from tests.support.central_harness import ZONE_A, ZONE_B, EdgeClient, base_config, fresh_postgres_db, metric, wait_for
from tests.support.mosquitto import MosquittoBroker

pytestmark = pytest.mark.integration

T0 = 1_800_000_000.0
# Zone ids chosen so that each of two workers owns one (crc32 % 2).
ZONES = [
    {
        "id": "za",
        "camera": "cam1",
        "edge_zone": "a",
        "polygon": ZONE_A,
        "thresholds": {"warning": 1.0, "critical": 2.0},
    },
    {
        "id": "zd",
        "camera": "cam2",
        "edge_zone": "b",
        "polygon": ZONE_B,
        "thresholds": {"warning": 1.0, "critical": 2.0},
    },
]


def _cfg(url: str, port: int, index: int, count: int, **sections: Any) -> CentralConfig:
    return base_config(url, port, zones=ZONES, worker={"index": index, "count": count}, **sections)


def _stream() -> list[dict[str, Any]]:
    """Both zones fill up, hold, then empty: each zone gets current and forecast alerts that later clear."""
    out = []
    for i in range(90):
        d = 0.3 + 0.04 * i if i < 50 else (2.3 if i < 70 else 0.2)
        out.append(metric(i, T0 + i * 5, d, camera="cam1", zone="a"))
        out.append(metric(i, T0 + i * 5, d * 0.9, camera="cam2", zone="b"))
    return out


def _run(workers: list[CentralService], broker: MosquittoBroker) -> list[tuple[str, str, str, str]]:
    for w in workers:
        w.start()
        assert w.ingest is not None
        wait_for(w.ingest.connected.is_set, 10, "worker connected")
    time.sleep(0.5)
    edge = EdgeClient(broker.port)
    try:
        for m in _stream():
            edge.metrics([m])
            time.sleep(0.002)  # an edge's pace: messages a few ms apart, as two cameras publishing live
    finally:
        edge.close()
    store = workers[0].store
    wait_for(lambda: store.count_metrics() == 180, 20, "all 180 metrics stored")
    # The evaluators catch up, then nothing may still be open (every zone emptied at the end).
    wait_for(lambda: all(w.evaluator.cursor >= store.max_metric_id() for w in workers), 20, "evaluators caught up")
    time.sleep(0.5)
    return sorted((a.zone, a.kind, a.level, a.state) for a in store.list_alerts("all"))


@pytest.fixture
def pg_url() -> Iterator[str]:
    with fresh_postgres_db() as url:
        yield url


def test_two_workers_split_the_load_without_duplicating_or_losing_alerts(
    broker: MosquittoBroker, tmp_path: Path, pg_url: str
) -> None:
    assert owner_of("za", 2) != owner_of("zd", 2)
    reference = [
        CentralService(_cfg(f"sqlite:///{tmp_path / 'one.sqlite'}", broker.port, 0, 1), clock=FakeClock(T0 + 500))
    ]
    try:
        expected = _run(reference, broker)
    finally:
        for w in reference:
            w.stop()
    # Their own client ids and share group: the reference worker's persistent session must not take a share.
    pair = [
        CentralService(
            _cfg(pg_url, broker.port, i, 2, mqtt={"share_group": "pair", "client_id": f"pair-{i}"}),
            clock=FakeClock(T0 + 500),
        )
        for i in range(2)
    ]
    try:
        got = _run(pair, broker)
        ingested = [w.ingest.writer.written if w.ingest else 0 for w in pair]
        assert all(n > 0 for n in ingested) and sum(ingested) == 180, ingested
        assert pair[0].store.count_metrics() == 180
        ids = [a.id for a in pair[0].store.list_alerts("all")]
        assert len(ids) == len(set(ids))
    finally:
        for w in pair:
            w.stop()
    assert {(z, k) for z, k, _, _ in expected} >= {("za", "current"), ("zd", "current"), ("za", "forecast")}
    assert got == expected
