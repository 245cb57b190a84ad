"""Reading a time series from CSV (timestamps with or without UTC offsets) and writing predictions."""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd

from forecasting.backtest import BacktestPredictions
from forecasting.resample import GridSeries

NICE_STEPS_S = (1, 5, 10, 15, 30, 60, 300, 600, 900, 1800, 3600, 3 * 3600, 6 * 3600, 86400)


@dataclass(frozen=True)
class RawSeries:
    t_s: np.ndarray  # UNIX seconds
    values: np.ndarray
    offset_s: np.ndarray  # local time minus UTC per row (0 for naive timestamps)
    aware: bool  # whether the input carried UTC offsets


def parse_duration_s(text: str) -> float:
    try:
        seconds = pd.Timedelta(text).total_seconds()
    except (ValueError, TypeError) as exc:
        raise ValueError(f"cannot read {text!r} as a duration (try 10s, 1min, 10min, 1h)") from exc
    if not math.isfinite(seconds) or seconds <= 0:
        raise ValueError(f"duration {text!r} must be positive")
    return float(seconds)


def read_series(path: Path, time_col: str, value_col: str) -> RawSeries:
    if not path.is_file():
        raise ValueError(f"CSV file not found: {path}")
    df = pd.read_csv(path)
    for col in (time_col, value_col):
        if col not in df.columns:
            raise ValueError(f"column {col!r} not in {path.name}; columns are {list(df.columns)}")
    values = pd.to_numeric(df[value_col], errors="coerce").to_numpy(dtype=float)
    raw = df[time_col]
    if pd.api.types.is_numeric_dtype(raw):
        t = raw.to_numpy(dtype=float)  # already seconds since the epoch
        return RawSeries(t, values, np.zeros_like(t), aware=False)
    texts = raw.astype(str).tolist()
    stamps = [_parse_stamp(s, i) for i, s in enumerate(texts)]
    aware = stamps[0].tzinfo is not None if stamps else False
    if any((s.tzinfo is not None) != aware for s in stamps):
        raise ValueError(f"column {time_col!r} mixes timestamps with and without a UTC offset")
    if aware:
        t = np.array([s.timestamp() for s in stamps])
        off = np.array([_offset_s(s) for s in stamps])
    else:
        t = np.array([s.replace(tzinfo=UTC).timestamp() for s in stamps])
        off = np.zeros_like(t)
    return RawSeries(t, values, off, aware)


def _parse_stamp(text: str, row: int) -> datetime:
    try:
        return datetime.fromisoformat(text.strip())
    except ValueError:
        try:
            return pd.Timestamp(text).to_pydatetime()
        except (ValueError, TypeError) as exc:
            raise ValueError(f"row {row + 2}: cannot read timestamp {text!r}") from exc


def _offset_s(stamp: datetime) -> float:
    off = stamp.utcoffset()
    return off.total_seconds() if off is not None else 0.0


def guess_step_s(t_s: np.ndarray) -> float:
    """The nice step closest (in log scale) to the median sampling interval."""
    d = np.diff(np.unique(t_s))
    if d.size == 0:
        return 600.0
    med = float(np.median(d))
    return float(min(NICE_STEPS_S, key=lambda s: abs(math.log(s) - math.log(max(med, 1e-3)))))


def local_times(raw: RawSeries, grid: GridSeries) -> np.ndarray:
    """Local-clock time of each grid bin, using the UTC offset of the latest row at or before it."""
    order = np.argsort(raw.t_s, kind="stable")
    ts, off = raw.t_s[order], raw.offset_s[order]
    idx = np.clip(np.searchsorted(ts, grid.times_s, side="right") - 1, 0, max(ts.size - 1, 0))
    return grid.times_s + (off[idx] if ts.size else 0.0)


def format_time(t_s: float, aware: bool) -> str:
    stamp = datetime.fromtimestamp(t_s, UTC)
    return stamp.isoformat() if aware else stamp.replace(tzinfo=None).isoformat()


def write_predictions(path: Path, grid: GridSeries, preds: BacktestPredictions, aware: bool) -> int:
    """One row per origin and target step; returns the number of rows."""
    times = grid.times_s
    rows = 0
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["origin", "target", "yhat", "lo80", "hi80", "lo95", "hi95"])
        for r, i in enumerate(preds.origin_index):
            origin = format_time(float(times[i]), aware)
            for h in range(preds.horizon_steps):
                b = preds.bands[r, h]
                target = format_time(float(times[i]) + grid.step_s * (h + 1), aware)
                w.writerow([origin, target, *(f"{x:.6g}" for x in (b[2], b[1], b[3], b[0], b[4]))])
                rows += 1
    return rows
