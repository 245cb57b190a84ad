"""Central against a real Mosquitto broker and real SQLite and PostgreSQL: ingest, dedupe, hostile input,
alerts, patrols, restart and broker outage."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from central.auth import hash_password
from central.clock import FakeClock
from central.config import CentralConfig
from central.service import CentralService
from tests.support.central_harness import (
    PREFIX,
    EdgeClient,
    base_config,
    metric,
    metric_topic,
    wait_for,
)
from tests.support.mosquitto import MosquittoBroker

pytestmark = pytest.mark.integration

T0 = 1_800_000_000.0
OP_HASH = hash_password("operator-pw")

Starter = Callable[..., CentralService]


@pytest.fixture
def start(broker: MosquittoBroker, db_url: str) -> Iterator[Starter]:
    running: list[CentralService] = []

    def _start(cfg: CentralConfig | None = None, clock: FakeClock | None = None) -> CentralService:
        cfg = cfg or base_config(
            db_url,
            broker.port,
            users=[{"username": "op", "role": "operator", "password_hash": OP_HASH}],
        )
        svc = CentralService(cfg, clock=clock or FakeClock(T0 + 3600))
        svc.start()
        running.append(svc)
        assert svc.ingest is not None
        wait_for(svc.ingest.connected.is_set, 10, "central to connect")
        time.sleep(0.3)  # subscriptions settle
        return svc

    yield _start
    for svc in running:
        svc.stop()


@pytest.fixture
def edge(broker: MosquittoBroker) -> Iterator[EdgeClient]:
    c = EdgeClient(broker.port)
    yield c
    c.close()


def _ramp(n: int, start_seq: int = 0, d0: float = 0.3, step: float = 0.05, dt: float = 5.0) -> list[dict[str, Any]]:
    return [metric(start_seq + i, T0 + (start_seq + i) * dt, d0 + (start_seq + i) * step) for i in range(n)]


def test_ingest_stores_each_message_once_and_drops_duplicates(start: Starter, edge: EdgeClient) -> None:
    svc = start()
    msgs = _ramp(40, d0=0.1, step=0.0)
    edge.metrics(msgs)
    edge.metrics(msgs[:15])  # an edge redelivering after a reconnect
    wait_for(lambda: svc.store.count_metrics() == 40, 10, "40 stored metrics")
    wait_for(lambda: svc.ingest is not None and svc.ingest.duplicates == 15, 5, "15 duplicates counted")
    time.sleep(0.3)
    assert svc.store.count_metrics() == 40
    metrics_text = TestClient(svc.app).get("/metrics", headers=_login(svc)).text
    assert "central_messages_ingested_total 40.0" in metrics_text
    assert "central_messages_duplicate_total 15.0" in metrics_text


def test_out_of_order_and_late_messages_land_at_their_measured_time(start: Starter, edge: EdgeClient) -> None:
    svc = start()
    msgs = _ramp(10, d0=0.1, step=0.01)
    edge.metrics(msgs[5:] + msgs[:5])  # the first half arrives last, as from an edge draining its queue
    wait_for(lambda: svc.store.count_metrics() == 10, 10, "10 metrics")
    hist = TestClient(svc.app).get("/api/zones/za/history?minutes=60", headers=_login(svc)).json()
    times = [p["measured_at"] for p in hist["points"]]
    assert times == sorted(times) and len(times) == 10
    zones = wait_for(lambda: _zone(svc, "za")["latest"], 5, "latest metric")
    assert zones["measured_at"] == msgs[-1]["measured_at"]


HOSTILE: list[tuple[str, str, bytes]] = [
    ("not json", metric_topic(), b"{{{not json"),
    ("json array", metric_topic(), b"[1,2,3]"),
    ("wrong type", metric_topic(), json.dumps({**metric(1, T0, 0.5), "density": "lots"}).encode()),
    ("NaN", metric_topic(), json.dumps(metric(2, T0, 0.5)).replace("0.5,", "NaN,", 1).encode()),
    ("negative seq", metric_topic(), json.dumps(metric(-3, T0, 0.5)).encode()),
    ("unknown key", metric_topic(), json.dumps(metric(4, T0, 0.5, evil=1)).encode()),
    ("unknown zone", metric_topic(zone="nowhere"), json.dumps(metric(5, T0, 0.5, zone="nowhere")).encode()),
    ("unknown site", metric_topic(site="other"), json.dumps(metric(6, T0, 0.5, site="other")).encode()),
    ("topic mismatch", metric_topic(camera="cam2", zone="b"), json.dumps(metric(7, T0, 0.5)).encode()),
    ("markup id", metric_topic(), json.dumps(metric(8, T0, 0.5, camera="<script>x</script>")).encode()),
    ("huge", metric_topic(), b'{"pad": "' + b"x" * 2_000_000 + b'"}'),
    ("bad patrol", "owntracks/alice/phone", b'{"_type": "location", "lat": "north", "lon": 8.5, "tst": 1}'),
    ("bad status", f"{PREFIX}/s1/cam1/status", b'{"state": "melting"}'),
]


def _operator_config(db_url: str, broker_port: int) -> CentralConfig:
    """An operator login, and forecast alerts allowed after 60 s of a cold zone's data with no pending
    duration, so a short ramp raises them (the defaults, 300 s and 30 s, keep a cold zone's first minutes
    quiet: test_central_evaluator.py)."""
    return base_config(
        db_url,
        broker_port,
        users=[{"username": "op", "role": "operator", "password_hash": OP_HASH}],
        alerts={"forecast_min_history_s": 60, "forecast_pending_s": 0},
    )


def test_malformed_and_hostile_messages_go_to_dead_letters_and_nothing_breaks(
    start: Starter, edge: EdgeClient, broker: MosquittoBroker, db_url: str
) -> None:
    svc = start(_operator_config(db_url, broker.port))
    watcher = EdgeClient(broker.port)
    watcher.subscribe(f"{PREFIX}/deadletter")
    try:
        for _, topic, payload in HOSTILE:
            edge.send(topic, payload)
        # Markup inside a valid string field is data, stored and served verbatim as JSON (the page escapes it).
        edge.metrics([metric(100, T0, 0.5, los="<img src=x>")])
        wait_for(lambda: len(watcher.received) == len(HOSTILE), 15, "one dead letter per bad message")
        wait_for(lambda: svc.store.count_metrics() == 1, 5, "the valid message stored")
    finally:
        watcher.close()
    letters = [json.loads(p) for _, p, _ in watcher.received]
    assert {d["schema"] for d in letters} == {"crowd.dead_letter/1"}
    reasons = " | ".join(d["reason"] for d in letters)
    for word in ("too_large", "unknown_zone", "unknown_site", "topic_mismatch", "invalid_patrol", "Invalid JSON"):
        assert word in reasons
    huge = next(d for d in letters if d["reason"].startswith("too_large"))
    assert huge["payload_bytes"] > 2_000_000 and len(huge["payload"]) <= 1024
    assert svc.ingest is not None and svc.ingest.rejected == len(HOSTILE)
    latest = _zone(svc, "za")["latest"]
    assert latest["los"] == "<img src=x>"


def test_current_and_forecast_alerts_with_patrols_then_clear(
    start: Starter, edge: EdgeClient, broker: MosquittoBroker, db_url: str
) -> None:
    svc = start(_operator_config(db_url, broker.port))
    watcher = EdgeClient(broker.port)
    watcher.subscribe(f"{PREFIX}/alerts/+")
    try:
        edge.send(
            "owntracks/alice/phone", {"_type": "location", "lat": 47.3703, "lon": 8.5402, "acc": 5, "tst": T0 + 3600}
        )
        edge.send(
            "owntracks/bob/phone", {"_type": "location", "lat": 47.3710, "lon": 8.5402, "acc": 5, "tst": T0 + 3600}
        )
        wait_for(lambda: len(svc.evaluator.patrols_view()) == 2, 5, "two patrols")
        edge.metrics(_ramp(40, d0=0.3, step=0.05))  # 0.3 -> 2.25 persons/m² over 200 s
        alerts = wait_for(lambda: _alerts(svc, kinds={"current", "forecast"}), 15, "current and forecast alerts")
        cur = next(a for a in alerts if a["kind"] == "current")
        fc = next(a for a in alerts if a["kind"] == "forecast")
        assert cur["zone"] == "za" and cur["state"] == "open" and cur["level"] in ("warning", "critical")
        assert fc["opened_at"] <= cur["opened_at"] and fc["probability"] >= 0.6
        assert [p["id"] for p in cur["patrols"]] == ["alice", "bob"]
        assert cur["patrols"][0]["distance_m"] < cur["patrols"][1]["distance_m"]
        # Retained while open: a late subscriber still sees it.
        # (The store has it before MQTT does: wait for the publication, then subscribe late.)
        wait_for(lambda: any(t.endswith(cur["id"]) for t, _, _ in watcher.received), 5, "the alert published")
        late = EdgeClient(broker.port)
        late.subscribe(f"{PREFIX}/alerts/{cur['id']}")
        wait_for(lambda: any(r for _, _, r in late.received), 5, "retained alert")
        late.close()

        # Bob walks into the zone: the alert's patrols are recomputed and published.
        edge.send(
            "owntracks/bob/phone", {"_type": "location", "lat": 47.3701, "lon": 8.5402, "acc": 5, "tst": T0 + 3601}
        )
        wait_for(lambda: _alerts(svc, kinds={"current"})[0]["patrols"][0]["id"] == "bob", 5, "bob nearest")
        wait_for(
            lambda: any(json.loads(p).get("patrols", [{}])[0].get("id") == "bob" for t, p, _ in watcher.received if p),
            5,
            "an alert update naming bob first",
        )

        # The zone empties: after keep_firing_s below the clear level the alert ends.
        edge.metrics([metric(100 + i, T0 + 200 + i * 5, 0.2) for i in range(10)])
        wait_for(lambda: not _alerts(svc, kinds={"current"}), 10, "current alert cleared")
        ended = TestClient(svc.app).get(f"/api/alerts/{cur['id']}", headers=_login(svc)).json()
        assert ended["state"] == "cleared" and [h["action"] for h in ended["history"]][-1] == "cleared"
        events = [json.loads(p) for t, p, _ in watcher.received if t.endswith(cur["id"]) and p]
        assert events[0]["event"] == "new" and events[-1]["event"] == "end"
    finally:
        watcher.close()


def test_stop_and_go_and_stale_camera_alerts(start: Starter, edge: EdgeClient) -> None:
    svc = start()
    slow = [metric(i, T0 + i * 5, 2.5, speed_p50=0.05, speed_p85=0.1) for i in range(8)]
    edge.metrics(slow)
    wait_for(lambda: _alerts(svc, kinds={"stop_and_go"}), 10, "stop-and-go alert")
    status = {
        "schema": "crowd.status/1",
        "site": "s1",
        "camera": "cam1",
        "state": "offline",
        "version": "1",
        "started_at": T0,
        "at": T0 + 100,
    }
    edge.send(f"{PREFIX}/s1/cam1/status", status, retain=True)
    stale = wait_for(lambda: _alerts(svc, kinds={"stale"}), 10, "stale alert")
    assert "offline" in stale[0]["message"]
    cams = TestClient(svc.app).get("/api/cameras", headers=_login(svc)).json()
    assert next(c for c in cams if c["camera"] == "cam1")["state"] == "offline"
    edge.send(f"{PREFIX}/s1/cam1/status", {**status, "state": "online", "at": T0 + 200}, retain=True)
    wait_for(lambda: not _alerts(svc, kinds={"stale"}), 10, "stale alert cleared")


def test_restart_rebuilds_state_without_duplicating_or_losing_alerts(start: Starter, edge: EdgeClient) -> None:
    svc = start()
    edge.metrics(_ramp(20, d0=1.5, step=0.0))
    first = wait_for(lambda: _alerts(svc, kinds={"current"}), 10, "current alert")
    TestClient(svc.app).post(f"/api/alerts/{first[0]['id']}/ack", headers=_login(svc))
    svc.stop()
    # While central is away the edge keeps publishing; the persistent session keeps the messages.
    edge.metrics(_ramp(20, start_seq=20, d0=1.5, step=0.0))
    svc2 = start()
    wait_for(lambda: svc2.store.count_metrics() == 40, 10, "messages published while central was down")
    time.sleep(0.5)
    after = _alerts(svc2, kinds={"current"})
    assert [a["id"] for a in after] == [first[0]["id"]] and after[0]["state"] == "acknowledged"
    all_current = [a for a in svc2.store.list_alerts("all") if a.kind == "current"]
    assert len(all_current) == 1


def test_broker_outage_is_survived(start: Starter, broker: MosquittoBroker) -> None:
    svc = start()
    edge = EdgeClient(broker.port)
    edge.metrics(_ramp(5, d0=0.1, step=0.0))
    wait_for(lambda: svc.store.count_metrics() == 5, 10, "5 metrics")
    edge.close()
    broker.stop()
    ingest = svc.ingest
    assert ingest is not None
    wait_for(lambda: not ingest.connected.is_set(), 10, "central to notice the outage")
    time.sleep(1.0)
    broker.start()
    wait_for(ingest.connected.is_set, 20, "central to reconnect")
    edge = EdgeClient(broker.port)
    try:
        edge.metrics(_ramp(5, start_seq=5, d0=0.1, step=0.0))
        wait_for(lambda: svc.store.count_metrics() == 10, 10, "metrics after the outage")
    finally:
        edge.close()


def _login(svc: CentralService) -> dict[str, str]:
    r = TestClient(svc.app).post("/api/login", json={"username": "op", "password": "operator-pw"})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['token']}"}


def _zone(svc: CentralService, zid: str) -> dict[str, Any]:
    return next(z for z in (v.json_dict() for v in svc.evaluator.zones_view()) if z["id"] == zid)


def _alerts(svc: CentralService, kinds: set[str]) -> list[dict[str, Any]]:
    found = [
        svc.evaluator.alert_view(a).model_dump(mode="json") for a in svc.store.list_alerts("open") if a.kind in kinds
    ]
    have = {a["kind"] for a in found}
    return found if have >= kinds else []
