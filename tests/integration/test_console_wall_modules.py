"""Wall legibility (issue "A console the command centre can trust", point 6): the console's new pure parts in
a real Chromium, served as plain static files (no central): the summary strip's figures, the chart's time
span and steady density axis, clock times in the site's time zone, the map's scale bar and north arrow,
the overlay palette, and display names with ids in tooltips."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from tests.support.console_modules import static_console_page

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]

BROWSER_TZ = "America/Los_Angeles"  # the browser's own zone, far from the sites' below


@pytest.fixture(scope="module")
def page() -> Iterator[Any]:
    with static_console_page(BROWSER_TZ) as tab:
        yield tab


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


def test_speed_strip_title_never_sits_on_its_lines(page: Any) -> None:
    # With a forecast the title goes right of "now" (speeds are never forecast, that part is empty); without
    # one it gets a band of its own at the strip's top. Either way no speed line passes through it, at the
    # laptop's type and at the wall's (root font 16 px).
    out = page.evaluate(
        """async () => {
            const { renderZoneChart } = await import('./chart.js');
            const now = 1800000000;
            const points = Array.from({ length: 91 }, (_, i) => ({ measured_at: now - 900 + 10 * i, density: 0.8,
                                                                   speed_p50: 1.8, speed_p85: 2.0, stale: false }));
            const times = Array.from({ length: 30 }, (_, i) => now + 20 * (i + 1));
            const yhat = times.map(() => 0.9);
            const forecast = { times, yhat, lo80: yhat, hi80: yhat, lo95: yhat, hi95: yhat, crossings: [] };
            const results = {};
            for (const [name, w, h, rootPx, withForecast] of [['laptop', 930, 180, 14, true], ['wall', 1330, 260, 16, true],
                                                               ['laptopNoForecast', 930, 180, 14, false], ['wallNoForecast', 1330, 260, 16, false]]) {
                document.documentElement.style.fontSize = `${rootPx}px`;
                const box = document.createElement('div');
                box.style.cssText = `position:relative;width:${w}px;height:${h}px`;
                document.body.append(box);
                const zone = { id: name, name, area_m2: 1000, thresholds: { warning: 1, critical: 2 }, forecast: withForecast ? forecast : null };
                renderZoneChart(box, { zone, points, now });
                const svg = box.querySelector('svg');
                const title = svg.querySelector('.speed-title').getBBox();
                const lines = ['.line-speed50', '.line-speed85'].map((sel) => svg.querySelector(sel).getBBox());
                const overlaps = lines.some((b) => b.x < title.x + title.width && title.x < b.x + b.width
                                                   && b.y < title.y + title.height && title.y < b.y + b.height + 1);
                const strip = svg.querySelector('rect.strip').getBBox();
                results[name] = { overlaps, titleInside: title.y >= strip.y && title.y + title.height <= strip.y + strip.height + 1,
                                  plotPx: strip.y + strip.height - Number(svg.dataset.speedPlotTop), fontPx: parseFloat(getComputedStyle(svg.querySelector('.speed-title')).fontSize) };
                box.remove();
            }
            document.documentElement.style.fontSize = '';
            return results;
        }"""
    )
    for name, result in out.items():
        assert result["overlaps"] is False, (name, result)
        assert result["titleInside"], (name, result)
        assert result["plotPx"] >= 20, (name, result)
    assert out["wall"]["fontPx"] > out["laptop"]["fontPx"]


def test_map_text_grows_on_a_wall_and_small_zones_are_named_below(page: Any) -> None:
    out = page.evaluate(
        """async () => {
            const { SiteMap, makeProjection, textScale } = await import('./map.js');
            const { wrapLabel } = await import('./map_zones.js');
            const center = [8.54, 47.37];
            const proj = makeProjection(center);
            const rect = (x0, y0, x1, y1) => [[x0, y0], [x1, y0], [x1, y1], [x0, y1]].map(([x, y]) => proj.toLonLat(x, y));
            const draw = async (width, height) => {
                const svg = document.createElementNS('http://www.w3.org/2000/svg', 'svg');
                svg.setAttribute('class', 'map');
                svg.style.cssText = `position:static;width:${width}px;height:${height}px;display:block`;
                document.body.append(svg);
                const map = new SiteMap(svg, { onSelectZone() {}, onRegion() {}, onHint() {}, onToolEnded() {} });
                map.setSite({ center, los_bands: { A: 0, B: 0.5, C: 1 }, basemap: null, tile_url: null });
                // Two small zones side by side, 20 m wide and 20 m apart (as the demo's market square and station
                // forecourt), small on screen: two patrols at the corners widen the view.
                const latest = { los: 'B', density: 0.6, count: 240, stale: false };
                map.update({ zones: [{ id: 'm', name: 'Market square', camera: 'c', polygon: rect(-30, -10, -10, 5), area_m2: 300, latest,
                                       thresholds: { warning: 1, critical: 2 } },
                                     { id: 's', name: 'Station forecourt', camera: 'c', polygon: rect(10, -10, 30, 5), area_m2: 300, latest,
                                       thresholds: { warning: 1, critical: 2 } }],
                             cameras: [{ camera: 'c', state: 'online', display_name: 'Market cameras' }],
                             patrols: [{ id: 'p', name: 'P', lon: proj.toLonLat(-100, -60)[0], lat: proj.toLonLat(-100, -60)[1], acc_m: 0, stale: false, track: [] },
                                       { id: 'q', name: 'Q', lon: proj.toLonLat(100, 60)[0], lat: proj.toLonLat(100, 60)[1], acc_m: 0, stale: false, track: [] }],
                             alertZones: new Set(), selectedZone: 'm' });
                await new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
                const px = (el) => el.getBoundingClientRect();
                const zone = px(svg.querySelector('[data-zone="m"]'));
                const below = [...svg.querySelectorAll('.zone-label-below')].map((g) => ({ text: g.textContent, box: px(g) }));
                const camera = px(svg.querySelector('[data-camera="c"] rect'));
                const result = {
                    scale: map.textScale,
                    zonePx: [zone.width, zone.height],
                    letterPx: parseFloat(svg.querySelector('.zone-los').getAttribute('font-size')) / map.metresPerPixel(),
                    patrolPx: parseFloat(svg.querySelector('.patrol-name').getAttribute('font-size')) / map.metresPerPixel(),
                    below,
                    belowTopGap: below.length ? below[0].box.top - zone.bottom : null,
                    cameraGap: zone.top - camera.bottom,
                };
                svg.remove();
                return result;
            };
            return { laptop: await draw(930, 380), wall: await draw(1330, 440),
                     pure: [textScale(600), textScale(950), textScale(1330), textScale(3000), textScale(NaN)],
                     wraps: [wrapLabel('Station forecourt', 10), wrapLabel('Market square', 20), wrapLabel('A very long zone name here', 8),
                             wrapLabel('Supercalifragilistic', 8)] };
        }"""
    )
    assert out["pure"] == [1, 1, pytest.approx(1.4), 1.4, 1]
    assert out["wraps"] == [["Station", "forecourt"], ["Market square"], ["A very", "long zo…"], ["Superca…"]]
    laptop, wall = out["laptop"], out["wall"]
    assert laptop["scale"] == 1 and wall["scale"] == pytest.approx(1.4)
    assert wall["patrolPx"] > laptop["patrolPx"] * 1.3
    for view in (laptop, wall):
        assert view["zonePx"][0] < 90  # small on screen: letter inside, name below
        assert view["letterPx"] >= 16
        texts = " ".join(b["text"] for b in view["below"])
        assert "Market" in texts and "Station" in texts and "240 ppl" in texts, view["below"]
        assert view["belowTopGap"] >= 3  # clear of the selected zone's 5 px outline
        assert view["cameraGap"] >= 5  # the camera marker sits clear of the selected outline too
