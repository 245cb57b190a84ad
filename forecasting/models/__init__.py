"""Vectorised online forecasting models: each keeps its state for `n` series in numpy arrays."""

from forecasting.models.base import VectorModel
from forecasting.models.damped import DampedParams, DampedTrend, fit_damped_params
from forecasting.models.persistence import Persistence
from forecasting.models.profile import SeasonalProfile

__all__ = ["DampedParams", "DampedTrend", "Persistence", "SeasonalProfile", "VectorModel", "fit_damped_params"]
