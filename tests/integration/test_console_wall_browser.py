"""Wall legibility (issue "A console the command centre can trust", point 6) end to end: real central, real
Mosquitto, real headless Chromium, at 1920x1080 and 1366x768.

A known state: one zone over its warning line now (gate), one forecast over it within ten minutes (plaza),
one camera stale (cam2). The summary strip must count them as the API's data say; display names must
replace ids (ids in tooltips); the map has a scale bar and a north arrow; every time is in the site's zone
(Asia/Tokyo, with the browser in New York); the chart's time axis starts at the zone's first point.
"""

from __future__ import annotations

import datetime as dt
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from tests.integration.test_console_browser import (  # noqa: F401 (fixtures)
    ConsoleErrors,
    alert_api,
    browser,
    mqtt_client,
    screenshot_dir,
)
from tests.support.console import CentralProcess, ConsoleUser, MetricPoint, Mqtt, rectangle, zone_metrics
from tests.support.mosquitto import MosquittoBroker, free_port

pytestmark = [pytest.mark.integration, pytest.mark.slow, pytest.mark.timeout(300)]

SITE = "wallsite"
PREFIX = "crowd/v1"
SITE_TZ = "Asia/Tokyo"
BROWSER_TZ = "America/New_York"
OPERATOR = ConsoleUser("op7", "operator", "operator-pass-7", "CROWD_TEST_WALL_PASSWORD")
OPERATOR_NAME = "Control room east"
CAMERA_NAMES = {"cam1": "Plaza mast camera", "cam2": "Kiosk camera"}
ZONES = {  # id -> (display name, camera, edge zone, east, north, width, height)
    "plaza": ("Plaza", "cam1", "z1", -40, 0, 40, 30),
    "gate": ("Gate A", "cam1", "z2", 5, 0, 30, 20),
    "kiosk": ("Kiosk corner", "cam2", "z3", -40, -30, 20, 15),
}
STALE_S = 20


def wall_config(broker: MosquittoBroker, workdir: Path) -> dict[str, Any]:
    return {
        "site": {"id": SITE, "name": "Wall test", "center": [7.4474, 46.948], "timezone": SITE_TZ},
        "mqtt": {"host": broker.host, "port": broker.port, "topic_prefix": PREFIX},
        "database": {"url": f"sqlite:///{workdir / 'central.sqlite'}"},
        "http": {"host": "127.0.0.1", "port": free_port()},
        "users": [
            {
                "username": OPERATOR.username,
                "role": "operator",
                "display_name": OPERATOR_NAME,
                "password_env": OPERATOR.env,
            }
        ],
        "zones": [
            {
                "id": zid,
                "name": name,
                "camera": cam,
                "edge_zone": edge,
                "polygon": rectangle(e, n, w, h),
                "thresholds": {"warning": 1.0, "critical": 2.0},
            }
            for zid, (name, cam, edge, e, n, w, h) in ZONES.items()
        ],
        "cameras": [{"id": cam, "display_name": name} for cam, name in CAMERA_NAMES.items()],
        "alerts": {"pending_s": 0, "forecast_probability": 0.5, "camera_stale_s": STALE_S},
        "forecast": {"step_s": 10, "horizon_s": 600},
    }


@pytest.fixture
def central(broker: MosquittoBroker, tmp_path: Path) -> Iterator[CentralProcess]:
    process = CentralProcess(tmp_path / "central", wall_config(broker, tmp_path), [OPERATOR])
    process.start()
    try:
        yield process
    finally:
        process.stop()


def publish(client: Mqtt, zone: str, points: list[MetricPoint], seq: int) -> int:
    _, cam, edge, _, _, w, h = ZONES[zone]
    for point in points:
        client.publish(f"{PREFIX}/{SITE}/{cam}/zones/{edge}/metrics", zone_metrics(SITE, cam, edge, seq, w * h, point))
        seq += 1
    return seq


def camera_online(client: Mqtt, cam: str, now: float) -> None:
    status = {"schema": "crowd.status/1", "site": SITE, "camera": cam, "state": "online", "version": "test"}
    client.publish(f"{PREFIX}/{SITE}/{cam}/status", {**status, "started_at": now - 900, "at": now})


def expected_summary(page: Any, url: str) -> dict[str, Any]:
    """The strip's figures by the console's documented rules (docs/console.md), from the API's data."""
    zones = alert_api(page, url, "/api/zones")[1]
    alerts = alert_api(page, url, "/api/alerts")[1]
    cameras = alert_api(page, url, "/api/cameras")[1]
    now = alert_api(page, url, "/healthz")[1]["now"]
    silent = {c["camera"] for c in cameras if c["state"] in ("stale", "offline", "stopped")}

    def live(z: dict[str, Any]) -> bool:
        return z["latest"] is not None and not z["latest"]["stale"] and z["camera"] not in silent

    over = [z["id"] for z in zones if live(z) and z["latest"]["density"] >= z["thresholds"]["warning"]]
    soon = [
        z["id"]
        for z in zones
        if live(z)
        and z["id"] not in over
        and z["forecast"]
        and any(
            t - now <= 600 and y >= z["thresholds"]["warning"]
            for t, y in zip(z["forecast"]["times"], z["forecast"]["yhat"], strict=True)
        )
    ]
    return {
        "over-now": sorted(over),
        "over-soon": sorted(soon),
        "critical": sum(a["level"] == "critical" for a in alerts),
        "warning": sum(a["level"] != "critical" for a in alerts),
        "cameras-down": sorted(silent),
    }


def shown_summary(page: Any) -> dict[str, Any]:
    tiles = page.evaluate(
        """() => Object.fromEntries([...document.querySelectorAll('#summary [data-summary]')].map((li) =>
              [li.dataset.summary, { count: Number(li.dataset.count), text: li.textContent, title: li.title,
                                     critical: Number(li.dataset.critical), warning: Number(li.dataset.warning) }]))"""
    )
    return tiles  # type: ignore[no-any-return]


def matches(tiles: dict[str, Any], want: dict[str, Any]) -> bool:
    if not tiles:
        return False
    return (
        tiles["over-now"]["count"] == len(want["over-now"])
        and tiles["over-soon"]["count"] == len(want["over-soon"])
        and (tiles["alerts"]["critical"], tiles["alerts"]["warning"]) == (want["critical"], want["warning"])
        and tiles["cameras-down"]["count"] == len(want["cameras-down"])
        and all(f"({z})" in tiles["over-now"]["title"] for z in want["over-now"])
        and all(f"({z})" in tiles["over-soon"]["title"] for z in want["over-soon"])
        and all(f"({c})" in tiles["cameras-down"]["title"] for c in want["cameras-down"])
    )


def tokyo(t: float) -> str:
    return dt.datetime.fromtimestamp(t, ZoneInfo(SITE_TZ)).strftime("%H:%M")


def test_wall_summary_names_scale_and_site_time(
    central: CentralProcess,
    mqtt_client: Mqtt,  # noqa: F811
    browser: Any,  # noqa: F811
    tmp_path: Path,
) -> None:
    errors = ConsoleErrors()
    context = browser.new_context(viewport={"width": 1920, "height": 1080}, timezone_id=BROWSER_TZ)
    page = context.new_page()
    errors.watch(page)
    page.goto(central.url + "/")
    page.fill("#login-user", OPERATOR.username)
    page.fill("#login-pass", OPERATOR.password)
    page.click("#login-submit")
    page.wait_for_selector("body[data-conn='live']", timeout=15000)
    assert page.evaluate("Intl.DateTimeFormat().resolvedOptions().timeZone") == BROWSER_TZ

    # The signed-in user by name; the account and role in the tooltip.
    assert page.locator("#who").text_content() == OPERATOR_NAME
    assert "op7" in (page.get_attribute("#who", "title") or "")

    now = time.time()
    camera_online(mqtt_client, "cam2", now)  # heard once, then silent: stale after STALE_S
    camera_online(mqtt_client, "cam1", now)
    # Plaza: ten minutes rising 0.2 -> 0.8 (under its warning line 1.0, forecast over it within minutes).
    rising = [MetricPoint(now - 600 + 10 * i, 0.2 + 0.6 * i / 60) for i in range(61)]
    publish(mqtt_client, "plaza", rising, 0)
    gate_seq = 100_000  # sequence numbers are per camera: gate's must not repeat plaza's

    want: dict[str, Any] = {}
    tiles: dict[str, Any] = {}
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        # Gate over its warning line now; its readings also keep cam1 alive.
        gate_seq = publish(mqtt_client, "gate", [MetricPoint(time.time(), 1.5)], gate_seq)
        want = expected_summary(page, central.url)
        tiles = shown_summary(page)
        if (want["over-now"], want["over-soon"], want["cameras-down"]) == (["gate"], ["plaza"], ["cam2"]) and matches(
            tiles, want
        ):
            break
        time.sleep(1.0)
    # The state is the one designed, and the strip says what the API's data say.
    assert (want["over-now"], want["over-soon"], want["cameras-down"]) == (["gate"], ["plaza"], ["cam2"]), want
    assert matches(tiles, want), (tiles, want)
    # Display names on the tiles.
    assert "Gate A" in tiles["over-now"]["text"] and "Plaza" in tiles["over-soon"]["text"]
    assert "Kiosk camera" in tiles["cameras-down"]["text"]

    # Cameras by display name in the table and on the map; ids in tooltips only.
    for cam, name in CAMERA_NAMES.items():
        cell = page.locator(f"#cameras tr[data-camera='{cam}'] .cam-name")
        assert (cell.text_content() or "").startswith(name)
        assert cam in (cell.get_attribute("title") or "")
    assert page.locator("#map [data-camera='cam1'] .camera-name").text_content() == CAMERA_NAMES["cam1"]
    # The stale-camera alert names the camera as operators know it, the id once in parentheses.
    stale = page.locator("li[data-kind='stale'] .alert-message").first
    stale.wait_for(timeout=15000)
    stale_text = stale.text_content() or ""
    assert f"{CAMERA_NAMES['cam2']} (cam2)" in stale_text and stale_text.count("cam2") == 1, stale_text
    assert "Gate A" in (page.locator("li[data-kind='current'] .zone-link").first.text_content() or "")

    # Scale bar and north arrow; the bar's length on screen is what its label says, by the zone's own size.
    page.wait_for_selector("#map .scale-bar", state="visible")
    page.wait_for_selector("#map .north-arrow", state="visible")
    geometry = page.evaluate(
        """() => { const zone = document.querySelector('[data-zone="plaza"]').getBoundingClientRect();
                   const bar = document.querySelector('#map .scale-bar');
                   return { zoneW: zone.width, barW: bar.querySelector('.scale-bar-outline').getBoundingClientRect().width,
                            metres: Number(bar.dataset.metres), label: bar.querySelector('.scale-label').textContent }; }"""
    )
    plaza_width_m = ZONES["plaza"][5]
    assert geometry["barW"] * plaza_width_m / geometry["zoneW"] == pytest.approx(geometry["metres"], rel=0.03)
    assert geometry["label"] in (f"{geometry['metres']:g} m", f"{geometry['metres'] / 1000:g} km")

    # Site time: the header's clock and the chart's ticks are Tokyo's, not the browser's New York time.
    health = alert_api(page, central.url, "/healthz")[1]
    clock = page.locator("#site-clock").text_content() or ""
    match = re.fullmatch(r"(\d\d:\d\d) Asia/Tokyo", clock)
    assert match, clock
    assert match.group(1) in {tokyo(health["now"] - 60), tokyo(health["now"]), tokyo(health["now"] + 60)}
    assert tokyo(health["now"]) != dt.datetime.fromtimestamp(health["now"], ZoneInfo(BROWSER_TZ)).strftime("%H:%M")

    # The chart of plaza: its time axis starts at the first point of its history, not 30 minutes back.
    page.click("[data-zone='plaza']")
    page.wait_for_selector("#detail-chart .line-density[d^='M']")
    history = alert_api(page, central.url, "/api/zones/plaza/history?minutes=30")[1]["points"]
    chart = page.evaluate(
        """() => { const svg = document.querySelector('#detail-chart svg');
                   const d = svg.querySelector('.line-density').getAttribute('d');
                   return { t0: Number(svg.dataset.t0), firstX: Number(d.slice(1).split(',')[0]),
                            left: Number(svg.querySelector('line.grid').getAttribute('x1')),
                            ticks: [...svg.querySelectorAll('.axis-time')].map((t) => [Number(t.dataset.t), t.textContent]) }; }"""
    )
    assert chart["t0"] == pytest.approx(history[0]["measured_at"], abs=0.01)
    assert chart["firstX"] == pytest.approx(chart["left"], abs=0.5)
    assert chart["ticks"] and all(text == tokyo(t) for t, text in chart["ticks"])

    shots = screenshot_dir(tmp_path)
    page.screenshot(path=str(shots / "wall-1920.png"))

    # Laptop: the same figures, the strip and the alert text inside the window, no horizontal scrolling.
    page.set_viewport_size({"width": 1366, "height": 768})
    page.wait_for_timeout(500)
    assert matches(shown_summary(page), expected_summary(page, central.url))
    fits = page.evaluate(
        """() => { const w = window.innerWidth, h = window.innerHeight;
                   const inside = (el) => { const r = el.getBoundingClientRect(); return r.right <= w + 0.5 && r.bottom <= h + 0.5 && r.width > 0; };
                   return { strip: [...document.querySelectorAll('#summary li')].every(inside),
                            detail: [...document.querySelectorAll('.alert-detail')].slice(0, 1).every(inside),
                            scroll: document.documentElement.scrollWidth <= document.documentElement.clientWidth,
                            detailPx: parseFloat(getComputedStyle(document.querySelector('.alert-detail')).fontSize) }; }"""
    )
    assert fits["strip"] and fits["detail"] and fits["scroll"], fits
    page.screenshot(path=str(shots / "wall-1366.png"))
    page.set_viewport_size({"width": 1920, "height": 1080})
    page.wait_for_timeout(300)
    wall_px = page.evaluate("parseFloat(getComputedStyle(document.querySelector('.alert-detail')).fontSize)")
    # Alert text grows with the screen: large on the wall, smaller (but not small) on the laptop.
    assert wall_px > fits["detailPx"] >= 13
    assert wall_px >= 20
    assert errors.errors == []
