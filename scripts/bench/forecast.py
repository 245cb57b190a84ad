"""Forecasting: zone series updated and forecast per second.

Two paths: the vectorised `BatchForecaster` (every series one grid bin per call, what a
10,000-zone deployment would use) and one `ZoneForecaster` per zone (what central's engine holds
today: a bin closes, the zone forecasts). Both on one core (BLAS threads pinned to 1), after a
warm-up longer than the horizon so every model and interval is live.

    .venv/bin/python -m scripts.bench.forecast [--series 10000] [--zones 1000] [--repeats 5]

Target: 10,000 zone series updated and forecast in at most 1 s.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402

from forecasting import BatchForecaster, ZoneForecaster  # noqa: E402
from scripts.bench.common import load_average, print_table, write_result  # noqa: E402

TARGET_SERIES = 10_000
TARGET_S = 1.0
T0 = 1_700_000_000.0


def bench_batch(n: int, step_s: float, season_s: float | None, repeats: int) -> dict[str, Any]:
    rng = np.random.default_rng(0)
    bf = BatchForecaster(n, step_s=step_s, horizon_s=600.0, season_s=season_s, tz="Europe/Zurich")
    level = rng.uniform(0.2, 3.0, n)
    thresholds = np.stack([level * 1.3, level * 1.8], axis=1)
    warm = 2 * bf.horizon_steps + 20
    for i in range(warm):
        level = np.maximum(level + rng.normal(0, 0.02, n), 0)
        bf.update(level, t_s=T0 + i * step_s)
    seconds: list[float] = []
    update_s: list[float] = []
    for r in range(repeats):
        level = np.maximum(level + rng.normal(0, 0.02, n), 0)
        a = time.perf_counter()
        bf.update(level, t_s=T0 + (warm + r) * step_s)
        b = time.perf_counter()
        out = bf.forecast(thresholds)
        seconds.append(time.perf_counter() - a)
        update_s.append(b - a)
    if not np.isfinite(out.yhat).all():
        raise SystemExit("batch forecast produced non-finite values")
    s = statistics.median(seconds)
    return {
        "path": "BatchForecaster",
        "series": n,
        "step_s": step_s,
        "season_s": season_s,
        "seconds_per_update_and_forecast": s,
        "update_s": statistics.median(update_s),
        "series_per_s": n / s,
    }


def bench_zones(n_zones: int, step_s: float, repeats: int) -> dict[str, Any]:
    rng = np.random.default_rng(1)
    zones = [ZoneForecaster(step_s=step_s, horizon_s=600.0, auto_refit=False) for _ in range(n_zones)]
    level = rng.uniform(0.2, 3.0, n_zones)
    warm = 2 * zones[0].horizon_steps + 20
    thresholds = {"warning": 1.5, "critical": 2.0}
    for i in range(warm):
        for z, v in zip(zones, level + rng.normal(0, 0.02, n_zones), strict=True):
            z.update(T0 + i * step_s, float(max(v, 0.0)))
    seconds: list[float] = []
    for r in range(repeats):
        values = np.maximum(level + rng.normal(0, 0.02, n_zones), 0)
        # A reading in the next bin closes the current one: the engine steps, then each zone forecasts.
        a = time.perf_counter()
        for z, v in zip(zones, values, strict=True):
            z.update(T0 + (warm + r) * step_s, float(v))
            z.forecast(thresholds)
        seconds.append(time.perf_counter() - a)
    s = statistics.median(seconds)
    return {
        "path": "ZoneForecaster per zone",
        "series": n_zones,
        "step_s": step_s,
        "season_s": None,
        "seconds_per_update_and_forecast": s,
        "series_per_s": n_zones / s,
    }


def bench_one_zone(repeats: int) -> dict[str, Any]:
    """One zone's costs apart: a reading (most only add to the open bin), a forecast, a statsmodels refit."""
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
    return {"update_s": per_update, "forecast_s": per_forecast, "refit_s": time.perf_counter() - a}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--series", type=int, default=TARGET_SERIES)
    ap.add_argument("--zones", type=int, default=1000, help="per-zone forecasters (central's path)")
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()
    load_before = load_average()
    rows = [
        bench_batch(args.series, 10.0, None, args.repeats),
        bench_batch(args.series, 600.0, 7 * 86400.0, args.repeats),
        bench_zones(args.zones, 10.0, args.repeats),
    ]
    print_table(
        ["path", "series", "step s", "weekly season", "s per update+forecast", "series/s"],
        [
            [
                r["path"],
                r["series"],
                r["step_s"],
                "yes" if r["season_s"] else "no",
                r["seconds_per_update_and_forecast"],
                r["series_per_s"],
            ]
            for r in rows
        ],
    )
    batch_10k = rows[0]["series_per_s"] * 1.0
    verdict = {
        "target": f"{TARGET_SERIES} series in <= {TARGET_S} s",
        "batch_met": all(r["series_per_s"] >= TARGET_SERIES / TARGET_S for r in rows[:2]),
        "per_zone_met": rows[2]["series_per_s"] >= TARGET_SERIES / TARGET_S,
    }
    print(f"batch: {batch_10k:,.0f} series/s; per zone: {rows[2]['series_per_s']:,.0f} series/s; {verdict}")
    for r in rows[:2]:
        print(f"  batch step {r['step_s']:g} s: of which update {r['update_s'] * 1e3:.0f} ms (the rest is forecast)")
    one = bench_one_zone(args.repeats)
    print(
        f"one zone, step 10 s, H=60: update {one['update_s'] * 1e6:.0f} us (a reading; a closed bin costs one engine"
        f" step), forecast {one['forecast_s'] * 1e3:.2f} ms, statsmodels refit {one['refit_s'] * 1e3:.0f} ms"
    )
    write_result(
        "forecast",
        {"settings": vars(args), "load_avg_before": load_before, "results": rows, "one_zone": one, "target": verdict},
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
