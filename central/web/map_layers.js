// The map's other layers: raster tiles and the GeoJSON base map underneath, cameras and patrols on top,
// the drawn region, and the scale bar and north arrow. Split from map.js; every function takes the
// SiteMap as `map`. Colours are in style.css, named in palette.js (MAP_COLOURS).

import { nowS } from "./clock.js";
import { clear, s } from "./dom.js";
import { centroid, lineOf, northAngle, pathOf, rectangle, scaleBar } from "./map_geometry.js";

const MAX_TILES = 64;
const TRACK_S = 300; // patrol track drawn, seconds of central time
const SCALE_MAX_PX = 130; // the scale bar's longest length on screen

export function renderTiles(map, mpp) {
  const layer = clear(map.layers.tiles);
  const template = map.site?.tile_url;
  if (!template) return;
  const [, lat0] = map.site.center;
  const z = Math.max(0, Math.min(20, Math.round(Math.log2((156543.03 * Math.cos((lat0 * Math.PI) / 180)) / mpp))));
  const n = 2 ** z;
  const tileX = (lon) => Math.floor(((lon + 180) / 360) * n);
  const tileY = (lat) => {
    const r = (lat * Math.PI) / 180;
    return Math.floor(((1 - Math.log(Math.tan(r) + 1 / Math.cos(r)) / Math.PI) / 2) * n);
  };
  const lonOf = (tx) => (tx / n) * 360 - 180;
  const latOf = (ty) => (Math.atan(Math.sinh(Math.PI * (1 - (2 * ty) / n))) * 180) / Math.PI;
  const [west, north] = map.projection.toLonLat(map.view.x, map.view.y);
  const [east, south] = map.projection.toLonLat(map.view.x + map.view.w, map.view.y + map.view.h);
  const x0 = tileX(west);
  const x1 = tileX(east);
  const y0 = tileY(north);
  const y1 = tileY(south);
  if ((x1 - x0 + 1) * (y1 - y0 + 1) > MAX_TILES) return;
  for (let tx = x0; tx <= x1; tx++) {
    for (let ty = y0; ty <= y1; ty++) {
      const [ax, ay] = map.projection.toXY(lonOf(tx), latOf(ty));
      const [bx, by] = map.projection.toXY(lonOf(tx + 1), latOf(ty + 1));
      const href = template.replace("{z}", z).replace("{x}", tx).replace("{y}", ty);
      layer.append(s("image", { href, x: ax, y: ay, width: bx - ax, height: by - ay, preserveAspectRatio: "none" }));
    }
  }
}

export function renderBasemap(map, mpp) {
  const layer = clear(map.layers.basemap);
  for (const feature of map.site?.basemap?.features || []) {
    const geometry = feature.geometry;
    if (!geometry) continue;
    const kind = String(feature.properties?.kind || feature.properties?.type || "feature").replace(/[^a-z0-9_-]/gi, "");
    const cls = `base base-${kind}`;
    const ring = (coords) => coords.map(([lon, lat]) => map.projection.toXY(lon, lat));
    const polygons =
      geometry.type === "Polygon" ? [geometry.coordinates] : geometry.type === "MultiPolygon" ? geometry.coordinates : [];
    for (const polygon of polygons) {
      layer.append(s("path", { d: polygon.map((r) => pathOf(ring(r))).join(""), class: `${cls} base-area`, "fill-rule": "evenodd" }));
    }
    const lines =
      geometry.type === "LineString" ? [geometry.coordinates] : geometry.type === "MultiLineString" ? geometry.coordinates : [];
    for (const line of lines) layer.append(s("path", { d: lineOf(ring(line)), class: `${cls} base-line` }));
    const name = feature.properties?.name;
    if (name && (polygons.length || geometry.type === "Point")) {
      const at = geometry.type === "Point" ? ring([geometry.coordinates])[0] : centroid(ring(polygons[0][0]));
      layer.append(s("text", { x: at[0], y: at[1], class: "base-label", "font-size": 11 * (map.textScale ?? 1) * mpp, text: name }));
    }
  }
}

/** Where a camera's marker goes (map metres), or null. Cameras without a position in the config are drawn
 * just above the top-left corner of the zones they watch, so the marker hides neither a zone's edge nor its
 * level: its box's lower edge 7 px above the corner, clear of a selected zone's (5 px) or a container's
 * (8 px) outline. */
export function cameraAnchor(map, camera, zones, mpp) {
  if (Number.isFinite(camera.lon) && Number.isFinite(camera.lat)) return map.projection.toXY(camera.lon, camera.lat);
  const own = zones.filter((z) => z.camera === camera.camera);
  if (own.length === 0) return null;
  const r = 9 * (map.textScale ?? 1) * mpp;
  const points = own.flatMap((z) => z.polygon.map(([lon, lat]) => map.projection.toXY(lon, lat)));
  return [Math.min(...points.map((p) => p[0])) + r, Math.min(...points.map((p) => p[1])) - 0.7 * r - 7 * mpp];
}

/** Screen-pixel boxes of the camera markers and patrol dots with their names, which zone labels placed
 * outside a zone must not cover. */
export function markerBoxes(map, mpp) {
  const k = map.textScale ?? 1;
  const boxes = [];
  const { zones, cameras, patrols } = map.data;
  for (const camera of cameras || []) {
    const at = cameraAnchor(map, camera, zones, mpp);
    if (!at) continue;
    const name = camera.display_name || camera.camera;
    const [x, y] = [at[0] / mpp, at[1] / mpp];
    boxes.push({ x0: x - 9 * k, x1: x + 12 * k + name.length * 6.2 * k, y0: y - 8 * k, y1: y + 8 * k });
  }
  for (const patrol of patrols || []) {
    if (!Number.isFinite(patrol.lat) || !Number.isFinite(patrol.lon)) continue;
    const [x, y] = map.projection.toXY(patrol.lon, patrol.lat).map((v) => v / mpp);
    const name = patrol.name || patrol.id;
    boxes.push({ x0: x - 7 * k, x1: x + 11 * k + name.length * 7.8 * k, y0: y - 9 * k, y1: y + 9 * k });
  }
  return boxes;
}

export function renderCameras(map, mpp) {
  const layer = clear(map.layers.cameras);
  const { zones, cameras } = map.data;
  const k = map.textScale ?? 1;
  const r = 9 * k * mpp;
  for (const camera of cameras) {
    const at = cameraAnchor(map, camera, zones, mpp);
    if (!at) continue;
    const g = s("g", { class: `camera camera-${camera.state}`, transform: `translate(${at[0]},${at[1]})`, "data-camera": camera.camera });
    // The display name on the map, the id in the tooltip (for the technician who reads the edge's logs).
    const name = camera.display_name || camera.camera;
    g.append(s("title", { text: `Camera ${name}${name === camera.camera ? "" : ` (${camera.camera})`}: ${camera.state}` }));
    g.append(s("rect", { x: -r, y: -r * 0.7, width: 2 * r, height: 1.4 * r, rx: 2 * mpp }));
    g.append(s("text", { class: "camera-glyph", "font-size": 11 * k * mpp, y: 4 * k * mpp, text: cameraGlyph(camera.state) }));
    g.append(s("text", { class: "camera-name", "font-size": 11 * k * mpp, x: r + 3 * mpp, y: 4 * k * mpp, "stroke-width": 3 * mpp, text: name }));
    layer.append(g);
  }
}

export function renderPatrols(map, mpp) {
  const layer = clear(map.layers.patrols);
  const now = nowS();
  for (const patrol of map.data.patrols) {
    if (!Number.isFinite(patrol.lat) || !Number.isFinite(patrol.lon)) continue;
    const [x, y] = map.projection.toXY(patrol.lon, patrol.lat);
    const name = patrol.name || patrol.id;
    const g = s("g", { class: `patrol${patrol.stale ? " patrol-stale" : ""}`, "data-patrol": patrol.id });
    g.append(s("title", { text: `Patrol ${name}${patrol.stale ? " (position is old)" : ""}, ±${Math.round(patrol.acc_m || 0)} m` }));
    drawTrack(map, g, patrol, now);
    if (Number.isFinite(patrol.acc_m) && patrol.acc_m > 0) g.append(s("circle", { cx: x, cy: y, r: patrol.acc_m, class: "patrol-accuracy" }));
    const k = map.textScale ?? 1;
    g.append(s("circle", { cx: x, cy: y, r: 6 * k * mpp, class: "patrol-dot" }));
    g.append(s("text", { x: x + 9 * k * mpp, y: y + 4 * k * mpp, "font-size": 12.5 * k * mpp, "stroke-width": 3 * mpp, class: "patrol-name", text: name }));
    layer.append(g);
    const pointer = offViewPointer(map, x, y, name, patrol.stale, mpp);
    if (pointer) layer.append(pointer);
  }
}

/** The last five minutes of track, fading with age: where a patrol is heading matters more than where
 * it has been, and a full ten-minute track of someone walking a loop covers the map. */
function drawTrack(map, g, patrol, now) {
  const track = (patrol.track || []).filter((p) => Number.isFinite(p[0]) && Number.isFinite(p[1]));
  for (let i = 1; i < track.length; i++) {
    const [lon0, lat0] = track[i - 1];
    const [lon1, lat1, at] = track[i];
    const fresh = Number.isFinite(at) ? 1 - Math.max(0, now - at) / TRACK_S : 1;
    if (fresh <= 0) continue;
    const d = lineOf([map.projection.toXY(lon0, lat0), map.projection.toXY(lon1, lat1)]);
    g.append(s("path", { d, class: "patrol-track", "stroke-opacity": (0.9 * fresh * fresh).toFixed(2) }));
  }
}

/** A patrol outside the view: a small arrow at the map's edge pointing at it, with its name. */
function offViewPointer(map, x, y, name, stale, mpp) {
  const { left, top, w, h } = map.visibleArea();
  const inset = 16 * mpp;
  if (x >= left && x <= left + w && y >= top && y <= top + h) return null;
  const px = Math.min(Math.max(x, left + inset), left + w - inset);
  const py = Math.min(Math.max(y, top + inset), top + h - inset);
  const angle = (Math.atan2(y - py, x - px) * 180) / Math.PI;
  const g = s("g", { class: `patrol-pointer${stale ? " patrol-stale" : ""}`, transform: `translate(${px},${py})` });
  g.append(s("title", { text: `Patrol ${name} is outside the map view` }));
  g.append(s("path", { d: `M${11 * mpp},0L${-6 * mpp},${7 * mpp}L${-2 * mpp},0L${-6 * mpp},${-7 * mpp}Z`, transform: `rotate(${angle})` }));
  const anchor = px > left + w / 2 ? "end" : "start";
  const dx = anchor === "end" ? -12 * mpp : 12 * mpp;
  const dy = py > top + h / 2 ? -8 * mpp : 16 * mpp;
  g.append(s("text", { x: dx, y: dy, "text-anchor": anchor, "font-size": 11 * (map.textScale ?? 1) * mpp, "stroke-width": 3 * mpp, text: name }));
  return g;
}

export function renderRegion(map) {
  const layer = clear(map.layers.region);
  if (!map.region) return;
  const xy = map.region.map(([lon, lat]) => map.projection.toXY(lon, lat));
  layer.append(s("path", { d: pathOf(xy), class: "region" }));
}

export function renderDraft(map, mpp) {
  const layer = clear(map.layers.draft);
  if (map.draft.length === 0) return;
  const points = map.tool === "rect" ? rectangle(map.draft[0], map.draft[map.draft.length - 1]) : map.draft;
  layer.append(s("path", { d: map.tool === "rect" ? pathOf(points) : lineOf(points), class: "region-draft" }));
  for (const [x, y] of map.tool === "poly" ? map.draft.slice(0, -1) : []) {
    layer.append(s("circle", { cx: x, cy: y, r: 4 * mpp, class: "region-vertex" }));
  }
}
function cameraGlyph(state) {
  return { online: "●", stale: "◐", offline: "✕", stopped: "■" }[state] || "?";
}

/**
 * Scale bar (bottom right) and north arrow above it, in screen-constant size. A wall screen is read from
 * across the room by people who never touch it: they cannot zoom to learn how far 100 m is, and a site
 * plan is not always drawn north-up in their heads.
 */
export function renderScale(map, mpp) {
  const layer = clear(map.layers.overlay);
  const k = map.textScale ?? 1;
  const px = k * mpp; // one screen pixel, grown with the map's text on a wall
  const bar = scaleBar(mpp, SCALE_MAX_PX * k);
  if (!bar) return;
  const area = map.visibleArea();
  const inset = 14 * px;
  const right = area.left + area.w - inset;
  const bottom = area.top + area.h - inset;
  const length = bar.metres; // in map units, which are metres
  const x0 = right - length;
  const height = 6 * px;
  const g = s("g", { class: "scale-bar", "data-metres": bar.metres, "data-px": bar.px.toFixed(2) });
  g.append(s("title", { text: `Scale: this bar is ${bar.label} on the ground` }));
  g.append(s("rect", { class: "scale-back", x: x0 - 6 * px, y: bottom - 24 * px, width: length + 12 * px, height: 30 * px, rx: 3 * px }));
  // Two halves, dark and light, so the bar reads on any base map.
  g.append(s("rect", { class: "scale-half scale-dark", x: x0, y: bottom - height, width: length / 2, height }));
  g.append(s("rect", { class: "scale-half scale-light", x: x0 + length / 2, y: bottom - height, width: length / 2, height }));
  g.append(s("rect", { class: "scale-bar-outline", x: x0, y: bottom - height, width: length, height }));
  g.append(s("text", { class: "scale-label", x: right, y: bottom - height - 4 * px, "font-size": 12 * px, "text-anchor": "end", text: bar.label }));
  layer.append(g);

  const size = 16 * px;
  const cx = right - size / 2;
  const cy = bottom - 40 * px - size;
  const angle = northAngle(map.projection, map.site.center);
  const north = s("g", { class: "north-arrow", transform: `translate(${cx},${cy}) rotate(${angle.toFixed(2)})`, "data-angle": angle.toFixed(2) });
  north.append(s("title", { text: "North" }));
  north.append(s("path", { d: `M0,${-size}L${size * 0.45},${size * 0.5}L0,${size * 0.2}L${-size * 0.45},${size * 0.5}Z` }));
  north.append(s("text", { y: size * 1.35, "font-size": 11 * px, "text-anchor": "middle", text: "N" }));
  layer.append(north);
}
