"""Wall legibility (issue "A console the command centre can trust", point 6): the console's new pure parts in
a real Chromium, served as plain static files (no central): the summary strip's figures, the chart's time
span and steady density axis, clock times in the site's time zone, the map's scale bar and north arrow,
the overlay palette, and display names with ids in tooltips."""

from __future__ import annotations

import datetime as dt
import functools
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from tests.support.console import CHROMIUM_ARGS, find_chromium

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]

playwright_api = pytest.importorskip("playwright.sync_api")

WEB = Path(__file__).resolve().parents[2] / "central" / "web"
BROWSER_TZ = "America/Los_Angeles"  # the browser's own zone, far from the sites' below


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def page() -> Iterator[Any]:
    executable = find_chromium()
    if executable is None:
        pytest.skip("chromium is not installed (scripts/setup.sh installs it)")
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(WEB)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    errors: list[str] = []
    try:
        with playwright_api.sync_playwright() as p:
            browser = p.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
            context = browser.new_context(viewport={"width": 1366, "height": 768}, timezone_id=BROWSER_TZ)
            tab = context.new_page()
            tab.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            tab.on("pageerror", lambda e: errors.append(str(e)))
            tab.goto(f"http://127.0.0.1:{server.server_address[1]}/index.html")
            tab.wait_for_selector("#login:not([hidden])")
            tab.evaluate("document.getElementById('app').hidden = false")
            yield tab
            browser.close()
    finally:
        server.shutdown()
        server.server_close()
    assert errors == []


def test_summary_counts_zones_over_now_and_soon_alerts_and_cameras_down(page: Any) -> None:
    out = page.evaluate(
        """async () => {
            const { summarize, renderSummary } = await import('./summary.js');
            const now = 100000;
            const th = { warning: 1.0, critical: 2.0 };
            const forecast = (reachAt) => {
                const times = Array.from({ length: 60 }, (_, i) => now + 10 * (i + 1));
                return { times, yhat: times.map((t) => (t >= now + reachAt ? 1.05 : 0.9)) };
            };
            const zone = (id, density, extra = {}) => ({ id, name: `Name of ${id}`, thresholds: th,
                latest: { density, stale: false, measured_at: now }, forecast: null, ...extra });
            const zones = [
                zone('over', 1.2),                                            // over now
                zone('exactly', 1.0),                                         // at the line counts (alert rule)
                zone('soon', 0.8, { forecast: forecast(300) }),               // over in 5 min
                zone('late', 0.8, { forecast: forecast(900) }),               // over in 15 min: not "within 10"
                zone('calm', 0.3, { forecast: forecast(99999) }),
                zone('silent', 1.5, { latest: { density: 1.5, stale: true, measured_at: now - 600 } }),
                { id: 'nodata', name: 'No data', thresholds: th, latest: null, forecast: null },
            ];
            const alerts = [
                { id: 'a', level: 'critical', state: 'open' },
                { id: 'b', level: 'warning', state: 'acknowledged' },
                { id: 'c', level: 'warning', state: 'assigned' },
                { id: 'd', level: 'critical', state: 'resolved' },
                { id: 'e', level: 'warning', state: 'cleared' },
            ];
            const cameras = [{ camera: 'c1', state: 'online' }, { camera: 'c2', state: 'stale', display_name: 'North gate' },
                             { camera: 'c3', state: 'offline' }, { camera: 'c4', state: 'unknown' }, { camera: 'c5', state: 'stopped' }];
            const figures = summarize({ zones, alerts, cameras, now });
            const list = document.createElement('ol');
            document.body.append(list);
            const byId = new Map(zones.map((z) => [z.id, z]));
            renderSummary(list, figures, { zoneName: (id) => byId.get(id).name, cameraName: (c) => c.display_name || c.camera });
            const tiles = Object.fromEntries([...list.children].map((li) => [li.dataset.summary,
                { count: Number(li.dataset.count), text: li.textContent, title: li.title, critical: li.dataset.critical, warning: li.dataset.warning }]));
            list.remove();
            return { overNow: figures.overNow.map((z) => z.id), forecastOver: figures.forecastOver.map((z) => z.id),
                     critical: figures.critical, warning: figures.warning, down: figures.camerasDown.map((c) => c.camera), tiles };
        }"""
    )
    assert out["overNow"] == ["over", "exactly"]
    assert out["forecastOver"] == ["soon"]
    assert (out["critical"], out["warning"]) == (1, 2)
    assert out["down"] == ["c2", "c3", "c5"]
    tiles = out["tiles"]
    assert [tiles[k]["count"] for k in ("over-now", "over-soon", "alerts", "cameras-down")] == [2, 1, 3, 3]
    assert (tiles["alerts"]["critical"], tiles["alerts"]["warning"]) == ("1", "2")
    # Display names on the tile, ids in its tooltip.
    assert "Name of soon" in tiles["over-soon"]["text"] and "(soon)" in tiles["over-soon"]["title"]
    assert "North gate" in tiles["cameras-down"]["text"] and "North gate (c2)" in tiles["cameras-down"]["title"]


def test_chart_axis_spans_first_point_to_forecast_end_and_density_top_is_steady(page: Any) -> None:
    out = page.evaluate(
        """async () => {
            const { renderZoneChart, stableTop, timeTicks } = await import('./chart.js');
            const box = document.createElement('div');
            box.style.cssText = 'position:relative;width:800px;height:260px';
            document.body.append(box);
            const now = 1800000000;
            // Five minutes of data on a chart that used to span 30: the axis starts at the first point.
            const points = Array.from({ length: 31 }, (_, i) => ({ measured_at: now - 300 + 10 * i, density: 0.5 + 0.01 * i,
                                                                   speed_p50: 1.1, speed_p85: 1.4, stale: false }));
            const times = Array.from({ length: 30 }, (_, i) => now + 20 * (i + 1));
            const yhat = times.map(() => 0.9);
            const zone = { id: 'z', name: 'Z', area_m2: 1000, thresholds: { warning: 1, critical: 2 },
                           forecast: { times, yhat, lo80: yhat, hi80: yhat, lo95: yhat, hi95: yhat, crossings: [] } };
            renderZoneChart(box, { zone, points, now });
            const svg = box.querySelector('svg');
            const firstX = Number(svg.querySelector('.line-density').getAttribute('d').slice(1).split(',')[0]);
            const plotLeft = Number(svg.querySelector('line.grid').getAttribute('x1'));
            const plotRight = Number(svg.querySelector('line.grid').getAttribute('x2'));
            const forecastD = svg.querySelector('.line-forecast').getAttribute('d');
            const lastForecastX = Number(forecastD.split('L').pop().split(',')[0]);
            const ticks = [...svg.querySelectorAll('.axis-time')].map((t) => Number(t.dataset.t));
            const span = { t0: Number(svg.dataset.t0), t1: Number(svg.dataset.t1), firstX, plotLeft, plotRight, lastForecastX, ticks };
            // The density axis: a reading a little lower keeps the top; one far lower shrinks it; higher grows it.
            const tops = [];
            for (const peak of [1.9, 2.6, 2.3, 0.3]) {
                const z2 = { ...zone, id: 'steady', thresholds: { warning: 0.2, critical: 0.25 }, forecast: null };
                renderZoneChart(box, { zone: z2, points: points.map((p) => ({ ...p, density: peak })), now });
                tops.push(Number(box.querySelector('svg').dataset.top));
            }
            box.remove();
            return { span, tops, pure: [stableTop(undefined, 1.9), stableTop(2, 2.1), stableTop(2.5, 1.8), stableTop(2.5, 0.5)],
                     shortTicks: timeTicks(now, now + 240), longTicks: timeTicks(now - 1800, now + 600) };
        }"""
    )
    span = out["span"]
    assert span["t0"] == pytest.approx(1800000000 - 300)  # the first point, not 30 minutes back
    assert span["t1"] == pytest.approx(1800000000 + 600)  # the forecast's last time
    assert span["firstX"] == pytest.approx(span["plotLeft"], abs=0.1)
    assert span["lastForecastX"] == pytest.approx(span["plotRight"], abs=0.1)
    assert span["ticks"] and all(span["t0"] <= t <= span["t1"] for t in span["ticks"])
    assert out["tops"] == [2, 3, 3, 0.3]
    assert out["pure"] == [2, 2.5, 2.5, 0.5]
    assert len(out["shortTicks"]) >= 3 and all(t % 60 == 0 for t in out["shortTicks"])
    assert 3 <= len(out["longTicks"]) <= 7 and all(t % 300 == 0 for t in out["longTicks"])


def test_clock_times_are_in_the_site_time_zone_not_the_browsers(page: Any) -> None:
    instant = 1_800_000_000 + 7 * 3600 + 1234  # any instant: Tokyo, London and the browser disagree on it
    out = page.evaluate(
        """async (t) => {
            const { formatClock, setSiteTimeZone, siteTimeZone, clockLabel } = await import('./site_time.js');
            const dom = await import('./dom.js');
            const before = siteTimeZone();
            setSiteTimeZone('Asia/Tokyo');
            const tokyo = [formatClock(t), dom.formatClock(t), clockLabel(t)];
            setSiteTimeZone('Not/AZone');  // unknown: keeps Tokyo (and warns)
            const kept = siteTimeZone();
            setSiteTimeZone('Europe/London');
            const london = formatClock(t);
            setSiteTimeZone(before);
            return { tokyo, kept, london, browser: Intl.DateTimeFormat().resolvedOptions().timeZone };
        }""",
        instant,
    )

    def hhmm(zone: str) -> str:
        return dt.datetime.fromtimestamp(instant, ZoneInfo(zone)).strftime("%H:%M")

    assert out["browser"] == BROWSER_TZ
    assert hhmm("Asia/Tokyo") != hhmm(BROWSER_TZ)
    assert out["tokyo"] == [hhmm("Asia/Tokyo"), hhmm("Asia/Tokyo"), f"{hhmm('Asia/Tokyo')} Asia/Tokyo"]
    assert out["kept"] == "Asia/Tokyo"
    assert out["london"] == hhmm("Europe/London")


def test_scale_bar_matches_the_projection_and_north_points_up(page: Any) -> None:
    out = page.evaluate(
        """async () => {
            const { SiteMap, makeProjection, scaleBar } = await import('./map.js');
            const center = [139.7671, 35.6812];
            const svg = document.createElementNS('http://www.w3.org/2000/svg', 'svg');
            svg.style.cssText = 'width:700px;height:420px;display:block';
            document.body.append(svg);
            const map = new SiteMap(svg, { onSelectZone() {}, onRegion() {}, onHint() {}, onToolEnded() {} });
            const proj = makeProjection(center);
            const ring = [[-60, -40], [60, -40], [60, 40], [-60, 40]].map(([x, y]) => proj.toLonLat(x, y));
            map.setSite({ center, los_bands: {}, basemap: null, tile_url: null });
            map.update({ zones: [{ id: 'z', name: 'Z', camera: 'c', polygon: ring, area_m2: 9600, latest: null }],
                         cameras: [], patrols: [], alertZones: new Set(), selectedZone: null });
            await new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
            // Metres per pixel from the geometry alone: the zone is 120 m wide on the ground.
            const zoneBox = svg.querySelector('[data-zone="z"]').getBoundingClientRect();
            const mpp = 120 / zoneBox.width;
            const bar = svg.querySelector('.scale-bar');
            const barBox = bar.querySelector('.scale-bar-outline').getBoundingClientRect();
            const arrow = svg.querySelector('.north-arrow path').getBoundingClientRect();
            const arrowTip = svg.querySelector('.north-arrow path').getPointAtLength(0);
            const ctm = svg.querySelector('.north-arrow path').getScreenCTM();
            const tip = new DOMPoint(arrowTip.x, arrowTip.y).matrixTransform(ctm);
            const svgBox = svg.getBoundingClientRect();
            const result = { mpp, metres: Number(bar.dataset.metres), label: bar.querySelector('.scale-label').textContent,
                             barPx: barBox.width, tipY: tip.y, arrowTop: arrow.top, arrowBottom: arrow.bottom,
                             inside: barBox.left >= svgBox.left && barBox.right <= svgBox.right && barBox.bottom <= svgBox.bottom,
                             pure: [0.05, 0.5, 0.77, 3.3, 40].map((m) => scaleBar(m, 120)) };
            svg.remove();
            return result;
        }"""
    )
    # The bar's length on screen times metres per pixel is the length its label names.
    assert out["barPx"] * out["mpp"] == pytest.approx(out["metres"], rel=0.02)
    assert out["label"] == f"{out['metres']:g} m"
    assert out["inside"]
    assert out["tipY"] == pytest.approx(out["arrowTop"], abs=1.0)  # the tip is the arrow's top: north is up
    for mpp, bar in zip([0.05, 0.5, 0.77, 3.3, 40], out["pure"], strict=True):
        assert bar["px"] <= 120 and bar["px"] > 120 / 2.5 - 1e-9
        assert bar["metres"] == pytest.approx(bar["px"] * mpp)
        digits = f"{bar['metres']:.6g}".replace(".", "").strip("0")
        assert digits in ("1", "2", "5")


def test_overlay_colours_differ_and_names_show_with_ids_in_tooltips(page: Any) -> None:
    out = page.evaluate(
        """async () => {
            const { MAP_COLOURS } = await import('./palette.js');
            const { SiteMap, makeProjection } = await import('./map.js');
            const center = [8.54, 47.37];
            const svg = document.createElementNS('http://www.w3.org/2000/svg', 'svg');
            svg.setAttribute('class', 'map');
            svg.style.cssText = 'position:static;width:700px;height:420px;display:block';
            document.body.append(svg);
            const map = new SiteMap(svg, { onSelectZone() {}, onRegion() {}, onHint() {}, onToolEnded() {} });
            const proj = makeProjection(center);
            const ring = [[-60, -40], [60, -40], [60, 40], [-60, 40]].map(([x, y]) => proj.toLonLat(x, y));
            const now = Date.now() / 1000;
            map.setSite({ center, los_bands: {}, basemap: null, tile_url: null });
            map.region = [[-30, -20], [30, -20], [30, 20]].map(([x, y]) => proj.toLonLat(x, y));
            map.update({ zones: [{ id: 'z-east', name: 'East plaza', camera: 'cam-7', polygon: ring, area_m2: 9600, latest: null }],
                         cameras: [{ camera: 'cam-7', state: 'online', display_name: 'Plaza mast' }],
                         patrols: [{ id: 'p', name: 'P', lon: center[0], lat: center[1], acc_m: 0, stale: false,
                                     track: [[center[0] - 0.0003, center[1], now - 30], [center[0], center[1], now]] }],
                         alertZones: new Set(), selectedZone: 'z-east' });
            await new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
            const stroke = (sel) => getComputedStyle(svg.querySelector(sel)).stroke;
            const rgb = (hex) => `rgb(${[1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16)).join(', ')})`;
            const css = getComputedStyle(document.documentElement);
            const result = {
                strokes: { patrol: stroke('.patrol-track'), selection: stroke('.zone-selected'), region: stroke('.region') },
                expected: Object.fromEntries(Object.entries(MAP_COLOURS).map(([k, v]) => [k, rgb(v)])),
                vars: Object.fromEntries(Object.keys(MAP_COLOURS).map((k) => [k, css.getPropertyValue(`--${k}`).trim()])),
                colours: MAP_COLOURS,
                cameraLabel: svg.querySelector('[data-camera="cam-7"] .camera-name').textContent,
                cameraTitle: svg.querySelector('[data-camera="cam-7"] title').textContent,
                zoneTitle: svg.querySelector('[data-zone="z-east"] title').textContent,
            };
            svg.remove();
            return result;
        }"""
    )
    assert out["vars"] == out["colours"]  # style.css and palette.js name the same colours
    assert len(set(out["colours"].values())) == 4
    for key in ("patrol", "selection", "region"):
        assert out["strokes"][key] == out["expected"][key], key
    assert out["cameraLabel"] == "Plaza mast" and "cam-7" in out["cameraTitle"]
    assert out["zoneTitle"] == "East plaza (zone z-east)"
