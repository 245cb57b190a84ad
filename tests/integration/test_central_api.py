"""The HTTP API on real SQLite and PostgreSQL and a real uvicorn server: login, roles, CSRF, login throttling, reads, live events."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi.testclient import TestClient

from central.auth import hash_password
from central.clock import FakeClock
from central.patrols import PatrolPosition
from central.service import CentralService, uvicorn_config
from central.store import MetricRow
from tests.support.central_harness import ZONE_A, base_config, wait_for
from tests.support.mosquitto import free_port

pytestmark = pytest.mark.integration

T0 = 1_800_000_000.0
USERS = [
    {"username": "vera", "role": "viewer", "password_hash": hash_password("viewer-pw")},
    {"username": "olga", "role": "operator", "password_hash": hash_password("operator-pw")},
    {"username": "adam", "role": "admin", "password_hash": hash_password("admin-pw")},
]


@pytest.fixture
def svc(db_url: str) -> Iterator[CentralService]:
    cfg = base_config(db_url, users=USERS, http={"login_throttle": {"free_failures": 5}})
    s = CentralService(cfg, clock=FakeClock(T0 + 300), with_mqtt=False)
    s.start()
    yield s
    s.stop()


def _rows(n: int, density: float, seq0: int = 0) -> list[MetricRow]:
    return [
        MetricRow(
            "s1",
            "cam1",
            seq0 + i,
            "za",
            "a",
            T0 + (seq0 + i) * 5,
            density * 100,
            1,
            density,
            1.0,
            1.2,
            "C",
            False,
            0,
            0,
            T0,
        )
        for i in range(n)
    ]


def _token(client: TestClient, user: str, pw: str) -> dict[str, str]:
    r = client.post("/api/login", json={"username": user, "password": pw})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['token']}"}


def _open_alert(svc: CentralService) -> str:
    svc.store.insert_metrics(_rows(10, 1.5))
    alerts = wait_for(lambda: [a for a in svc.store.list_alerts("open") if a.kind == "current"], 10, "an alert")
    return str(alerts[0].id)


def test_every_call_but_healthz_needs_a_login(svc: CentralService) -> None:
    c = TestClient(svc.app)
    assert c.get("/healthz").json()["status"] == "ok"
    for path in ("/api/zones", "/api/alerts", "/api/patrols", "/api/cameras", "/api/site", "/api/me", "/metrics"):
        assert c.get(path).status_code == 401, path
    assert c.get("/api/zones", headers={"Authorization": "Bearer forged.token"}).status_code == 401
    assert c.post("/api/login", json={"username": "olga", "password": "nope"}).status_code == 401
    assert c.post("/api/login", json={"username": "olga"}).status_code == 422


def test_login_returns_a_token_and_cookies(svc: CentralService) -> None:
    c = TestClient(svc.app)
    r = c.post("/api/login", json={"username": "olga", "password": "operator-pw"})
    body = r.json()
    assert (body["role"], body["username"]) == ("operator", "olga") and body["expires_at"] > T0
    assert "crowd_session" in r.cookies and "crowd_csrf" in r.cookies
    assert "httponly" in r.headers.get_list("set-cookie")[0].lower()
    assert c.get("/api/me").json() == {"username": "olga", "role": "operator", "display_name": "olga"}  # by cookie
    assert c.get("/api/me", headers={"Authorization": f"Bearer {body['token']}"}).json()["role"] == "operator"


def test_tokens_expire(svc: CentralService) -> None:
    c = TestClient(svc.app)
    h = _token(c, "vera", "viewer-pw")
    assert c.get("/api/me", headers=h).status_code == 200
    assert isinstance(svc.clock, FakeClock)
    svc.clock.advance(svc.cfg.http.token_ttl_s + 1)
    assert c.get("/api/me", headers=h).status_code == 401


def test_login_is_rate_limited(svc: CentralService) -> None:
    c = TestClient(svc.app)
    codes = [c.post("/api/login", json={"username": "olga", "password": f"bad{i}"}).status_code for i in range(6)]
    assert codes[:5] == [401] * 5 and codes[5] == 429
    assert c.post("/api/login", json={"username": "olga", "password": "operator-pw"}).status_code == 429


def test_a_viewer_cannot_change_alerts_an_operator_can(svc: CentralService) -> None:
    aid = _open_alert(svc)
    c = TestClient(svc.app)
    viewer = _token(c, "vera", "viewer-pw")
    assert c.post(f"/api/alerts/{aid}/ack", headers=viewer).status_code == 403
    op = _token(c, "olga", "operator-pw")
    r = c.post(f"/api/alerts/{aid}/ack", headers=op)
    assert r.status_code == 200 and r.json()["state"] == "acknowledged"
    assert c.post(f"/api/alerts/{aid}/ack", headers=op).status_code == 409
    r = c.post(f"/api/alerts/{aid}/assign", headers=op, json={"patrol": "p1"})
    assert r.json()["state"] == "assigned" and r.json()["assigned_patrol"] == "p1"
    assert c.post(f"/api/alerts/{aid}/assign", headers=op, json={"patrol": "<b>"}).status_code == 422
    admin = _token(c, "adam", "admin-pw")
    r = c.post(f"/api/alerts/{aid}/resolve", headers=admin)
    assert r.json()["state"] == "resolved"
    hist = [(h["action"], h["by"]) for h in r.json()["history"]]
    assert hist == [("opened", "system"), ("acknowledged", "olga"), ("assigned", "olga"), ("resolved", "adam")]
    assert c.post("/api/alerts/nope/ack", headers=op).status_code == 404
    assert aid not in [a["id"] for a in c.get("/api/alerts?state=open", headers=viewer).json()]
    assert [a["id"] for a in c.get("/api/alerts?state=resolved", headers=viewer).json()] == [aid]


def test_cookie_authenticated_changes_need_the_csrf_header(svc: CentralService) -> None:
    aid = _open_alert(svc)
    c = TestClient(svc.app)
    c.post("/api/login", json={"username": "olga", "password": "operator-pw"})
    assert c.post(f"/api/alerts/{aid}/ack").status_code == 403
    assert c.post(f"/api/alerts/{aid}/ack", headers={"X-CSRF-Token": "guess"}).status_code == 403
    r = c.post(f"/api/alerts/{aid}/ack", headers={"X-CSRF-Token": c.cookies["crowd_csrf"]})
    assert r.status_code == 200 and r.json()["state"] == "acknowledged"


def test_logout_revokes_the_token(svc: CentralService) -> None:
    c = TestClient(svc.app)
    h = _token(c, "vera", "viewer-pw")
    assert c.post("/api/logout", headers=h).status_code == 200
    assert c.get("/api/me", headers=h).status_code == 401


def test_reading_zones_alerts_site_history_region_and_patrols(svc: CentralService) -> None:
    aid = _open_alert(svc)
    svc.store.insert_metrics(_rows(30, 1.5, seq0=10))
    svc.evaluator.submit(PatrolPosition("alice", "Alice <i>", 47.3703, 8.5402, 5.0, T0 + 299, "owntracks"))
    svc.store.insert_patrol_positions(
        [PatrolPosition("alice", "Alice <i>", 47.3703, 8.5402, 5.0, T0 + 299, "owntracks")], T0
    )
    c = TestClient(svc.app)
    h = _token(c, "vera", "viewer-pw")
    zones = wait_for(lambda: [z for z in c.get("/api/zones", headers=h).json() if z["forecast"]], 10, "a forecast")
    za = zones[0]
    assert za["id"] == "za" and za["latest"]["density"] == 1.5 and za["area_m2"] > 500
    fc = za["forecast"]
    assert len(fc["times"]) == len(fc["yhat"]) == len(fc["lo80"]) == len(fc["hi95"]) == 60
    assert {x["name"] for x in fc["crossings"]} == {"warning", "critical"}
    site = c.get("/api/site", headers=h).json()
    assert site["thresholds_default"] == {"warning": 2.0, "critical": 4.0} and site["los_bands"]["F"] > 2
    hist = c.get("/api/zones/za/history?minutes=60", headers=h).json()
    assert len(hist["points"]) == 40 and hist["points"][0]["measured_at"] < hist["points"][-1]["measured_at"]
    assert c.get("/api/zones/nope/history", headers=h).status_code == 404
    patrols = wait_for(lambda: c.get("/api/patrols", headers=h).json(), 5, "a patrol")
    assert patrols[0]["name"] == "Alice <i>" and not patrols[0]["stale"] and patrols[0]["track"]
    alert = c.get(f"/api/alerts/{aid}", headers=h).json()
    assert alert["patrols"][0]["id"] == "alice" and alert["patrols"][0]["eta_s"] >= 0
    whole = c.post(
        "/api/region", headers=h, json={"polygon": [[8.53, 47.36], [8.55, 47.36], [8.55, 47.38], [8.53, 47.38]]}
    ).json()
    assert whole["people"] == pytest.approx(150.0) and [z["id"] for z in whole["zones"]] == ["za", "zb"]
    half = [
        [ZONE_A[0][0] - 0.001, 47.36],
        [(ZONE_A[0][0] + ZONE_A[1][0]) / 2, 47.36],
        [(ZONE_A[0][0] + ZONE_A[1][0]) / 2, 47.38],
        [ZONE_A[0][0] - 0.001, 47.38],
    ]
    assert c.post("/api/region", headers=h, json={"polygon": half}).json()["people"] == pytest.approx(75.0, rel=0.05)
    assert c.post("/api/region", headers=h, json={"polygon": [[0, 0], [1, 1]]}).status_code == 422


@pytest.fixture
def served(svc: CentralService) -> Iterator[str]:
    port = free_port()
    server = uvicorn.Server(uvicorn_config(svc.app, "127.0.0.1", port))
    t = threading.Thread(target=server.run, daemon=True)
    t.start()
    wait_for(lambda: server.started, 10, "uvicorn")
    yield f"http://127.0.0.1:{port}"
    svc.bus.close()
    server.should_exit = True
    t.join(10)


def test_live_events_stream_zone_and_alert_events(svc: CentralService, served: str) -> None:
    token = httpx.post(f"{served}/api/login", json={"username": "vera", "password": "viewer-pw"}).json()["token"]
    assert httpx.get(f"{served}/api/events", timeout=5).status_code == 401
    got: list[tuple[str, dict[str, Any]]] = []

    def read() -> None:
        with httpx.stream("GET", f"{served}/api/events?token={token}", timeout=20) as r:
            assert r.headers["content-type"].startswith("text/event-stream")
            name = ""
            for line in r.iter_lines():
                if line.startswith("event: "):
                    name = line[7:]
                elif line.startswith("data: "):
                    got.append((name, json.loads(line[6:])))
                    if {"alert", "zone"} <= {n for n, _ in got}:
                        return

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    wait_for(lambda: got, 5, "hello")
    assert got[0][0] == "hello" and "server_started_at" in got[0][1]
    svc.store.insert_metrics(_rows(10, 1.5))
    reader.join(10)
    alert = next(d for n, d in got if n == "alert")
    zone = next(d for n, d in got if n == "zone")
    assert alert["zone"] == "za" and alert["kind"] in ("current", "forecast") and alert["state"] == "open"
    assert zone["id"] == "za" and zone["latest"]["density"] == 1.5


def _from(address: str, url: str) -> httpx.Client:
    """A client whose connections leave from `address` (127.0.0.2 is loopback too): another machine to central."""
    return httpx.Client(base_url=url, transport=httpx.HTTPTransport(local_address=address), timeout=10)


def test_a_wrong_password_storm_from_one_client_leaves_another_able_to_log_in(
    svc: CentralService, served: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="central.login")
    assert isinstance(svc.clock, FakeClock)
    attacker, console = _from("127.0.0.2", served), _from("127.0.0.1", served)
    codes = [
        attacker.post("/api/login", json={"username": "olga", "password": f"bad{i}"}).status_code for i in range(5)
    ]
    assert codes == [401] * 5  # the fifth failure starts the back-off
    waits = []
    for i in range(3):
        r = attacker.post("/api/login", json={"username": "olga", "password": "operator-pw"})
        assert r.status_code == 429  # even the right password waits: no guessing while locked
        waits.append(int(r.headers["Retry-After"]))
        svc.clock.advance(waits[-1])
        assert attacker.post("/api/login", json={"username": "olga", "password": f"again{i}"}).status_code == 401
    assert waits == [1, 2, 4]  # back-off grows
    assert attacker.post("/api/login", json={"username": "olga", "password": "operator-pw"}).status_code == 429
    # The operator at her own console is not locked out, and the attacker's address may still try other accounts.
    r = console.post("/api/login", json={"username": "olga", "password": "operator-pw"})
    assert r.status_code == 200 and r.json()["username"] == "olga"
    assert attacker.post("/api/login", json={"username": "vera", "password": "viewer-pw"}).status_code == 200
    logged = [(rec.getMessage(), getattr(rec, "fields", {})) for rec in caplog.records if rec.name == "central.login"]
    locks = [f for m, f in logged if m.startswith("login locked")]
    assert [f["locked_for_s"] for f in locks] == [1, 2, 4, 8]
    assert all(f["client"] == "127.0.0.2" and f["user"] == "olga" for f in locks)
    throttled = [f for m, f in logged if m == "login throttled"]
    assert len(throttled) == 4 and throttled[0] == {"user": "olga", "client": "127.0.0.2", "retry_after_s": 1}
    assert "operator-pw" not in caplog.text and "bad0" not in caplog.text  # never a password
    attacker.close()
    console.close()


def test_forwarded_for_names_the_client_only_behind_a_trusted_proxy(db_url: str) -> None:
    trusting = {"login_throttle": {"free_failures": 2}, "trusted_proxies": ["127.0.0.1"]}
    for http, other_client_code in (({"login_throttle": {"free_failures": 2}}, 429), (trusting, 200)):
        s = CentralService(base_config(db_url, users=USERS, http=http), clock=FakeClock(T0), with_mqtt=False)
        s.start()
        try:
            c = TestClient(s.app, client=("127.0.0.1", 50000))  # the proxy's address
            for i in range(3):
                c.post(
                    "/api/login",
                    json={"username": "olga", "password": f"x{i}"},
                    headers={"X-Forwarded-For": "198.51.100.7"},
                )
            ok = {"username": "olga", "password": "operator-pw"}
            assert c.post("/api/login", json=ok, headers={"X-Forwarded-For": "198.51.100.7"}).status_code == 429
            # Untrusted: a forged header does not escape the back-off. Trusted: another client behind the proxy.
            assert (
                c.post("/api/login", json=ok, headers={"X-Forwarded-For": "198.51.100.8"}).status_code
                == other_client_code
            )
        finally:
            s.stop()


def test_cameras_carry_the_position_the_config_gives_them(db_url: str) -> None:
    cameras = [{"id": "cam1", "lon": 8.5399, "lat": 47.3699}, {"id": "cam9", "lon": 8.546, "lat": 47.3725}]
    cfg = base_config(db_url, users=USERS, cameras=cameras)
    s = CentralService(cfg, clock=FakeClock(T0 + 300), with_mqtt=False)
    s.start()
    try:
        c = TestClient(s.app)
        got = {x["camera"]: x for x in c.get("/api/cameras", headers=_token(c, "vera", "viewer-pw")).json()}
    finally:
        s.stop()
    assert (got["cam1"]["lon"], got["cam1"]["lat"]) == (8.5399, 47.3699)
    assert (got["cam9"]["lon"], got["cam9"]["lat"]) == (8.546, 47.3725)  # placed on the map before it reports
    assert "lon" not in got["cam2"] and "lat" not in got["cam2"]  # no position configured: keys left out
    assert got["cam9"]["state"] == "unknown"
