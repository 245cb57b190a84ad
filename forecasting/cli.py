"""crowd-forecast: the rolling-origin backtest of the forecaster on a CSV series."""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from dataclasses import asdict
from pathlib import Path

from forecasting.backtest import WEEK_S, run_backtest, score
from forecasting.csvio import guess_step_s, local_times, parse_duration_s, read_series, write_predictions
from forecasting.resample import resample_to_grid
from forecasting.seasons import DAY_S
from forecasting.skill import SkillReport, score_level, stability


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="crowd-forecast", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True)
    b = sub.add_parser("backtest", help="rolling-origin backtest: predictions CSV, report JSON, plot")
    b.add_argument("--csv", required=True, type=Path)
    b.add_argument("--time-col", required=True)
    b.add_argument("--value-col", required=True)
    b.add_argument("--freq", help="grid step, e.g. 10s, 1min, 10min (default: from the median sampling interval)")
    b.add_argument("--horizon", default="10min", help="how far ahead (default 10min)")
    b.add_argument("--season", default="auto", help="auto, none, or a period such as 1D or 7D")
    b.add_argument("--output", required=True, type=Path)
    b.add_argument("--report", type=Path)
    b.add_argument("--plot", type=Path)
    b.add_argument(
        "--level",
        type=float,
        action="append",
        default=[],
        help="score crossing probabilities and warnings at this level (repeatable): reliability, Brier skill, POD, FAR, lead",
    )
    b.add_argument(
        "--alert-probability",
        type=float,
        default=0.6,
        help="a warning is issued when P(cross) reaches this (default 0.6, central's forecast_probability)",
    )
    return p


def _season_s(text: str, span_s: float, step_s: float) -> float | None:
    if text == "none":
        return None
    if text != "auto":
        return parse_duration_s(text)
    # A profile needs a couple of cycles before it can say anything.
    if span_s >= 3 * WEEK_S:
        return WEEK_S
    if span_s >= 3 * DAY_S and 2 * step_s <= DAY_S:
        return DAY_S
    return None


def backtest(args: argparse.Namespace) -> dict[str, object]:
    started = time.perf_counter()
    raw = read_series(args.csv, args.time_col, args.value_col)
    step_s = parse_duration_s(args.freq) if args.freq else guess_step_s(raw.t_s)
    horizon_s = parse_duration_s(args.horizon)
    if horizon_s < step_s:
        raise ValueError(f"--horizon ({horizon_s:g} s) is shorter than one step of --freq ({step_s:g} s)")
    steps = math.ceil(horizon_s / step_s - 1e-9)
    grid = resample_to_grid(raw.t_s, raw.values, step_s)
    span_s = float(grid.times_s[-1] - grid.times_s[0])
    season_s = _season_s(args.season, span_s, step_s)
    preds = run_backtest(grid, steps, local_s=local_times(raw, grid), season_s=season_s)
    n_rows = write_predictions(args.output, grid, preds, raw.aware)
    rep = score(grid, preds)
    if not 0.0 < args.alert_probability <= 1.0:
        raise ValueError(f"--alert-probability must be in (0, 1], got {args.alert_probability}")
    levels = [score_level(grid, preds, lv, args.alert_probability) for lv in args.level]
    report: dict[str, object] = {
        "csv": str(args.csv),
        "step_s": step_s,
        "horizon_s": steps * step_s,
        "horizon_steps": steps,
        "season_s": season_s,
        "n_bins": int(grid.values.shape[0]),
        "n_observed_bins": grid.n_observed,
        "prediction_rows": n_rows,
        **asdict(rep),
        "ratio_to_persistence": rep.ratio("persistence"),
        "ratio_to_seasonal_naive_day": rep.ratio("seasonal_naive_day"),
        "ratio_to_seasonal_naive_week": rep.ratio("seasonal_naive_week"),
        "stability": asdict(stability(grid, preds)),
        "levels": [asdict(lv) for lv in levels],
        "seconds": round(time.perf_counter() - started, 2),
    }
    if args.report:
        args.report.parent.mkdir(parents=True, exist_ok=True)
        args.report.write_text(json.dumps(_strict_json(report), indent=2) + "\n")
    report["_levels"] = levels  # the objects, for printing; not part of the JSON
    if args.plot:
        from forecasting.plot import plot_backtest

        plot_backtest(args.plot, grid, preds, f"{args.csv.name}: {args.value_col}, {args.horizon} ahead")
    return report


def print_skill(report: dict[str, object], levels: list[SkillReport]) -> None:
    """The human-readable part: stability, then per level the reliability bins and warning scores."""
    st = report["stability"]
    assert isinstance(st, dict)
    print(
        f"stability on plateaus ({st['n_plateau_updates']} updates): |change of the {report['horizon_s']:g} s forecast|"
        f" / previous 80% width: p50 {st['swing_over_width80_p50']:.2f}, p95 {st['swing_over_width80_p95']:.2f},"
        f" max {st['swing_over_width80_max']:.2f}, share > 1: {st['share_beyond_width80']:.3f}"
    )
    for lv in levels:
        print(
            f"level {lv.level:g}: {lv.n_origins_below} origins below it, base rate {lv.base_rate:.3f}; "
            f"Brier {lv.brier:.4f} vs persistence-based {lv.brier_persistence:.4f}: BSS {lv.brier_skill_score:+.3f}"
            f" (uncalibrated {lv.brier_skill_score_uncalibrated:+.3f})"
        )
        print("  reliability  p range    n      mean p  observed")
        for b in lv.reliability:
            if b.n:
                print(f"               {b.p_lo:.1f}-{b.p_hi:.1f}  {b.n:6d}  {b.mean_p:.3f}   {b.observed:.3f}")
        lead = "n/a" if lv.lead_s_median != lv.lead_s_median else f"{lv.lead_s_median / 60:.1f} min"
        print(
            f"  warnings at p >= {lv.alert_probability:g}: crossings {lv.crossings}, detected {lv.detected}, "
            f"POD {lv.pod:.2f}, runs {lv.warning_runs}, false {lv.false_runs}, FAR {lv.far:.2f}, median lead {lead}"
        )


def _strict_json(x: object) -> object:
    """NaN (e.g. no scored point) becomes null, so the report is valid JSON for any reader."""
    if isinstance(x, float):
        return x if math.isfinite(x) else None
    if isinstance(x, dict):
        return {str(k): _strict_json(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [_strict_json(v) for v in x]
    return x


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        report = backtest(args)
    except ValueError as exc:
        print(f"crowd-forecast: {exc}", file=sys.stderr)
        return 2
    summary = {k: report[k] for k in ("n_scored", "mae", "ratio_to_persistence", "coverage80", "coverage95", "seconds")}
    print(json.dumps(summary))
    levels = report.pop("_levels")
    assert isinstance(levels, list)
    print_skill(report, levels)
    return 0


if __name__ == "__main__":
    sys.exit(main())
