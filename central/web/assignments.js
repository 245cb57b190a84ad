// Assigned patrols on the map: a line from each assigned patrol to its zone, and a ring on the patrol.
// Reddish purple (Okabe-Ito #cc79a7, palette.js MAP_COLOURS.assigned), unlike the patrols' blue, the
// selection's white and a drawn region's orange, and unlike the warning/critical fills, so "who is sent
// where" reads at a glance.

import { s } from "./dom.js";

/** Open alerts assigned to a patrol: [{patrol, zone, alert}], one per patrol (its latest assignment). */
export function assignmentsOf(alerts) {
  const byPatrol = new Map();
  for (const a of alerts) {
    if (a.state !== "assigned" || !a.assigned_patrol) continue;
    const old = byPatrol.get(a.assigned_patrol);
    if (!old || a.updated_at > old.alert.updated_at) byPatrol.set(a.assigned_patrol, { patrol: a.assigned_patrol, zone: a.zone, alert: a });
  }
  return [...byPatrol.values()];
}

function centre(points) {
  const xs = points.map((p) => p[0]);
  const ys = points.map((p) => p[1]);
  return [(Math.min(...xs) + Math.max(...xs)) / 2, (Math.min(...ys) + Math.max(...ys)) / 2];
}

/** Draw into `layer` (already emptied); data: {zones, patrols, assignments}. */
export function drawAssignments(layer, projection, data, mpp) {
  const zones = new Map((data.zones || []).map((z) => [z.id, z]));
  const patrols = new Map((data.patrols || []).map((p) => [p.id, p]));
  for (const { patrol: id, zone: zoneId } of data.assignments || []) {
    const patrol = patrols.get(id);
    const zone = zones.get(zoneId);
    if (!patrol || !zone || !Number.isFinite(patrol.lon) || !Number.isFinite(patrol.lat)) continue;
    const [px, py] = projection.toXY(patrol.lon, patrol.lat);
    const [zx, zy] = centre(zone.polygon.map(([lon, lat]) => projection.toXY(lon, lat)));
    const g = s("g", { class: "assignment", "data-patrol": id, "data-zone": zoneId });
    g.append(s("title", { text: `${patrol.name || id} assigned to ${zone.name}` }));
    g.append(s("path", { class: "assignment-line", d: `M${px},${py}L${zx},${zy}` }));
    g.append(s("circle", { class: "assignment-ring", cx: px, cy: py, r: 11 * mpp }));
    layer.append(g);
  }
}
