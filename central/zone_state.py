"""Evaluator state: each zone's runtime (latest row, forecast, forecaster, rule states), shared by its stages.

Only the evaluator's thread mutates it: the lanes feed rows in, the rules stage steps `rules`, the
publication stage sends `unpublished`, and the read model turns `latest` and `forecast` into views.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from central import alerts as al
from central.forecasts import SeriesForecaster, ZoneForecast
from central.store import MetricRow
from central.zones import Zone
from contract.central_messages import ForecastView


@dataclass
class ZoneRuntime:
    zone: Zone
    owned: bool  # this worker forecasts the zone and runs its rules (crc32(zone) % workers)
    latest: MetricRow | None = None
    forecast: ForecastView | None = None
    forecaster: SeriesForecaster | None = None
    unpublished: ZoneForecast | None = None
    rules: dict[str, al.RuleState] = field(default_factory=dict)


ZoneStates = dict[str, ZoneRuntime]
