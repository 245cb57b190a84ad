// The zones layer: each zone filled on the alerts' colour scale with its level letter, name and figures
// written inside (or below, for a zone that holds other zones). Split from map.js; every function takes
// the SiteMap as `map`.

import { clear, formatClock, s } from "./dom.js";
import { centroid, collides, labelBox, pathOf, zoneShapes } from "./map_geometry.js";
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
  for (const shape of shapes.slice().sort((a, b) => a.area - b.area)) {
    const label = shape.container ? containerLabel(map, shape, mpp, placed) : zoneLabel(map, shape, mpp, placed);
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

/** Letter, name and figures at the zone's centre; the letter alone when the zone is small on screen. */
function zoneLabel(map, { zone, xy, box }, mpp, placed) {
  const latest = zone.latest;
  const letter = latest && !latest.stale ? latest.los : null;
  const [cx, cy] = centroid(xy);
  const widthPx = box.w / mpp;
  const heightPx = box.h / mpp;
  const scale = Math.max(0.6, Math.min(1.3, Math.min(widthPx / 140, heightPx / 90)));
  const losSize = 26 * scale;
  const maxChars = Math.max(4, Math.floor(widthPx / (7.5 * scale)));
  const name = zone.name.length > maxChars ? `${zone.name.slice(0, maxChars - 1)}…` : zone.name;
  const figures =
    zone.silentSince !== undefined
      ? `no data since ${formatClock(zone.silentSince)}`
      : latest && !latest.stale
        ? `${Math.round(latest.count)} ppl · ${latest.density.toFixed(2)}/m²`
        : null;
  // Screen-pixel boxes around the centre for the full label and for the letter alone.
  const fullBox = labelBox(cx / mpp, cy / mpp, Math.min(widthPx, Math.max(losSize, name.length * 7 * scale)), 54 * scale);
  const letterBox = labelBox(cx / mpp, cy / mpp, losSize, losSize);
  let full = widthPx > 90 && heightPx > 60 && !collides(fullBox, placed);
  if (!full && collides(letterBox, placed)) return null;
  placed.push(full ? fullBox : letterBox);

  const ink = letter ? inkOn(zoneColour(latest.density, zone.thresholds)) : "#ffffff";
  const halo = ink === "#ffffff" ? "rgba(0,0,0,0.55)" : "rgba(255,255,255,0.45)";
  const label = s("g", { class: "zone-label", transform: `translate(${cx},${cy})`, fill: ink, stroke: halo, "stroke-width": 3 * mpp });
  const size = losSize * mpp;
  label.append(s("text", { class: "zone-los", "font-size": size, y: full ? -2 * mpp * scale : size * 0.35, text: letter || (latest?.stale ? "stale" : "–") }));
  if (full) {
    label.append(s("text", { class: "zone-name", "font-size": 12 * mpp * scale, y: 14 * mpp * scale, text: name }));
    if (figures) label.append(s("text", { class: "zone-figures", "font-size": 11 * mpp * scale, y: 28 * mpp * scale, text: figures }));
  }
  return label;
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
  const at = [box.x, box.y + box.h + 15 * mpp];
  const size = labelBox(at[0] / mpp + text.length * 3.3, at[1] / mpp - 5, text.length * 6.6, 14);
  if (collides(size, placed)) return null;
  placed.push(size);
  return s("text", {
    class: "zone-container-label",
    x: at[0],
    y: at[1],
    "font-size": 11 * mpp,
    "stroke-width": 3 * mpp,
    text,
  });
}