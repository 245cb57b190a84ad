// The alarm: flashing banner + generated sound on every escalation, whatever the alert's state (an
// acknowledged warning that turns critical must not stay silent), with a distinct tone pattern for
// critical; a step down (de-escalated) is remembered without a sound, so the next step up rings again;
// a mute that survives reloads. Every sound is also logged in `window.__alarms` (and counted
// in body[data-alarms]) before the mute and autoplay checks, so a test and a support engineer can see
// that the console did ring even where the browser plays nothing.

import { nowS } from "./clock.js";
import { $ } from "./dom.js";

export const KIND_LABEL = {
  current: "Over threshold now",
  forecast: "Forecast",
  stop_and_go: "Stop-and-go",
  stale: "Stale camera",
};
const OPEN_STATES = new Set(["open", "acknowledged", "assigned"]);
const LEVEL = { warning: 1, critical: 2 };
const MUTE_KEY = "crowd.console.mute";
const REPEAT_MS = 8000;

// Tone patterns: [frequency Hz, start s, length s, oscillator]. Critical: three fast square two-tone
// pulses; warning: two slower, softer sine notes, so an operator can tell them apart without looking.
const PATTERNS = {
  critical: [
    [880, 0, 0.18, "square"],
    [660, 0.22, 0.18, "square"],
    [880, 0.44, 0.18, "square"],
  ],
  warning: [
    [523, 0, 0.3, "sine"],
    [523, 0.45, 0.3, "sine"],
  ],
};

/**
 * Why one sighting of an alert must ring, or null (pure).
 * @param before the level rank this alert id was last seen at (undefined: first sight). The last, not the
 *   highest: alerts step down as well as up (a "de-escalated" step, no sound), and a critical alert that
 *   stepped down to warning and then back up to critical must ring again.
 * @param fromForecast a current-level alert whose zone already had a forecast alert: the forecast came true
 */
export function alarmReason(alert, before, fromForecast = false) {
  if (!OPEN_STATES.has(alert.state)) return null;
  if (before === undefined) {
    if (alert.state !== "open") return null;
    if (alert.kind === "current" && fromForecast) return "forecast-now-current";
    return alert.level === "critical" ? "new-critical" : null;
  }
  return (LEVEL[alert.level] ?? 0) > before ? "escalated" : null;
}

/**
 * One sighting of an alert against what was last seen of it (pure): why it rings (or null) and what to
 * remember. `last` is {rank, steps} (undefined: first sight); `steps` is the length of the alert's audit
 * history, which grows with every escalation, de-escalation and operator step. A copy with fewer steps
 * than the last one seen is older (a refetch answered after a newer event): it neither rings nor moves
 * the level remembered, or the next sighting of the newer level would ring a second time.
 */
export function alarmStep(alert, last, fromForecast = false) {
  const steps = (alert.history || []).length;
  if (last !== undefined && steps < last.steps) return { reason: null, last };
  const reason = alarmReason(alert, last?.rank, fromForecast);
  return { reason, last: { rank: LEVEL[alert.level] ?? 0, steps } };
}

const REASON_TEXT = { escalated: "escalated", "forecast-now-current": "forecast came true", "new-critical": "" };

export class Alarm {
  constructor() {
    this.banner = $("critical-banner");
    this.text = $("critical-text");
    this.muteButton = $("mute");
    this.pending = new Map(); // alert id -> {alert, zoneName, reason}, rung and not yet seen
    this.levels = new Map(); // alert id -> {rank, steps} last seen (alarmStep), so a refetch does not ring again
    this.audio = null;
    this.timer = null;
    window.__alarms = window.__alarms || [];
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

  /** Called for every alert seen (fetch, event or an operator's own step). */
  consider(alert, zoneName, { fromForecast = false } = {}) {
    const { reason, last } = alarmStep(alert, this.levels.get(alert.id), fromForecast);
    this.levels.set(alert.id, last);
    if (reason) {
      this.pending.set(alert.id, { alert, zoneName, reason });
      this.ring(alert, reason);
    } else if (this.pending.has(alert.id)) {
      // Acknowledged or ended: seen by an operator. Still open: keep the banner's text current.
      if (alert.state !== "open") this.pending.delete(alert.id);
      else this.pending.set(alert.id, { ...this.pending.get(alert.id), alert, zoneName });
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
    const level = first.alert.level === "critical" ? "CRITICAL" : "WARNING";
    const why = REASON_TEXT[first.reason] ? ` — ${REASON_TEXT[first.reason]}` : "";
    this.text.textContent = `${level}: ${KIND_LABEL[first.alert.kind] || first.alert.kind} in ${first.zoneName}${why}${more}`;
    this.banner.dataset.level = first.alert.level;
    this.banner.hidden = false;
  }

  ring(alert, reason) {
    this.sound(alert.level, reason, alert.id);
    if (!this.timer) this.timer = setInterval(() => this.repeat(), REPEAT_MS);
  }

  /** Until seen, the most severe pending alert's pattern sounds again. */
  repeat() {
    const items = [...this.pending.values()];
    if (items.length === 0) return;
    const top = items.some((p) => p.alert.level === "critical") ? "critical" : "warning";
    this.sound(top, "repeat", null);
  }

  seen() {
    this.pending.clear();
    this.show();
  }

  sound(level, reason, alertId) {
    const pattern = PATTERNS[level] ? level : "warning";
    document.body.dataset.alarms = String(Number(document.body.dataset.alarms || 0) + 1);
    window.__alarms.push({ at: nowS(), alert: alertId, level, reason, pattern, muted: this.muted });
    if (this.muted || !this.audio || this.audio.state !== "running") return;
    const ctx = this.audio;
    const start = ctx.currentTime + 0.02;
    // Generated tones: no sound file to ship, and distinct from any system sound.
    for (const [frequency, at, length, type] of PATTERNS[pattern]) {
      const osc = ctx.createOscillator();
      const gain = ctx.createGain();
      osc.type = type;
      osc.frequency.setValueAtTime(frequency, start + at);
      gain.gain.setValueAtTime(0.0001, start + at);
      gain.gain.exponentialRampToValueAtTime(type === "square" ? 0.2 : 0.3, start + at + 0.02);
      gain.gain.exponentialRampToValueAtTime(0.0001, start + at + length - 0.02);
      osc.connect(gain).connect(ctx.destination);
      osc.start(start + at);
      osc.stop(start + at + length);
    }
  }
}
