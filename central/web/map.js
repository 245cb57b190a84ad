// The site map: an SVG in metres around the site centre (map_geometry.js), so it needs no tile server and
// no internet. Optional raster tiles are drawn underneath only when the site config names its own tile
// server. This file holds the view (fit, pan and zoom state, redraw scheduling); the layers are drawn by
// map_zones.js and map_layers.js, pointer handling is map_interaction.js.

import { drawAssignments } from "./assignments.js";
import { clear, s } from "./dom.js";
import { geometryPoints, makeProjection, textScale } from "./map_geometry.js";
import { bindPointer } from "./map_interaction.js";
import { renderBasemap, renderCameras, renderDraft, renderPatrols, renderRegion, renderScale, renderTiles } from "./map_layers.js";
import { renderZones } from "./map_zones.js";
import { losLetters } from "./palette.js";

// The module tests and other modules import these from here.
export { makeProjection, northAngle, scaleBar, textScale } from "./map_geometry.js";

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
    // Bottom to top; the overlay (scale bar, north arrow) last, so nothing covers it.
    for (const name of ["tiles", "basemap", "zones", "region", "assignments", "patrols", "cameras", "labels", "draft", "overlay"]) {
      this.layers[name] = s("g", { class: `layer layer-${name}` });
      svg.append(this.layers[name]);
    }
    this.pending = false;
    this.textScale = 1;
    bindPointer(this);
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

  /** Metres per screen pixel (the view box is in metres), to keep markers and text a constant size on
   * screen; the scale bar is drawn from it too. */
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
    // Map text (zone, camera and patrol labels, scale bar) grows with the map on a wall (map_geometry.js).
    this.textScale = textScale(this.svg.getBoundingClientRect().width);
    renderTiles(this, mpp);
    renderBasemap(this, mpp);
    renderZones(this, mpp);
    renderRegion(this);
    drawAssignments(clear(this.layers.assignments), this.projection, this.data, mpp);
    renderPatrols(this, mpp);
    renderCameras(this, mpp);
    renderDraft(this, mpp);
    renderScale(this, mpp);
  }

  /** The map area on screen, in metres: wider or taller than the view box, which is fitted whole into
   * the element (preserveAspectRatio "meet"). */
  visibleArea() {
    const v = this.view;
    const box = this.svg.getBoundingClientRect();
    const mpp = this.metresPerPixel();
    const w = Math.max(v.w, box.width * mpp);
    const h = Math.max(v.h, box.height * mpp);
    return { left: v.x + v.w / 2 - w / 2, top: v.y + v.h / 2 - h / 2, w, h };
  }

}
