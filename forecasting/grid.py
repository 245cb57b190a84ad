"""The step grid a forecaster works on: step, horizon in steps and seasonal slots, validated once.

`ZoneForecaster` and `BatchForecaster` take the same arguments and must read them the same way, so
that a zone forecast alone and the same zone in a batch agree.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from forecasting.engine import EngineSettings
from forecasting.resample import check_step
from forecasting.seasons import SeasonGrid


@dataclass(frozen=True)
class ForecastGrid:
    step_s: float
    horizon_steps: int
    season: SeasonGrid | None

    @staticmethod
    def make(step_s: float, horizon_s: float, season_s: float | None) -> ForecastGrid:
        step = check_step(step_s)
        if not math.isfinite(horizon_s) or horizon_s < step:
            raise ValueError(f"horizon_s must be at least one step ({step} s), got {horizon_s!r}")
        # The epsilon keeps a horizon that is a whole number of steps from rounding up to one more.
        horizon_steps = math.ceil(horizon_s / step - 1e-9)
        season = SeasonGrid.make(season_s, step) if season_s else None
        return ForecastGrid(step_s=step, horizon_steps=horizon_steps, season=season)

    def engine_settings(
        self, *, min_history: int, nonnegative: bool, min_scale: float = 0.0, with_inflow: bool = False
    ) -> EngineSettings:
        return EngineSettings(
            horizon_steps=self.horizon_steps,
            season_slots=self.season.n_slots if self.season else None,
            sub_season_slots=self.season.sub_slots if self.season else None,
            min_history=max(1, min_history),
            nonnegative=nonnegative,
            min_scale=min_scale,
            with_inflow=with_inflow,
        )
