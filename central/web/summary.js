// The summary strip across the top: what a supervisor glancing at the wall needs first. How many zones
// are over their warning line now, how many the forecast puts over it within ten minutes, the open
// alerts by severity, and the cameras that are down. Computed here from what the page already holds
// (zones, alerts, cameras), so the strip can never disagree with the map and the alert list beside it.

import { isOpen } from "./alerts.js";
import { clear, h } from "./dom.js";
import { isSilent } from "./liveness.js";

export const LEAD_S = 600; // "within 10 minutes": the console's forecast horizon (alert_text.js, chart.js)

const live = (zone) => {
  const latest = zone?.latest;
  return latest && !latest.stale && Number.isFinite(latest.density) ? latest : null;
};

/** At or over the warning line now, by the alert rule's own comparison (severity.js). A stale zone (its
 * camera silent) is not counted: its last figure is history, not the crowd now. */
export function overWarningNow(zone) {
  const latest = live(zone);
  const warning = zone?.thresholds?.warning;
  return Boolean(latest) && Number.isFinite(warning) && latest.density >= warning;
}

/** Under the warning line now and forecast (the median path the chart draws) to reach it within `leadS`. */
export function forecastOverWithin(zone, now, leadS = LEAD_S) {
  const warning = zone?.thresholds?.warning;
  if (!live(zone) || !Number.isFinite(warning) || overWarningNow(zone)) return false;
  const times = zone.forecast?.times || [];
  const yhat = zone.forecast?.yhat || [];
  for (let i = 0; i < times.length; i++) {
    if (times[i] - now <= leadS && yhat[i] >= warning) return true;
  }
  return false;
}

/**
 * The strip's figures (pure).
 * @param input {zones: zones as shown (liveness.js), alerts, cameras: with their state now, now: central's s}
 * @returns {overNow: zone[], forecastOver: zone[], critical, warning, camerasDown: camera[]}
 */
export function summarize({ zones, alerts, cameras, now, leadS = LEAD_S }) {
  const open = (alerts || []).filter(isOpen);
  return {
    overNow: (zones || []).filter(overWarningNow),
    forecastOver: (zones || []).filter((zone) => forecastOverWithin(zone, now, leadS)),
    critical: open.filter((a) => a.level === "critical").length,
    warning: open.filter((a) => a.level !== "critical").length,
    camerasDown: (cameras || []).filter(isSilent),
  };
}

const names = (items, nameOf) => items.map(nameOf).join(", ");

function tile(key, label, count, detail, tone, title) {
  return h(
    "li",
    { class: `summary-tile summary-${key}${count > 0 ? ` summary-${tone}` : " summary-calm"}`, "data-summary": key, "data-count": count, title },
    h("b", { class: "summary-count", text: String(count) }),
    h("span", { class: "summary-label", text: label }),
    detail ? h("span", { class: "summary-detail", text: detail }) : null,
  );
}

/** Draw the strip into `list` (an <ol>). Names are display names; ids are in the tooltips. */
export function renderSummary(list, figures, { zoneName, cameraName }) {
  const { overNow, forecastOver, critical, warning, camerasDown } = figures;
  const zoneLabel = (zone) => zoneName(zone.id);
  const withIds = (items, nameOf, idOf) => items.map((x) => `${nameOf(x)} (${idOf(x)})`).join("\n");
  const alerts = critical + warning;
  clear(list).append(
    tile("over-now", "over warning now", overNow.length, names(overNow, zoneLabel), "warning", withIds(overNow, zoneLabel, (z) => z.id)),
    tile("over-soon", "over within 10 min", forecastOver.length, names(forecastOver, zoneLabel), "forecast", withIds(forecastOver, zoneLabel, (z) => z.id)),
    h(
      "li",
      { class: `summary-tile summary-alerts${critical ? " summary-critical" : alerts ? " summary-warning" : " summary-calm"}`, "data-summary": "alerts", "data-count": alerts, "data-critical": critical, "data-warning": warning },
      h("b", { class: "summary-count", text: String(alerts) }),
      h("span", { class: "summary-label", text: "open alerts" }),
      h("span", { class: "summary-detail summary-severity" },
        h("span", { class: `sev sev-critical${critical ? "" : " sev-none"}`, text: `${critical} critical` }),
        " ",
        h("span", { class: `sev sev-warning${warning ? "" : " sev-none"}`, text: `${warning} warning` })),
    ),
    tile("cameras-down", "cameras down", camerasDown.length, names(camerasDown, cameraName), "critical", withIds(camerasDown, cameraName, (c) => c.camera)),
  );
}
