"""A backtest picture: truth, the forecast at the horizon, and its 80%/95% bands."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from forecasting.backtest import BacktestPredictions
from forecasting.resample import GridSeries

MAX_BINS_SHOWN = 2016  # two weeks of 10-minute bins: longer plots become a solid smear


def plot_backtest(path: Path, grid: GridSeries, preds: BacktestPredictions, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    h = preds.horizon_steps
    target = preds.origin_index + h
    inside = target < grid.values.shape[0]
    target, bands = target[inside], preds.bands[inside, h - 1]
    start = max(0, grid.values.shape[0] - MAX_BINS_SHOWN)
    t_hours = (grid.times_s - grid.times_s[start]) / 3600.0
    # Full-length arrays with NaN where no forecast targets a bin, so gaps stay gaps in the picture.
    full = np.full((grid.values.shape[0], 5), np.nan)
    full[target] = bands
    x, f = t_hours[start:], full[start:]
    has = np.isfinite(f[:, 2])
    fig, ax = plt.subplots(figsize=(12, 4.5))
    ax.fill_between(x, f[:, 0], f[:, 4], where=has, color="tab:blue", alpha=0.15, lw=0, label="95%")
    ax.fill_between(x, f[:, 1], f[:, 3], where=has, color="tab:blue", alpha=0.3, lw=0, label="80%")
    ax.plot(x, f[:, 2], color="tab:blue", lw=1, label=f"forecast {h} step(s) ahead")
    shown = np.arange(start, grid.values.shape[0])
    ax.plot(t_hours[shown], grid.values[shown], color="black", lw=0.8, label="truth")
    ax.set_xlabel("hours from the start of the window shown")
    ax.set_title(title)
    ax.legend(loc="upper left")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
