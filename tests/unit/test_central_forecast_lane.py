"""The forecast lane without I/O: one forecast per bin in data order, round-robin slices, overload skipping."""

from __future__ import annotations

import pytest

from central.forecast_lane import ForecastLane
from central.forecasts import PersistenceForecaster


class FakeMono:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


def _lane(made: list[tuple[str, float]], mono: FakeMono, cost_s: float = 0.01, slice_s: float = 0.05) -> ForecastLane:
    def forecast(zone: str, t: float) -> None:
        made.append((zone, t))
        mono.t += cost_s  # each forecast takes 10 ms of the slice

    return ForecastLane(10.0, slice_s=slice_s, overload_after_s=5.0, forecast=forecast, mono=mono)


def test_each_closed_bin_is_forecast_once_at_its_last_data_time_round_robin() -> None:
    made: list[tuple[str, float]] = []
    mono = FakeMono()
    lane = _lane(made, mono)
    for z in ("a", "b", "c"):
        lane.add_zone(z, PersistenceForecaster(10.0, 600.0))
        for t in (1.0, 5.0, 12.0, 25.0):  # bins 0, 0, 1, 2: bins 0 and 1 close
            lane.push(z, 1, t, 0.5)
    assert lane.min_pending_id() == 1 and lane.has_work
    lane.run_slice()
    # 50 ms at 10 ms a forecast: five forecasts, zones taking turns, each zone's bins in order.
    assert made == [("a", 5.0), ("b", 5.0), ("c", 5.0), ("a", 12.0), ("b", 12.0)]
    lane.run_slice()
    assert made[5:] == [("c", 12.0)] and not lane.has_work and lane.skipped == 0
    assert lane.first_t("a") == 1.0 and lane.min_pending_id() is None


def test_an_overloaded_zone_skips_superseded_bins_and_counts_them() -> None:
    made: list[tuple[str, float]] = []
    mono = FakeMono()
    lane = _lane(made, mono, slice_s=10.0)
    lane.add_zone("a", PersistenceForecaster(10.0, 600.0))
    for t in (1.0, 11.0, 21.0, 31.0):  # bins 0..3: three close
        lane.push("a", 7, t, 0.5)
    mono.t = 6.0  # waited longer than overload_after_s (5 s)
    assert lane.oldest_wait_s() == pytest.approx(6.0)
    lane.run_slice()
    assert made == [("a", 21.0)] and lane.skipped == 2  # only the newest closed bin was forecast


def test_drain_forecasts_every_bin_even_when_late() -> None:
    made: list[tuple[str, float]] = []
    mono = FakeMono()
    lane = _lane(made, mono)
    lane.add_zone("a", PersistenceForecaster(10.0, 600.0))
    for t in (1.0, 11.0, 21.0, 31.0):
        lane.push("a", 3, t, 0.5)
    mono.t = 60.0
    assert lane.drain("a") == 3 and [t for _, t in made] == [1.0, 11.0, 21.0] and lane.skipped == 0
