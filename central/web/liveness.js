// Camera liveness on the page: central's state, aged on central's clock. Central announces a camera
// when it goes silent; between announcements the page applies central's own limit (`stale_after_s`) to
// `last_seen`, both in central's time, so a lost event cannot leave a dead camera shown online. A zone
// of a silent camera keeps its last figures only as "no data since hh:mm", never as a live count.

const SILENT = new Set(["stale", "offline", "stopped"]);

/** The camera's state now: central's, or `stale` once an online camera's silence passed central's limit. */
export function cameraState(camera, now) {
  const limit = camera.stale_after_s;
  if (camera.state === "online" && Number.isFinite(camera.last_seen) && Number.isFinite(limit) && now - camera.last_seen > limit) {
    return "stale";
  }
  return camera.state;
}

/** Stale, offline or stopped: no live data comes from it (a camera not yet heard from is "unknown", not down). */
export const isSilent = (camera) => SILENT.has(camera.state);

/** The cameras with their state now. */
export function camerasNow(cameras, now) {
  return cameras.map((camera) => {
    const state = cameraState(camera, now);
    return state === camera.state ? camera : { ...camera, state };
  });
}

/** Camera id -> last sight (central's time, or null) of each silent camera. */
export function silentCameras(cameras) {
  const out = new Map();
  for (const camera of cameras) if (isSilent(camera)) out.set(camera.camera, Number.isFinite(camera.last_seen) ? camera.last_seen : null);
  return out;
}

/** The zone as the page shows it: a silent camera's zone (or a zone whose edge flags it stale) is stale,
 * with `silentSince` the time of its last data. */
export function zoneAsShown(zone, silent) {
  const latest = zone.latest;
  if (!silent.has(zone.camera)) return latest?.stale ? { ...zone, silentSince: latest.measured_at } : zone;
  const since = latest ? latest.measured_at : silent.get(zone.camera);
  return { ...zone, latest: latest ? { ...latest, stale: true } : null, silentSince: since ?? null };
}
