// Map interaction: pan (drag), zoom (wheel) and drawing a region (rectangle or polygon). Split from
// map.js; every function takes the SiteMap as `map`. Pointer capture starts only once a drag has moved a
// few pixels, so that a plain click still reaches the zone under the pointer.

import { dedupe, rectangle } from "./map_geometry.js";

function toMap(map, event) {
  const point = map.svg.createSVGPoint();
  point.x = event.clientX;
  point.y = event.clientY;
  const local = point.matrixTransform(map.svg.getScreenCTM().inverse());
  return [local.x, local.y];
}

function finishRegion(map, points) {
  const polygon = points.map(([x, y]) => map.projection.toLonLat(x, y));
  map.region = polygon;
  map.draft = [];
  map.tool = null;
  map.svg.classList.remove("drawing");
  map.callbacks.onHint(null);
  map.callbacks.onToolEnded(null);
  map.schedule();
  map.callbacks.onRegion(polygon);
}

export function bindPointer(map) {
  let pan = null;
  const svg = map.svg;
  svg.addEventListener("pointerdown", (event) => {
    if (event.button !== 0 || !map.view) return;
    const at = toMap(map, event);
    if (map.tool === "rect") {
      map.draft = [at, at];
      svg.setPointerCapture(event.pointerId);
    } else if (map.tool === "poly") {
      if (map.draft.length === 0) map.draft = [at, at];
      else map.draft.splice(map.draft.length - 1, 0, at);
    } else {
      pan = { start: [event.clientX, event.clientY], view: { ...map.view }, mpp: map.metresPerPixel(), moved: false };
    }
    map.schedule();
  });
  svg.addEventListener("pointermove", (event) => {
    if (map.tool && map.draft.length > 0) {
      map.draft[map.draft.length - 1] = toMap(map, event);
      map.schedule();
    } else if (pan) {
      const dx = event.clientX - pan.start[0];
      const dy = event.clientY - pan.start[1];
      if (!pan.moved && Math.hypot(dx, dy) < 4) return;
      if (!pan.moved) svg.setPointerCapture(event.pointerId);
      pan.moved = true;
      map.view = { ...pan.view, x: pan.view.x - dx * pan.mpp, y: pan.view.y - dy * pan.mpp };
      map.schedule();
    }
  });
  svg.addEventListener("pointerup", (event) => {
    pan = null;
    if (map.tool === "rect" && map.draft.length > 0) {
      const [a, b] = [map.draft[0], toMap(map, event)];
      const mpp = map.metresPerPixel();
      if (Math.abs(a[0] - b[0]) > 4 * mpp && Math.abs(a[1] - b[1]) > 4 * mpp) finishRegion(map, rectangle(a, b));
      else map.draft = [];
      map.schedule();
    }
  });
  svg.addEventListener("dblclick", (event) => {
    event.preventDefault();
    if (map.tool === "poly") finishPolygon(map);
  });
  window.addEventListener("keydown", (event) => {
    if (!map.tool) return;
    if (event.key === "Escape") map.callbacks.onToolEnded(map.setTool(map.tool));
    if (event.key === "Enter" && map.tool === "poly") finishPolygon(map);
  });
  svg.addEventListener(
    "wheel",
    (event) => {
      if (!map.view) return;
      event.preventDefault();
      const [mx, my] = toMap(map, event);
      const factor = Math.exp(Math.sign(event.deltaY) * 0.15);
      const v = map.view;
      map.view = { x: mx - (mx - v.x) * factor, y: my - (my - v.y) * factor, w: v.w * factor, h: v.h * factor };
      map.schedule();
    },
    { passive: false },
  );
}

function finishPolygon(map) {
  // The last draft point follows the pointer; a double-click also added its own vertices twice.
  const points = dedupe(map.draft.slice(0, -1));
  if (points.length >= 3) finishRegion(map, points);
}
