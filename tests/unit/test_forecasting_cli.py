"""crowd-forecast backtest on small synthetic CSV files: the output contract and no look-ahead."""

from __future__ import annotations

import csv
import json
import math
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pytest

from forecasting.cli import main


def write_csv(path: Path, n: int, seed: int = 0, bump_after: int | None = None) -> None:
    rng = np.random.default_rng(seed)
    start = datetime(2016, 3, 10, 0, 0, tzinfo=UTC)
    with path.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["when", "people", "other"])
        for i in range(n):
            t = start + timedelta(minutes=10 * i, seconds=int(rng.integers(0, 30)))
            # The offset changes mid-series like a DST switch; the instant stays right.
            tz = timezone(timedelta(hours=-8 if t < datetime(2016, 3, 13, 10, tzinfo=UTC) else -7))
            value = 20 + 10 * math.sin(2 * math.pi * i / 144) + rng.normal(0, 2)
            if bump_after is not None and i >= bump_after:
                value += 500
            cell = "" if i % 97 == 5 else f"{value:.1f}"
            w.writerow([t.astimezone(tz).isoformat(sep=" "), cell, "x"])
            if i % 50 == 7:
                w.writerow([t.astimezone(tz).isoformat(sep=" "), cell, "dup"])


def run(tmp_path: Path, csv_path: Path, name: str, *extra: str) -> tuple[list[dict[str, str]], dict]:
    out, rep = tmp_path / f"{name}.csv", tmp_path / f"{name}.json"
    args = ["backtest", "--csv", str(csv_path), "--time-col", "when", "--value-col", "people"]
    args += ["--freq", "10min", "--horizon", "30min", "--output", str(out), "--report", str(rep), *extra]
    assert main(args) == 0
    with out.open() as fh:
        rows = list(csv.DictReader(fh))
    return rows, json.loads(rep.read_text())


def test_backtest_writes_the_contracted_files(tmp_path: Path) -> None:
    src = tmp_path / "series.csv"
    write_csv(src, 1500)
    rows, report = run(tmp_path, src, "pred", "--plot", str(tmp_path / "plot.png"))
    assert list(rows[0]) == ["origin", "target", "yhat", "lo80", "hi80", "lo95", "hi95"]
    assert len(rows) == report["prediction_rows"] == 3 * report["n_origins"]
    for r in rows[:300]:
        origin, target = datetime.fromisoformat(r["origin"]), datetime.fromisoformat(r["target"])
        assert timedelta(minutes=10) <= target - origin <= timedelta(minutes=30)
        lo95, lo80, yhat, hi80, hi95 = (float(r[k]) for k in ("lo95", "lo80", "yhat", "hi80", "hi95"))
        assert 0 <= lo95 <= lo80 <= yhat <= hi80 <= hi95
    assert report["horizon_steps"] == 3
    assert {b["name"] for b in report["baselines"]} == {"persistence", "seasonal_naive_day", "seasonal_naive_week"}
    assert 0.0 <= report["coverage80"] <= 1.0
    assert (tmp_path / "plot.png").stat().st_size > 10_000


def test_forecasts_use_only_data_up_to_their_origin(tmp_path: Path) -> None:
    a, b = tmp_path / "a.csv", tmp_path / "b.csv"
    write_csv(a, 1200, seed=3)
    write_csv(b, 1200, seed=3, bump_after=900)  # identical until row 900, wildly different after
    rows_a, _ = run(tmp_path, a, "a")
    rows_b, _ = run(tmp_path, b, "b")
    cut = datetime(2016, 3, 10, tzinfo=UTC) + timedelta(minutes=10 * 900)
    early_a = [r for r in rows_a if datetime.fromisoformat(r["origin"]) < cut]
    early_b = [r for r in rows_b if datetime.fromisoformat(r["origin"]) < cut]
    assert len(early_a) > 2000 and early_a == early_b
    late_a = [r for r in rows_a if datetime.fromisoformat(r["origin"]) >= cut + timedelta(hours=1)]
    late_b = [r for r in rows_b if datetime.fromisoformat(r["origin"]) >= cut + timedelta(hours=1)]
    assert late_a != late_b


@pytest.mark.parametrize(
    ("content", "args", "message"),
    [
        ("when,people\n", [], "no finite observations"),
        ("t,people\n2016-01-01 00:00:00,3\n", [], "column 'when'"),
        ("when,people\nyesterday-ish,3\n", [], "cannot read timestamp"),
        ("when,people\n2016-01-01 00:00:00,3\n", ["--horizon", "1min"], "shorter than one step"),
    ],
)
def test_bad_input_gives_a_clear_message(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str, args: list[str], message: str
) -> None:
    src = tmp_path / "bad.csv"
    src.write_text(content)
    argv = ["backtest", "--csv", str(src), "--time-col", "when", "--value-col", "people", "--freq", "10min"]
    argv += ["--output", str(tmp_path / "o.csv"), *args]
    assert main(argv) == 2
    assert message in capsys.readouterr().err


def test_a_single_point_gives_a_forecast_and_a_valid_report(tmp_path: Path) -> None:
    src = tmp_path / "one.csv"
    src.write_text("when,people\n2016-01-01 00:00:00,3\n")
    rows, report = run(tmp_path, src, "one")
    assert len(rows) == 3 and rows[0]["origin"] == "2016-01-01T00:00:00"
    assert float(rows[0]["hi80"]) > float(rows[0]["yhat"]) == 3.0
    assert report["n_scored"] == 0 and report["mae"] is None
