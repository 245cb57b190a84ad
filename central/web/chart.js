// The zone chart: last 30 minutes of density (people on the right axis: the same line, since
// count = density × area) with the 10-minute forecast as a line and 80/95 % bands, the thresholds
// drawn across, and walking speed in a strip below. Plain SVG; colours from the Okabe-Ito set.

import { clear, formatClock, s } from "./dom.js";

const PAST_S = 30 * 60;
const AHEAD_S = 10 * 60;
const MARGIN = { left: 46, right: 52, top: 26, bottom: 22 };

/** A round tick step giving at most `count` intervals up to `value`, and the axis top it implies. */
function niceScale(value, count) {
  const raw = (value > 0 ? value : 1) / count;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * magnitude).find((s) => s >= raw) ?? 10 * magnitude;
  const top = Math.ceil(value / step - 1e-9) * step || step;
  return { step, top, ticks: Array.from({ length: Math.round(top / step) + 1 }, (_, i) => i * step) };
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
  const speedHeight = Math.round(height * 0.28);
  const mainHeight = height - speedHeight - 6;
  const svg = s("svg", { width, height, viewBox: `0 0 ${width} ${height}`, class: "chart", role: "img" });
  svg.append(s("title", { text: `Density, people and speed of ${zone.name}` }));
  container.append(svg);

  const forecast = zone.forecast;
  const t0 = now - PAST_S;
  const t1 = now + AHEAD_S;
  const x = (t) => MARGIN.left + ((t - t0) / (t1 - t0)) * (width - MARGIN.left - MARGIN.right);
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
  const main = niceScale(
    Math.max(
      ...recent.map((p) => p.density),
      ...(forecast ? pick("hi80") : []).filter(Number.isFinite),
      ...(forecast ? pick("yhat") : []).filter(Number.isFinite),
      (thresholds.critical || 0) * 1.1,
      0.1,
    ),
    5,
  );
  const top = main.top;
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

  // Time ticks every 5 minutes, labelled by clock time.
  const firstTick = Math.ceil(t0 / 300) * 300;
  for (let t = firstTick; t <= t1; t += 300) {
    svg.append(s("line", { x1: x(t), x2: x(t), y1: MARGIN.top, y2: height - MARGIN.bottom + 4, class: "grid grid-v" }));
    svg.append(s("text", { x: x(t), y: height - 6, class: "axis axis-time", text: formatClock(t) }));
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
  const ySpeed = (v) => speedBottom - (v / speedMax) * (speedBottom - speedTop - 4);
  svg.append(s("rect", { x: MARGIN.left, y: speedTop, width: width - MARGIN.left - MARGIN.right, height: speedBottom - speedTop, class: "strip" }));
  // The top label sits inside the strip so it does not collide with the main chart's zero.
  svg.append(s("text", { x: MARGIN.left - 6, y: ySpeed(0), class: "axis axis-left", text: "0" }));
  svg.append(s("text", { x: MARGIN.left - 6, y: ySpeed(speedMax) + 10, class: "axis axis-left", text: fmt(speedMax) }));
  svg.append(s("text", { x: MARGIN.left + 6, y: speedTop + 13, class: "axis-title", text: "walking speed, m/s" }));
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
