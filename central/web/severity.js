// One scale for zone colour and alert severity: a zone is coloured by where its density stands against
// the same warning/critical thresholds its alerts use, so a zone is never dark red while its alert is a
// yellow "Warning". The LOS letter stays on the map as text; it no longer picks the colour.

const CALM = ["#d9e6dc", "#b7cfbd", "#93b39c", "#6f967b"]; // below warning: light to darker by share of it
const WARNING = "#f0e442"; // style.css --warning
const CRITICAL = "#ff5a36"; // style.css --critical

/** "critical", "warning" or "ok", with the alert rule's own comparison (at or over the threshold). */
export function densityLevel(density, thresholds) {
  if (!Number.isFinite(density) || !thresholds) return null;
  if (Number.isFinite(thresholds.critical) && density >= thresholds.critical) return "critical";
  if (Number.isFinite(thresholds.warning) && density >= thresholds.warning) return "warning";
  return "ok";
}

/** Fill of a zone at this density: the alert colours at and over the thresholds, calm steps below. */
export function zoneColour(density, thresholds) {
  const level = densityLevel(density, thresholds);
  if (level === "critical") return CRITICAL;
  if (level === "warning") return WARNING;
  const warning = thresholds?.warning;
  // Calm steps still show a rising crowd well before the warning line.
  const share = warning > 0 ? Math.max(0, density) / warning : 0;
  return CALM[Math.min(CALM.length - 1, Math.floor(share * CALM.length))];
}

/** Dark text on light fills, light text on dark ones. */
export function inkOn(fill) {
  const r = parseInt(fill.slice(1, 3), 16);
  const g = parseInt(fill.slice(3, 5), 16);
  const b = parseInt(fill.slice(5, 7), 16);
  return 0.2126 * r + 0.7152 * g + 0.0722 * b > 140 ? "#111418" : "#ffffff";
}

export const SEVERITY_LEGEND = [
  { label: "< warning", colour: CALM[1] },
  { label: "Warning", colour: WARNING },
  { label: "Critical", colour: CRITICAL },
];
