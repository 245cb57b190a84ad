"""Issue 16 in the console, end to end (real central, real Mosquitto, real headless Chromium).

An acknowledged alert that escalates rings again (the sound call observed in `window.__alarms`), comes
back to the top of the list and must be acknowledged anew; when it steps back down (de-escalated) it stays
acknowledged and nothing rings, and when it turns critical a second time it rings again. An edge whose metrics stop, then whose process
is killed (its MQTT will says offline), turns its camera stale then offline on the page within central's
stale time, greys its zones with "no data since hh:mm", and raises one stale alert for the camera (not
one per zone), without nearest patrols, listed below the crowd alert.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.integration.test_console_browser import (
    GATE_AREA_M2,
    OPERATOR,
    PLAZA_AREA_M2,
    PREFIX,
    SECRET_ENV,
    SITE,
    VIEWER,
    ConsoleErrors,
    alert_api,
    browser,
    central_config,
    mqtt_client,
    publish_series,
    sign_in,
)
from tests.support.console import CentralProcess, MetricPoint, Mqtt, offset, owntracks
from tests.support.mosquitto import MosquittoBroker

pytestmark = [pytest.mark.integration, pytest.mark.slow, pytest.mark.timeout(300)]
__all__ = ["browser", "mqtt_client"]  # fixtures used by name

STALE_S = 6.0  # central's camera silence limit in these tests
KEEP_FIRING_S = 2.0  # central's step-down (and clear) hold in these tests, data seconds


@pytest.fixture
def central(broker: MosquittoBroker, tmp_path: Path) -> Iterator[CentralProcess]:
    config = central_config(broker, tmp_path)
    config["alerts"]["camera_stale_s"] = STALE_S
    # A lower level held this long (data time) steps an alert down: short, so the test can walk it down.
    config["alerts"]["keep_firing_s"] = KEEP_FIRING_S
    process = CentralProcess(
        tmp_path / "central", config, [OPERATOR, VIEWER], {SECRET_ENV: "console-test-secret-0123456789"}
    )
    process.start()
    try:
        yield process
    finally:
        process.stop()


def alarms(page: Any) -> list[dict[str, Any]]:
    return list(page.evaluate("window.__alarms || []"))


def test_an_acknowledged_alert_that_escalates_rings_and_returns_to_the_top(
    central: CentralProcess, mqtt_client: Mqtt, browser: Any
) -> None:
    errors = ConsoleErrors()
    page = sign_in(browser, central, OPERATOR, errors, (1366, 768))
    now = time.time()
    # Gate over its warning level, then the plaza over its critical level (a newer critical alert).
    publish_series(mqtt_client, "gate", GATE_AREA_M2, [MetricPoint(now - 60, 1.5)], 0)
    gate = page.locator("li[data-kind='current']").filter(has_text="Gate A")
    gate.wait_for(timeout=20000)
    gate_id = gate.get_attribute("data-alert")
    publish_series(mqtt_client, "plaza", PLAZA_AREA_M2, [MetricPoint(now - 50, 2.6)], 100)
    page.wait_for_selector("li[data-kind='current'].alert-critical", timeout=20000)

    gate.locator("button.ack").click()
    page.wait_for_selector(f"li[data-alert='{gate_id}'][data-state='acknowledged']", timeout=15000)
    # Acknowledged and a warning: below the plaza's open critical alert.
    assert page.locator("#alerts > li").first.get_attribute("data-alert") != gate_id
    rung_before = len(alarms(page))

    # The gate escalates to critical: it rings with the critical pattern although it was acknowledged...
    publish_series(mqtt_client, "gate", GATE_AREA_M2, [MetricPoint(now - 40, 2.6)], 1)
    page.wait_for_function(
        f"() => (window.__alarms || []).some((a) => a.alert === '{gate_id}' && a.reason === 'escalated')",
        timeout=20000,
    )
    rung = [a for a in alarms(page)[rung_before:] if a["alert"] == gate_id]
    assert [(a["level"], a["pattern"], a["reason"]) for a in rung] == [("critical", "critical", "escalated")]
    assert page.locator("#critical-banner").is_hidden() is False
    assert "Gate A" in (page.locator("#critical-text").text_content() or "")

    # ...comes back to the top of the list, above the newer critical alert, and asks for a new ack.
    page.wait_for_selector(f"#alerts > li:first-child[data-alert='{gate_id}'][data-state='open']", timeout=10000)
    first = page.locator("#alerts > li").first
    assert "acknowledge again" in (first.locator(".state").text_content() or "")
    status, stored = alert_api(page, central.url, f"/api/alerts/{gate_id}")
    assert status == 200 and (stored["state"], stored["level"]) == ("open", "critical")
    assert [h["action"] for h in stored["history"]] == ["opened", "acknowledged", "escalated"]

    first.locator("button.ack").click()
    page.wait_for_selector(f"li[data-alert='{gate_id}'][data-state='acknowledged']", timeout=15000)

    # The gate falls back to its warning level and holds it for keep_firing_s: the alert steps down
    # (de-escalated), stays acknowledged, and the console records that silently.
    rung_before = len(alarms(page))
    publish_series(
        mqtt_client,
        "gate",
        GATE_AREA_M2,
        [MetricPoint(now - 30, 1.5), MetricPoint(now - 30 + KEEP_FIRING_S + 1, 1.5)],
        2,
    )
    page.wait_for_selector(f"li[data-alert='{gate_id}'].alert-warning[data-state='acknowledged']", timeout=20000)
    status, stored = alert_api(page, central.url, f"/api/alerts/{gate_id}")
    assert status == 200 and (stored["state"], stored["level"]) == ("acknowledged", "warning")
    assert [h["action"] for h in stored["history"]][-2:] == ["acknowledged", "de-escalated"]
    page.wait_for_timeout(1000)  # a ring for the step down would have come with the card
    assert [a for a in alarms(page)[rung_before:] if a["alert"] == gate_id] == []

    # Critical again: the second escalation rings as the first did (the alarm compares with the level last
    # seen, not the highest), and the alert re-opens.
    publish_series(mqtt_client, "gate", GATE_AREA_M2, [MetricPoint(now - 20, 2.6)], 4)
    page.wait_for_function(
        f"() => (window.__alarms || []).slice({rung_before}).some((a) => a.alert === '{gate_id}' && a.reason === 'escalated')",
        timeout=20000,
    )
    rung = [a for a in alarms(page)[rung_before:] if a["alert"] == gate_id]
    assert [(a["level"], a["reason"]) for a in rung] == [("critical", "escalated")]
    page.wait_for_selector(f"li[data-alert='{gate_id}'].alert-critical[data-state='open']", timeout=10000)
    assert page.locator("#critical-banner").is_hidden() is False
    status, stored = alert_api(page, central.url, f"/api/alerts/{gate_id}")
    assert (stored["state"], stored["level"]) == ("open", "critical")
    actions = [h["action"] for h in stored["history"]]
    assert actions == ["opened", "acknowledged", "escalated", "acknowledged", "de-escalated", "escalated"]
    assert errors.errors == []


EDGE_SCRIPT = """
import json, sys, time
import paho.mqtt.client as mqtt
host, port, prefix, site = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
from tests.support.console import MetricPoint, zone_metrics
status = lambda state: json.dumps({"schema": "crowd.status/1", "site": site, "camera": "cam1", "state": state,
                                   "version": "test", "started_at": time.time(), "at": time.time()})
c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="fake-edge-cam1")
# As the edge does (edge/mqtt_client.py): the broker announces it offline when the process dies.
c.will_set(f"{prefix}/{site}/cam1/status", status("offline"), qos=1, retain=True)
c.connect(host, port, keepalive=60)
c.loop_start()
c.publish(f"{prefix}/{site}/cam1/status", status("online"), qos=1, retain=True).wait_for_publish(10)
seq = 0
while True:
    # The edge numbers its messages per camera: central drops a repeated (site, camera, seq).
    for zone, edge_zone, area, density in (("plaza", "z1", 1200.0, 1.5), ("gate", "z2", 600.0, 0.5)):
        msg = zone_metrics(site, "cam1", edge_zone, seq, area, MetricPoint(time.time(), density))
        c.publish(f"{prefix}/{site}/cam1/zones/{edge_zone}/metrics", json.dumps(msg), qos=1).wait_for_publish(10)
        seq += 1
    print("sent", flush=True)
    time.sleep(1.0)
"""


@pytest.fixture
def edge(broker: MosquittoBroker) -> Iterator[subprocess.Popen[str]]:
    """A stand-in edge process: status with an MQTT will, metrics every second, until stopped or killed."""
    root = Path(__file__).resolve().parents[2]
    proc = subprocess.Popen(
        [sys.executable, "-c", EDGE_SCRIPT, broker.host, str(broker.port), PREFIX, SITE],
        cwd=root,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(root)},
    )
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "sent"
        yield proc
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=10)


def test_a_silent_then_killed_edge_greys_its_zones_with_one_stale_alert(
    central: CentralProcess, mqtt_client: Mqtt, browser: Any, edge: subprocess.Popen[str]
) -> None:
    errors = ConsoleErrors()
    page = sign_in(browser, central, OPERATOR, errors, (1366, 768))
    lon, lat = offset(60, 15)
    mqtt_client.publish("owntracks/alice/phone", owntracks(lon, lat, 6.0, time.time()))
    page.wait_for_selector("tr[data-camera='cam1'].cam-online", timeout=20000)
    page.wait_for_selector("[data-zone='plaza'][data-los='E']", timeout=20000)
    page.wait_for_selector("[data-zone='gate'][data-los='C']", timeout=20000)
    crowd = page.locator("li[data-kind='current']").filter(has_text="Plaza")
    crowd.locator(".near[data-patrol='alice']").wait_for(timeout=20000)

    # The edge stops sending (process frozen, its connection still open): stale within central's limit.
    edge.send_signal(signal.SIGSTOP)
    stopped_at = time.time()
    page.wait_for_selector("tr[data-camera='cam1'].cam-stale", timeout=(STALE_S + 6) * 1000)
    for zone in ("plaza", "gate"):
        page.wait_for_selector(f"[data-zone='{zone}'].zone-stale[data-los='']", timeout=5000)
        assert page.locator(f"[data-zone='{zone}']").get_attribute("data-silent-since") not in ("", None)
    assert time.time() - stopped_at < STALE_S + 8
    labels = page.locator("#map").text_content() or ""
    assert "no data since" in labels and "ppl" not in labels
    page.click("[data-zone='plaza']")
    page.wait_for_selector("#detail-figures .fig-silent")
    assert "no data since" in (page.locator("#detail-figures").text_content() or "")

    # One stale alert for the camera, without patrols, below the crowd alert.
    stale = page.locator("li[data-kind='stale']")
    stale.first.wait_for(timeout=10000)
    page.wait_for_timeout(1500)  # a second per-zone alert would have come by now
    assert stale.count() == 1
    assert stale.locator(".alert-patrols, .near").count() == 0
    kinds = [li.get_attribute("data-kind") for li in page.locator("#alerts > li").all()]
    assert kinds.index("stale") > kinds.index("current")
    _, stored = alert_api(page, central.url, "/api/alerts")
    stale_alerts = [a for a in stored if a["kind"] == "stale"]
    assert len(stale_alerts) == 1 and stale_alerts[0]["patrols"] == []
    assert "cam1" in stale_alerts[0]["message"]

    # The edge process dies: the broker sends its will, the camera is offline, its zones stay grey.
    edge.send_signal(signal.SIGKILL)
    page.wait_for_selector("tr[data-camera='cam1'].cam-offline", timeout=15000)
    page.wait_for_selector("[data-zone='plaza'].zone-stale[data-los='']")
    _, stored = alert_api(page, central.url, "/api/alerts")
    assert len([a for a in stored if a["kind"] == "stale"]) == 1
    assert errors.errors == []
