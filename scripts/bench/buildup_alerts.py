"""Forecast alerts on the simulated build-ups, offline: central's forecaster and alert rule without the stack.

    python -m scripts.bench.buildup_alerts [configs/scenarios/sim_*.yaml ...]

Each zone's PedPy density stream goes, interval by interval, into the forecaster central uses
(`LibraryForecaster` with refits inline), with its inflow (people entering the zone per interval, what the
edge's entrance lines count) unless `--no-inflow`; as in central's forecast lane a zone is forecast when a reading
opens a new bin, at the previous reading's time, with central's default alert settings (`--min-history-s`
changes the data a zone needs before its first forecast alert). The forecast alerts are scored with the playback
scorer against the scenario's expected forecast alerts (its current-level alerts are not scored here: they
need central's rules on the measured stream, so `run_scenario --play` measures those). Also printed, per
zone and level, the crossing probabilities' Brier skill score against persistence-based ones on the same
series (`forecasting.skill.score_level`, as `crowd-forecast backtest --level`).

It is the fast loop for forecaster changes (seconds for all scenarios once simulated); the figures to
quote come from `run_scenario --play`, which runs the real stack.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

from central import alerts as al
from central import rules
from central.config import AlertsConfig, ForecastConfig
from central.forecasts import InlineRefitter, LibraryForecaster
from central.playback.builders import build
from central.playback.scenario import load
from central.playback.scorer import RaisedAlert, score
from forecasting.backtest import run_backtest
from forecasting.resample import GridSeries
from forecasting.skill import score_level

SCEN = Path(__file__).resolve().parents[2] / "configs" / "scenarios"
STEP_S, HORIZON_S = 10.0, 600.0
EPOCH_S = 1_700_000_003.7
COHERENCE = {"forecasts": 0, "p_high_path_flat": 0}
POOLED = {"n": 0.0, "brier": 0.0, "brier_ref": 0.0}


def zone_alerts(
    times: list[float],
    values: list[float],
    inflows: list[float] | None,
    th: rules.ThresholdsPpm2,
    zone: str,
    min_history_s: float,
) -> list[RaisedAlert]:
    a = AlertsConfig()
    timing = al.RuleTiming(a.forecast_pending_s, a.forecast_keep_firing_s)
    fc = LibraryForecaster(STEP_S, HORIZON_S, season_s=ForecastConfig().season_s, refitter=InlineRefitter())
    state = al.RuleState()
    out: list[RaisedAlert] = []
    prev_t: float | None = None
    for i, (t, v) in enumerate(zip(times, values, strict=True)):
        if prev_t is not None and np.floor(t / STEP_S) > np.floor(prev_t / STEP_S):
            f = fc.forecast({"warning": th.warning, "critical": th.critical}, now_s=prev_t)
            if f is not None:
                for c in f.crossings:
                    # Coherence: a probability of at least the alert's with no crossing on the drawn path.
                    COHERENCE["forecasts"] += 1
                    COHERENCE["p_high_path_flat"] += int(
                        c.probability >= a.forecast_probability and c.expected_time_s is None
                    )
            if f is not None and prev_t - times[0] >= min_history_s:
                crossings = [
                    rules.CrossingIn(c.name, c.threshold, c.probability, c.expected_time_s) for c in f.crossings
                ]
                cond = rules.forecast_crossing(crossings, th, a.forecast_probability, a.clear_ratio)
                state, events = al.evaluate(state, cond, prev_t, zone, "forecast", timing)
                for e in events:
                    if e.type == "new":
                        out.append(RaisedAlert("forecast", zone, e.alert.level, e.alert.opened_at_s))
        fc.update(t, v, None if inflows is None else inflows[i])
        prev_t = t
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m scripts.bench.buildup_alerts", description=__doc__)
    ap.add_argument("scenarios", nargs="*", type=Path)
    ap.add_argument(
        "--min-history-s",
        type=float,
        default=AlertsConfig().forecast_min_history_s,
        help="data a zone needs before forecast alerts (default: central's alerts.forecast_min_history_s)",
    )
    ap.add_argument(
        "--no-inflow", action="store_true", help="leave out the zones' inflow (an edge without entrance lines)"
    )
    args = ap.parse_args(argv)
    paths = args.scenarios or sorted(SCEN.glob("sim_*.yaml"))
    leads: list[float] = []
    n_exp = n_det = n_raised = n_false = 0
    for p in paths:
        t0 = time.perf_counter()
        built = build(load(p), base_dir=p.parent)
        raised: list[RaisedAlert] = []
        for z in built.scenario.zones:
            s = built.samples[z.id]
            # On a UNIX clock not aligned to the bins, as a replay's (its slots and bins are central's).
            times = [EPOCH_S + x.t_end_s for x in s]
            values = [x.density for x in s]
            inflows = None if args.no_inflow else [float(x.inflow) for x in s]
            raised += [
                RaisedAlert(r.kind, r.zone, r.level, r.opened_s - EPOCH_S)
                for r in zone_alerts(times, values, inflows, z.thresholds, z.id, args.min_history_s)
            ]
            vals = np.asarray(values, dtype=float)
            grid = GridSeries(times[0] - STEP_S, STEP_S, vals, np.ones(vals.shape[0], dtype=np.int64))
            preds = run_backtest(grid, int(HORIZON_S / STEP_S), season_s=None)
            k = score_level(grid, preds, z.thresholds.warning)
            if built.scenario.kind == "buildup" and k.n_origins_below:
                POOLED["n"] += k.n_origins_below
                POOLED["brier"] += k.brier * k.n_origins_below
                POOLED["brier_ref"] += k.brier_persistence * k.n_origins_below
            print(
                f"  {p.stem}/{z.id} warning {z.thresholds.warning:g}: BSS {k.brier_skill_score:+.3f} "
                f"(Brier {k.brier:.3f} vs {k.brier_persistence:.3f}, base rate {k.base_rate:.2f}, "
                f"n {k.n_origins_below})"
            )
        exp = [e for e in built.expected if e.kind == "forecast"]
        sc = score(exp, raised, frozenset({"forecast"}))
        n_exp += sc.expected
        n_det += sc.detected
        n_raised += sc.raised
        n_false += sc.false_alarms
        leads += [c.lead_s for c in sc.leads]
        detail = ", ".join(
            f"{c.zone} lead {c.lead_s / 60:.1f} min (crossing {c.crossing_s / 60:.1f})" for c in sc.leads
        )
        fa = ", ".join(f"false at {u.opened_s / 60:.1f} min" for u in sc.unmatched)
        print(f"{p.stem}: {sc.summary()} {detail} {fa} [{time.perf_counter() - t0:.0f} s]", flush=True)
    pod = n_det / n_exp if n_exp else float("nan")
    far = n_false / n_raised if n_raised else 0.0
    med = statistics.median(leads) / 60 if leads else float("nan")
    print(
        f"coherence: {COHERENCE['p_high_path_flat']} of {COHERENCE['forecasts']} crossing forecasts had "
        f"P >= 0.6 while the drawn path did not reach the level"
    )
    if POOLED["n"]:
        bss = 1.0 - POOLED["brier"] / POOLED["brier_ref"]
        print(f"pooled over the build-ups' zones: Brier skill score {bss:+.3f} ({int(POOLED['n'])} origins)")
    print(
        f"all: expected {n_exp} detected {n_det} raised {n_raised} false {n_false} POD {pod:.2f} FAR {far:.2f} "
        f"median lead {med:.1f} min"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
