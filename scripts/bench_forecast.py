"""Forecasting speed: one update + forecast for 10,000 zone series on one core, and per-zone costs.

Run: .venv/bin/python -m scripts.bench_forecast [--series 10000] [--repeats 5]
Prints the figures; the issue's target is at most 1 s per update+forecast of 10,000 series.
"""

from __future__ import annotations

import os

# One core, as the target says: keep BLAS and friends from spreading over the machine.
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

from forecasting import BatchForecaster, ZoneForecaster  # noqa: E402


def bench_batch(n_series: int, step_s: float, horizon_s: float, season_s: float | None, repeats: int) -> None:
    rng = np.random.default_rng(0)
    bf = BatchForecaster(n_series, step_s=step_s, horizon_s=horizon_s, season_s=season_s, tz="Europe/Paris")
    level = rng.uniform(0.2, 3.0, n_series)
    thresholds = np.stack([level * 1.3, level * 1.8], axis=1)  # warning and critical near the levels
    t0 = 1_700_000_000.0
    warm = 2 * bf.horizon_steps + 20
    for i in range(warm):
        level += rng.normal(0, 0.02, n_series)
        bf.update(np.maximum(level, 0), t_s=t0 + i * step_s)
    bf.forecast(thresholds)
    upd, fc = [], []
    for r in range(repeats):
        level += rng.normal(0, 0.02, n_series)
        a = time.perf_counter()
        bf.update(np.maximum(level, 0), t_s=t0 + (warm + r) * step_s)
        b = time.perf_counter()
        out = bf.forecast(thresholds)
        c = time.perf_counter()
        upd.append(b - a)
        fc.append(c - b)
    total = [u + f for u, f in zip(upd, fc, strict=True)]
    assert np.isfinite(out.yhat).all()
    print(
        f"batch n={n_series} step={step_s:g}s H={bf.horizon_steps} season={season_s}: "
        f"update {statistics.median(upd) * 1e3:.0f} ms + forecast(2 thresholds) {statistics.median(fc) * 1e3:.0f} ms "
        f"= {statistics.median(total):.3f} s per bin (median of {repeats}; target <= 1 s)"
    )


def bench_zone(repeats: int) -> None:
    rng = np.random.default_rng(1)
    zf = ZoneForecaster(step_s=10, horizon_s=600, auto_refit=False)
    t = 0.0
    for _ in range(3600):
        t += 1.0
        zf.update(t, 1.0 + 0.05 * rng.normal())
    a = time.perf_counter()
    for _ in range(repeats * 100):
        t += 1.0
        zf.update(t, 1.0 + 0.05 * rng.normal())
    per_update = (time.perf_counter() - a) / (repeats * 100)
    a = time.perf_counter()
    for _ in range(repeats * 20):
        zf.forecast({"warning": 1.5, "critical": 2.0})
    per_forecast = (time.perf_counter() - a) / (repeats * 20)
    a = time.perf_counter()
    zf.refit()
    refit = time.perf_counter() - a
    print(
        f"zone step=10s H=60: update {per_update * 1e6:.0f} us (a reading; a closed bin costs one engine step), "
        f"forecast {per_forecast * 1e3:.2f} ms, statsmodels refit {refit * 1e3:.0f} ms"
    )


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--series", type=int, default=10_000)
    p.add_argument("--repeats", type=int, default=5)
    args = p.parse_args()
    bench_batch(args.series, 10.0, 600.0, None, args.repeats)
    bench_batch(args.series, 600.0, 600.0, 7 * 86400.0, args.repeats)
    bench_zone(args.repeats)


if __name__ == "__main__":
    main()
