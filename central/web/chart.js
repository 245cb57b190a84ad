// The zone chart: up to 30 minutes of density (people on the right axis: the same line, since
// count = density × area) with the 10-minute forecast as a line and 80/95 % bands, the thresholds
// drawn across, and walking speed in a strip below. Plain SVG; colours from the Okabe-Ito set.
//
// The time axis runs from the first measurement shown to the forecast's end: a zone with five minutes of
// data on a fixed 30-minute axis was a thin line beside 25 minutes of nothing on the wall. The density
// axis keeps its top between redraws (see stableTop): it is redrawn every second, and a top that followed
// every reading made the thresholds jump up and down while nothing on the ground changed.

import { clear, formatClock, s } from "./dom.js";

const PAST_S = 30 * 60;
const AHEAD_S = 10 * 60;
const MIN_SPAN_S = 120; // a lone first reading still gets an axis two minutes wide
const MARGIN = { left: 46, right: 52, top: 26, bottom: 22 };
const TICK_STEPS_S = [60, 120, 300, 600, 900, 1800, 3600];
const SHRINK_BELOW = 0.45; // the density axis shrinks only when the data use less than this share of it
const tops = new Map(); // zone id -> density axis top last drawn

/** A round tick step giving at most `count` intervals up to `value`, and the axis top it implies. */
function niceScale(value, count) {
  const raw = (value > 0 ? value : 1) / count;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * magnitude).find((s) => s >= raw) ?? 10 * magnitude;
  // toPrecision: 3 × 0.1 is 0.30000000000000004, and a top kept between redraws must compare equal.
  const round = (v) => Number(v.toPrecision(12));
  const top = round(Math.ceil(value / step - 1e-9) * step || step);
  return { step, top, ticks: Array.from({ length: Math.round(top / step) + 1 }, (_, i) => round(i * step)) };
}

/** The chart's time span: the first measurement shown (at most PAST_S back) to the forecast's end (or now). */
export function timeSpan(points, forecastTimes, now) {
  const t1 = Math.max(now, ...(forecastTimes || []).filter((t) => Number.isFinite(t) && t <= now + AHEAD_S + 1));
  const first = (points || []).find((p) => p.measured_at >= now - PAST_S && !p.stale);
  const t0 = first ? Math.min(first.measured_at, t1 - MIN_SPAN_S) : t1 - MIN_SPAN_S;
  return { t0, t1 };
}

/** Clock-time ticks on round minutes, at most `count` of them, whatever the span. */
export function timeTicks(t0, t1, count = 7) {
  const step = TICK_STEPS_S.find((st) => (t1 - t0) / st <= count) ?? TICK_STEPS_S[TICK_STEPS_S.length - 1];
  const ticks = [];
  for (let t = Math.ceil(t0 / step) * step; t <= t1; t += step) ticks.push(t);
  return ticks;
}

/** The density axis top: grows at once to fit the data, shrinks only when they use less than
 * SHRINK_BELOW of it (hysteresis), always a round step. */
export function stableTop(previous, needed, count = 5) {
  const fit = niceScale(needed, count).top;
  if (!Number.isFinite(previous) || fit > previous || needed < previous * SHRINK_BELOW) return fit;
  return previous;
}

function fmt(value) {
  if (value === 0) return "0";
  if (value >= 100) return value.toFixed(0);
  if (value >= 10) return value.toFixed(1).replace(/\.0$/, "");
  return value.toFixed(2).replace(/0$/, "");
}

function path(points) {
  let d = "";
  let pen = false;
  for (const [x, y] of points) {
    if (!Number.isFinite(x) || !Number.isFinite(y)) {
      pen = false;
      continue;
    }
    d += `${pen ? "L" : "M"}${x.toFixed(1)},${y.toFixed(1)}`;
    pen = true;
  }
  return d;
}

function band(times, lower, upper, x, y) {
  const top = times.map((t, i) => [x(t), y(upper[i])]);
  const bottom = times.map((t, i) => [x(t), y(lower[i])]).reverse();
  const all = top.concat(bottom).filter(([a, b]) => Number.isFinite(a) && Number.isFinite(b));
  return all.length > 2 ? path(all) + "Z" : "";
}

/**
 * @param container element to draw into (cleared first)
 * @param input {zone, points: history points oldest first, now: unix s}
 */
export function renderZoneChart(container, { zone, points, now }) {
  clear(container);
  const width = Math.max(320, container.clientWidth);
  const height = Math.max(160, container.clientHeight);
  const svg = s("svg", { width, height, viewBox: `0 0 ${width} ${height}`, class: "chart", role: "img" });
  svg.append(s("title", { text: `Density, people and speed of ${zone.name}` }));
  container.append(svg);

  const forecast = zone.forecast;
  const { t0, t1 } = timeSpan(points, forecast?.times, now);
  svg.setAttribute("data-t0", t0.toFixed(3));
  svg.setAttribute("data-t1", t1.toFixed(3));
  const x = (t) => MARGIN.left + ((t - t0) / (t1 - t0)) * (width - MARGIN.left - MARGIN.right);

  // The speed strip's title must never sit on its lines. Speeds are measured, never forecast, so the
  // strip right of "now" is empty: the title goes there when it fits, else in a band of its own at the
  // strip's top (the strip then a little taller). Measured in place: its type is larger on a wall.
  const speedTitle = s("text", { class: "axis-title speed-title", text: "walking speed, m/s" });
  svg.append(speedTitle);
  const titleSize = parseFloat(getComputedStyle(speedTitle).fontSize) || 12;
  const titleX = x(now) + 8;
  const titleRight = titleX + speedTitle.getComputedTextLength() <= width - MARGIN.right - 4;
  const titleBand = titleRight ? 4 : Math.round(titleSize * 1.2 + 4);
  const speedHeight = Math.max(Math.round(height * 0.28), MARGIN.bottom + titleBand + (titleRight ? 20 : 24));
  const mainHeight = height - speedHeight - 6;
  const area = zone.area_m2 > 0 ? zone.area_m2 : 1;

  const recent = points.filter((p) => p.measured_at >= t0 && !p.stale);
  const future = [];
  if (forecast) {
    forecast.times.forEach((t, i) => {
      if (t <= t1 + 1) future.push(i);
    });
  }
  const pick = (key) => future.map((i) => forecast[key]?.[i]);
  const thresholds = zone.thresholds || {};
  const needed = Math.max(
    ...recent.map((p) => p.density),
    ...(forecast ? pick("hi80") : []).filter(Number.isFinite),
    ...(forecast ? pick("yhat") : []).filter(Number.isFinite),
    (thresholds.critical || 0) * 1.1,
    0.1,
  );
  const key = zone.id ?? zone.name;
  const main = niceScale(stableTop(tops.get(key), needed), 5);
  tops.set(key, main.top);
  const top = main.top;
  svg.setAttribute("data-top", String(top));
  const yMain = (v) => MARGIN.top + (1 - Math.min(v, top * 1.05) / top) * (mainHeight - MARGIN.top - 4);

  // Axes and grid: density on the left, people on the right.
  for (const v of main.ticks) {
    const yy = yMain(v);
    svg.append(s("line", { x1: MARGIN.left, x2: width - MARGIN.right, y1: yy, y2: yy, class: "grid" }));
    svg.append(s("text", { x: MARGIN.left - 6, y: yy + 4, class: "axis axis-left", text: fmt(v) }));
    svg.append(s("text", { x: width - MARGIN.right + 6, y: yy + 4, class: "axis axis-right", text: fmt(Math.round(v * area)) }));
  }
  svg.append(s("text", { x: MARGIN.left - 6, y: 12, class: "axis-title axis-left", text: "p/m²" }));
  svg.append(s("text", { x: width - MARGIN.right + 6, y: 12, class: "axis-title", text: "people" }));

  // Clock-time ticks on round minutes, in the site's time zone (site_time.js).
  for (const t of timeTicks(t0, t1)) {
    svg.append(s("line", { x1: x(t), x2: x(t), y1: MARGIN.top, y2: height - MARGIN.bottom + 4, class: "grid grid-v" }));
    svg.append(s("text", { x: x(t), y: height - 6, class: "axis axis-time", "data-t": t, text: formatClock(t) }));
  }

  if (forecast && future.length) {
    const times = pick("times");
    const d95 = band(times, pick("lo95"), pick("hi95"), x, yMain);
    const d80 = band(times, pick("lo80"), pick("hi80"), x, yMain);
    if (d95) svg.append(s("path", { d: d95, class: "band band-95" }));
    if (d80) svg.append(s("path", { d: d80, class: "band band-80" }));
    const last = recent[recent.length - 1];
    const line = times.map((t, i) => [x(t), yMain(pick("yhat")[i])]);
    if (last) line.unshift([x(last.measured_at), yMain(last.density)]);
    svg.append(s("path", { d: path(line), class: "line line-forecast" }));
  }

  for (const [name, value] of [
    ["warning", thresholds.warning],
    ["critical", thresholds.critical],
  ]) {
    if (!Number.isFinite(value)) continue;
    const yy = yMain(value);
    svg.append(s("line", { x1: MARGIN.left, x2: width - MARGIN.right, y1: yy, y2: yy, class: `threshold threshold-${name}` }));
    svg.append(s("text", { x: MARGIN.left + 4, y: yy - 4, class: `threshold-label threshold-${name}`, text: `${name} ${fmt(value)}/m²` }));
  }

  svg.append(s("path", { d: path(recent.map((p) => [x(p.measured_at), yMain(p.density)])), class: "line line-density" }));
  // data-t: the time the line stands for (central's clock), for tests and tooling.
  svg.append(s("line", { x1: x(now), x2: x(now), y1: MARGIN.top, y2: height - MARGIN.bottom, class: "now", "data-t": now.toFixed(3) }));
  svg.append(s("text", { x: x(now) + 4, y: MARGIN.top + 10, class: "now-label", text: "now" }));
  svg.append(s("text", { x: x(now) + 4, y: MARGIN.top + 24, class: "now-label forecast-label", text: "forecast →" }));

  // Speed strip.
  const speedTop = mainHeight + 6;
  const speedBottom = height - MARGIN.bottom;
  const speeds = recent.flatMap((p) => [p.speed_p50, p.speed_p85]).filter(Number.isFinite);
  const speedMax = niceScale(Math.max(1.5, ...speeds), 2).top;
  svg.append(s("rect", { x: MARGIN.left, y: speedTop, width: width - MARGIN.left - MARGIN.right, height: speedBottom - speedTop, class: "strip" }));
  const plotTop = speedTop + titleBand;
  speedTitle.setAttribute("x", String(titleRight ? titleX : MARGIN.left + 6));
  speedTitle.setAttribute("y", String(titleRight ? (speedTop + speedBottom) / 2 + titleSize * 0.35 : speedTop + 2 + titleSize * 0.9));
  svg.append(speedTitle); // above the strip's background
  svg.setAttribute("data-speed-plot-top", plotTop.toFixed(1));
  const ySpeed = (v) => speedBottom - (v / speedMax) * (speedBottom - plotTop);
  svg.append(s("text", { x: MARGIN.left - 6, y: ySpeed(0), class: "axis axis-left", text: "0" }));
  // The top tick label sits inside the strip so it does not collide with the main chart's zero.
  svg.append(s("text", { x: MARGIN.left - 6, y: ySpeed(speedMax) + titleSize * 0.8, class: "axis axis-left", text: fmt(speedMax) }));
  svg.append(s("line", { x1: MARGIN.left, x2: width - MARGIN.right, y1: ySpeed(speedMax), y2: ySpeed(speedMax), class: "grid grid-speed" }));
  svg.append(s("line", { x1: MARGIN.left, x2: width - MARGIN.right, y1: speedTop, y2: speedTop, class: "grid" }));
  svg.append(s("path", { d: path(recent.map((p) => [x(p.measured_at), p.speed_p85 == null ? NaN : ySpeed(p.speed_p85)])), class: "line line-speed85" }));
  svg.append(s("path", { d: path(recent.map((p) => [x(p.measured_at), p.speed_p50 == null ? NaN : ySpeed(p.speed_p50)])), class: "line line-speed50" }));

  const legend = [
    ["line-density", "density / people"],
    ["line-forecast", "forecast, 80 & 95 % bands"],
    ["line-speed50", "speed median"],
    ["line-speed85", "speed 85th pct"],
  ];
  let lx = MARGIN.left + 40;
  const legendY = 12;
  for (const [cls, label] of legend) {
    svg.append(s("line", { x1: lx, x2: lx + 16, y1: legendY - 4, y2: legendY - 4, class: `line ${cls}` }));
    const text = s("text", { x: lx + 20, y: legendY, class: "legend-text", text: label });
    svg.append(text);
    lx += 30 + text.getComputedTextLength();
  }
  if (recent.length === 0) {
    svg.append(s("text", { x: width / 2, y: mainHeight / 2, class: "chart-empty", text: "No measurements in the last 30 minutes" }));
  }
}
