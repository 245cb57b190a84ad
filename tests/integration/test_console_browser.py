"""The alert console end to end: real central, real Mosquitto, real headless Chromium.

Edge metrics and OwnTracks positions go to the broker with paho; the page must show them live, raise
the forecast alert with its nearest patrol, let an operator acknowledge it and stop a viewer from
doing so. Any JavaScript console error fails the test. Screenshots go to the test's folder, or to
$CROWD_SCREENSHOT_DIR (docs/console-*.png come from the demo: scripts/screenshot_demo.py).
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.console import (
    CHROMIUM_ARGS,
    CentralProcess,
    ConsoleUser,
    MetricPoint,
    Mqtt,
    find_chromium,
    offset,
    owntracks,
    rectangle,
    zone_metrics,
)
from tests.support.mosquitto import MosquittoBroker, free_port

pytestmark = [pytest.mark.integration, pytest.mark.slow, pytest.mark.timeout(300)]

playwright_api = pytest.importorskip("playwright.sync_api")

SITE = "testsite"
PREFIX = "crowd/v1"
OPERATOR = ConsoleUser("op", "operator", "operator-pass-1", "CROWD_TEST_OPERATOR_PASSWORD")
VIEWER = ConsoleUser("watcher", "viewer", "viewer-pass-1", "CROWD_TEST_VIEWER_PASSWORD")
# Markup in names: the page must print it, never parse it.
PLAZA_NAME = 'Plaza <img src=x onerror="window.__xss=1">'
SECRET_ENV = "CROWD_TEST_TOKEN_SECRET"
EDGE_ZONE = {"plaza": "z1", "gate": "z2"}  # site zone id -> the camera's own zone id
PLAZA_AREA_M2 = 1200.0
GATE_AREA_M2 = 600.0


def central_config(broker: MosquittoBroker, workdir: Path) -> dict[str, Any]:
    return {
        "site": {"id": SITE, "name": "Test station <b>east</b>", "center": offset(0, 0)},
        "mqtt": {"host": broker.host, "port": broker.port, "topic_prefix": PREFIX},
        "database": {"url": f"sqlite:///{workdir / 'central.sqlite'}"},
        # A fixed signing secret, as production sets one: sessions survive a restart of central.
        "http": {"host": "127.0.0.1", "port": free_port(), "secret_env": SECRET_ENV},
        "users": [{"username": u.username, "role": u.role, "password_env": u.env} for u in (OPERATOR, VIEWER)],
        "zones": [
            {
                "id": "plaza",
                "name": PLAZA_NAME,
                "camera": "cam1",
                "edge_zone": EDGE_ZONE["plaza"],
                "polygon": rectangle(-40, 0, 40, 30),
                "thresholds": {"warning": 1.0, "critical": 2.0},
            },
            {
                "id": "gate",
                "name": "Gate A",
                "camera": "cam1",
                "edge_zone": EDGE_ZONE["gate"],
                "polygon": rectangle(5, 0, 30, 20),
                "thresholds": {"warning": 1.0, "critical": 2.0},
            },
        ],
        "alerts": {"pending_s": 0, "forecast_probability": 0.5, "camera_stale_s": 600},
        "forecast": {"step_s": 10, "horizon_s": 600},
    }


@pytest.fixture
def central(broker: MosquittoBroker, tmp_path: Path) -> Iterator[CentralProcess]:
    config = central_config(broker, tmp_path)
    process = CentralProcess(
        tmp_path / "central", config, [OPERATOR, VIEWER], {SECRET_ENV: "console-test-secret-0123456789"}
    )
    process.start()
    try:
        yield process
    finally:
        process.stop()


@pytest.fixture
def mqtt_client(broker: MosquittoBroker) -> Iterator[Mqtt]:
    client = Mqtt(broker.host, broker.port)
    try:
        yield client
    finally:
        client.close()


class ConsoleErrors:
    """Collects console errors and uncaught exceptions of every page it watches."""

    def __init__(self) -> None:
        self.errors: list[str] = []
        self.tolerate_network = False

    def watch(self, page: Any) -> None:
        def on_console(message: Any) -> None:
            if message.type != "error":
                return
            # While the test itself has the server down, the browser logs each refused reconnect.
            if self.tolerate_network and ("ERR_CONNECTION_REFUSED" in message.text or "Failed to load" in message.text):
                return
            self.errors.append(f"console: {message.text}")

        page.on("console", on_console)
        page.on("pageerror", lambda error: self.errors.append(f"page error: {error}"))

        def on_dialog(dialog: Any) -> None:
            # The page only opens a dialog when an action failed.
            self.errors.append(f"dialog: {dialog.message}")
            dialog.dismiss()

        page.on("dialog", on_dialog)


@pytest.fixture
def browser() -> Iterator[Any]:
    executable = find_chromium()
    if executable is None:
        pytest.skip("chromium is not installed (scripts/setup.sh installs it)")
    with playwright_api.sync_playwright() as p:
        instance = p.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            yield instance
        finally:
            instance.close()


def sign_in(
    browser: Any, central: CentralProcess, user: ConsoleUser, errors: ConsoleErrors, size: tuple[int, int]
) -> Any:
    context = browser.new_context(viewport={"width": size[0], "height": size[1]})
    page = context.new_page()
    errors.watch(page)
    page.goto(central.url + "/")
    page.fill("#login-user", user.username)
    page.fill("#login-pass", user.password)
    page.click("#login-submit")
    page.wait_for_selector("#app:not([hidden])")
    page.wait_for_selector("body[data-conn='live']", timeout=15000)
    page.wait_for_selector("[data-zone='plaza']")
    return page


def publish_series(client: Mqtt, zone: str, area_m2: float, points: list[MetricPoint], first_seq: int) -> int:
    edge_zone = EDGE_ZONE[zone]
    seq = first_seq
    for point in points:
        message = zone_metrics(SITE, "cam1", edge_zone, seq, area_m2, point)
        client.publish(f"{PREFIX}/{SITE}/cam1/zones/{edge_zone}/metrics", message)
        seq += 1
    return seq


def publish_camera_online(client: Mqtt, now: float) -> None:
    client.publish(
        f"{PREFIX}/{SITE}/cam1/status",
        {
            "schema": "crowd.status/1",
            "site": SITE,
            "camera": "cam1",
            "state": "online",
            "version": "test",
            "started_at": now - 900,
            "at": now,
        },
        retain=True,
    )
    client.publish(
        f"{PREFIX}/{SITE}/cam1/stats",
        {
            "schema": "crowd.stats/1",
            "site": SITE,
            "camera": "cam1",
            "at": now,
            "capture_fps": 25.0,
            "processed_fps": 7.5,
            "frames_dropped": 0,
            "frames_skipped": 0,
            "detector_ms": 40.0,
            "source_reconnects_1h": 0,
            "broker_reconnects_1h": 0,
            "buffered_messages": 0,
            "queue_dropped": 0,
            "cpu_percent": 80.0,
        },
    )


def zone_fill(page: Any, zone: str) -> tuple[str, str]:
    path = page.locator(f"[data-zone='{zone}']")
    return str(path.get_attribute("data-los")), str(path.get_attribute("fill"))


def alert_api(page: Any, base_url: str, path: str, method: str = "GET") -> tuple[int, Any]:
    """Call the API with the page's own cookies and CSRF header (outside the page, so a refusal is not a
    console error of the page)."""
    context = page.context
    csrf = next((c["value"] for c in context.cookies() if c["name"] == "crowd_csrf"), "")
    if method == "GET":
        response = context.request.get(base_url + path)
    else:
        response = context.request.post(base_url + path, headers={"X-CSRF-Token": csrf}, data={})
    body = response.json() if response.headers.get("content-type", "").startswith("application/json") else None
    return response.status, body


def screenshot_dir(tmp_path: Path) -> Path:
    """$CROWD_SCREENSHOT_DIR when set, else the test's folder."""
    target = Path(os.environ.get("CROWD_SCREENSHOT_DIR") or tmp_path / "screenshots")
    target.mkdir(parents=True, exist_ok=True)
    return target


def test_console_live_alert_ack_and_viewer(
    central: CentralProcess, mqtt_client: Mqtt, browser: Any, tmp_path: Path
) -> None:
    errors = ConsoleErrors()
    page = sign_in(browser, central, OPERATOR, errors, (1920, 1080))
    # No display name in this config: the username, with the role in the tooltip.
    assert page.locator("#who").text_content() == "op"
    assert page.locator("#who").get_attribute("title") == "Signed in as op (operator)"

    # No measurement yet: the zone is drawn, without a level.
    los, no_data_fill = zone_fill(page, "plaza")
    assert los == ""

    now = time.time()
    publish_camera_online(mqtt_client, now)
    # A patrol 60 m east of the plaza's east edge; the nearest-patrol list must name it.
    lon, lat = offset(60, 15)
    mqtt_client.publish("owntracks/alice/phone", owntracks(lon, lat, 6.0, now))

    # One quiet reading: level A.
    seq = publish_series(mqtt_client, "plaza", PLAZA_AREA_M2, [MetricPoint(now - 610, 0.1)], 0)
    page.wait_for_selector("[data-zone='plaza'][data-los='A']", timeout=20000)
    _, quiet_fill = zone_fill(page, "plaza")
    assert quiet_fill != no_data_fill

    # Ten minutes of steadily rising density, 0.2 -> 0.8 persons/m²: level D now, over 1.0 within minutes.
    rising = [MetricPoint(now - 600 + 10 * i, 0.2 + 0.6 * i / 60) for i in range(61)]
    seq = publish_series(mqtt_client, "plaza", PLAZA_AREA_M2, rising, seq)
    page.wait_for_selector("[data-zone='plaza'][data-los='D']", timeout=20000)
    _, busy_fill = zone_fill(page, "plaza")
    assert busy_fill not in (quiet_fill, no_data_fill)

    # The forecast alert appears, naming the patrol with a distance and an ETA.
    card = page.locator("li[data-kind='forecast']").filter(has_text="Plaza")
    card.wait_for(timeout=60000)
    patrol_row = card.locator(".near[data-patrol='alice']")
    patrol_row.wait_for(timeout=20000)
    assert (patrol_row.locator(".near-dist").text_content() or "").endswith(" m")
    assert "ETA" in (patrol_row.locator(".near-eta").text_content() or "")
    assert "Expected over 1.00/m²" in (card.locator(".alert-detail").text_content() or "")

    # The zone's markup-laden name is printed as text everywhere, never run.
    assert PLAZA_NAME in (card.locator(".zone-link").text_content() or "")
    assert page.evaluate("window.__xss") is None
    assert page.locator("#app img").count() == 0

    # Camera health shows the edge as online with its frame rates.
    page.wait_for_selector("tr[data-camera='cam1'].cam-online", timeout=20000)
    assert "7.5 / 25.0" in (page.locator("tr[data-camera='cam1']").text_content() or "")

    # The chart of the selected zone draws history, forecast band and both thresholds.
    page.click("[data-zone='plaza']")
    page.wait_for_selector("#detail-chart .line-density[d^='M']")
    page.wait_for_selector("#detail-chart .band-80")
    assert page.locator("#detail-chart .threshold").count() == 2

    # Region selection: a rectangle over both zones reports people now and in ten minutes.
    page.click("#tool-rect")
    box = page.locator("#map").bounding_box()
    assert box is not None
    page.mouse.move(box["x"] + 5, box["y"] + 5)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] - 5, box["y"] + box["height"] - 5, steps=4)
    page.mouse.up()
    page.wait_for_selector("#region-result:not([hidden]) #region-people")
    people = float(page.locator("#region-people").text_content() or "nan")
    assert people == pytest.approx(0.8 * PLAZA_AREA_M2, rel=0.05)
    page.click("#region-result .close")

    # The same with a polygon: corners by clicks, Enter to finish; a triangle over the plaza's half.
    page.click("#tool-poly")
    # Read the box in one step: live events redraw the map, so an element handle can go stale in between.
    left, top, right, bottom = page.evaluate(
        "(() => { const r = document.querySelector(\"[data-zone='plaza']\").getBoundingClientRect();"
        " return [r.left, r.top, r.right, r.bottom]; })()"
    )
    for x, y in [(left - 20, top - 20), (right + 2, bottom + 2), (left - 20, bottom + 20)]:
        page.mouse.click(x, y)
    page.keyboard.press("Enter")
    page.wait_for_selector("#region-result:not([hidden]) #region-people")
    half = float(page.locator("#region-people").text_content() or "nan")
    assert 0.3 * people < half < 0.7 * people
    page.click("#region-result .close")

    shots = screenshot_dir(tmp_path)
    page.screenshot(path=str(shots / "console-wall.png"))

    # Acknowledge: the card changes state and the server agrees.
    alert_id = card.get_attribute("data-alert")
    card.locator("button.ack").click()
    try:
        page.wait_for_selector(f"li[data-alert='{alert_id}'][data-state='acknowledged']", timeout=15000)
    finally:
        assert errors.errors == []
    status, stored = alert_api(page, central.url, "/api/alerts?state=all")
    assert status == 200
    assert [a["state"] for a in stored if a["id"] == alert_id] == ["acknowledged"]

    # A critical alert elsewhere rings: flashing banner and the alarm counter.
    publish_series(mqtt_client, "gate", GATE_AREA_M2, [MetricPoint(time.time(), 2.6)], 1000)
    page.wait_for_selector("#critical-banner:not([hidden])", timeout=30000)
    assert "Gate A" in (page.locator("#critical-text").text_content() or "")
    assert int(page.evaluate("document.body.dataset.alarms || '0'")) >= 1

    # Laptop size: everything reachable without horizontal scrolling.
    page.set_viewport_size({"width": 1366, "height": 768})
    page.wait_for_timeout(300)
    assert page.evaluate("document.documentElement.scrollWidth <= document.documentElement.clientWidth")
    page.screenshot(path=str(shots / "console-laptop.png"))

    # A viewer sees the alert but has no buttons, and the server refuses the action.
    viewer = sign_in(browser, central, VIEWER, errors, (1366, 768))
    viewer.wait_for_selector(f"li[data-alert='{alert_id}']")
    assert viewer.locator("button.ack, button.resolve, button.assign").count() == 0
    assert alert_api(viewer, central.url, f"/api/alerts/{alert_id}/resolve", "POST")[0] == 403
    # The same call with an operator's session goes through, so the 403 above is about the role.
    status, resolved = alert_api(page, central.url, f"/api/alerts/{alert_id}/resolve", "POST")
    assert (status, resolved["state"]) == (200, "resolved")

    assert errors.errors == []


def test_console_reconnects_after_server_restart(central: CentralProcess, mqtt_client: Mqtt, browser: Any) -> None:
    errors = ConsoleErrors()
    page = sign_in(browser, central, OPERATOR, errors, (1366, 768))
    now = time.time()
    publish_series(mqtt_client, "gate", GATE_AREA_M2, [MetricPoint(now - 5, 0.1)], 0)
    page.wait_for_selector("[data-zone='gate'][data-los='A']", timeout=20000)

    page.evaluate("window.__sameDocument = true")
    errors.tolerate_network = True
    central.stop()
    page.wait_for_selector("body:not([data-conn='live'])", timeout=20000)
    central.start()
    page.wait_for_selector("body[data-conn='live']", timeout=40000)
    errors.tolerate_network = False

    # Live updates flow again without a reload: the page is still the same document.
    publish_series(mqtt_client, "gate", GATE_AREA_M2, [MetricPoint(time.time(), 0.5)], 1)
    page.wait_for_selector("[data-zone='gate'][data-los='C']", timeout=20000)
    assert page.evaluate("window.__sameDocument") is True
    assert errors.errors == []


@pytest.fixture
def fast_central(broker: MosquittoBroker, tmp_path: Path) -> Iterator[CentralProcess]:
    """Central on a clock ten times faster than the wall's, agreeing with it ten minutes ago: its time is
    an hour and a half ahead of the browser's."""
    config = central_config(broker, tmp_path)
    config["clock"] = {"speed": 10.0, "start_s": time.time() - 600}
    process = CentralProcess(
        tmp_path / "central", config, [OPERATOR, VIEWER], {SECRET_ENV: "console-test-secret-0123456789"}
    )
    process.start()
    try:
        yield process
    finally:
        process.stop()


def test_console_keeps_central_time_on_an_accelerated_clock(
    fast_central: CentralProcess, mqtt_client: Mqtt, browser: Any
) -> None:
    errors = ConsoleErrors()
    page = sign_in(browser, fast_central, OPERATOR, errors, (1366, 768))
    # One reading measured at central's now: the detail follows the only zone with data.
    _, health = alert_api(page, fast_central.url, "/healthz")
    assert health["clock_speed"] == 10.0
    publish_series(mqtt_client, "gate", GATE_AREA_M2, [MetricPoint(health["now"], 0.5)], 0)
    page.wait_for_selector("[data-zone='gate'][data-los='C']", timeout=20000)
    page.wait_for_selector("#detail-chart line.now", state="attached")

    clocks = page.evaluate(
        """async () => {
            const { nowS } = await import('./clock.js');
            const page = nowS();
            const chart = Number(document.querySelector('#detail-chart line.now').dataset.t);
            const health = await (await fetch('/healthz')).json();
            return { page, chart, central: health.now, browser: Date.now() / 1000 };
        }"""
    )
    # Central is ~5400 s ahead of the browser; the page's estimate is within a round trip of it.
    assert clocks["central"] - clocks["browser"] > 5000
    assert clocks["page"] == pytest.approx(clocks["central"], abs=3.0)
    # The chart is redrawn every wall second: its "now" is at most ~10 central seconds behind.
    assert clocks["chart"] == pytest.approx(clocks["central"], abs=15.0)

    # Ages run at central's pace: a reading taken at central's now ages 10 s per wall second (on the
    # browser's clock it would stay "0 s", being in the browser's future).
    page.wait_for_function(
        "() => { const m = /^(\\d+) (s|min)$/.exec(document.querySelector('#detail-figures .fig-age b').textContent);"
        " return m !== null && Number(m[1]) * (m[2] === 'min' ? 60 : 1) >= 20; }",
        timeout=10000,
    )
    assert errors.errors == []
