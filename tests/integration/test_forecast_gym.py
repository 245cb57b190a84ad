"""What the forecaster reaches on the shared gym occupancy series, through the contracted CLI.

Rolling origins, 10 minutes ahead, only data up to each origin. The former target of 0.75 of
persistence's error was withdrawn (issue 17: its premise came from a scorer that gave persistence a
staler point); what is asserted is what the forecaster reaches and what it exists for: no worse than
persistence, calibrated intervals, crossing probabilities with skill over persistence-based ones at
busy-gym levels, and forecasts that do not swing on plateaus. Figures: docs/forecasting.md.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from forecasting.cli import main

GYM = Path("timeseries/berkeley_gym_10min/campus_gym_crowdedness_2015-08_2016-08.csv")

pytestmark = [pytest.mark.integration, pytest.mark.slow]


@pytest.fixture(scope="module")
def gym_report(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> dict:
    src = shared_data / GYM
    if not src.is_file():
        pytest.skip(f"{src} is absent")
    out = tmp_path_factory.mktemp("gym")
    argv = ["backtest", "--csv", str(src), "--time-col", "date", "--value-col", "number_people"]
    argv += ["--freq", "10min", "--horizon", "10min", "--output", str(out / "predictions.csv")]
    argv += ["--report", str(out / "report.json"), "--plot", str(out / "plot.png")]
    argv += ["--level", "60", "--level", "80", "--level", "100"]
    assert main(argv) == 0
    report = json.loads((out / "report.json").read_text())
    report["_out"] = str(out)
    return report


def test_rolling_origins_cover_the_whole_series(gym_report: dict) -> None:
    assert gym_report["n_origins"] > 40_000
    assert gym_report["n_scored"] > 35_000
    assert gym_report["prediction_rows"] == gym_report["n_origins"]
    assert Path(gym_report["_out"], "plot.png").stat().st_size > 10_000


def test_beats_persistence_and_seasonal_naive(gym_report: dict) -> None:
    assert gym_report["ratio_to_persistence"] < 1.0
    assert gym_report["ratio_to_seasonal_naive_day"] < 1.0
    assert gym_report["ratio_to_seasonal_naive_week"] < 1.0


def test_80_percent_interval_coverage_is_between_75_and_85(gym_report: dict) -> None:
    assert 0.75 <= gym_report["coverage80"] <= 0.85
    assert 0.90 <= gym_report["coverage95"] <= 0.98


def test_mae_no_worse_than_persistence(gym_report: dict) -> None:
    assert gym_report["ratio_to_persistence"] <= 1.0


def test_crossing_probabilities_beat_persistence_based_ones(gym_report: dict) -> None:
    """Brier skill score > 0 at every level, 60, 80 and 100 people (about the gym occupancy's 85th, 97th and
    99.7th percentiles), the issued (calibrated) probabilities against persistence-based ones."""
    assert [lv["level"] for lv in gym_report["levels"]] == [60.0, 80.0, 100.0]
    for level in gym_report["levels"]:
        assert level["n_origins_below"] > 30_000
        assert level["brier_skill_score"] > 0.0, level["level"]
        # The online calibration is what makes the difference at the rare level: it must add skill.
        assert level["brier_skill_score"] > level["brier_skill_score_uncalibrated"], level["level"]


def _tolerance(p: float, n: int) -> float:
    """Three binomial standard errors (a bin of n independent forecasts at p) plus 0.05: the map is learned
    online from the past only (8 pseudo-outcomes of prior per bin), so it trails what happens by a little."""
    return 3.0 * math.sqrt(p * (1.0 - p) / n) + 0.05


def test_crossing_probabilities_are_calibrated(gym_report: dict) -> None:
    """In every reliability bin with enough forecasts, the observed frequency is within 0.1 of the mean
    probability (binomial noise at n >= 300 is about 0.03). Above 0.5, where the raw probabilities were
    over-confident (0.6-0.7: said 0.64, happened 0.43, n = 105: 4.6 standard errors), every populated bin
    and the bins above 0.5 pooled are within `_tolerance`."""
    for level in gym_report["levels"]:
        high = [b for b in level["reliability"] if b["n"] and b["p_lo"] >= 0.5]
        for b in level["reliability"]:
            if b["n"] >= 300:
                assert abs(b["observed"] - b["mean_p"]) <= 0.1, (level["level"], b)
        for b in high:
            assert abs(b["observed"] - b["mean_p"]) <= _tolerance(b["mean_p"], b["n"]), (level["level"], b)
        n = sum(b["n"] for b in high)
        if n:
            said = sum(b["n"] * b["mean_p"] for b in high) / n
            happened = sum(b["n"] * b["observed"] for b in high) / n
            assert abs(happened - said) <= _tolerance(said, n), (level["level"], said, happened, n)


def test_forecast_is_stable_on_plateaus(gym_report: dict) -> None:
    """The issue's bound: no update on a plateau swings the forecast by more than its previous 80% width."""
    st = gym_report["stability"]
    assert st["n_plateau_updates"] > 1_000
    assert st["swing_over_width80_max"] <= 1.0
    assert st["share_beyond_width80"] == 0.0
    assert st["swing_over_width80_p95"] <= 0.6
