// Map geometry in metres: the projection, shapes and the scale bar. Pure functions, no DOM, so the module
// tests can check them alone.
//
// The map is an SVG whose user units are metres east (x) and south (y, SVG grows downwards) of the site
// centre, by a local equirectangular projection scaled at the centre's latitude: under a metre of error
// across a few kilometres, which is all a site spans, and no tile server or library is needed.

export const M_PER_DEG_LAT = 110574;
export const M_PER_DEG_LON_EQUATOR = 111320;

export function makeProjection(center) {
  const [lon0, lat0] = center;
  const kx = M_PER_DEG_LON_EQUATOR * Math.cos((lat0 * Math.PI) / 180);
  return {
    toXY: (lon, lat) => [(lon - lon0) * kx, -(lat - lat0) * M_PER_DEG_LAT],
    toLonLat: (x, y) => [lon0 + x / kx, lat0 - y / M_PER_DEG_LAT],
  };
}

export function centroid(points) {
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

export const pathOf = (points) => points.map(([x, y], i) => `${i ? "L" : "M"}${x.toFixed(2)},${y.toFixed(2)}`).join("") + "Z";
export const lineOf = (points) => points.map(([x, y], i) => `${i ? "L" : "M"}${x.toFixed(2)},${y.toFixed(2)}`).join("");

/** Every coordinate pair in a GeoJSON geometry, for fitting the view. */
export function geometryPoints(geometry) {
  if (!geometry) return [];
  const { type, coordinates } = geometry;
  if (type === "Point") return [coordinates];
  if (type === "LineString" || type === "MultiPoint") return coordinates;
  if (type === "Polygon" || type === "MultiLineString") return coordinates.flat();
  if (type === "MultiPolygon") return coordinates.flat(2);
  if (type === "GeometryCollection") return geometry.geometries.flatMap(geometryPoints);
  return [];
}

export function rectangle([ax, ay], [bx, by]) {
  return [
    [ax, ay],
    [bx, ay],
    [bx, by],
    [ax, by],
  ];
}

export function dedupe(points) {
  const out = [];
  for (const p of points) {
    const last = out[out.length - 1];
    if (!last || Math.hypot(p[0] - last[0], p[1] - last[1]) > 0.01) out.push(p);
  }
  return out;
}

/** Each zone in metres with its area, bounding box, and whether it holds another zone. */
export function zoneShapes(zones, projection) {
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

export function signedArea(points) {
  let sum = 0;
  for (let i = 0; i < points.length; i++) {
    const [x0, y0] = points[i];
    const [x1, y1] = points[(i + 1) % points.length];
    sum += x0 * y1 - x1 * y0;
  }
  return sum / 2;
}

/** Whether every vertex of `inner` lies in `outer` (shared edges count: vertices are nudged inwards). */
export function inside(inner, outer) {
  const [cx, cy] = centroid(inner);
  return inner.every(([x, y]) => pointInPolygon(x + (cx - x) * 0.01, y + (cy - y) * 0.01, outer));
}

export function pointInPolygon(x, y, ring) {
  let hit = false;
  for (let i = 0, j = ring.length - 1; i < ring.length; j = i++) {
    const [xi, yi] = ring[i];
    const [xj, yj] = ring[j];
    if (yi > y !== yj > y && x < ((xj - xi) * (y - yi)) / (yj - yi) + xi) hit = !hit;
  }
  return hit;
}

/** How much larger than on a laptop the map's text is drawn: with the map's width on screen (a wall's map
 * is about 1.4 times a laptop's, read from across the room), 1 up to a ~950 px map and 1.4 at most. */
export function textScale(mapWidthPx) {
  return Number.isFinite(mapWidthPx) && mapWidthPx > 0 ? Math.min(1.4, Math.max(1, mapWidthPx / 950)) : 1;
}

export const labelBox = (cx, cy, w, h) => ({ x0: cx - w / 2, x1: cx + w / 2, y0: cy - h / 2, y1: cy + h / 2 });
export const collides = (box, placed) => placed.some((b) => box.x0 < b.x1 && b.x0 < box.x1 && box.y0 < b.y1 && b.y0 < box.y1);
/** The scale bar for `mpp` metres per screen pixel: the longest round length (1, 2 or 5 × 10^k m) that
 * fits in `maxPx`, and its length on screen. Because the projection keeps true metres at the centre's
 * latitude in both axes, one length serves horizontally and vertically. */
export function scaleBar(mpp, maxPx = 120) {
  if (!(mpp > 0) || !(maxPx > 0)) return null;
  const limit = mpp * maxPx;
  const magnitude = 10 ** Math.floor(Math.log10(limit));
  const metres = Number(([5, 2, 1].map((m) => m * magnitude).find((m) => m <= limit) ?? magnitude).toPrecision(6));
  return { metres, px: metres / mpp, label: metres >= 1000 ? `${metres / 1000} km` : `${metres} m` };
}

/** Screen angle of north, degrees clockwise from up: the projection's own north (0 today: the map is
 * never rotated), so the arrow stays right if a rotated or other projection is ever used. */
export function northAngle(projection, center) {
  const [x0, y0] = projection.toXY(center[0], center[1]);
  const [x1, y1] = projection.toXY(center[0], center[1] + 0.001);
  return (Math.atan2(x1 - x0, -(y1 - y0)) * 180) / Math.PI;
}
