"""Build a scenario into what gets played: metric streams, patrol reports and resolved expected alerts.

Timelines that read real data (trajectories, gym) need the shared data folder; a scenario that uses
them fails with a clear `ScenarioError` where it is absent (tests skip on that condition first).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from central.playback.gym import gym_samples, load_gym
from central.playback.patrols import patrol_records
from central.playback.records import Record, read_records
from central.playback.scenario import (
    GymTimeline,
    LevelsTimeline,
    RecordedTimeline,
    Scenario,
    ScenarioError,
    SimulatedTimeline,
    TrajectoriesTimeline,
    Zone,
)
from central.playback.scorer import ResolvedExpectedAlert
from central.playback.streams import (
    ZoneSample,
    assign_seq,
    first_crossing_s,
    levels_crossing_s,
    levels_samples,
    message_record,
    zone_messages,
)
from central.playback.trajectories import load_obsmat, stacked_samples
from contract.edge_messages import ZoneMetricsMessage

GYM_CSV = "timeseries/berkeley_gym_10min/campus_gym_crowdedness_2015-08_2016-08.csv"
# A measured stream has crossed when its trailing one-minute mean has: one noisy interval is not a crossing.
CROSSING_WINDOW_S = 60.0


@dataclass(frozen=True)
class BuiltScenario:
    scenario: Scenario
    start_epoch: float
    samples: dict[str, list[ZoneSample]]
    messages: list[ZoneMetricsMessage]
    expected: list[ResolvedExpectedAlert]
    patrol_records: list[Record]

    def records(self) -> list[Record]:
        """Metric messages and patrol reports in playing order."""
        metric = [message_record(self.scenario, m) for m in self.messages]
        return sorted([*metric, *self.patrol_records], key=lambda r: r.received_at)


def _recorded_samples(scenario: Scenario, zone: Zone, path: Path) -> list[ZoneSample]:
    rows = []
    for r in read_records(path):
        obj = r.json()
        if not obj or obj.get("schema") != "crowd.zone_metrics/1":
            continue
        m = ZoneMetricsMessage.model_validate(obj)
        if m.camera == zone.camera and m.zone == zone.edge_zone:
            rows.append(m)
    if not rows:
        raise ScenarioError(f"{path}: no metrics of camera {zone.camera!r} zone {zone.edge_zone!r}")
    t0 = min(m.measured_at for m in rows) - scenario.interval_s
    return [
        ZoneSample(
            t_end_s=m.measured_at - t0,
            count=m.count,
            count_max=m.count_max,
            density=m.density,
            speed_p50_mps=m.speed_p50,
            speed_p85_mps=m.speed_p85,
            direction_deg=m.direction_deg,
            inflow=m.inflow,
        )
        for m in sorted(rows, key=lambda m: m.measured_at)
        if m.measured_at - t0 <= scenario.duration_s
    ]


def zone_samples(scenario: Scenario, zone: Zone, base_dir: Path, data_dir: Path | None) -> list[ZoneSample]:
    tl = zone.timeline
    area = scenario.area_m2(zone)
    if isinstance(tl, LevelsTimeline):
        return levels_samples(tl, area, scenario.duration_s, scenario.interval_s)
    if isinstance(tl, RecordedTimeline):
        p = Path(tl.path)
        return _recorded_samples(scenario, zone, p if p.is_absolute() else base_dir / p)
    if isinstance(tl, SimulatedTimeline):
        from central.playback.simulated import simulated_samples

        return simulated_samples(scenario, zone, tl)
    if data_dir is None or not data_dir.is_dir():
        raise ScenarioError(f"zone {zone.id}: a {tl.kind} timeline needs the shared data folder, not found: {data_dir}")
    try:
        if isinstance(tl, TrajectoriesTimeline):
            tr = load_obsmat(data_dir / "trajectories" / tl.dataset / "obsmat.txt")
            dx, dy = tl.offset_m
            poly = [(x - dx, y - dy) for x, y in scenario.polygon_m(zone)]
            return stacked_samples(tr, tl, poly, area, scenario.duration_s, scenario.interval_s)
        assert isinstance(tl, GymTimeline)
        return gym_samples(load_gym(data_dir / GYM_CSV), tl, area, scenario.duration_s, scenario.interval_s)
    except ValueError as err:
        raise ScenarioError(f"zone {zone.id}: {err}") from None


def _crossing_s(scenario: Scenario, zone: Zone, level: str, samples: Sequence[ZoneSample]) -> float | None:
    threshold = zone.thresholds.warning if level == "warning" else zone.thresholds.critical
    if isinstance(zone.timeline, LevelsTimeline):
        return levels_crossing_s(zone.timeline, threshold)
    return first_crossing_s(samples, threshold, CROSSING_WINDOW_S, scenario.interval_s)


def build(
    scenario: Scenario, *, base_dir: Path = Path("."), data_dir: Path | None = None, start_epoch: float = 1.7e9
) -> BuiltScenario:
    samples = {z.id: zone_samples(scenario, z, base_dir, data_dir) for z in scenario.zones}
    messages = assign_seq([m for z in scenario.zones for m in zone_messages(scenario, z, samples[z.id], start_epoch)])
    expected = []
    for i, e in enumerate(scenario.expected_alerts):
        zone = scenario.zone(e.zone)
        crossing = e.crossing_s if e.crossing_s is not None else _crossing_s(scenario, zone, e.level, samples[zone.id])
        if crossing is None:
            raise ScenarioError(f"expected_alerts.{i}: zone {e.zone!r} never reaches its {e.level} threshold")
        expected.append(
            ResolvedExpectedAlert(
                kind=e.kind,
                zone=e.zone,
                level=e.level,
                crossing_s=crossing,
                earliest_s=crossing + e.window_s[0],
                latest_s=crossing + e.window_s[1],
            )
        )
    return BuiltScenario(
        scenario=scenario,
        start_epoch=start_epoch,
        samples=samples,
        messages=messages,
        expected=expected,
        patrol_records=patrol_records(scenario, start_epoch),
    )


def peak_density(built: BuiltScenario, zone_id: str, window_s: float = CROSSING_WINDOW_S) -> float:
    """Highest trailing-window mean density of a zone: what a calm control must keep below its warning."""
    s = built.samples[zone_id]
    k = max(1, round(window_s / built.scenario.interval_s))
    d = [x.density for x in s]
    return max(
        (sum(d[max(0, i + 1 - k) : i + 1]) / len(d[max(0, i + 1 - k) : i + 1]) for i in range(len(d))), default=0.0
    )
