"""Central's evaluator in-process against a real SQLite / PostgreSQL store (no broker, no threads of its own).

Rules before forecasts (a closing bin never holds an alert up), forecasts in bounded slices, camera checks
on a timer, the persisted evaluation cursor across an abrupt stop, forecast alerts' pending and keep-firing
durations on a cold zone, and the edge's inflow reaching the forecaster.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import pytest

import central.evaluator as evaluator_mod
import central.liveness as liveness_mod
from central.clock import FakeClock
from central.config import CentralConfig, parse
from central.evaluator import Evaluator
from central.events import EventBus
from central.forecasts import CrossingOut, PersistenceForecaster, ZoneForecast
from central.obs import Telemetry
from central.store import MetricRow, Store

pytestmark = pytest.mark.integration

T0 = 1_800_000_000.0
SITE = "s1"


@dataclass
class RecordingPublisher:
    sent: list[tuple[str, bytes]] = field(default_factory=list)

    def publish(self, topic: str, payload: bytes, *, qos: int = 1, retain: bool = False) -> None:
        self.sent.append((topic, payload))

    def kinds(self) -> list[str]:
        return ["forecast" if t.endswith("/forecast") else "alert" for t, p in self.sent if p]


class SlowForecaster(PersistenceForecaster):
    """The persistence twin, taking `cost_s` per forecast (as the library does, a few ms) and recording calls."""

    calls: ClassVar[list[tuple[float | None, float]]] = []  # (now_s, wall time), shared by every zone's instance
    inflows: ClassVar[list[float | None]] = []

    def __init__(self, step_s: float, horizon_s: float, cost_s: float = 0.0) -> None:
        super().__init__(step_s, horizon_s)
        self.cost_s = cost_s

    def update(self, t_s: float, value: float, inflow: float | None = None) -> None:
        SlowForecaster.inflows.append(inflow)
        super().update(t_s, value, inflow)

    def forecast(self, thresholds: dict[str, float], now_s: float | None) -> ZoneForecast | None:
        if self.cost_s:
            time.sleep(self.cost_s)
        SlowForecaster.calls.append((now_s, time.monotonic()))
        return super().forecast(thresholds, now_s)


def _square(i: int) -> list[list[float]]:
    lon, lat = 8.50 + 0.001 * (i % 100), 47.30 + 0.001 * (i // 100)
    return [[lon, lat], [lon + 0.0004, lat], [lon + 0.0004, lat + 0.0002], [lon, lat + 0.0002]]


def _config(db_url: str, n_zones: int, **sections: Any) -> CentralConfig:
    data: dict[str, Any] = {
        "site": {"id": SITE},
        "database": {"url": db_url},
        "http": {"port": 0},
        "zones": [
            {
                "id": f"z{i}",
                "camera": f"cam{i}",
                "edge_zone": "a",
                "polygon": _square(i),
                "thresholds": {"warning": 1.0, "critical": 2.0},
            }
            for i in range(n_zones)
        ],
        "alerts": {"pending_s": 0, "keep_firing_s": 20},
        "forecast": {"step_s": 10, "horizon_s": 600, "season_s": 0},
    }
    for key, value in sections.items():
        data[key] = {**data.get(key, {}), **value}
    return parse(data)


def _row(zone: int, seq: int, t: float, density: float, inflow: int = 0) -> MetricRow:
    return MetricRow(
        SITE, f"cam{zone}", seq, f"z{zone}", "a", t, density * 100, 1, density, 1.0, 1.2, "C", False, inflow, 0, t
    )


@pytest.fixture
def slow_forecasts(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    SlowForecaster.calls, SlowForecaster.inflows = [], []
    monkeypatch.setattr(
        evaluator_mod, "make_forecaster", lambda step_s, horizon_s, **_: SlowForecaster(step_s, horizon_s)
    )
    yield


class Rig:
    """Store, evaluator and a fake clock; `restart()` drops the evaluator without closing it (an abrupt stop)."""

    def __init__(self, cfg: CentralConfig) -> None:
        self.cfg = cfg
        self.clock = FakeClock(T0 + 30)
        self.store = Store(cfg.database.url)
        self.store.migrate(self.clock.now())
        self.evaluators: list[Evaluator] = []
        self.pub = RecordingPublisher()
        self.evaluator = self._new()

    def _new(self) -> Evaluator:
        e = Evaluator(self.cfg, self.store, self.pub, self.clock, EventBus(), Telemetry())
        e.start_up()
        self.evaluators.append(e)
        return e

    def restart(self) -> Evaluator:
        self.evaluator.refitter.stop()  # its thread only; nothing is saved, as after SIGKILL
        self.evaluator = self._new()
        return self.evaluator

    def settle(self, max_polls: int = 10_000) -> None:
        for _ in range(max_polls):
            if self.evaluator.poll() == 0:
                return
        raise AssertionError("the evaluator did not settle")

    def close(self) -> None:
        for e in self.evaluators:
            e.refitter.stop()
        self.store.close()


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'central.sqlite'}"


# -- 1. rules before forecasts, forecasts in slices, cameras on a timer ------------------------------------


def test_a_closing_bin_for_every_zone_does_not_hold_up_a_current_alert(
    sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    n = 60
    SlowForecaster.calls = []
    monkeypatch.setattr(
        evaluator_mod, "make_forecaster", lambda step_s, horizon_s, **_: SlowForecaster(step_s, horizon_s, cost_s=0.01)
    )
    rig = Rig(_config(sqlite_url, n, forecast={"slice_ms": 50}))
    try:
        rig.store.insert_metrics([_row(z, 0, T0 + 1, 0.2) for z in range(n)])  # bin 0, calm
        rig.settle()
        assert SlowForecaster.calls == []  # nothing closed yet
        # Bin 1 starts for every zone (closing bin 0: 60 forecasts of 10 ms), the last zone over its warning.
        rig.store.insert_metrics([_row(z, 1, T0 + 11, 0.2) for z in range(n - 1)] + [_row(n - 1, 1, T0 + 11, 1.5)])
        rig.pub.sent.clear()
        rig.evaluator.poll()
        assert [a.zone for a in rig.store.list_alerts("open")] == [f"z{n - 1}"]
        kinds = rig.pub.kinds()
        assert kinds[0] == "alert", f"the alert went out after {kinds.index('alert')} forecasts"
        made_in_first_step = len(SlowForecaster.calls)
        assert made_in_first_step < n // 2, f"{made_in_first_step} of {n} zones forecast inline in one step"
        rig.settle()
        # Every zone still forecast once for the closed bin, at its data time.
        assert [t for t, _ in SlowForecaster.calls] == [T0 + 1] * n
        assert rig.evaluator.lane.skipped == 0
    finally:
        rig.close()


def test_cameras_are_checked_on_a_timer_not_every_step(sqlite_url: str, slow_forecasts: None) -> None:
    rig = Rig(_config(sqlite_url, 4))
    checks: list[float] = []
    original = rig.evaluator._check_cameras

    def counted(now: float) -> None:
        checks.append(now)
        original(now)

    rig.evaluator._check_cameras = counted  # type: ignore[method-assign]
    try:
        for k in range(10):  # ten steps with new rows, central's clock standing still
            rig.store.insert_metrics([_row(z, k, T0 + k, 0.2) for z in range(4)])
            rig.evaluator.poll()
        assert len(checks) <= 2, f"checked {len(checks)} times in 10 steps"
        rig.clock.advance(1.0)
        rig.evaluator.poll()
        assert len(checks) >= 2 and checks[-1] == rig.clock.now()
    finally:
        rig.close()


def test_a_camera_that_only_sends_metrics_is_stored_and_announced_every_few_seconds(
    sqlite_url: str, slow_forecasts: None
) -> None:
    rig = Rig(_config(sqlite_url, 1))
    announced: list[dict[str, Any]] = []
    rig.evaluator.bus.publish = lambda kind, data: announced.append(data) if kind == "camera" else None  # type: ignore[method-assign]
    try:
        for k in range(12):  # one row a second on central's clock, no stats or status messages
            rig.store.insert_metrics([_row(0, k, T0 + k, 0.2)])
            rig.evaluator.poll()
            rig.clock.advance(1.0)
        stored = {c.camera: c for c in rig.store.cameras()}
        assert stored["cam0"].state == "online"
        assert stored["cam0"].last_seen is not None and stored["cam0"].last_seen >= rig.clock.now() - 6.0
        # Announced when it came online and then every CAMERA_ANNOUNCE_S, not once per message.
        assert 2 <= len(announced) <= 12 // liveness_mod.CAMERA_ANNOUNCE_S + 2
        assert all(a["camera"] == "cam0" for a in announced)
    finally:
        rig.close()


# -- 2. restart after an abrupt stop -------------------------------------------------------------------------


def test_rows_stored_but_not_evaluated_before_an_abrupt_stop_are_evaluated_after_restart(
    db_url: str, slow_forecasts: None
) -> None:
    rig = Rig(_config(db_url, 2))
    try:
        rig.store.insert_metrics([_row(0, k, T0 + 5 * k, 0.3) for k in range(6)])
        rig.settle()
        rig.evaluator._save_cursor(force=True)
        # Stored, never evaluated: central is killed before its next step.
        rig.store.insert_metrics([_row(0, k, T0 + 5 * k, 1.5) for k in range(6, 12)])
        rig.restart()
        rig.settle()
        alerts = [a for a in rig.store.list_alerts("all") if a.kind == "current"]
        assert [(a.zone, a.opened_at_s) for a in alerts] == [("z0", T0 + 30)]
    finally:
        rig.close()


def test_rows_evaluated_again_after_a_restart_do_not_duplicate_alerts(db_url: str, slow_forecasts: None) -> None:
    rig = Rig(_config(db_url, 2))
    try:
        rig.store.insert_metrics([_row(0, k, T0 + 5 * k, 0.3) for k in range(6)])
        rig.settle()
        rig.evaluator._save_cursor(force=True)
        saved = rig.store.load_cursor(rig.evaluator.cursor_key)
        # Evaluated (alert opened, then cleared after keep_firing 20 s) but killed before the cursor moved on.
        rig.evaluator._save_cursor = lambda force=False: None  # type: ignore[method-assign]
        rig.store.insert_metrics([_row(0, k, T0 + 5 * k, 1.5) for k in range(6, 12)])
        rig.store.insert_metrics([_row(0, k, T0 + 5 * k, 0.2) for k in range(12, 20)])
        rig.settle()
        assert rig.store.load_cursor(rig.evaluator.cursor_key) == saved
        before = rig.store.list_alerts("all")
        assert [(a.kind, a.state) for a in before] == [("current", "cleared")]
        published = len(rig.pub.sent)
        for _ in range(2):
            rig.restart()
            rig.settle()
        after = rig.store.list_alerts("all")
        assert [(a.id, a.state, len(a.history)) for a in after] == [(a.id, a.state, len(a.history)) for a in before]
        assert not [t for t, p in rig.pub.sent[published:] if "/alerts/" in t and p]
    finally:
        rig.close()


# -- 3. forecast alerts: pending, keep firing, history on a cold zone ------------------------------------------


class ScriptedForecaster(PersistenceForecaster):
    """Predicts a warning crossing with the probability `script(t)` gives for the forecast's data time."""

    def __init__(self, step_s: float, horizon_s: float, script: Any) -> None:
        super().__init__(step_s, horizon_s)
        self.script = script

    def forecast(self, thresholds: dict[str, float], now_s: float | None) -> ZoneForecast | None:
        f = super().forecast(thresholds, now_s)
        assert f is not None and now_s is not None
        p = float(self.script(now_s - T0))
        crossings = (CrossingOut("warning", thresholds["warning"], p, now_s + 300 if p > 0.5 else None),)
        return ZoneForecast(**{**f.__dict__, "crossings": crossings})


def _run_scripted(url: str, monkeypatch: pytest.MonkeyPatch, script: Any, seconds: int) -> list[Any]:
    monkeypatch.setattr(
        evaluator_mod, "make_forecaster", lambda step_s, horizon_s, **_: ScriptedForecaster(step_s, horizon_s, script)
    )
    # Central's defaults for forecast alerts; current alerts clear after 20 s here.
    rig = Rig(_config(url, 1))
    try:
        rig.store.insert_metrics([_row(0, k, T0 + 10 * k, 0.3) for k in range(seconds // 10)])
        rig.settle()
        return [a for a in rig.store.list_alerts("all") if a.kind == "forecast"]
    finally:
        rig.close()


def test_a_cold_zones_first_noisy_forecasts_raise_no_forecast_alert(
    sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Confident crossings in the zone's first 4 minutes (a few noisy points), then none.
    alerts = _run_scripted(sqlite_url, monkeypatch, lambda t: 0.9 if t < 240 else 0.1, 600)
    assert alerts == []


def test_a_one_bin_forecast_blip_raises_no_alert_a_sustained_one_does_and_keeps_firing(
    sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    blip = _run_scripted(sqlite_url, monkeypatch, lambda t: 0.9 if 400 <= t < 410 else 0.1, 700)
    assert blip == []

    # Predicted from 400 s to 500 s, a one-bin dip at 460 s; then nothing from 500 s on.
    def sustained(t: float) -> float:
        return 0.9 if 400 <= t < 500 and t != 460 else 0.1

    (alert,) = _run_scripted(sqlite_url.replace(".sqlite", "2.sqlite"), monkeypatch, sustained, 700)
    assert alert.opened_at_s == T0 + 430  # 30 s pending
    assert alert.state == "cleared" and alert.ended_at_s == T0 + 560  # 60 s under the clear level from 500 s


# -- 4. the edge's inflow reaches the forecaster ----------------------------------------------------------


def test_the_edges_inflow_is_passed_to_the_forecaster(sqlite_url: str, slow_forecasts: None) -> None:
    rig = Rig(_config(sqlite_url, 1))
    try:
        rig.store.insert_metrics([_row(0, k, T0 + 5 * k, 0.3, inflow=k % 4) for k in range(8)])
        rig.settle()
        assert SlowForecaster.inflows == [float(k % 4) for k in range(8)]
    finally:
        rig.close()
