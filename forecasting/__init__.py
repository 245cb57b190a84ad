"""Zone forecasting: series in, forecast path with 80/95% intervals and threshold-crossing odds out.

Pure library: no MQTT, database or HTTP. See docs/forecasting.md.
"""

from forecasting.batch import BatchForecast, BatchForecaster
from forecasting.series import forecast_series
from forecasting.types import Forecast, ThresholdCrossing
from forecasting.zone import ZoneForecaster

__all__ = ["BatchForecast", "BatchForecaster", "Forecast", "ThresholdCrossing", "ZoneForecaster", "forecast_series"]
