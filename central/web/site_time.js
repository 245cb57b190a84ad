// Clock times in the site's time zone (config `site.timezone`, served by /api/site), never the browser's:
// the wall may be in another city than the site, and "14:05" said over the radio to a patrol must be the
// patrol's 14:05. Which instant is "now" is clock.js's business; this module only writes instants down.

let zone = "UTC";
let clock = formatter(zone);

function formatter(timeZone) {
  // h23 and 2-digit: "09:05", never "9:05 AM", whatever the browser's locale.
  return new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit", hourCycle: "h23", timeZone });
}

/** Use this IANA zone from now on; an unknown name keeps the previous one (and says so) rather than break
 * every time on the page. Returns the zone in use. */
export function setSiteTimeZone(timeZone) {
  if (!timeZone || timeZone === zone) return zone;
  try {
    clock = formatter(timeZone);
    zone = timeZone;
  } catch (error) {
    console.warn(`site time zone ${timeZone} unknown to this browser; times stay in ${zone}`);
  }
  return zone;
}

export const siteTimeZone = () => zone;

/** "14:05" in the site's time zone; "—" for no time. */
export function formatClock(unixSeconds) {
  if (!Number.isFinite(unixSeconds)) return "—";
  return clock.format(new Date(unixSeconds * 1000));
}

/** The header's label: the time and the zone it is in, "14:05 Europe/London". */
export const clockLabel = (unixSeconds) => `${formatClock(unixSeconds)} ${zone}`;
