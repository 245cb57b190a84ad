"""What the wall console reads from the API (issue "A console the command centre can trust", point 6):
display names of the signed-in user and of cameras, with the ids as defaults, and the site's time zone."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from central.auth import hash_password
from central.clock import FakeClock
from central.service import CentralService
from tests.support.central_harness import base_config

pytestmark = pytest.mark.integration

T0 = 1_800_000_000.0
USERS = [
    {
        "username": "olga",
        "role": "operator",
        "display_name": "Control room, desk 2",
        "password_hash": hash_password("pw-1"),
    },
    {"username": "vera", "role": "viewer", "password_hash": hash_password("pw-2")},
]


@pytest.fixture
def client(tmp_path: object) -> Iterator[TestClient]:
    cfg = base_config(
        f"sqlite:///{tmp_path}/central.sqlite",
        users=USERS,
        site={"timezone": "Asia/Tokyo"},
        # cam1 named and placed, cam2 named only, cam3 (no zone) only placed.
        cameras=[
            {"id": "cam1", "display_name": "North gate", "lon": 8.5401, "lat": 47.3701},
            {"id": "cam2", "display_name": "Platform 4"},
            {"id": "cam3", "lon": 8.5402, "lat": 47.3702},
        ],
    )
    svc = CentralService(cfg, clock=FakeClock(T0), with_mqtt=False)
    svc.start()
    try:
        yield TestClient(svc.app)
    finally:
        svc.stop()


def test_user_display_name_defaults_to_the_username(client: TestClient) -> None:
    login = client.post("/api/login", json={"username": "olga", "password": "pw-1"}).json()
    assert (login["username"], login["display_name"]) == ("olga", "Control room, desk 2")
    assert client.get("/api/me").json() == {
        "username": "olga",
        "role": "operator",
        "display_name": "Control room, desk 2",
    }
    client.post("/api/login", json={"username": "vera", "password": "pw-2"})
    assert client.get("/api/me").json()["display_name"] == "vera"


def test_cameras_carry_their_display_name_and_the_site_its_time_zone(client: TestClient) -> None:
    client.post("/api/login", json={"username": "vera", "password": "pw-2"})
    cameras = {c["camera"]: c for c in client.get("/api/cameras").json()}
    assert {k: c["display_name"] for k, c in cameras.items()} == {
        "cam1": "North gate",
        "cam2": "Platform 4",
        "cam3": "cam3",
    }
    assert (cameras["cam1"]["lon"], cameras["cam1"]["lat"]) == (8.5401, 47.3701)
    assert "lon" not in cameras["cam2"]  # named only: no position on the map
    assert client.get("/api/site").json()["timezone"] == "Asia/Tokyo"
