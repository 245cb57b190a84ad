// The zones layer: each zone filled on the alerts' colour scale with its level letter, name and figures
// written inside (or below, for a zone that holds other zones). Split from map.js; every function takes
// the SiteMap as `map`.

import { clear, formatClock, s } from "./dom.js";
import { centroid, collides, inside, labelBox, pathOf, zoneShapes } from "./map_geometry.js";
import { markerBoxes } from "./map_layers.js";
import { NO_DATA_COLOUR } from "./palette.js";
import { inkOn, zoneColour } from "./severity.js";

/**
 * Zone shapes are kept and updated in place, keyed by id: live events redraw several times a second,
 * and a click whose press and release land on two different elements would be lost.
 */
function zonePath(map, id) {
  if (!map.zonePaths) map.zonePaths = new Map();
  let path = map.zonePaths.get(id);
  if (!path) {
    path = s("path", { "data-zone": id, tabindex: 0, role: "button" });
    path.addEventListener("click", () => {
      if (!map.tool) map.callbacks.onSelectZone(id);
    });
    path.addEventListener("keydown", (event) => {
      if (event.key === "Enter") map.callbacks.onSelectZone(id);
    });
    path.append(s("title"));
    map.zonePaths.set(id, path);
  }
  return path;
}

export function renderZones(map, mpp) {
  const layer = map.layers.zones;
  const labels = clear(map.layers.labels);
  const { zones, alertZones, selectedZone } = map.data;
  const present = new Set(zones.map((z) => z.id));
  for (const [id, path] of map.zonePaths || []) {
    if (!present.has(id)) {
      path.remove();
      map.zonePaths.delete(id);
    }
  }
  const shapes = zoneShapes(zones, map.projection);
  // Larger zones underneath, so a zone inside another stays visible and clickable.
  const order = shapes.slice().sort((a, b) => b.area - a.area);
  for (const shape of order) drawZone(map, shape, { alertZones, selectedZone });
  const paths = order.map((shape) => zonePath(map, shape.zone.id));
  if (paths.some((path, i) => layer.children[i] !== path)) layer.append(...paths);

  // Labels keep their screen size. Smaller zones first: they are on top, and a label that would
  // cover another one is shortened to its letter, or left out.
  const placed = [];
  // Camera markers and patrols with their names: a label outside a zone makes way for them.
  const markers = markerBoxes(map, mpp);
  for (const shape of shapes.slice().sort((a, b) => a.area - b.area)) {
    // A zone inside another: its container's label (below the container) names the group.
    shape.nested = shapes.some((outer) => outer.container && outer !== shape && outer.area > shape.area && inside(shape.xy, outer.xy));
    const label = shape.container ? containerLabel(map, shape, mpp, placed) : zoneLabel(map, shape, mpp, placed, markers);
    if (label) labels.append(label);
  }
}

function drawZone(map, { zone, xy, container }, { alertZones, selectedZone }) {
  const latest = zone.latest;
  const letter = latest && !latest.stale ? latest.los : null;
  // Colour on the alerts' scale (severity.js); the LOS letter is written on the zone.
  const fill = letter ? zoneColour(latest.density, zone.thresholds) : NO_DATA_COLOUR;
  const classes = ["zone"];
  if (container) classes.push("zone-container");
  if (latest?.stale) classes.push("zone-stale");
  if (!latest) classes.push("zone-nodata");
  if (alertZones.has(zone.id)) classes.push("zone-alerting");
  if (zone.id === selectedZone) classes.push("zone-selected");
  const path = zonePath(map, zone.id);
  const attrs = {
    d: pathOf(xy),
    class: classes.join(" "),
    fill,
    style: `--zone-colour:${fill}`,
    "data-los": letter || "",
    "data-fill": fill,
    // Its camera is silent: when its last data came (liveness.js); empty while live.
    "data-silent-since": zone.silentSince === undefined ? "" : String(zone.silentSince ?? ""),
    "aria-label": `Zone ${zone.name}, level ${letter || "no data"}`,
  };
  for (const [key, value] of Object.entries(attrs)) {
    if (path.getAttribute(key) !== value) path.setAttribute(key, value);
  }
  // The display name on the map, the id in the tooltip: operators speak in names, technicians in ids.
  const title = zone.name === zone.id ? zone.name : `${zone.name} (zone ${zone.id})`;
  if (path.firstChild.textContent !== title) path.firstChild.textContent = title;
}

/** Letter, name and figures at the zone's centre. A zone too small on screen for them gets its letter
 * inside, as large as the zone allows, and its name and figures just below it (dropped where they would
 * cover another label). Text grows with the map on a wall (map.textScale). */
function zoneLabel(map, { zone, xy, box, nested }, mpp, placed, markers) {
  const latest = zone.latest;
  const letter = latest && !latest.stale ? latest.los : null;
  const k = map.textScale ?? 1;
  const [cx, cy] = centroid(xy);
  const widthPx = box.w / mpp;
  const heightPx = box.h / mpp;
  const scale = Math.max(0.6, Math.min(1.3, Math.min(widthPx / 140, heightPx / 90))) * k;
  const figures =
    zone.silentSince !== undefined
      ? `no data since ${formatClock(zone.silentSince)}`
      : latest && !latest.stale
        ? `${Math.round(latest.count)} ppl · ${latest.density.toFixed(2)}/m²`
        : null;
  const ink = letter ? inkOn(zoneColour(latest.density, zone.thresholds)) : "#ffffff";
  const halo = ink === "#ffffff" ? "rgba(0,0,0,0.55)" : "rgba(255,255,255,0.45)";
  const losText = letter || (latest?.stale ? "stale" : "–");

  // Inside: letter, name and figures, where the zone is large enough on screen.
  const losSize = 26 * scale;
  const maxChars = Math.max(4, Math.floor(widthPx / (7.5 * scale)));
  const name = shorten(zone.name, maxChars);
  const fullBox = labelBox(cx / mpp, cy / mpp, Math.min(widthPx, Math.max(losSize, name.length * 7 * scale)), 54 * scale);
  if (widthPx > 90 && heightPx > 60 && !collides(fullBox, placed)) {
    placed.push(fullBox);
    const label = s("g", { class: "zone-label", transform: `translate(${cx},${cy})`, fill: ink, stroke: halo, "stroke-width": 3 * mpp });
    label.append(s("text", { class: "zone-los", "font-size": losSize * mpp, y: -2 * mpp * scale, text: losText }));
    label.append(s("text", { class: "zone-name", "font-size": 13 * mpp * scale, y: 14 * mpp * scale, text: name }));
    if (figures) label.append(s("text", { class: "zone-figures", "font-size": 12 * mpp * scale, y: 28 * mpp * scale, text: figures }));
    return label;
  }

  // Small: the letter alone, filling most of the zone (at least the size it always had).
  const letterSize = Math.max(16 * k, Math.min(26 * k, 0.65 * Math.min(widthPx, heightPx)));
  const letterBox = labelBox(cx / mpp, cy / mpp, letterSize, letterSize);
  if (collides(letterBox, placed)) return null;
  placed.push(letterBox);
  const group = s("g", { class: "zone-label-group" });
  const label = s("g", { class: "zone-label", transform: `translate(${cx},${cy})`, fill: ink, stroke: halo, "stroke-width": 3 * mpp });
  label.append(s("text", { class: "zone-los", "font-size": letterSize * mpp, y: letterSize * 0.35 * mpp, text: losText }));
  group.append(label);
  // Below a small zone the count alone (the density is in the zone panel): a short line keeps side-by-side
  // zones' labels apart.
  const count = zone.silentSince !== undefined ? figures : latest && !latest.stale ? `${Math.round(latest.count)} ppl` : null;
  const below = nested ? null : belowLabel(zone.name, count, { cx, top: box.y, bottom: box.y + box.h, widthPx, mpp, k }, placed, markers);
  if (below) group.append(below);
  return group;
}

function shorten(text, maxChars) {
  return text.length > maxChars ? `${text.slice(0, Math.max(1, maxChars - 1))}…` : text;
}

/** Words into at most `lines` lines of `maxChars`, the last shortened with an ellipsis if need be (pure). */
export function wrapLabel(text, maxChars, lines = 2) {
  const out = [];
  let rest = text.split(/\s+/).filter(Boolean);
  while (rest.length && out.length < lines) {
    let line = rest[0];
    let used = 1;
    while (used < rest.length && `${line} ${rest[used]}`.length <= maxChars) line = `${line} ${rest[used++]}`;
    rest = rest.slice(used);
    out.push(line);
  }
  if (rest.length) out[out.length - 1] = `${out[out.length - 1]} ${rest.join(" ")}`;
  return out.map((line, i) => (i === out.length - 1 || line.length > maxChars ? shorten(line, maxChars) : line));
}

/** A small zone's name (up to two lines) and people count, centred just below it (else just above it),
 * white on a dark halo; the name alone where the count would cover another label, a camera or a patrol,
 * nothing where the name would. */
function belowLabel(name, figures, { cx, top, bottom, widthPx, mpp, k }, placed, markers) {
  const nameSize = 12.5 * k;
  const figureSize = 11.5 * k;
  // About the zone's width: two small zones side by side keep both names.
  const widthAvail = Math.max(widthPx + 16, 70 * k);
  const lines = wrapLabel(name, Math.max(5, Math.floor(widthAvail / (0.62 * nameSize))));
  if (lines.length === 0) return null;
  const nameRows = lines.map((text) => ({ text, size: nameSize, cls: "zone-name" }));
  const variants = figures ? [[...nameRows, { text: figures, size: figureSize, cls: "zone-figures" }], nameRows] : [nameRows];
  const tries = variants.flatMap((rows) => {
    const heightPx = rows.reduce((sum, row) => sum + 1.2 * row.size, 0);
    // 6 px clear of the zone's outline (a selected zone's is 5 px wide), below first, then above.
    return [bottom / mpp + 6, top / mpp - 6 - heightPx].map((topPx) => ({ rows, heightPx, topPx }));
  });
  for (const { rows, heightPx, topPx } of tries) {
    const rowsWidthPx = Math.max(...rows.map((row) => row.text.length * 0.6 * row.size));
    const boxPx = labelBox(cx / mpp, topPx + heightPx / 2, rowsWidthPx, heightPx);
    if (collides(boxPx, placed) || collides(boxPx, markers)) continue;
    placed.push(boxPx);
    const g = s("g", { class: "zone-label zone-label-below", fill: "#ffffff", stroke: "#0b0f13", "stroke-width": 3 * mpp });
    let y = topPx;
    for (const row of rows) {
      y += row.size;
      g.append(s("text", { class: row.cls, x: cx, y: y * mpp, "font-size": row.size * mpp, text: row.text }));
      y += 0.2 * row.size;
    }
    return g;
  }
  return null;
}

/** A zone holding other zones is mostly hidden under them: its label goes below its bottom edge (the
 * camera marker sits at the top-left corner). */
function containerLabel(map, { zone, box }, mpp, placed) {
  const latest = zone.latest;
  const state =
    zone.silentSince !== undefined
      ? `no data since ${formatClock(zone.silentSince)}`
      : latest
        ? latest.stale
          ? "stale"
          : `${latest.los} · ${Math.round(latest.count)} ppl`
        : "no data";
  const text = `${zone.name} · ${state}`;
  const k = map.textScale ?? 1;
  const fontPx = 12 * k;
  // Below the container's wide border (8 px, half of it outside the zone).
  const at = [box.x, box.y + box.h + (6 + fontPx) * mpp];
  const charPx = 0.6 * fontPx;
  const size = labelBox(at[0] / mpp + (text.length * charPx) / 2, at[1] / mpp - fontPx * 0.4, text.length * charPx, fontPx * 1.25);
  if (collides(size, placed)) return null;
  placed.push(size);
  return s("text", {
    class: "zone-container-label",
    x: at[0],
    y: at[1],
    "font-size": fontPx * mpp,
    "stroke-width": 3 * mpp,
    text,
  });
}