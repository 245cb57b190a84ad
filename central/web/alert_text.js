// The words and numbers of a crowd alert, from the zone's current forecast and current level only.
// The stored alert keeps the figures of the moment it fired or escalated; shown later they contradicted
// the picture ("expected over 1.00/m² in 2 min" while the zone had been at 1.41 for minutes). So the
// next threshold, when it is reached and its probability all come from the one forecast the chart draws.

import { formatAge } from "./dom.js";

const TREND_EPS = 0.02; // persons/m² over the horizon below which a forecast is "holding"
const LEAD_S = 600; // the "+10 min" figure

/** {next: {name, threshold}|null, inS, p, trend, at10, text} from zone.latest and zone.forecast at `now`. */
export function outlook(zone, now) {
  const density = zone?.latest?.density;
  const th = zone?.thresholds;
  const f = zone?.forecast;
  if (!Number.isFinite(density) || !th) return null;
  const levels = [
    { name: "warning", threshold: th.warning },
    { name: "critical", threshold: th.critical },
  ].filter((l) => Number.isFinite(l.threshold));
  const next = levels.find((l) => density < l.threshold) || null;
  const yhat = f?.yhat || [];
  const times = f?.times || [];
  let at10 = null;
  for (let i = 0; i < times.length; i++) if (times[i] - now <= LEAD_S) at10 = yhat[i];
  const end = yhat.length ? (at10 ?? yhat[yhat.length - 1]) : null;
  const trend = end === null ? "holding" : end > density + TREND_EPS ? "rising" : end < density - TREND_EPS ? "falling" : "holding";
  const over = levels.filter((l) => density >= l.threshold).pop();
  const now2 = `Now ${density.toFixed(2)}/m²`;
  if (!next) return { next, inS: null, p: null, trend, at10, text: `${now2}, over ${over.name} ${over.threshold.toFixed(2)}/m², ${trend}` };
  let inS = null;
  for (let i = 0; i < times.length; i++) {
    if (yhat[i] >= next.threshold) {
      inS = Math.max(0, times[i] - now);
      break;
    }
  }
  const crossing = (f?.crossings || []).find((c) => c.name === next.name);
  const p = crossing && Number.isFinite(crossing.probability) ? crossing.probability : null;
  const pText = p === null ? "" : `, p ${Math.round(p * 100)} %`;
  const base = over ? `${now2} (over ${over.name})` : now2;
  if (inS !== null) {
    return { next, inS, p, trend, at10, text: `Expected over ${next.threshold.toFixed(2)}/m² in ~${formatAge(inS)}${pText} · ${base}` };
  }
  return { next, inS, p, trend, at10, text: `${base}, ${trend}; not expected over ${next.threshold.toFixed(2)}/m² within the forecast${pText}` };
}
