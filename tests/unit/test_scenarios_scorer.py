"""The alert scorer: detection probability, false alarm ratio, lead time."""

from __future__ import annotations

import pytest

from central.playback.scorer import RaisedAlert, ResolvedExpectedAlert, score

CROSS = 1000.0
FORECAST = ResolvedExpectedAlert("forecast", "plaza", "warning", CROSS, CROSS - 720, CROSS + 30)
CURRENT = ResolvedExpectedAlert("current", "plaza", "warning", CROSS, CROSS, CROSS + 120)


def raised(kind: str, t: float, zone: str = "plaza", level: str = "warning") -> RaisedAlert:
    return RaisedAlert(kind=kind, zone=zone, level=level, opened_s=t)


def test_perfect_buildup() -> None:
    s = score([FORECAST, CURRENT], [raised("forecast", 600), raised("current", 1010)])
    assert (s.detection_probability, s.false_alarm_ratio, s.false_alarms) == (1.0, 0.0, 0)
    # The crossing's lead counts from the first alert of any kind: the forecast, 400 s early.
    assert [c.lead_s for c in s.leads] == [400.0]
    assert s.median_lead_s == 400.0
    assert s.passes(min_median_lead_s=300)
    assert not s.passes(min_median_lead_s=500)


def test_missed_forecast_and_late_current() -> None:
    s = score([FORECAST, CURRENT], [raised("current", CROSS + 121)])
    assert s.detection_probability == 0.0
    assert s.false_alarm_ratio == 1.0
    assert s.missed == (FORECAST, CURRENT)
    assert s.median_lead_s is None
    assert not s.passes()


def test_wrong_zone_or_kind_or_too_early_is_a_false_alarm() -> None:
    alerts = [
        raised("forecast", 600),
        raised("forecast", 100),  # far too early for this crossing
        raised("current", 1005, zone="station"),
        raised("current", 1005, level="critical"),  # escalated in place: still answers the warning
        raised("stop_and_go", 1005),  # not a scored kind
    ]
    s = score([FORECAST, CURRENT], alerts)
    assert s.detection_probability == 1.0
    assert s.raised == 4 and s.false_alarms == 2
    assert s.false_alarm_ratio == pytest.approx(0.5)
    assert {(a.zone, a.kind, a.opened_s) for a in s.unmatched} == {
        ("plaza", "forecast", 100),
        ("station", "current", 1005),
    }


def test_a_warning_does_not_answer_a_critical_expectation() -> None:
    critical = ResolvedExpectedAlert("current", "plaza", "critical", CROSS, CROSS, CROSS + 120)
    s = score([critical], [raised("current", 1010, level="warning")])
    assert s.detection_probability == 0.0 and s.false_alarm_ratio == 1.0


def test_calm_scenario_and_unscored_kinds() -> None:
    clean = score([], [raised("stale", 50)])
    assert clean.detection_probability is None and clean.false_alarm_ratio == 0.0 and clean.raised == 0
    assert clean.passes()
    noisy = score([], [raised("current", 50)])
    assert noisy.false_alarm_ratio == 1.0 and not noisy.passes()


def test_median_over_crossings() -> None:
    exp = [
        ResolvedExpectedAlert("forecast", z, "warning", c, c - 720, c + 30)
        for z, c in (("a", 1000.0), ("b", 2000.0), ("c", 3000.0))
    ]
    s = score(exp, [raised("forecast", 900, "a"), raised("forecast", 1500, "b"), raised("forecast", 2990, "c")])
    assert sorted(c.lead_s for c in s.leads) == [10.0, 100.0, 500.0]
    assert s.median_lead_s == 100.0
    assert "POD=1.00 FAR=0.00 median_lead=1.7 min" in s.summary()


def test_from_api_object() -> None:
    api = {"id": 7, "zone": "plaza", "kind": "forecast", "level": "warning", "opened_at": 1_700_000_600.5}
    a = RaisedAlert.from_api(api, t0=1_700_000_000.0)
    assert (a.id, a.kind, a.zone, a.level, a.opened_s) == ("7", "forecast", "plaza", "warning", 600.5)
    # A replay at x10: 60.05 wall seconds after its start is 600.5 s into the scenario.
    assert RaisedAlert.from_api({**api, "opened_at": 1_700_000_060.05}, t0=1_700_000_000.0, speed=10).opened_s == (
        pytest.approx(600.5)
    )
    with pytest.raises(ValueError, match="opened_at"):
        RaisedAlert.from_api({**api, "opened_at": "soon"})
