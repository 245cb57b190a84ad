// The site map: an SVG in metres around the site centre (a local equirectangular projection is
// exact enough over a few kilometres), so it needs no tile server and no internet. Optional raster
// tiles are drawn underneath only when the site config names its own tile server.

import { nowS } from "./clock.js";
import { clear, formatClock, s } from "./dom.js";
import { drawAssignments } from "./assignments.js";
import { losLetters, NO_DATA_COLOUR } from "./palette.js";
import { inkOn, zoneColour } from "./severity.js";

const M_PER_DEG_LAT = 110574;
const M_PER_DEG_LON_EQUATOR = 111320;
const MAX_TILES = 64;
const TRACK_S = 300; // patrol track drawn, seconds of central time

export function makeProjection(center) {
  const [lon0, lat0] = center;
  const kx = M_PER_DEG_LON_EQUATOR * Math.cos((lat0 * Math.PI) / 180);
  return {
    toXY: (lon, lat) => [(lon - lon0) * kx, -(lat - lat0) * M_PER_DEG_LAT],
    toLonLat: (x, y) => [lon0 + x / kx, lat0 - y / M_PER_DEG_LAT],
  };
}

function centroid(points) {
  // Area-weighted centroid; falls back to the vertex mean for degenerate rings.
  let area = 0;
  let cx = 0;
  let cy = 0;
  for (let i = 0; i < points.length; i++) {
    const [x0, y0] = points[i];
    const [x1, y1] = points[(i + 1) % points.length];
    const cross = x0 * y1 - x1 * y0;
    area += cross;
    cx += (x0 + x1) * cross;
    cy += (y0 + y1) * cross;
  }
  if (Math.abs(area) < 1e-9) {
    const n = points.length || 1;
    return [points.reduce((a, p) => a + p[0], 0) / n, points.reduce((a, p) => a + p[1], 0) / n];
  }
  return [cx / (3 * area), cy / (3 * area)];
}

const pathOf = (points) => points.map(([x, y], i) => `${i ? "L" : "M"}${x.toFixed(2)},${y.toFixed(2)}`).join("") + "Z";
const lineOf = (points) => points.map(([x, y], i) => `${i ? "L" : "M"}${x.toFixed(2)},${y.toFixed(2)}`).join("");

/** Every coordinate pair in a GeoJSON geometry, for fitting the view. */
function geometryPoints(geometry) {
  if (!geometry) return [];
  const { type, coordinates } = geometry;
  if (type === "Point") return [coordinates];
  if (type === "LineString" || type === "MultiPoint") return coordinates;
  if (type === "Polygon" || type === "MultiLineString") return coordinates.flat();
  if (type === "MultiPolygon") return coordinates.flat(2);
  if (type === "GeometryCollection") return geometry.geometries.flatMap(geometryPoints);
  return [];
}

export class SiteMap {
  /**
   * @param svg the <svg> element
   * @param callbacks {onSelectZone(id), onRegion(polygonLonLat), onHint(text|null)}
   */
  constructor(svg, callbacks) {
    this.svg = svg;
    this.callbacks = callbacks;
    this.projection = makeProjection([0, 0]);
    this.view = null; // {x, y, w, h} in metres
    this.home = null;
    this.tool = null; // null | "rect" | "poly"
    this.draft = []; // region being drawn, in metres
    this.region = null; // finished region, lon/lat
    this.data = null;
    this.layers = {};
    for (const name of ["tiles", "basemap", "zones", "region", "assignments", "patrols", "cameras", "labels", "draft"]) {
      this.layers[name] = s("g", { class: `layer layer-${name}` });
      svg.append(this.layers[name]);
    }
    this.pending = false;
    this.bindPointer();
    new ResizeObserver(() => this.schedule()).observe(svg);
  }

  setSite(site) {
    this.site = site;
    this.projection = makeProjection(site.center);
    this.letters = losLetters(site.los_bands);
    this.view = null;
  }

  /** data: {zones, cameras, patrols, alertZones: Set, selectedZone} */
  update(data) {
    this.data = data;
    if (!this.view) this.fit();
    this.schedule();
  }

  fit() {
    if (!this.site) return;
    // Frame the zones: they are what operators watch; the base map is context around them.
    const points = [];
    for (const zone of this.data?.zones || []) points.push(...zone.polygon);
    // ... and the patrols, who are sent to them: an operator must see who is where before assigning.
    for (const p of this.data?.patrols || []) if (Number.isFinite(p.lon) && Number.isFinite(p.lat)) points.push([p.lon, p.lat]);
    if (points.length === 0) {
      for (const feature of this.site.basemap?.features || []) points.push(...geometryPoints(feature.geometry));
    }
    const xy = points.map(([lon, lat]) => this.projection.toXY(lon, lat));
    if (xy.length === 0) xy.push([-150, -100], [150, 100]);
    const xs = xy.map((p) => p[0]);
    const ys = xy.map((p) => p[1]);
    const pad = Math.max(15, 0.15 * Math.max(Math.max(...xs) - Math.min(...xs), Math.max(...ys) - Math.min(...ys)));
    this.home = {
      x: Math.min(...xs) - pad,
      y: Math.min(...ys) - pad,
      w: Math.max(...xs) - Math.min(...xs) + 2 * pad,
      h: Math.max(...ys) - Math.min(...ys) + 2 * pad,
    };
    this.view = { ...this.home };
    this.schedule();
  }

  setTool(tool) {
    this.tool = this.tool === tool ? null : tool;
    this.draft = [];
    this.svg.classList.toggle("drawing", this.tool !== null);
    this.callbacks.onHint(
      this.tool === "rect"
        ? "Drag a rectangle over the area."
        : this.tool === "poly"
          ? "Click the corners; double-click or press Enter to finish, Esc to cancel."
          : null,
    );
    this.schedule();
    return this.tool;
  }

  clearRegion() {
    this.region = null;
    this.draft = [];
    this.schedule();
  }

  schedule() {
    if (this.pending) return;
    this.pending = true;
    requestAnimationFrame(() => {
      this.pending = false;
      this.render();
    });
  }

  /** Metres per screen pixel, to keep markers and text a constant size on screen. */
  metresPerPixel() {
    const box = this.svg.getBoundingClientRect();
    if (!this.view || box.width === 0 || box.height === 0) return 1;
    return Math.max(this.view.w / box.width, this.view.h / box.height);
  }

  render() {
    if (!this.view || !this.data) return;
    const { x, y, w, h } = this.view;
    this.svg.setAttribute("viewBox", `${x} ${y} ${w} ${h}`);
    this.svg.setAttribute("preserveAspectRatio", "xMidYMid meet");
    const mpp = this.metresPerPixel();
    this.renderTiles(mpp);
    this.renderBasemap(mpp);
    this.renderZones(mpp);
    this.renderRegion();
    drawAssignments(clear(this.layers.assignments), this.projection, this.data, mpp);
    this.renderPatrols(mpp);
    this.renderCameras(mpp);
    this.renderDraft(mpp);
  }

  renderTiles(mpp) {
    const layer = clear(this.layers.tiles);
    const template = this.site?.tile_url;
    if (!template) return;
    const [, lat0] = this.site.center;
    const z = Math.max(0, Math.min(20, Math.round(Math.log2((156543.03 * Math.cos((lat0 * Math.PI) / 180)) / mpp))));
    const n = 2 ** z;
    const tileX = (lon) => Math.floor(((lon + 180) / 360) * n);
    const tileY = (lat) => {
      const r = (lat * Math.PI) / 180;
      return Math.floor(((1 - Math.log(Math.tan(r) + 1 / Math.cos(r)) / Math.PI) / 2) * n);
    };
    const lonOf = (tx) => (tx / n) * 360 - 180;
    const latOf = (ty) => (Math.atan(Math.sinh(Math.PI * (1 - (2 * ty) / n))) * 180) / Math.PI;
    const [west, north] = this.projection.toLonLat(this.view.x, this.view.y);
    const [east, south] = this.projection.toLonLat(this.view.x + this.view.w, this.view.y + this.view.h);
    const x0 = tileX(west);
    const x1 = tileX(east);
    const y0 = tileY(north);
    const y1 = tileY(south);
    if ((x1 - x0 + 1) * (y1 - y0 + 1) > MAX_TILES) return;
    for (let tx = x0; tx <= x1; tx++) {
      for (let ty = y0; ty <= y1; ty++) {
        const [ax, ay] = this.projection.toXY(lonOf(tx), latOf(ty));
        const [bx, by] = this.projection.toXY(lonOf(tx + 1), latOf(ty + 1));
        const href = template.replace("{z}", z).replace("{x}", tx).replace("{y}", ty);
        layer.append(s("image", { href, x: ax, y: ay, width: bx - ax, height: by - ay, preserveAspectRatio: "none" }));
      }
    }
  }

  renderBasemap(mpp) {
    const layer = clear(this.layers.basemap);
    for (const feature of this.site?.basemap?.features || []) {
      const geometry = feature.geometry;
      if (!geometry) continue;
      const kind = String(feature.properties?.kind || feature.properties?.type || "feature").replace(/[^a-z0-9_-]/gi, "");
      const cls = `base base-${kind}`;
      const ring = (coords) => coords.map(([lon, lat]) => this.projection.toXY(lon, lat));
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
        layer.append(s("text", { x: at[0], y: at[1], class: "base-label", "font-size": 11 * mpp, text: name }));
      }
    }
  }

  /**
   * Zone shapes are kept and updated in place, keyed by id: live events redraw several times a second,
   * and a click whose press and release land on two different elements would be lost.
   */
  zonePath(id) {
    if (!this.zonePaths) this.zonePaths = new Map();
    let path = this.zonePaths.get(id);
    if (!path) {
      path = s("path", { "data-zone": id, tabindex: 0, role: "button" });
      path.addEventListener("click", () => {
        if (!this.tool) this.callbacks.onSelectZone(id);
      });
      path.addEventListener("keydown", (event) => {
        if (event.key === "Enter") this.callbacks.onSelectZone(id);
      });
      path.append(s("title"));
      this.zonePaths.set(id, path);
    }
    return path;
  }

  renderZones(mpp) {
    const layer = this.layers.zones;
    const labels = clear(this.layers.labels);
    const { zones, alertZones, selectedZone } = this.data;
    const present = new Set(zones.map((z) => z.id));
    for (const [id, path] of this.zonePaths || []) {
      if (!present.has(id)) {
        path.remove();
        this.zonePaths.delete(id);
      }
    }
    const shapes = zoneShapes(zones, this.projection);
    // Larger zones underneath, so a zone inside another stays visible and clickable.
    const order = shapes.slice().sort((a, b) => b.area - a.area);
    for (const shape of order) this.drawZone(shape, { alertZones, selectedZone });
    const paths = order.map((shape) => this.zonePath(shape.zone.id));
    if (paths.some((path, i) => layer.children[i] !== path)) layer.append(...paths);

    // Labels keep their screen size. Smaller zones first: they are on top, and a label that would
    // cover another one is shortened to its letter, or left out.
    const placed = [];
    for (const shape of shapes.slice().sort((a, b) => a.area - b.area)) {
      const label = shape.container ? this.containerLabel(shape, mpp, placed) : this.zoneLabel(shape, mpp, placed);
      if (label) labels.append(label);
    }
  }

  drawZone({ zone, xy, container }, { alertZones, selectedZone }) {
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
    const path = this.zonePath(zone.id);
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
    if (path.firstChild.textContent !== zone.name) path.firstChild.textContent = zone.name;
  }

  /** Letter, name and figures at the zone's centre; the letter alone when the zone is small on screen. */
  zoneLabel({ zone, xy, box }, mpp, placed) {
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
  containerLabel({ zone, box }, mpp, placed) {
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

  renderCameras(mpp) {
    const layer = clear(this.layers.cameras);
    const { zones, cameras } = this.data;
    for (const camera of cameras) {
      // Cameras have no position in the API: draw each beside the zones it watches.
      let at = null;
      if (Number.isFinite(camera.lon) && Number.isFinite(camera.lat)) at = this.projection.toXY(camera.lon, camera.lat);
      else {
        const own = zones.filter((z) => z.camera === camera.camera);
        if (own.length === 0) continue;
        const points = own.flatMap((z) => z.polygon.map(([lon, lat]) => this.projection.toXY(lon, lat)));
        // Just above the zones' top-left corner, so it hides neither a zone's edge nor its level.
        at = [Math.min(...points.map((p) => p[0])) + 9 * mpp, Math.min(...points.map((p) => p[1])) - 10 * mpp];
      }
      const r = 9 * mpp;
      const g = s("g", { class: `camera camera-${camera.state}`, transform: `translate(${at[0]},${at[1]})`, "data-camera": camera.camera });
      g.append(s("title", { text: `Camera ${camera.camera}: ${camera.state}` }));
      g.append(s("rect", { x: -r, y: -r * 0.7, width: 2 * r, height: 1.4 * r, rx: 2 * mpp }));
      g.append(s("text", { class: "camera-glyph", "font-size": 11 * mpp, y: 4 * mpp, text: cameraGlyph(camera.state) }));
      g.append(s("text", { class: "camera-name", "font-size": 10 * mpp, x: r + 3 * mpp, y: 4 * mpp, "stroke-width": 3 * mpp, text: camera.camera }));
      layer.append(g);
    }
  }

  renderPatrols(mpp) {
    const layer = clear(this.layers.patrols);
    const now = nowS();
    for (const patrol of this.data.patrols) {
      if (!Number.isFinite(patrol.lat) || !Number.isFinite(patrol.lon)) continue;
      const [x, y] = this.projection.toXY(patrol.lon, patrol.lat);
      const name = patrol.name || patrol.id;
      const g = s("g", { class: `patrol${patrol.stale ? " patrol-stale" : ""}`, "data-patrol": patrol.id });
      g.append(s("title", { text: `Patrol ${name}${patrol.stale ? " (position is old)" : ""}, ±${Math.round(patrol.acc_m || 0)} m` }));
      this.drawTrack(g, patrol, now);
      if (Number.isFinite(patrol.acc_m) && patrol.acc_m > 0) g.append(s("circle", { cx: x, cy: y, r: patrol.acc_m, class: "patrol-accuracy" }));
      g.append(s("circle", { cx: x, cy: y, r: 6 * mpp, class: "patrol-dot" }));
      g.append(s("text", { x: x + 9 * mpp, y: y + 4 * mpp, "font-size": 12 * mpp, "stroke-width": 3 * mpp, class: "patrol-name", text: name }));
      layer.append(g);
      const pointer = this.offViewPointer(x, y, name, patrol.stale, mpp);
      if (pointer) layer.append(pointer);
    }
  }

  /** The last five minutes of track, fading with age: where a patrol is heading matters more than where
   * it has been, and a full ten-minute track of someone walking a loop covers the map. */
  drawTrack(g, patrol, now) {
    const track = (patrol.track || []).filter((p) => Number.isFinite(p[0]) && Number.isFinite(p[1]));
    for (let i = 1; i < track.length; i++) {
      const [lon0, lat0] = track[i - 1];
      const [lon1, lat1, at] = track[i];
      const fresh = Number.isFinite(at) ? 1 - Math.max(0, now - at) / TRACK_S : 1;
      if (fresh <= 0) continue;
      const d = lineOf([this.projection.toXY(lon0, lat0), this.projection.toXY(lon1, lat1)]);
      g.append(s("path", { d, class: "patrol-track", "stroke-opacity": (0.9 * fresh * fresh).toFixed(2) }));
    }
  }

  /** A patrol outside the view: a small arrow at the map's edge pointing at it, with its name. */
  offViewPointer(x, y, name, stale, mpp) {
    const v = this.view;
    const box = this.svg.getBoundingClientRect();
    // The visible area is wider or taller than the view box (preserveAspectRatio "meet").
    const w = Math.max(v.w, box.width * mpp);
    const h = Math.max(v.h, box.height * mpp);
    const left = v.x + v.w / 2 - w / 2;
    const top = v.y + v.h / 2 - h / 2;
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
    g.append(s("text", { x: dx, y: dy, "text-anchor": anchor, "font-size": 11 * mpp, "stroke-width": 3 * mpp, text: name }));
    return g;
  }

  renderRegion() {
    const layer = clear(this.layers.region);
    if (!this.region) return;
    const xy = this.region.map(([lon, lat]) => this.projection.toXY(lon, lat));
    layer.append(s("path", { d: pathOf(xy), class: "region" }));
  }

  renderDraft(mpp) {
    const layer = clear(this.layers.draft);
    if (this.draft.length === 0) return;
    const points = this.tool === "rect" ? rectangle(this.draft[0], this.draft[this.draft.length - 1]) : this.draft;
    layer.append(s("path", { d: this.tool === "rect" ? pathOf(points) : lineOf(points), class: "region-draft" }));
    for (const [x, y] of this.tool === "poly" ? this.draft.slice(0, -1) : []) {
      layer.append(s("circle", { cx: x, cy: y, r: 4 * mpp, class: "region-vertex" }));
    }
  }

  toMap(event) {
    const point = this.svg.createSVGPoint();
    point.x = event.clientX;
    point.y = event.clientY;
    const local = point.matrixTransform(this.svg.getScreenCTM().inverse());
    return [local.x, local.y];
  }

  finishRegion(points) {
    const polygon = points.map(([x, y]) => this.projection.toLonLat(x, y));
    this.region = polygon;
    this.draft = [];
    this.tool = null;
    this.svg.classList.remove("drawing");
    this.callbacks.onHint(null);
    this.callbacks.onToolEnded(null);
    this.schedule();
    this.callbacks.onRegion(polygon);
  }

  bindPointer() {
    let pan = null;
    const svg = this.svg;
    svg.addEventListener("pointerdown", (event) => {
      if (event.button !== 0 || !this.view) return;
      const at = this.toMap(event);
      if (this.tool === "rect") {
        this.draft = [at, at];
        svg.setPointerCapture(event.pointerId);
      } else if (this.tool === "poly") {
        if (this.draft.length === 0) this.draft = [at, at];
        else this.draft.splice(this.draft.length - 1, 0, at);
      } else {
        pan = { start: [event.clientX, event.clientY], view: { ...this.view }, mpp: this.metresPerPixel(), moved: false };
      }
      this.schedule();
    });
    svg.addEventListener("pointermove", (event) => {
      if (this.tool && this.draft.length > 0) {
        this.draft[this.draft.length - 1] = this.toMap(event);
        this.schedule();
      } else if (pan) {
        const dx = event.clientX - pan.start[0];
        const dy = event.clientY - pan.start[1];
        if (!pan.moved && Math.hypot(dx, dy) < 4) return;
        if (!pan.moved) svg.setPointerCapture(event.pointerId);
        pan.moved = true;
        this.view = { ...pan.view, x: pan.view.x - dx * pan.mpp, y: pan.view.y - dy * pan.mpp };
        this.schedule();
      }
    });
    svg.addEventListener("pointerup", (event) => {
      pan = null;
      if (this.tool === "rect" && this.draft.length > 0) {
        const [a, b] = [this.draft[0], this.toMap(event)];
        const mpp = this.metresPerPixel();
        if (Math.abs(a[0] - b[0]) > 4 * mpp && Math.abs(a[1] - b[1]) > 4 * mpp) this.finishRegion(rectangle(a, b));
        else this.draft = [];
        this.schedule();
      }
    });
    svg.addEventListener("dblclick", (event) => {
      event.preventDefault();
      if (this.tool === "poly") this.finishPolygon();
    });
    window.addEventListener("keydown", (event) => {
      if (!this.tool) return;
      if (event.key === "Escape") this.callbacks.onToolEnded(this.setTool(this.tool));
      if (event.key === "Enter" && this.tool === "poly") this.finishPolygon();
    });
    svg.addEventListener(
      "wheel",
      (event) => {
        if (!this.view) return;
        event.preventDefault();
        const [mx, my] = this.toMap(event);
        const factor = Math.exp(Math.sign(event.deltaY) * 0.15);
        const v = this.view;
        this.view = { x: mx - (mx - v.x) * factor, y: my - (my - v.y) * factor, w: v.w * factor, h: v.h * factor };
        this.schedule();
      },
      { passive: false },
    );
  }

  finishPolygon() {
    // The last draft point follows the pointer; a double-click also added its own vertices twice.
    const points = dedupe(this.draft.slice(0, -1));
    if (points.length >= 3) this.finishRegion(points);
  }
}

function rectangle([ax, ay], [bx, by]) {
  return [
    [ax, ay],
    [bx, ay],
    [bx, by],
    [ax, by],
  ];
}

function dedupe(points) {
  const out = [];
  for (const p of points) {
    const last = out[out.length - 1];
    if (!last || Math.hypot(p[0] - last[0], p[1] - last[1]) > 0.01) out.push(p);
  }
  return out;
}

function cameraGlyph(state) {
  return { online: "●", stale: "◐", offline: "✕", stopped: "■" }[state] || "?";
}

/** Each zone in metres with its area, bounding box, and whether it holds another zone. */
function zoneShapes(zones, projection) {
  const shapes = zones.map((zone) => {
    const xy = zone.polygon.map(([lon, lat]) => projection.toXY(lon, lat));
    const xs = xy.map((p) => p[0]);
    const ys = xy.map((p) => p[1]);
    const box = { x: Math.min(...xs), y: Math.min(...ys), w: Math.max(...xs) - Math.min(...xs), h: Math.max(...ys) - Math.min(...ys) };
    return { zone, xy, box, area: Math.abs(signedArea(xy)), container: false };
  });
  for (const outer of shapes) {
    outer.container = shapes.some((inner) => inner !== outer && inner.area < outer.area && inside(inner.xy, outer.xy));
  }
  return shapes;
}

function signedArea(points) {
  let sum = 0;
  for (let i = 0; i < points.length; i++) {
    const [x0, y0] = points[i];
    const [x1, y1] = points[(i + 1) % points.length];
    sum += x0 * y1 - x1 * y0;
  }
  return sum / 2;
}

/** Whether every vertex of `inner` lies in `outer` (shared edges count: vertices are nudged inwards). */
function inside(inner, outer) {
  const [cx, cy] = centroid(inner);
  return inner.every(([x, y]) => pointInPolygon(x + (cx - x) * 0.01, y + (cy - y) * 0.01, outer));
}

function pointInPolygon(x, y, ring) {
  let hit = false;
  for (let i = 0, j = ring.length - 1; i < ring.length; j = i++) {
    const [xi, yi] = ring[i];
    const [xj, yj] = ring[j];
    if (yi > y !== yj > y && x < ((xj - xi) * (y - yi)) / (yj - yi) + xi) hit = !hit;
  }
  return hit;
}

const labelBox = (cx, cy, w, h) => ({ x0: cx - w / 2, x1: cx + w / 2, y0: cy - h / 2, y1: cy + h / 2 });
const collides = (box, placed) => placed.some((b) => box.x0 < b.x1 && b.x0 < box.x1 && box.y0 < b.y1 && b.y0 < box.y1);
