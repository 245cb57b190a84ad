"""Values the forecasting library hands out: a forecast path with intervals and threshold crossings."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class ThresholdCrossing:
    """How likely a zone is to reach one alert threshold within the forecast horizon."""

    name: str
    threshold: float
    # P(level >= threshold at any step within the horizon), in [0, 1].
    probability: float
    # Same clock as the inputs; None when the point forecast (median path) never reaches the threshold.
    expected_time_s: float | None


@dataclass(frozen=True)
class Forecast:
    """One zone's forecast path over the horizon; every array has shape (H,) and holds no NaN."""

    origin_s: float
    step_s: float
    times_s: np.ndarray
    yhat: np.ndarray
    lo80: np.ndarray
    hi80: np.ndarray
    lo95: np.ndarray
    hi95: np.ndarray
    crossings: tuple[ThresholdCrossing, ...]
    model: str

    @property
    def horizon_steps(self) -> int:
        return int(self.times_s.shape[0])

    def crossing(self, name: str) -> ThresholdCrossing:
        for c in self.crossings:
            if c.name == name:
                return c
        raise KeyError(f"no threshold named {name!r} in this forecast")
