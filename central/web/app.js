// Entry point: login, initial fetch, live updates, and the wiring between the panels.

import { Alarm, AlertList, isOpen } from "./alerts.js";
import { assignmentsOf } from "./assignments.js";
import { api, ApiError, connectEvents, cookie, login, logout, setUnauthorizedHandler } from "./api.js";
import { renderZoneChart } from "./chart.js";
import { nowS, serverClock } from "./clock.js";
import { $ } from "./dom.js";
import { camerasNow, silentCameras, zoneAsShown } from "./liveness.js";
import { SiteMap } from "./map.js";
import { losLetters } from "./palette.js";
import { renderPatrolPanel, tickPatrols } from "./patrol_panel.js";
import { renderCameras, renderLegend, renderRegionError, renderRegionResult, renderZoneFigures, tickCameras } from "./panels.js";
import { clockLabel, setSiteTimeZone, siteTimeZone } from "./site_time.js";
import { renderSummary, summarize } from "./summary.js";

const state = {
  me: null,
  site: null,
  zones: new Map(),
  alerts: new Map(),
  patrols: new Map(),
  cameras: new Map(),
  selectedZone: null,
  // Until the operator picks a zone, the detail follows the zone that needs attention most.
  zonePinned: false,
  history: [],
  historyLoadedAt: null, // central's time of the last history fetch
  stopEvents: null,
};

const zoneName = (id) => state.zones.get(id)?.name ?? id;
const patrolName = (id) => state.patrols.get(id)?.name || id;
// Display names everywhere an operator reads; ids only in tooltips (config `display_name`, docs/console.md).
const cameraName = (camera) => camera.display_name || camera.camera;
const canChange = () => state.me?.role === "operator" || state.me?.role === "admin";

let map = null;
let alertList = null;
let alarm = null;
let redrawPending = false;
let cameraStatesShown = ""; // the camera states last drawn, to redraw when one goes silent between events

/** Cameras and zones as they are now on central's clock (silent cameras' zones greyed, see liveness.js). */
function liveView() {
  const cameras = camerasNow([...state.cameras.values()], nowS());
  const silent = silentCameras(cameras);
  const zones = new Map([...state.zones.values()].map((zone) => [zone.id, zoneAsShown(zone, silent)]));
  return { cameras, zones };
}

const cameraStates = (cameras) => cameras.map((c) => `${c.site}/${c.camera}:${c.state}`).join(",");

/** A current-level alert in a zone that already had a forecast alert: the forecast came true. */
function fromForecast(alert) {
  if (alert.kind !== "current") return false;
  for (const other of state.alerts.values()) {
    if (other.zone === alert.zone && other.kind === "forecast" && isOpen(other) && other.opened_at <= alert.opened_at) return true;
  }
  return false;
}

function consider(alert) {
  alarm.consider(alert, zoneName(alert.zone), { fromForecast: fromForecast(alert) });
}

function showLogin(message) {
  if (state.stopEvents) state.stopEvents();
  state.stopEvents = null;
  state.me = null;
  $("app").hidden = true;
  $("login").hidden = false;
  $("login-error").textContent = message || "";
  $("login-user").focus();
}

function redraw() {
  if (redrawPending) return;
  redrawPending = true;
  requestAnimationFrame(() => {
    redrawPending = false;
    const alerts = [...state.alerts.values()];
    const alertZones = new Set(alerts.filter(isOpen).map((a) => a.zone));
    const { cameras, zones } = liveView();
    cameraStatesShown = cameraStates(cameras);
    const patrols = [...state.patrols.values()];
    const assignments = assignmentsOf(alerts.filter(isOpen));
    map.update({
      zones: [...zones.values()],
      cameras,
      patrols,
      assignments,
      alertZones,
      selectedZone: state.selectedZone,
    });
    renderPatrolPanel(patrols, assignments, nowS(), zoneName);
    alertList.render(alerts);
    renderCameras(cameras);
    renderSummary($("summary"), summarize({ zones: [...zones.values()], alerts, cameras, now: nowS() }), { zoneName, cameraName });
    drawDetail(zones);
  });
}

function drawDetail(zones = liveView().zones) {
  const zone = zones.get(state.selectedZone);
  $("detail-name").textContent = zone ? zone.name : "— click a zone on the map";
  $("detail-name").title = zone ? `zone ${zone.id}` : "";
  renderZoneFigures(zone);
  const chart = $("detail-chart");
  if (zone) renderZoneChart(chart, { zone, points: state.history, now: nowS() });
  else chart.replaceChildren();
}

async function loadHistory() {
  const id = state.selectedZone;
  if (!id) return;
  state.historyLoadedAt = nowS();
  try {
    const body = await api(`/api/zones/${encodeURIComponent(id)}/history?minutes=30`);
    if (state.selectedZone === id) {
      state.history = body.points;
      redraw();
    }
  } catch (error) {
    if (!(error instanceof ApiError && error.status === 401)) console.warn("history:", error.message);
  }
}

/** The operator's choice (pinned), or the page's own when it follows the most urgent zone. */
function selectZone(id, { pinned = true } = {}) {
  if (pinned) state.zonePinned = true;
  if (id === state.selectedZone) return;
  state.selectedZone = id;
  state.history = [];
  redraw();
  loadHistory();
}

/** Open critical alert first, then any open alert, then the density closest to its warning level. */
function urgentZone() {
  const alertRank = new Map();
  for (const alert of state.alerts.values()) {
    if (!isOpen(alert)) continue;
    alertRank.set(alert.zone, Math.max(alertRank.get(alert.zone) ?? 0, alert.level === "critical" ? 2 : 1));
  }
  const load = (zone) => {
    const latest = zone.latest;
    if (!latest || latest.stale || !Number.isFinite(latest.density)) return -1;
    const warning = zone.thresholds?.warning;
    return warning > 0 ? latest.density / warning : latest.density;
  };
  let best = null;
  for (const zone of state.zones.values()) {
    const key = [alertRank.get(zone.id) ?? 0, load(zone)];
    if (!best || key[0] > best.key[0] || (key[0] === best.key[0] && key[1] > best.key[1])) best = { id: zone.id, key };
  }
  return best && (best.key[0] > 0 || best.key[1] >= 0) ? best.id : null;
}

function followUrgent() {
  if (state.zonePinned && state.zones.has(state.selectedZone)) return;
  const id = urgentZone();
  if (id) selectZone(id, { pinned: false });
}

/** Everything from scratch: on login and after every (re)connect of the event stream. */
async function refetch() {
  const [site, zones, alerts, patrols, cameras] = await Promise.all([
    api("/api/site"),
    api("/api/zones"),
    api("/api/alerts?state=all"),
    api("/api/patrols"),
    api("/api/cameras"),
    // Central's clock too: after a restart it may run at another speed.
    serverClock.sync(),
  ]);
  if (!state.site || JSON.stringify(site) !== JSON.stringify(state.site)) {
    state.site = site;
    setSiteTimeZone(site.timezone);
    showSiteClock();
    map.setSite(site);
    renderLegend(losLetters(site.los_bands));
    $("site-name").textContent = site.name || "Crowd console";
    document.title = `${site.name || "Crowd"} — console`;
  }
  state.zones = new Map(zones.map((z) => [z.id, z]));
  state.alerts = new Map(alerts.map((a) => [a.id, a]));
  state.patrols = new Map(patrols.map((p) => [p.id, p]));
  state.cameras = new Map(cameras.map((c) => [`${c.site}/${c.camera}`, c]));
  for (const alert of alerts) consider(alert);
  if (!state.zones.has(state.selectedZone)) {
    state.zonePinned = false;
    state.selectedZone = null;
  }
  const before = state.selectedZone;
  followUrgent();
  redraw();
  // followUrgent() loads the history of a newly chosen zone; refresh a kept one (events were missed).
  if (state.selectedZone === before) loadHistory();
}

/** Central's time in the site's time zone, with the zone named once here for every time on the page. */
function showSiteClock() {
  const node = $("site-clock");
  node.textContent = clockLabel(nowS());
  node.title = `Site time (${siteTimeZone()}): every time on this page is in this zone`;
}

function setConnection(status) {
  const node = $("conn");
  node.className = `conn conn-${status}`;
  node.textContent = { live: "● Live", reconnecting: "Reconnecting…", down: "Offline — retrying" }[status] || status;
  document.body.dataset.conn = status;
}

function startEvents() {
  if (state.stopEvents) state.stopEvents();
  state.stopEvents = connectEvents({
    onState: setConnection,
    onHello: () => {
      refetch().catch((error) => {
        if (!(error instanceof ApiError && error.status === 401)) console.warn("refetch:", error.message);
      });
    },
    handlers: {
      zone: (zone) => {
        state.zones.set(zone.id, zone);
        if (zone.id === state.selectedZone && zone.latest) {
          const last = state.history[state.history.length - 1];
          if (!last || zone.latest.measured_at > last.measured_at) state.history.push(zone.latest);
        }
        if (!state.selectedZone) followUrgent();
        redraw();
      },
      alert: (alert) => {
        state.alerts.set(alert.id, alert);
        consider(alert);
        followUrgent();
        redraw();
      },
      patrol: (patrol) => {
        state.patrols.set(patrol.id, patrol);
        redraw();
      },
      camera: (camera) => {
        state.cameras.set(`${camera.site}/${camera.camera}`, camera);
        redraw();
      },
    },
  });
}

async function act(alertId, action, body) {
  try {
    const alert = await api(`/api/alerts/${encodeURIComponent(alertId)}/${action}`, { method: "POST", body: body ?? {} });
    state.alerts.set(alert.id, alert);
    consider(alert);
    redraw();
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) return;
    window.alert(`Could not ${action} the alert: ${error.message}`);
  }
}

async function measureRegion(polygon) {
  const close = () => {
    $("region-result").hidden = true;
    map.clearRegion();
  };
  try {
    const result = await api("/api/region", { method: "POST", body: { polygon } });
    renderRegionResult(result, zoneName, close);
  } catch (error) {
    if (!(error instanceof ApiError && error.status === 401)) renderRegionError(error.message, close);
  }
}

function setTool(tool) {
  for (const button of document.querySelectorAll("[data-tool]")) {
    button.setAttribute("aria-pressed", String(button.dataset.tool === tool));
  }
}

async function enter(me) {
  state.me = me;
  $("login").hidden = true;
  $("app").hidden = false;
  // The person's name, not "operator · operator"; the account and role are in the tooltip.
  $("who").textContent = me.display_name || me.username;
  $("who").title = `Signed in as ${me.username} (${me.role})`;
  document.body.dataset.role = me.role;
  startEvents();
  // Also fetch now, not only on the stream's hello: the page must show data even if the stream is blocked.
  refetch().catch((error) => {
    if (!(error instanceof ApiError && error.status === 401)) console.warn("refetch:", error.message);
  });
}

function wire() {
  map = new SiteMap($("map"), {
    onSelectZone: selectZone,
    onRegion: measureRegion,
    onHint: (text) => {
      $("map-hint").hidden = !text;
      $("map-hint").textContent = text || "";
    },
    onToolEnded: setTool,
  });
  alertList = new AlertList({ zoneName, zone: (id) => state.zones.get(id), patrolName, canChange, act, onSelectZone: selectZone });
  alarm = new Alarm();

  for (const button of document.querySelectorAll("[data-tool]")) {
    button.addEventListener("click", () => setTool(map.setTool(button.dataset.tool)));
  }
  $("map-fit").addEventListener("click", () => map.fit());
  $("tool-clear").addEventListener("click", () => {
    map.clearRegion();
    setTool(map.setTool(null));
    $("region-result").hidden = true;
  });
  $("login-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    $("login-error").textContent = "";
    try {
      const result = await login($("login-user").value, $("login-pass").value);
      $("login-pass").value = "";
      await enter({ username: result.username, role: result.role, display_name: result.display_name });
    } catch (error) {
      $("login-error").textContent =
        error instanceof ApiError && error.status === 401
          ? "Wrong user name or password."
          : error instanceof ApiError && error.status === 429
            ? `Too many attempts; try again in ${error.retryAfterS ?? 60} s.`
            : `Sign-in failed: ${error.message}`;
    }
  });
  $("logout").addEventListener("click", async () => {
    try {
      await logout();
    } finally {
      showLogin("Signed out.");
    }
  });
  setUnauthorizedHandler(() => showLogin(state.me ? "Your session ended; sign in again." : ""));

  setInterval(() => {
    showSiteClock();
    alertList.tick();
    tickCameras();
    tickPatrols();
    if (!state.me) return;
    // A camera whose silence passed central's limit since the last event greys its zones now.
    if (cameraStates(camerasNow([...state.cameras.values()], nowS())) !== cameraStatesShown) redraw();
    // The chart's time axis moves with central's clock, which may run faster than ours.
    drawDetail();
    // History is refetched every 5 minutes of central's time to fill gaps the live stream left.
    if (state.historyLoadedAt !== null && nowS() - state.historyLoadedAt > 300) loadHistory();
  }, 1000);
  // Re-read central's clock now and then, so an estimate never drifts for long.
  setInterval(() => {
    if (state.me) serverClock.sync();
  }, 60000);
  window.addEventListener("resize", () => redraw());
}

async function main() {
  wire();
  // Without the readable CSRF cookie there is no session: skip the request, whose 401 the browser
  // would log as an error.
  if (!cookie("crowd_csrf")) {
    showLogin();
    return;
  }
  try {
    await enter(await api("/api/me"));
  } catch (error) {
    if (!(error instanceof ApiError && error.status === 401)) showLogin(`Cannot reach the server: ${error.message}`);
  }
}

main();
