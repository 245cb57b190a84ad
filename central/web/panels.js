// Smaller panels: edge health table, region result, zone figures, LOS legend.

import { nowS } from "./clock.js";
import { $, clear, fixed, formatAge, formatClock, h } from "./dom.js";
import { inkOn, SEVERITY_LEGEND } from "./severity.js";

const STATE_ORDER = { offline: 0, stale: 1, unknown: 2, stopped: 3, online: 4 };
const STATE_GLYPH = { online: "●", stale: "◐", offline: "✕", stopped: "■", unknown: "?" };

export function renderCameras(cameras) {
  const body = clear($("cameras"));
  const now = nowS();
  const name = (camera) => camera.display_name || camera.camera;
  const sorted = cameras.slice().sort((a, b) => (STATE_ORDER[a.state] ?? 9) - (STATE_ORDER[b.state] ?? 9) || name(a).localeCompare(name(b)));
  for (const camera of sorted) {
    const fps = Number.isFinite(camera.processed_fps)
      ? `${fixed(camera.processed_fps, 1)}${Number.isFinite(camera.capture_fps) ? ` / ${fixed(camera.capture_fps, 1)}` : ""}`
      : "—";
    body.append(
      h(
        "tr",
        { class: `cam cam-${camera.state}`, "data-camera": camera.camera, "data-name": name(camera) },
        // The display name; the ids (camera, site) in the tooltip, for whoever reads the edge's logs.
        h("td", { class: "cam-name", text: name(camera), title: `camera ${camera.camera}, site ${camera.site}` }),
        h("td", null, h("span", { class: `cam-state cam-state-${camera.state}`, text: `${STATE_GLYPH[camera.state] || "?"} ${camera.state}` })),
        h("td", { class: "num", text: fps, title: "processed / captured frames per second" }),
        h("td", { class: "num", "data-seen-at": camera.last_seen ?? "", text: Number.isFinite(camera.last_seen) ? formatAge(now - camera.last_seen) : "never" }),
      ),
    );
  }
  const counts = {};
  for (const camera of cameras) counts[camera.state] = (counts[camera.state] || 0) + 1;
  const summary = Object.entries(counts)
    .sort((a, b) => (STATE_ORDER[a[0]] ?? 9) - (STATE_ORDER[b[0]] ?? 9))
    .map(([state, n]) => `${n} ${state}`)
    .join(" · ");
  $("camera-summary").textContent = summary || "none reporting";
  $("camera-summary").classList.toggle("camera-summary-bad", Boolean(counts.offline || counts.stale));
}

export function tickCameras() {
  const now = nowS();
  for (const cell of document.querySelectorAll("[data-seen-at]")) {
    const at = Number(cell.dataset.seenAt);
    if (cell.dataset.seenAt !== "" && Number.isFinite(at)) cell.textContent = formatAge(now - at);
  }
}

/** The map's colour key: the alerts' scale (severity.js); the LOS letters stay as text on the zones. */
export function renderLegend(letters) {
  const legend = clear($("legend"));
  legend.title = `Zone colour follows the alert thresholds; level of service ${letters.join(" ")} is written on each zone`;
  for (const { label, colour } of SEVERITY_LEGEND) {
    legend.append(h("li", { class: "legend-severity", style: `background:${colour};color:${inkOn(colour)}`, text: label }));
  }
}

export function renderRegionResult(result, zoneName, onClose) {
  const box = clear($("region-result"));
  box.hidden = false;
  box.append(
    h("button", { type: "button", class: "close", "aria-label": "Close", text: "×", onclick: onClose }),
    h("h3", { text: "Selected area" }),
    h(
      "dl",
      { class: "region-figures" },
      h("dt", { text: "People now" }),
      h("dd", { id: "region-people", text: fixed(result.people, 0) }),
      h("dt", { text: "Mean density" }),
      h("dd", { id: "region-density", text: `${fixed(result.mean_density, 2)} /m²` }),
      h("dt", { text: "In 10 min" }),
      h("dd", { id: "region-forecast", text: fixed(result.forecast_people, 0) }),
    ),
  );
  const zones = (result.zones || []).filter((z) => z.overlap > 0);
  if (zones.length) {
    const table = h("table", { class: "region-zones" }, h("tr", null, h("th", { text: "Zone" }), h("th", { text: "inside" }), h("th", { text: "people" }), h("th", { text: "+10 min" })));
    for (const zone of zones) {
      table.append(
        h(
          "tr",
          null,
          h("td", { text: zoneName(zone.id) }),
          h("td", { class: "num", text: `${Math.round(zone.overlap * 100)} %` }),
          h("td", { class: "num", text: fixed(zone.people, 0) }),
          h("td", { class: "num", text: fixed(zone.forecast_people, 0) }),
        ),
      );
    }
    box.append(table);
  } else {
    box.append(h("p", { class: "empty", text: "No zone inside this area." }));
  }
}

export function renderRegionError(message, onClose) {
  const box = clear($("region-result"));
  box.hidden = false;
  box.append(
    h("button", { type: "button", class: "close", "aria-label": "Close", text: "×", onclick: onClose }),
    h("p", { class: "error", text: `Could not measure the area: ${message}` }),
  );
}

export function renderZoneFigures(zone) {
  const box = clear($("detail-figures"));
  const latest = zone?.latest;
  if (!latest) {
    box.append(h("span", { class: "empty", text: zone ? "no measurement yet" : "" }));
    return;
  }
  if (zone.silentSince !== undefined) {
    // Its camera is silent: the last figures are history, not the crowd now (see liveness.js).
    box.append(
      h("span", { class: "fig fig-silent" }, h("small", { text: "camera silent" }), h("b", { text: `no data since ${formatClock(zone.silentSince)}` })),
      h("span", { class: "fig fig-last" }, h("small", { text: `last count (${formatClock(latest.measured_at)})` }), h("b", { text: fixed(latest.count, 0) })),
    );
    return;
  }
  const crossing = (zone.forecast?.crossings || []).filter((c) => Number.isFinite(c.expected_time)).sort((a, b) => a.expected_time - b.expected_time)[0];
  const items = [
    ["People", fixed(latest.count, 0)],
    ["Density", `${fixed(latest.density, 2)} /m²`],
    ["LOS", latest.stale ? "stale" : latest.los],
    ["Speed", latest.speed_p50 == null ? "—" : `${fixed(latest.speed_p50, 2)} m/s`],
    ["+10 min", zone.forecast ? `${fixed(zone.forecast.yhat[zone.forecast.yhat.length - 1], 2)} /m²` : "—"],
  ];
  if (crossing) items.push([`Chance over ${crossing.name}`, `${Math.round(crossing.probability * 100)} %`]);
  for (const [label, value] of items) box.append(h("span", { class: "fig" }, h("small", { text: label }), h("b", { text: value })));
  box.append(h("span", { class: "fig fig-age" }, h("small", { text: "measured" }), h("b", { "data-seen-at": latest.measured_at, text: formatAge(nowS() - latest.measured_at) })));
}
