// Camera view (issue 16, point 4): a "View" button per camera row and for the selected zone's camera.
// A click asks central for ONE picture (POST /api/cameras/{id}/snapshot); central checks the role and the
// site's setting, audits the request and relays it to the edge, which pixelates people and rate-limits.
// Nothing here polls or refreshes by itself: a picture is taken only when an operator clicks again.
// Self-contained (its own DOM hooks) so that the panels' code need not know about it.

import { cookie } from "./api.js";
import { $, formatClock, h } from "./dom.js";

let dialog = null;
let shownUrl = null; // the current picture's object URL, released when replaced or closed
let zoneShown = null; // the zone whose camera button is in the zone panel (the panel redraws on every event)

function viewer() {
  if (dialog) return dialog;
  dialog = h(
    "dialog",
    { id: "camera-view", class: "camera-view", "aria-label": "Camera picture" },
    h("div", { class: "camera-view-head" },
      h("h2", { id: "camera-view-title", text: "Camera" }),
      h("button", { type: "button", id: "camera-view-close", text: "Close", onclick: closeViewer })),
    h("p", { id: "camera-view-status", class: "camera-view-status", role: "status" }),
    h("img", { id: "camera-view-img", class: "camera-view-img", alt: "Annotated camera picture", hidden: "" }),
  );
  dialog.addEventListener("close", releasePicture);
  document.body.append(dialog);
  return dialog;
}

function releasePicture() {
  if (shownUrl) URL.revokeObjectURL(shownUrl);
  shownUrl = null;
  const img = $("camera-view-img");
  if (img) {
    img.removeAttribute("src");
    img.hidden = true;
  }
}

function closeViewer() {
  if (dialog && dialog.open) dialog.close();
}

async function reasonOf(response) {
  try {
    const body = await response.json();
    if (typeof body.detail === "string") return body.detail;
  } catch {
    // not JSON: the status text says enough
  }
  return response.statusText || `HTTP ${response.status}`;
}

/** Ask for one picture of `camera` and show it, or say why there is none. */
export async function showCamera(camera, name = camera) {
  const box = viewer();
  releasePicture();
  $("camera-view-title").textContent = `Camera ${name}`;
  const status = $("camera-view-status");
  status.textContent = "Asking the camera for a picture…";
  status.dataset.state = "waiting";
  if (!box.open) box.showModal();
  const headers = { Accept: "image/jpeg" };
  const csrf = cookie("crowd_csrf");
  if (csrf) headers["X-CSRF-Token"] = csrf;
  let response;
  try {
    response = await fetch(`/api/cameras/${encodeURIComponent(camera)}/snapshot`, { method: "POST", headers, credentials: "same-origin" });
  } catch (error) {
    status.textContent = `No picture: central cannot be reached (${error.message}).`;
    status.dataset.state = "refused";
    return;
  }
  if (!response.ok) {
    status.textContent = `No picture (${response.status}): ${await reasonOf(response)}`;
    status.dataset.state = "refused";
    return;
  }
  const takenAt = Number(response.headers.get("X-Snapshot-Taken-At"));
  const blurred = response.headers.get("X-Snapshot-Blurred") === "true";
  shownUrl = URL.createObjectURL(await response.blob());
  const img = $("camera-view-img");
  img.src = shownUrl;
  img.hidden = false;
  const when = Number.isFinite(takenAt) ? formatClock(takenAt) : "unknown time";
  status.textContent = `Taken ${when}${blurred ? " · people pixelated" : ""} · one picture, not live`;
  status.dataset.state = "shown";
}

function viewButton(camera, label, name = camera) {
  return h("button", { type: "button", class: "cam-view", "data-view-camera": camera, text: label, title: `One picture from ${name}`, onclick: (event) => {
    event.stopPropagation(); // the row or zone click underneath keeps its own meaning
    showCamera(camera, name);
  } });
}

/** Panels redraw their rows: add the button to every camera row that lacks one. */
function decorateCameraRows() {
  for (const row of document.querySelectorAll("#cameras tr[data-camera]")) {
    const cell = row.querySelector(".cam-name");
    if (cell && !cell.querySelector(".cam-view")) cell.append(" ", viewButton(row.dataset.camera, "View", row.dataset.name || row.dataset.camera));
  }
}

/** The selected zone's camera: the zone panel shows its name, /api/zones knows its camera. */
async function decorateZoneDetail() {
  const head = $("detail-name")?.parentElement;
  if (!head) return;
  const name = $("detail-name").textContent;
  if (name === zoneShown && head.querySelector(".cam-view")) return;
  zoneShown = name;
  head.querySelector(".cam-view")?.remove();
  let zones;
  try {
    zones = await (await fetch("/api/zones", { credentials: "same-origin" })).json();
  } catch {
    return; // not signed in yet, or central away: no button until the next selection
  }
  const zone = Array.isArray(zones) ? zones.find((z) => z.name === name) : null;
  if (zone?.camera && $("detail-name").textContent === name && !head.querySelector(".cam-view")) {
    head.append(" ", viewButton(zone.camera, "View camera"));
  }
}

function watch() {
  // Its own style sheet, so that the page's needs only the one script tag.
  document.head.append(h("link", { rel: "stylesheet", href: "camera_view.css" }));
  const rows = $("cameras");
  if (rows) new MutationObserver(decorateCameraRows).observe(rows, { childList: true, subtree: true });
  const zoneName = $("detail-name");
  if (zoneName) new MutationObserver(() => decorateZoneDetail()).observe(zoneName, { childList: true, characterData: true, subtree: true });
  document.addEventListener("keydown", (event) => { if (event.key === "Escape") closeViewer(); });
  decorateCameraRows();

}

if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", watch);
else watch();
