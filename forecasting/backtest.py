"""Rolling-origin backtest: forecast from every observed bin using only data up to it, then score.

The pass runs the same online engine the product uses, so 50,000 origins take seconds: the engine
is stepped once per bin, and the damped-trend parameters are refitted every `refit_every` bins on
the trailing history only (no look-ahead).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from forecasting.engine import EngineSettings, OnlineEngine
from forecasting.models.damped import fit_damped_params
from forecasting.resample import GridSeries
from forecasting.seasons import DAY_S, SeasonGrid

FIT_WINDOW_BINS = 720
WEEK_S = 7 * DAY_S


@dataclass(frozen=True)
class BacktestPredictions:
    step_s: float
    horizon_steps: int
    origin_index: np.ndarray  # (R,) grid index of each forecast origin
    bands: np.ndarray  # (R, H, 5): lo95, lo80, yhat, hi80, hi95
    persistence_bands: np.ndarray  # (R, H, 5): persistence's path with its own learned intervals (a reference)
    model: np.ndarray  # (R,) model index chosen at each origin
    model_names: tuple[str, ...]


@dataclass(frozen=True)
class ScoreRow:
    name: str
    mae: float
    model_mae_same_points: float
    n_points: int


@dataclass(frozen=True)
class BacktestReport:
    horizon_steps: int
    n_origins: int
    n_scored: int
    mae: float
    baselines: tuple[ScoreRow, ...]
    coverage80: float
    coverage95: float
    mean_width80: float
    model_share: dict[str, float]

    def ratio(self, name: str) -> float:
        for row in self.baselines:
            if row.name == name:
                return row.model_mae_same_points / row.mae if row.mae > 0 else float("inf")
        raise KeyError(name)


def run_backtest(
    grid: GridSeries,
    horizon_steps: int,
    *,
    local_s: np.ndarray | None = None,
    season_s: float | None = WEEK_S,
    refit_every: int = 4032,
    nonnegative: bool = True,
) -> BacktestPredictions:
    """`local_s` (N,) local-clock times of the grid bins, for the seasonal slots (default: the grid times)."""
    y = grid.values
    n_bins = y.shape[0]
    step = grid.step_s
    season = SeasonGrid.make(season_s, step) if season_s and season_s >= 2 * step else None
    engine = OnlineEngine(
        1,
        EngineSettings(
            horizon_steps=horizon_steps,
            season_slots=season.n_slots if season else None,
            sub_season_slots=season.sub_slots if season else None,
            nonnegative=nonnegative,
        ),
    )
    local = grid.times_s if local_s is None else np.asarray(local_s, dtype=float)
    # Slots for bins past the end are only needed for the last origins' paths.
    tail = local[-1] + step * np.arange(1, horizon_steps + 1)
    slots = season.slots(np.concatenate([local, tail])) if season else None
    observed = np.isfinite(y)
    origins: list[int] = []
    bands: list[np.ndarray] = []
    ref_bands: list[np.ndarray] = []
    models: list[int] = []
    since_fit, gap_run = refit_every, 0
    for i in range(n_bins):
        if not observed[i]:
            gap_run += 1
            if gap_run > engine.reset_gap + 1:
                engine.skip(1)  # deep inside a long gap: just move the clock
                continue
        else:
            gap_run = 0
        if slots is not None:
            engine.step(y[i : i + 1], int(slots[i]), slots[i + 1 : i + 1 + horizon_steps])
        else:
            engine.step(y[i : i + 1])
        since_fit += 1
        if not observed[i]:
            continue
        if since_fit >= refit_every:
            params = fit_damped_params(y[max(0, i + 1 - FIT_WINDOW_BINS) : i + 1])
            if params is not None:
                engine.damped.set_params(slice(None), params)
            since_fit = 0
        out = engine.forecast()
        origins.append(i)
        bands.append(out.bands[0])
        ref_bands.append(engine.forecast(np.zeros(1, dtype=np.int64)).bands[0])
        models.append(int(out.model_index[0]))
    return BacktestPredictions(
        step_s=step,
        horizon_steps=horizon_steps,
        origin_index=np.array(origins, dtype=np.int64),
        bands=np.array(bands).reshape(len(origins), horizon_steps, 5),
        persistence_bands=np.array(ref_bands).reshape(len(origins), horizon_steps, 5),
        model=np.array(models, dtype=np.int64),
        model_names=engine.model_names,
    )


def score(grid: GridSeries, preds: BacktestPredictions) -> BacktestReport:
    """MAE at the horizon against persistence and seasonal naive (a day and a week back), and coverage."""
    y = grid.values
    n = y.shape[0]
    h = preds.horizon_steps
    o = preds.origin_index
    target = o + h
    inside = target < n
    o, target = o[inside], target[inside]
    b = preds.bands[inside, h - 1]
    truth = y[target]
    ok = np.isfinite(truth)
    o, target, b, truth = o[ok], target[ok], b[ok], truth[ok]
    err = np.abs(truth - b[:, 2])
    rows = [_baseline("persistence", truth, y[o], err)]
    for name, lag_s in (("seasonal_naive_day", DAY_S), ("seasonal_naive_week", WEEK_S)):
        lag = round(lag_s / grid.step_s)
        src = target - lag
        guess = np.where(src >= 0, y[np.clip(src, 0, n - 1)], np.nan)
        # A seasonal naive forecast may only use data up to the origin.
        guess = np.where(src <= o, guess, np.nan)
        rows.append(_baseline(name, truth, guess, err))
    share = {
        name: float(np.mean(preds.model == i)) if preds.model.size else 0.0 for i, name in enumerate(preds.model_names)
    }
    return BacktestReport(
        horizon_steps=h,
        n_origins=int(preds.origin_index.size),
        n_scored=int(truth.size),
        mae=float(err.mean()) if err.size else float("nan"),
        baselines=tuple(rows),
        coverage80=float(np.mean((truth >= b[:, 1]) & (truth <= b[:, 3]))) if truth.size else float("nan"),
        coverage95=float(np.mean((truth >= b[:, 0]) & (truth <= b[:, 4]))) if truth.size else float("nan"),
        mean_width80=float(np.mean(b[:, 3] - b[:, 1])) if truth.size else float("nan"),
        model_share=share,
    )


def _baseline(name: str, truth: np.ndarray, guess: np.ndarray, model_err: np.ndarray) -> ScoreRow:
    ok = np.isfinite(guess)
    if not ok.any():
        return ScoreRow(name, float("nan"), float("nan"), 0)
    return ScoreRow(
        name=name,
        mae=float(np.mean(np.abs(truth[ok] - guess[ok]))),
        model_mae_same_points=float(np.mean(model_err[ok])),
        n_points=int(ok.sum()),
    )
