"""Scenarios end to end: real Mosquitto, real central (a `crowd-central run` child on a scaled clock),
the patrol simulator's OwnTracks reports, alerts read back over the HTTP API and scored.

Each scenario is played fast enough to take 10-20 s of wall time; because central runs on the same
scaled clock the replay stamps its data with, its pending, hold and staleness durations are the ones of
a real-speed run, so the scores are the scenario's own.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import pytest

from central.clock import ScaledClock
from central.playback.builders import BuiltScenario, build
from central.playback.scenario import load
from scripts.run_scenario import MAX_FAR, MIN_LEAD_S, MIN_POD, central_for, play_and_score
from scripts.stack import Api, Central, start_central
from tests.support.mosquitto import MosquittoBroker

pytestmark = [pytest.mark.integration, pytest.mark.timeout(240)]
SCEN = Path(__file__).resolve().parents[2] / "configs" / "scenarios"
PASSWORD_ENV = "CROWD_SCENARIO_TEST_PASSWORD"


@dataclass
class Played:
    built: BuiltScenario
    alerts: list[dict[str, object]]
    detection_probability: float | None
    false_alarm_ratio: float
    median_lead_s: float | None


class Player(Protocol):
    def __call__(self, name: str, speed: float, data_dir: Path | None = None) -> Played: ...


@pytest.fixture
def play(broker: MosquittoBroker, tmp_path: Path) -> Iterator[Player]:
    """Plays scenarios one after another, each through its own fresh Mosquitto: the metrics are retained,
    and a build-up's last retained interval would otherwise reach the next central as a spike in its zone."""
    started: list[Central] = []
    brokers = [broker]

    def run(name: str, speed: float, data_dir: Path | None = None) -> Played:
        built = build(load(SCEN / f"{name}.yaml"), base_dir=SCEN, data_dir=data_dir, start_epoch=time.time())
        work = tmp_path / name
        if started:
            brokers.append(MosquittoBroker(work / "mosquitto"))
            brokers[-1].start()
        broker = brokers[-1]
        password = secrets.token_urlsafe(12)
        start = time.time()
        central = start_central(
            central_for(built, broker.port, work, PASSWORD_ENV),
            work,
            password=password,
            password_env=PASSWORD_ENV,
            speed=speed,
            clock_start_s=start,
        )
        started.append(central)
        api = Api(central.url, central.username, password)
        try:
            s, _, alerts = play_and_score(built, (broker.host, broker.port), api, ScaledClock(start, speed), 60.0)
        finally:
            api.close()
        return Played(built, alerts, s.detection_probability, s.false_alarm_ratio, s.median_lead_s)

    yield run
    for c in started:
        assert c.child.stop() == 0, c.child.log_tail()
    for b in brokers[1:]:
        b.stop()


def assert_buildup(p: Played) -> None:
    assert p.detection_probability is not None and p.detection_probability >= MIN_POD
    assert p.false_alarm_ratio <= MAX_FAR
    assert p.median_lead_s is not None and p.median_lead_s >= MIN_LEAD_S
    # The current-level alert names its nearest patrols (the scenario's patrols report as OwnTracks).
    current = [a for a in p.alerts if a["kind"] == "current"]
    assert current, p.alerts
    assert all(a["patrols"] for a in current), current


def assert_calm(p: Played) -> None:
    scored = [a for a in p.alerts if a["kind"] in ("current", "forecast")]
    assert scored == []
    assert p.false_alarm_ratio == 0.0


def test_plaza_buildup_warns_ahead_and_calm_plaza_stays_quiet(play: Player) -> None:
    assert_buildup(play("plaza_buildup", 150.0))
    assert_calm(play("plaza_calm", 150.0))


def test_students03_buildup_and_calm(play: Player, shared_data: Path) -> None:
    assert_buildup(play("students03_buildup", 150.0, shared_data))
    assert_calm(play("students03_calm", 150.0, shared_data))


def test_gym_buildup_and_calm(play: Player, shared_data: Path) -> None:
    assert_buildup(play("gym_buildup", 900.0, shared_data))
    assert_calm(play("gym_calm", 900.0, shared_data))
