"""Zone forecasting: series in, forecast path with 80/95% intervals and threshold-crossing odds out.

Pure library: no MQTT, database or HTTP. See docs/forecasting.md.
"""

from forecasting.batch import BatchForecast, BatchForecaster
from forecasting.models.damped import DampedParams, fit_damped_params
from forecasting.models.inflow import InflowParams, fit_inflow_params
from forecasting.series import forecast_series
from forecasting.types import Forecast, ThresholdCrossing
from forecasting.zone import ZoneForecaster

__all__ = [
    "BatchForecast",
    "BatchForecaster",
    "DampedParams",
    "Forecast",
    "InflowParams",
    "ThresholdCrossing",
    "ZoneForecaster",
    "fit_damped_params",
    "fit_inflow_params",
    "forecast_series",
]
