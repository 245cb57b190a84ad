// The patrol panel: every patrol with its state on central's clock, the age and accuracy of its last fix,
// and what it is assigned to. A patrol that stops sending gets no new event, so its state is aged here
// against central's limit (`stale_after_s`), as liveness.js does for cameras.

import { nowS } from "./clock.js";
import { $, clear, formatAge, h } from "./dom.js";

/** "stale" when central said so, or when its fix has aged past central's limit since. */
export function patrolState(patrol, now) {
  if (patrol.stale) return "stale";
  const limit = patrol.stale_after_s;
  return Number.isFinite(limit) && Number.isFinite(patrol.at) && now - patrol.at > limit ? "stale" : "online";
}

/** Rows in name order (stable: the panel must not move under the operator's pointer). */
export function renderPatrolPanel(patrols, assignments, now, zoneName) {
  const body = clear($("patrols"));
  const assigned = new Map(assignments.map((a) => [a.patrol, a]));
  const sorted = patrols.slice().sort((a, b) => (a.name || a.id).localeCompare(b.name || b.id) || a.id.localeCompare(b.id));
  let online = 0;
  for (const patrol of sorted) {
    const state = patrolState(patrol, now);
    if (state === "online") online += 1;
    const job = assigned.get(patrol.id);
    body.append(
      h(
        "tr",
        {
          class: `patrol-row patrol-${state}${job ? " patrol-assigned" : ""}`,
          "data-patrol": patrol.id,
          "data-state": state,
          // What tickPatrols() needs to age the state between events.
          "data-stale": patrol.stale ? "1" : "",
          "data-fix-at": patrol.at,
          "data-stale-after": patrol.stale_after_s ?? "",
        },
        h("td", { class: "patrol-name", text: patrol.name || patrol.id }),
        h("td", { class: "patrol-state", text: state === "online" ? "● online" : "○ stale" }),
        h("td", { class: "patrol-age", text: formatAge(now - patrol.at) }),
        h("td", { class: "patrol-acc", text: Number.isFinite(patrol.acc_m) ? `±${Math.round(patrol.acc_m)} m` : "—" }),
        h("td", { class: "patrol-job", text: job ? `→ ${zoneName(job.zone)}` : "free" }),
      ),
    );
  }
  $("patrol-summary").textContent = patrols.length ? `${online}/${patrols.length} online` : "none known";
  $("patrols-empty").hidden = patrols.length > 0;
}

/** Age the fixes and states every second on central's clock without rebuilding rows (keeps hover). */
export function tickPatrols() {
  const now = nowS();
  for (const row of document.querySelectorAll("#patrols tr[data-patrol]")) {
    const at = Number(row.dataset.fixAt);
    const limit = row.dataset.staleAfter === "" ? NaN : Number(row.dataset.staleAfter);
    const state = patrolState({ stale: row.dataset.stale === "1", at, stale_after_s: limit }, now);
    row.querySelector(".patrol-age").textContent = formatAge(now - at);
    if (row.dataset.state !== state) {
      row.dataset.state = state;
      row.classList.replace(`patrol-${state === "stale" ? "online" : "stale"}`, `patrol-${state}`);
      row.querySelector(".patrol-state").textContent = state === "online" ? "● online" : "○ stale";
    }
  }
}
