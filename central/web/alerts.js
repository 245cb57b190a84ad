// The alert list: open crowd alerts first, most severe and most recent attention on top; stale-camera
// alerts below them (a dead camera is for technicians and must not push a crowd alert off the screen).
// The alarm lives in alarm.js (re-exported here for the module tests).

import { KIND_LABEL } from "./alarm.js";
import { outlook } from "./alert_text.js";
import { nowS } from "./clock.js";
import { $, clear, formatAge, formatClock, formatDistance, h } from "./dom.js";

export { Alarm } from "./alarm.js";

const OPEN_STATES = new Set(["open", "acknowledged", "assigned"]);

export const isOpen = (alert) => OPEN_STATES.has(alert.state);

/** When the alert last asked for attention: its opening, or its latest escalation. */
export function attentionAt(alert) {
  const steps = (alert.history || []).filter((step) => step.action === "escalated");
  return steps.length ? Math.max(alert.opened_at, ...steps.map((step) => step.at)) : alert.opened_at;
}

/** An escalation re-opened an alert an operator had already taken: it must be acknowledged again. */
export function reopened(alert) {
  const history = alert.history || [];
  const last = history.map((step) => step.action).lastIndexOf("escalated");
  return alert.state === "open" && last > 0 && history.slice(0, last).some((step) => step.action === "acknowledged" || step.action === "assigned");
}

function rank(alert) {
  // Open before closed, crowd before stale cameras, critical before warning, untouched before taken,
  // latest attention (opening or escalation) first: an escalated alert comes back to the top.
  return [
    isOpen(alert) ? 0 : 1,
    alert.kind === "stale" ? 1 : 0,
    alert.level === "critical" ? 0 : 1,
    alert.state === "open" ? 0 : 1,
    -attentionAt(alert),
  ];
}

function compare(a, b) {
  const ra = rank(a);
  const rb = rank(b);
  for (let i = 0; i < ra.length; i++) if (ra[i] !== rb[i]) return ra[i] - rb[i];
  return 0;
}

function formatEta(seconds) {
  if (!Number.isFinite(seconds)) return "—";
  return seconds < 60 ? `${Math.round(seconds)} s` : `${Math.round(seconds / 60)} min`;
}

function describe(alert, now, zone) {
  // Crowd alerts speak from the zone's current forecast and level (alert_text.js); the stored figures
  // below are only the fallback before the zone's first reading reaches the page.
  const live = alert.kind === "forecast" || alert.kind === "current" ? outlook(zone, now) : null;
  if (live) return live.text;
  const value = Number.isFinite(alert.value) ? alert.value.toFixed(2) : "—";
  const threshold = Number.isFinite(alert.threshold) ? alert.threshold.toFixed(2) : "—";
  if (alert.kind === "forecast" && Number.isFinite(alert.expected_crossing_at)) {
    // A forecast alert's `value` is central's crossing probability, not a density: show it as p only.
    const inS = alert.expected_crossing_at - now;
    const when = inS > 0 ? `in ${formatAge(inS)} (${formatClock(alert.expected_crossing_at)})` : `by ${formatClock(alert.expected_crossing_at)}`;
    const p = Number.isFinite(alert.probability) ? `, p ${Math.round(alert.probability * 100)} %` : "";
    return `Expected over ${threshold}/m² ${when}${p}`;
  }
  if (alert.kind === "current") return `Density ${value}/m², threshold ${threshold}/m²`;
  return "";
}

/**
 * @param ctx {zoneName(id), zone(id) (optional: the zone's live figures), patrolName(id), canChange(), act(alertId, action, body), onSelectZone(id)}
 */
export class AlertList {
  constructor(ctx) {
    this.ctx = ctx;
    this.list = $("alerts");
    this.empty = $("alerts-empty");
    this.count = $("alert-count");
    this.showClosed = $("show-closed");
    this.showClosed.addEventListener("change", () => this.render(this.last || []));
    this.last = null;
  }

  render(alerts) {
    this.last = alerts;
    const now = nowS();
    const open = alerts.filter(isOpen);
    const shown = (this.showClosed.checked ? alerts : open).slice().sort(compare);
    this.count.textContent = String(open.length);
    this.count.classList.toggle("count-critical", open.some((a) => a.level === "critical" && a.state === "open"));
    this.empty.hidden = shown.length > 0;
    // Few cards get bigger type (style.css): on a wall, one alert must not be small text in an empty panel.
    this.list.dataset.cards = String(Math.min(shown.length, 4));
    const focused = document.activeElement?.closest?.("[data-alert]")?.dataset.alert;
    clear(this.list);
    for (const alert of shown) this.list.append(this.card(alert, now));
    if (focused) this.list.querySelector(`[data-alert="${CSS.escape(focused)}"] button`)?.focus();
  }

  /** Refresh the ages without rebuilding the cards (keeps focus and hover). */
  tick() {
    const now = nowS();
    for (const node of this.list.querySelectorAll("[data-opened-at]")) {
      node.textContent = formatAge(now - Number(node.dataset.openedAt));
    }
  }

  card(alert, now) {
    const { ctx } = this;
    const stateText =
      alert.state === "assigned" && alert.assigned_patrol
        ? `assigned to ${ctx.patrolName(alert.assigned_patrol)}`
        : reopened(alert)
          ? "escalated — acknowledge again"
          : alert.state;
    const li = h("li", {
      class: `alert alert-${alert.level} alert-state-${alert.state} alert-kind-${alert.kind}${reopened(alert) ? " alert-reopened" : ""}`,
      "data-alert": alert.id,
      "data-kind": alert.kind,
      "data-state": alert.state,
    });
    li.append(
      h(
        "div",
        { class: "alert-head" },
        h("span", { class: `sev sev-${alert.level}`, text: alert.level === "critical" ? "CRITICAL" : "Warning" }),
        h("span", { class: "kind", text: KIND_LABEL[alert.kind] || alert.kind }),
        h("button", { type: "button", class: "zone-link", text: ctx.zoneName(alert.zone), title: `zone ${alert.zone}`, onclick: () => ctx.onSelectZone(alert.zone) }),
        h("span", { class: "age", "data-opened-at": alert.opened_at, title: `opened ${formatClock(alert.opened_at)}`, text: formatAge(now - alert.opened_at) }),
      ),
    );
    const detail = describe(alert, now, ctx.zone?.(alert.zone));
    if (detail) li.append(h("p", { class: "alert-detail", text: detail }));
    // The server's message repeats the detail in raw units for forecast/current; show it for the other kinds.
    if (alert.message && !detail) li.append(h("p", { class: "alert-message", text: alert.message }));

    const canChange = ctx.canChange() && isOpen(alert);
    const patrols = alert.patrols || [];
    if (patrols.length) {
      const ul = h("ul", { class: "alert-patrols", "aria-label": "Nearest patrols" });
      for (const patrol of patrols) {
        const row = h(
          "li",
          { class: `near${patrol.stale ? " near-stale" : ""}`, "data-patrol": patrol.id },
          h("span", { class: "near-name", text: ctx.patrolName(patrol.id) }),
          h("span", { class: "near-dist", text: formatDistance(patrol.distance_m) }),
          h("span", { class: "near-eta", text: `ETA ${formatEta(patrol.eta_s)}` }),
          patrol.stale ? h("span", { class: "near-old", text: "old fix" }) : null,
        );
        if (canChange && alert.assigned_patrol !== patrol.id) {
          row.append(h("button", { type: "button", class: "assign", text: "Assign", onclick: () => ctx.act(alert.id, "assign", { patrol: patrol.id }) }));
        }
        ul.append(row);
      }
      li.append(ul);
    } else if (isOpen(alert) && alert.kind !== "stale") {
      li.append(h("p", { class: "alert-message", text: "No patrol position known." }));
    }

    const actions = h("div", { class: "alert-actions" }, h("span", { class: `state state-${alert.state}`, text: stateText }));
    if (canChange) {
      if (alert.state === "open") actions.append(h("button", { type: "button", class: "ack primary", text: "Acknowledge", onclick: () => ctx.act(alert.id, "ack") }));
      actions.append(h("button", { type: "button", class: "resolve", text: "Resolve", onclick: () => ctx.act(alert.id, "resolve") }));
    }
    const last = (alert.history || [])[alert.history?.length - 1];
    if (last && last.by) actions.append(h("span", { class: "by", text: `${last.action} by ${last.by}` }));
    li.append(actions);
    return li;
  }
}
