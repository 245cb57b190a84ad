"""Issue 16 (3, 5) in real Chromium against real central and Mosquitto: the patrol panel (state, fix age,
assignment), the assigned patrol's line, a nearest list that keeps its order under GPS jitter, and forecast
alert text that matches the zone's current forecast."""

from __future__ import annotations

import time
from typing import Any

import pytest

from tests.integration.test_console_browser import (  # noqa: F401 (fixtures)
    OPERATOR,
    PLAZA_AREA_M2,
    ConsoleErrors,
    alert_api,
    browser,
    central,
    mqtt_client,
    publish_camera_online,
    publish_series,
    sign_in,
)
from tests.support.console import CentralProcess, MetricPoint, Mqtt, offset, owntracks

pytestmark = [pytest.mark.integration, pytest.mark.slow, pytest.mark.timeout(300)]


def nearest_ids(card: Any) -> list[str]:
    return [str(x) for x in card.locator(".near").evaluate_all("(rows) => rows.map((r) => r.dataset.patrol)")]


def test_patrol_panel_stable_nearest_assignment_and_alert_text(
    central: CentralProcess,  # noqa: F811
    mqtt_client: Mqtt,  # noqa: F811
    browser: Any,  # noqa: F811
) -> None:
    errors = ConsoleErrors()
    page = sign_in(browser, central, OPERATOR, errors, (1366, 768))
    now = time.time()
    publish_camera_online(mqtt_client, now)
    # Two patrols 5 m apart, east of the plaza, and one whose last fix is five minutes old.
    for pid, east in (("alice", 60.0), ("bob", 65.0)):
        mqtt_client.publish(f"owntracks/{pid}/phone", owntracks(*offset(east, 15), 6.0, now))
    mqtt_client.publish("owntracks/carol/phone", owntracks(*offset(200, 15), 8.0, now - 300))

    page.wait_for_selector("#patrols tr[data-patrol='carol'][data-state='stale']", timeout=20000)
    page.wait_for_selector("#patrols tr[data-patrol='alice'][data-state='online']")
    alice = page.locator("#patrols tr[data-patrol='alice']").text_content() or ""
    assert "±6 m" in alice and "free" in alice and " s" in alice
    assert "min" in (page.locator("#patrols tr[data-patrol='carol'] .patrol-age").text_content() or "")

    rising = [MetricPoint(now - 600 + 10 * i, 0.2 + 0.6 * i / 60) for i in range(61)]
    publish_series(mqtt_client, "plaza", PLAZA_AREA_M2, rising, 0)
    card = page.locator("li[data-kind='forecast']").first
    card.wait_for(timeout=60000)
    card.locator(".near[data-patrol='bob']").wait_for(timeout=20000)
    order = nearest_ids(card)
    assert order[:2] == ["alice", "bob"]

    # GPS jitter: bob drifts 4 m nearer than alice and back; the list the operator reads must not move.
    for i in range(6):
        t = time.time()
        a_east, b_east = (60.0, 56.0) if i % 2 == 0 else (63.0, 61.0)
        mqtt_client.publish("owntracks/alice/phone", owntracks(*offset(a_east, 15), 6.0, t))
        mqtt_client.publish("owntracks/bob/phone", owntracks(*offset(b_east, 15), 6.0, t))
        time.sleep(0.7)
        assert nearest_ids(card) == order
        status, alerts = alert_api(page, central.url, "/api/alerts")
        assert status == 200
        api_order = [p["id"] for a in alerts if a["kind"] == "forecast" for p in a["patrols"]]
        assert api_order == order

    # The text speaks from the zone's current forecast: its next threshold and that threshold's probability.
    for _ in range(10):
        text = card.locator(".alert-detail").text_content() or ""
        _, zones = alert_api(page, central.url, "/api/zones")
        zone = next(z for z in zones if z["id"] == "plaza")
        density = zone["latest"]["density"]
        th = zone["thresholds"]
        name, threshold = ("warning", th["warning"]) if density < th["warning"] else ("critical", th["critical"])
        p = next(c["probability"] for c in zone["forecast"]["crossings"] if c["name"] == name)
        if f"{threshold:.2f}/m²" in text and f"p {round(p * 100)} %" in text and f"Now {density:.2f}/m²" in text:
            break
        time.sleep(0.5)
    else:
        pytest.fail(f"alert text {text!r} does not match the forecast {zone['forecast']['crossings']}")

    # Assign the first listed patrol: it is the one marked in the panel and joined to the zone on the map.
    card.locator(f".near[data-patrol='{order[0]}'] .assign").click()
    page.wait_for_selector(f"#patrols tr[data-patrol='{order[0]}'].patrol-assigned", timeout=10000)
    page.wait_for_selector(
        f".assignment[data-patrol='{order[0]}'][data-zone='plaza'] .assignment-line", state="attached"
    )
    assert page.locator(".assignment").count() == 1

    # Fit frames the patrols as well as the zones.
    page.click("#map-fit")
    page.wait_for_timeout(300)
    inside = page.evaluate(
        """() => { const svg = document.getElementById('map').getBoundingClientRect();
                   return [...document.querySelectorAll('.patrol .patrol-dot')].every((d) => {
                     const r = d.getBoundingClientRect();
                     return r.left >= svg.left && r.right <= svg.right && r.top >= svg.top && r.bottom <= svg.bottom; }); }"""
    )
    assert inside
    assert errors.errors == []
