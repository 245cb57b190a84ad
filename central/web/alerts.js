// The alert list and the critical-alert alarm (flashing banner + generated beep, with a mute that
// survives reloads).

import { nowS } from "./clock.js";
import { $, clear, formatAge, formatClock, formatDistance, h } from "./dom.js";

const KIND_LABEL = {
  current: "Over threshold now",
  forecast: "Forecast",
  stop_and_go: "Stop-and-go",
  stale: "Stale camera",
};
const OPEN_STATES = new Set(["open", "acknowledged", "assigned"]);
const MUTE_KEY = "crowd.console.mute";

export const isOpen = (alert) => OPEN_STATES.has(alert.state);

function rank(alert) {
  // Open before closed, critical before warning, untouched before taken, newest first.
  return [isOpen(alert) ? 0 : 1, alert.level === "critical" ? 0 : 1, alert.state === "open" ? 0 : 1, -alert.opened_at];
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

function describe(alert, now) {
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
 * @param ctx {zoneName(id), patrolName(id), canChange(), act(alertId, action, body), onSelectZone(id)}
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
      alert.state === "assigned" && alert.assigned_patrol ? `assigned to ${ctx.patrolName(alert.assigned_patrol)}` : alert.state;
    const li = h("li", {
      class: `alert alert-${alert.level} alert-state-${alert.state} alert-kind-${alert.kind}`,
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
        h("button", { type: "button", class: "zone-link", text: ctx.zoneName(alert.zone), onclick: () => ctx.onSelectZone(alert.zone) }),
        h("span", { class: "age", "data-opened-at": alert.opened_at, title: `opened ${formatClock(alert.opened_at)}`, text: formatAge(now - alert.opened_at) }),
      ),
    );
    const detail = describe(alert, now);
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
    } else if (isOpen(alert)) {
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

/** Flash + sound for critical alerts the operator has not seen yet. */
export class Alarm {
  constructor() {
    this.banner = $("critical-banner");
    this.text = $("critical-text");
    this.muteButton = $("mute");
    this.pending = new Map(); // alert id -> alert, critical and not yet seen
    this.known = new Set(); // ids already alarmed once, so a refetch does not ring again
    this.audio = null;
    this.timer = null;
    this.muted = localStorage.getItem(MUTE_KEY) === "1";
    this.showMute();
    this.muteButton.addEventListener("click", () => {
      this.muted = !this.muted;
      localStorage.setItem(MUTE_KEY, this.muted ? "1" : "0");
      this.showMute();
      this.unlock();
    });
    $("critical-seen").addEventListener("click", () => this.seen());
    // Browsers only start audio after a user gesture: take the first one we get.
    window.addEventListener("pointerdown", () => this.unlock(), { once: true });
    window.addEventListener("keydown", () => this.unlock(), { once: true });
  }

  showMute() {
    this.muteButton.textContent = this.muted ? "Sound: muted" : "Sound: on";
    this.muteButton.setAttribute("aria-pressed", String(this.muted));
    this.muteButton.classList.toggle("muted", this.muted);
  }

  unlock() {
    try {
      if (!this.audio) this.audio = new AudioContext();
      if (this.audio.state === "suspended") this.audio.resume();
    } catch {
      this.audio = null;
    }
  }

  /** Called for every alert seen (fetch or event). */
  consider(alert, zoneName) {
    const ringing = alert.level === "critical" && alert.state === "open";
    if (ringing && !this.known.has(alert.id)) {
      this.known.add(alert.id);
      this.pending.set(alert.id, { alert, zoneName });
      this.ring();
    } else if (!ringing && this.pending.has(alert.id)) {
      this.pending.delete(alert.id);
    }
    this.show();
  }

  show() {
    if (this.pending.size === 0) {
      this.banner.hidden = true;
      clearInterval(this.timer);
      this.timer = null;
      return;
    }
    const items = [...this.pending.values()];
    const first = items[items.length - 1];
    const more = items.length > 1 ? ` (+${items.length - 1} more)` : "";
    this.text.textContent = `CRITICAL: ${KIND_LABEL[first.alert.kind] || first.alert.kind} in ${first.zoneName}${more}`;
    this.banner.hidden = false;
  }

  ring() {
    this.beep();
    if (!this.timer) this.timer = setInterval(() => this.beep(), 8000);
  }

  seen() {
    this.pending.clear();
    this.show();
  }

  beep() {
    document.body.dataset.alarms = String(Number(document.body.dataset.alarms || 0) + 1);
    if (this.muted || !this.audio || this.audio.state !== "running") return;
    const ctx = this.audio;
    const start = ctx.currentTime + 0.02;
    // Three short two-tone pulses: distinct from any system sound, generated so no file is needed.
    for (let i = 0; i < 3; i++) {
      const osc = ctx.createOscillator();
      const gain = ctx.createGain();
      osc.type = "square";
      osc.frequency.setValueAtTime(i % 2 ? 660 : 880, start + i * 0.22);
      gain.gain.setValueAtTime(0.0001, start + i * 0.22);
      gain.gain.exponentialRampToValueAtTime(0.2, start + i * 0.22 + 0.02);
      gain.gain.exponentialRampToValueAtTime(0.0001, start + i * 0.22 + 0.18);
      osc.connect(gain).connect(ctx.destination);
      osc.start(start + i * 0.22);
      osc.stop(start + i * 0.22 + 0.2);
    }
  }
}
