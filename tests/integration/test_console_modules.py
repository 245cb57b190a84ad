"""The console's modules in a real Chromium, served as plain static files (no central needed).

Checks the parts that need no server: the map projection, the palette's order, that markup in zone,
patrol and camera names is shown as text and never parsed, the alarm's once-per-alert rule and its escalation
rule (again after a silent step down), camera liveness on central's clock, and the chart.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any

import pytest

from tests.support.console_modules import static_console_page

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]

MARKUP = '<img src=x onerror="window.__xss=1"><b>bold</b>'


@pytest.fixture(scope="module")
def page() -> Iterator[Any]:
    with static_console_page() as tab:
        yield tab


def test_projection_round_trip_and_scale(page: Any) -> None:
    result = page.evaluate(
        """async () => {
            const { makeProjection } = await import('./map.js');
            const p = makeProjection([7.4474, 46.948]);
            const east = p.toXY(7.4474 + 100 / (111320 * Math.cos(46.948 * Math.PI / 180)), 46.948);
            const north = p.toXY(7.4474, 46.948 + 50 / 110574);
            const back = p.toLonLat(...p.toXY(7.45, 46.95));
            return { east, north, back };
        }"""
    )
    assert result["east"][0] == pytest.approx(100, abs=1e-6)
    assert result["north"][1] == pytest.approx(-50, abs=1e-6)  # SVG y grows downwards
    assert result["back"] == pytest.approx([7.45, 46.95], abs=1e-12)


def test_palette_lightness_falls_from_a_to_f(page: Any) -> None:
    result = page.evaluate(
        """async () => {
            const { losColour, losLetters, NO_DATA_COLOUR } = await import('./palette.js');
            const letters = losLetters({ F: 2.17, A: 0, C: 0.43, B: 0.31, E: 1.08, D: 0.72 });
            return { letters, colours: letters.map((l) => losColour(l, letters)),
                     unknown: losColour('Z', letters), noData: NO_DATA_COLOUR,
                     three: ['low', 'mid', 'high'].map((l) => losColour(l, ['low', 'mid', 'high'])) };
        }"""
    )
    assert result["letters"] == ["A", "B", "C", "D", "E", "F"]

    def lightness(hex_colour: str) -> float:
        r, g, b = (int(hex_colour[i : i + 2], 16) for i in (1, 3, 5))
        return 0.2126 * r + 0.7152 * g + 0.0722 * b

    values = [lightness(c) for c in result["colours"]]
    assert all(a > b for a, b in itertools.pairwise(values)), values
    assert result["unknown"] == result["noData"]
    # Fewer bands still span light to dark.
    assert result["three"][0] == result["colours"][0]
    assert result["three"][-1] == result["colours"][-1]


def test_markup_in_names_is_text(page: Any) -> None:
    texts = page.evaluate(
        """async (markup) => {
            const { AlertList } = await import('./alerts.js');
            const { SiteMap, makeProjection } = await import('./map.js');
            const { renderCameras } = await import('./panels.js');
            const list = new AlertList({ zoneName: () => markup, patrolName: () => markup, canChange: () => true,
                                         act: () => {}, onSelectZone: () => {} });
            const now = Date.now() / 1000;
            list.render([{ id: 'a1', zone: 'z', kind: 'forecast', level: 'critical', state: 'open', opened_at: now - 90,
                           updated_at: now, value: 1.4, threshold: 1.0, expected_crossing_at: now + 300, probability: 0.8,
                           message: markup, assigned_patrol: null, history: [],
                           patrols: [{ id: 'p1', distance_m: 120, eta_s: 86, stale: false }] }]);
            renderCameras([{ site: 's', camera: markup, state: 'online', last_seen: now, processed_fps: 7, capture_fps: 25 }]);
            const svg = document.createElementNS('http://www.w3.org/2000/svg', 'svg');
            svg.style.cssText = 'width:600px;height:400px;display:block';
            document.body.append(svg);
            const map = new SiteMap(svg, { onSelectZone() {}, onRegion() {}, onHint() {}, onToolEnded() {} });
            const proj = makeProjection([7.4474, 46.948]);
            const ring = [[-20, -20], [20, -20], [20, 20], [-20, 20]].map(([x, y]) => proj.toLonLat(x, y));
            map.setSite({ center: [7.4474, 46.948], los_bands: { A: 0, B: 0.31 }, basemap: null, tile_url: null });
            map.update({ zones: [{ id: 'z', name: markup, camera: 'c', polygon: ring, area_m2: 1600,
                                   latest: { los: 'B', density: 0.4, count: 640, stale: false } }],
                         cameras: [{ camera: markup, state: 'online' }],
                         patrols: [{ id: 'p1', name: markup, lon: 7.4474, lat: 46.948, acc_m: 5, stale: false, track: [] }],
                         alertZones: new Set(['z']), selectedZone: 'z' });
            await new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
            return { alerts: document.getElementById('alerts').textContent,
                     cameras: document.getElementById('cameras').textContent,
                     map: svg.textContent,
                     parsed: document.querySelectorAll('img, b').length,
                     xss: window.__xss ?? null };
        }""",
        MARKUP,
    )
    assert texts["parsed"] == 0
    assert texts["xss"] is None
    assert MARKUP in texts["alerts"]
    assert MARKUP in texts["cameras"]
    assert "<img" in texts["map"]  # zone and patrol labels, possibly shortened to fit


def test_alarm_rings_once_per_new_critical_alert(page: Any) -> None:
    result = page.evaluate(
        """async () => {
            const { Alarm } = await import('./alerts.js');
            const alarm = new Alarm();
            const banner = document.getElementById('critical-banner');
            const count = () => Number(document.body.dataset.alarms || 0);
            const start = count();
            const alert = { id: 'c1', kind: 'current', level: 'critical', state: 'open' };
            alarm.consider({ ...alert, level: 'warning' }, 'Gate');
            const afterWarning = [count() - start, banner.hidden];
            alarm.consider(alert, 'Gate');
            const afterCritical = [count() - start, banner.hidden, document.getElementById('critical-text').textContent];
            alarm.consider(alert, 'Gate');  // the same alert again, e.g. after a refetch
            const afterRepeat = count() - start;
            alarm.consider({ ...alert, state: 'acknowledged' }, 'Gate');
            const afterAck = banner.hidden;
            clearInterval(alarm.timer);
            return { afterWarning, afterCritical, afterRepeat, afterAck };
        }"""
    )
    assert result["afterWarning"] == [0, True]
    assert result["afterCritical"][:2] == [1, False]
    assert "Gate" in result["afterCritical"][2]
    assert result["afterRepeat"] == 1
    assert result["afterAck"] is True


def test_chart_draws_history_forecast_and_thresholds(page: Any) -> None:
    result = page.evaluate(
        """async () => {
            const { renderZoneChart } = await import('./chart.js');
            const box = document.createElement('div');
            box.style.cssText = 'position:relative;width:800px;height:260px';
            document.body.append(box);
            const now = Date.now() / 1000;
            const points = Array.from({ length: 30 }, (_, i) => ({ measured_at: now - 600 + 20 * i, density: 0.2 + 0.02 * i,
                                                                   speed_p50: 1.1, speed_p85: 1.4, stale: false }));
            const times = Array.from({ length: 60 }, (_, i) => now + 10 * (i + 1));
            const yhat = times.map((_, i) => 0.8 + 0.005 * i);
            const zone = { name: 'Z', area_m2: 1000, thresholds: { warning: 1, critical: 2 },
                           forecast: { times, yhat, lo80: yhat.map((y) => y - 0.1), hi80: yhat.map((y) => y + 0.1),
                                       lo95: yhat.map((y) => y - 0.2), hi95: yhat.map((y) => y + 0.2), crossings: [] } };
            renderZoneChart(box, { zone, points, now });
            const full = { density: box.querySelector('.line-density').getAttribute('d').split('L').length,
                           band: Boolean(box.querySelector('.band-80')?.getAttribute('d')),
                           thresholds: box.querySelectorAll('.threshold').length,
                           empty: Boolean(box.querySelector('.chart-empty')) };
            renderZoneChart(box, { zone: { ...zone, forecast: null }, points: [], now });
            return { full, emptyShown: Boolean(box.querySelector('.chart-empty')), band: Boolean(box.querySelector('.band-80')) };
        }"""
    )
    assert result["full"] == {"density": 30, "band": True, "thresholds": 2, "empty": False}
    assert result["emptyShown"] is True
    assert result["band"] is False


def test_server_clock_estimate_runs_at_central_speed(page: Any) -> None:
    result = page.evaluate(
        """async () => {
            const { ServerClock, estimateNow, sampleOf } = await import('./clock.js');
            // Pure estimate: 2.5 s of wall time at x10 is 25 s of central's time.
            const pure = estimateNow({ serverNowS: 1000, perfAtMs: 500, speed: 10 }, 3000);
            // A clock fed by a twin of /healthz and a hand-driven performance.now().
            let perf = 100;
            const readings = [{ now: 5000, clock_speed: 10 }, { now: 9000, clock_speed: 1 }];
            const clock = new ServerClock(async () => { perf += 40; return readings.shift(); }, () => perf);
            const before = clock.now();  // browser time until the first reading
            await clock.sync();          // read at perf 100..140: the middle is 120
            perf = 1120;
            const afterOneSecond = [clock.now(), clock.speed];
            await clock.sync();          // central restarted at x1
            perf += 2000;
            const restarted = [clock.now(), clock.speed];
            const failing = new ServerClock(async () => { throw new Error('down'); }, () => perf);
            const failed = await failing.sync();
            return { pure, before, afterOneSecond, restarted, failed,
                     noTime: sampleOf({ status: 'degraded' }, 0), badSpeed: sampleOf({ now: 1, clock_speed: 0 }, 0).speed,
                     browser: Date.now() / 1000 };
        }"""
    )
    assert result["pure"] == pytest.approx(1025.0)
    assert result["before"] == pytest.approx(result["browser"], abs=5)
    # One wall second after the reading's midpoint at x10: ten seconds of central's time.
    assert result["afterOneSecond"] == [pytest.approx(5010.0), 10]
    # The second reading (perf 1120..1160, middle 1140), read at perf 3160: 2.02 s later at x1.
    assert result["restarted"] == [pytest.approx(9002.02), 1]
    assert result["failed"] is False
    assert result["noTime"] is None
    assert result["badSpeed"] == 1


def test_alarm_reason_rings_on_every_escalation_whatever_the_state(page: Any) -> None:
    result = page.evaluate(
        """async () => {
            const { alarmReason } = await import('./alarm.js');
            const a = { id: 'a', kind: 'current', level: 'critical', state: 'acknowledged' };
            return {
                ackedEscalation: alarmReason(a, 1),
                assignedEscalation: alarmReason({ ...a, state: 'assigned' }, 1),
                sameLevel: alarmReason(a, 2),
                closed: alarmReason({ ...a, state: 'cleared' }, 1),
                forecastCameTrue: alarmReason({ ...a, level: 'warning', state: 'open' }, undefined, true),
                newWarning: alarmReason({ ...a, level: 'warning', state: 'open' }, undefined, false),
                newCritical: alarmReason({ ...a, state: 'open' }, undefined),
            };
        }"""
    )
    assert result == {
        "ackedEscalation": "escalated",
        "assignedEscalation": "escalated",
        "sameLevel": None,
        "closed": None,
        "forecastCameTrue": "forecast-now-current",
        "newWarning": None,
        "newCritical": "new-critical",
    }


def test_alarm_rings_again_after_a_silent_step_down(page: Any) -> None:
    # Alerts step down as well as up (a "de-escalated" audit step): the alarm compares with the level
    # last seen, not the highest, so critical -> warning -> critical rings twice and the step down is silent.
    result = page.evaluate(
        """async () => {
            const { Alarm, alarmStep } = await import('./alarm.js');
            const step = (action, level) => ({ at: 0, action, by: 'system', detail: level });
            const opened = { id: 'd', kind: 'current', level: 'warning', state: 'open', history: [step('opened', 'warning')] };
            const acked = { ...opened, state: 'acknowledged', history: [...opened.history, step('acknowledged')] };
            const up = { ...acked, level: 'critical', state: 'open', history: [...acked.history, step('escalated', 'critical')] };
            const upAcked = { ...up, state: 'acknowledged', history: [...up.history, step('acknowledged')] };
            const down = { ...upAcked, level: 'warning', history: [...upAcked.history, step('de-escalated', 'warning')] };
            const upAgain = { ...down, level: 'critical', state: 'open', history: [...down.history, step('escalated', 'critical')] };
            // Pure: each sighting against the last one.
            const reasons = [];
            let last;
            for (const a of [opened, acked, up, upAcked, down, down, upAgain, upAgain]) {
                const r = alarmStep(a, last);
                reasons.push(r.reason);
                last = r.last;
            }
            // An older copy (a refetch answered after the newer event) neither rings nor lowers the level
            // remembered, so the next sighting of the newer one does not ring twice.
            const stale = alarmStep(upAcked, { rank: 1, steps: down.history.length });
            const late = alarmStep(down, { rank: 2, steps: upAgain.history.length });
            const afterLate = alarmStep({ ...upAgain, value: 3 }, late.last);
            // A step down whose audit step central did not store (same history length): still a step down.
            const unrecorded = [upAcked, { ...upAcked, level: 'warning' }, { ...upAgain, history: [...upAcked.history, step('escalated')] }];
            const unrecordedReasons = [];
            let seen;
            for (const a of unrecorded) {
                const r = alarmStep(a, seen);
                unrecordedReasons.push(r.reason);
                seen = r.last;
            }
            // The Alarm itself, as the page drives it.
            const alarm = new Alarm();
            const rung = () => window.__alarms.filter((x) => x.alert === 'd').map((x) => x.reason);
            for (const a of [opened, acked, up, upAcked, down]) alarm.consider(a, 'Gate');
            const beforeAgain = rung();
            const bannerAfterDown = document.getElementById('critical-banner').hidden;
            alarm.consider(upAgain, 'Gate');
            const after = rung();
            const banner = [document.getElementById('critical-banner').hidden, document.getElementById('critical-text').textContent];
            alarm.seen();
            clearInterval(alarm.timer);
            return { reasons, unrecordedReasons, stale, late, afterLate: afterLate.reason, beforeAgain, bannerAfterDown, after, banner };
        }"""
    )
    assert result["reasons"] == [None, None, "escalated", None, None, None, "escalated", None]
    assert result["unrecordedReasons"] == [None, None, "escalated"]
    assert result["stale"] == {"reason": None, "last": {"rank": 1, "steps": 5}}
    assert result["late"]["reason"] is None and result["late"]["last"] == {"rank": 2, "steps": 6}
    assert result["afterLate"] is None
    assert result["beforeAgain"] == ["escalated"]
    assert result["bannerAfterDown"] is True  # acknowledged before it stepped down: nothing pending
    assert result["after"] == ["escalated", "escalated"]
    assert result["banner"][0] is False and "CRITICAL" in result["banner"][1] and "escalated" in result["banner"][1]


def test_camera_state_ages_on_centrals_clock_and_greys_a_silent_cameras_zones(page: Any) -> None:
    result = page.evaluate(
        """async () => {
            const { cameraState, silentCameras, zoneAsShown } = await import('./liveness.js');
            const cam = { site: 's', camera: 'c1', state: 'online', last_seen: 1000, stale_after_s: 30 };
            const silent = silentCameras([{ ...cam, state: cameraState(cam, 1031) }]);
            const zone = { id: 'z', camera: 'c1', latest: { measured_at: 995, count: 12, stale: false } };
            const shown = zoneAsShown(zone, silent);
            return {
                fresh: cameraState(cam, 1029), late: cameraState(cam, 1031),
                offline: cameraState({ ...cam, state: 'offline' }, 1001),
                since: shown.silentSince, stale: shown.latest.stale, original: zone.latest.stale,
                live: zoneAsShown(zone, new Map()) === zone,
            };
        }"""
    )
    assert result == {
        "fresh": "online",
        "late": "stale",
        "offline": "offline",
        "since": 995,
        "stale": True,
        "original": False,
        "live": True,
    }


def test_alert_text_follows_the_current_forecast_and_level(page: Any) -> None:
    """Issue 16 (3): next threshold and when from the forecast the chart draws; 'falling' when it falls."""
    out = page.evaluate(
        """async () => {
            const { outlook } = await import('./alert_text.js');
            const th = { warning: 1.0, critical: 1.5 };
            const times = Array.from({ length: 12 }, (_, i) => 1000 + 60 * (i + 1));
            const rising = { times, yhat: times.map((_, i) => 1.41 + 0.03 * (i + 1)),
                             crossings: [{ name: 'critical', threshold: 1.5, probability: 0.7, expected_time: 1240 }] };
            const falling = { times, yhat: times.map((_, i) => 1.41 - 0.08 * (i + 1)),
                              crossings: [{ name: 'critical', threshold: 1.5, probability: 0.05, expected_time: null }] };
            const zone = (f, d) => ({ thresholds: th, latest: { density: d }, forecast: f });
            return { rising: outlook(zone(rising, 1.41), 1000), falling: outlook(zone(falling, 1.41), 1000),
                     over: outlook(zone(falling, 1.7), 1000).text, none: outlook({ thresholds: th }, 1000) };
        }"""
    )
    # At 1.41 (over warning) the next line is critical 1.5: the forecast's path reaches it at its 3rd step.
    assert out["rising"]["text"].startswith("Expected over 1.50/m² in ~3 min, p 70 %")
    assert "1.00" not in out["rising"]["text"]
    assert out["falling"]["inS"] is None and out["falling"]["trend"] == "falling"
    assert "falling" in out["falling"]["text"] and "p 5 %" in out["falling"]["text"]
    assert "over critical 1.50/m²" in out["over"] and "falling" in out["over"]
    assert out["none"] is None


def test_zone_colour_and_alert_severity_share_one_scale(page: Any) -> None:
    out = page.evaluate(
        """async () => {
            const { densityLevel, zoneColour } = await import('./severity.js');
            const th = { warning: 1.0, critical: 1.5 };
            const css = getComputedStyle(document.documentElement);
            return { levels: [0.1, 0.99, 1.0, 1.49, 1.5].map((d) => densityLevel(d, th)),
                     colours: [0.1, 0.8, 1.2, 1.7].map((d) => zoneColour(d, th)),
                     warning: css.getPropertyValue('--warning').trim(), critical: css.getPropertyValue('--critical').trim() };
        }"""
    )
    assert out["levels"] == ["ok", "ok", "warning", "warning", "critical"]
    quiet, busy, warning, critical = out["colours"]
    assert quiet != busy  # a rising crowd still shows below the warning line
    assert (warning, critical) == (out["warning"], out["critical"])  # the alert colours of style.css


def test_patrol_panel_state_age_and_assignment_line(page: Any) -> None:
    out = page.evaluate(
        """async () => {
            const { renderPatrolPanel, patrolState } = await import('./patrol_panel.js');
            const { assignmentsOf, drawAssignments } = await import('./assignments.js');
            const { makeProjection } = await import('./map.js');
            const now = 10000;
            const patrols = [{ id: 'b', name: 'Bravo', lon: 7.4474, lat: 46.948, acc_m: 6, at: now - 20, stale: false, stale_after_s: 60 },
                             { id: 'a', name: 'Alpha', lon: 7.4480, lat: 46.948, acc_m: 40, at: now - 200, stale: false, stale_after_s: 60 }];
            const assignments = assignmentsOf([{ state: 'assigned', assigned_patrol: 'b', zone: 'z', updated_at: 1 },
                                               { state: 'open', assigned_patrol: null, zone: 'z', updated_at: 2 }]);
            renderPatrolPanel(patrols, assignments, now, () => 'Plaza');
            const rows = [...document.querySelectorAll('#patrols tr')].map((r) => [r.dataset.patrol, r.dataset.state, r.textContent]);
            const proj = makeProjection([7.4474, 46.948]);
            const layer = document.createElementNS('http://www.w3.org/2000/svg', 'g');
            const ring = [[-20, -20], [20, -20], [20, 20], [-20, 20]].map(([x, y]) => proj.toLonLat(x + 100, y));
            drawAssignments(layer, proj, { zones: [{ id: 'z', name: 'Plaza', polygon: ring }], patrols, assignments }, 1);
            return { rows, lines: [...layer.querySelectorAll('.assignment')].map((g) => [g.dataset.patrol, g.dataset.zone]),
                     d: layer.querySelector('.assignment-line')?.getAttribute('d'),
                     serverStale: patrolState({ stale: true, at: now, stale_after_s: 60 }, now) };
        }"""
    )
    assert [r[:2] for r in out["rows"]] == [["a", "stale"], ["b", "online"]]  # by name; Alpha's fix is 200 s old
    assert "3 min" in out["rows"][0][2] and "±40 m" in out["rows"][0][2] and "free" in out["rows"][0][2]
    assert "20 s" in out["rows"][1][2] and "→ Plaza" in out["rows"][1][2]
    assert out["lines"] == [["b", "z"]]
    assert out["d"] is not None and out["d"].startswith("M0,0L100")
    assert out["serverStale"] == "stale"
