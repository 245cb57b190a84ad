// Central's clock, as the page estimates it. Every "now" on the page (chart axis, ages, "in 4 min")
// comes from here, never from the browser's clock: central may run on an accelerated clock (demos,
// replays: `crowd-central run --speed`), and a browser's clock may simply be wrong.
//
// /healthz gives central's `now` and `clock_speed`; between readings the page advances the estimate
// with the monotonic performance.now(), scaled by the speed.

/**
 * The estimate from one reading.
 * @param sample {serverNowS, perfAtMs, speed}: central's time, performance.now() when it was read, speed
 * @param perfNowMs performance.now() now
 */
export function estimateNow(sample, perfNowMs) {
  return sample.serverNowS + ((perfNowMs - sample.perfAtMs) / 1000) * sample.speed;
}

/** A reading of /healthz into a sample; null when the body has no usable time. */
export function sampleOf(body, perfAtMs) {
  const serverNowS = Number(body?.now);
  if (!Number.isFinite(serverNowS)) return null;
  const speed = Number(body.clock_speed);
  return { serverNowS, perfAtMs, speed: Number.isFinite(speed) && speed > 0 ? speed : 1 };
}

async function readHealthz() {
  const response = await fetch("/healthz", { headers: { Accept: "application/json" }, cache: "no-store" });
  // A degraded central (503) still tells its time.
  return response.json();
}

export class ServerClock {
  /** @param read async () => /healthz body; the real endpoint unless a test gives its own */
  constructor(read = readHealthz, perfNow = () => performance.now()) {
    this.read = read;
    this.perfNow = perfNow;
    this.sample = null;
  }

  /** Read central's clock again; keeps the last estimate when central cannot be reached. */
  async sync() {
    const before = this.perfNow();
    let body;
    try {
      body = await this.read();
    } catch (error) {
      console.warn("clock: cannot read /healthz:", error.message);
      return false;
    }
    // Central read its clock somewhere during the round trip: take the middle.
    const sample = sampleOf(body, (before + this.perfNow()) / 2);
    if (sample) this.sample = sample;
    return sample !== null;
  }

  /** Central's time now, UNIX seconds; the browser's clock only until the first reading. */
  now() {
    return this.sample ? estimateNow(this.sample, this.perfNow()) : Date.now() / 1000;
  }

  /** Central seconds per wall second (1 unless central runs accelerated). */
  get speed() {
    return this.sample ? this.sample.speed : 1;
  }
}

export const serverClock = new ServerClock();

/** Central's time now, UNIX seconds. */
export const nowS = () => serverClock.now();
