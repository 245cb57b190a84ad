"""Zone streams from a JuPedSim crowd measured with PedPy (crowdsim/), for the replay path.

The stream's density is PedPy's classic density, its speeds PedPy's individual speeds: the truth an
ideal edge would report. The scenario's polygon must have the simulated zone's area, so the density
central shows and the count it derives agree with the simulation.
"""

from __future__ import annotations

import math

from central.playback.scenario import Scenario, ScenarioError, SimulatedTimeline, Zone
from central.playback.streams import ZoneSample

__all__ = ["AREA_TOLERANCE", "simulated_samples"]

AREA_TOLERANCE = 0.01


def _opt(v: object) -> float | None:
    return None if v is None or (isinstance(v, float) and math.isnan(v)) else float(v)  # type: ignore[arg-type]


def simulated_samples(scenario: Scenario, zone: Zone, tl: SimulatedTimeline) -> list[ZoneSample]:
    try:
        from crowdsim.demand import DemandError, parse_demand
        from crowdsim.series import zone_series
        from crowdsim.sites import get_site
    except ImportError as err:  # pragma: no cover - the sim extra is part of `make test`
        raise ScenarioError(f"zone {zone.id}: simulated timelines need the `sim` extra: {err}") from None
    try:
        demand = parse_demand(tl.demand, f"zones.{zone.id}.timeline.demand")
        site = get_site(tl.site)
        if tl.zone not in site.zones:
            raise KeyError(f"site {tl.site!r} has no zone {tl.zone!r}")
    except (DemandError, KeyError) as err:
        raise ScenarioError(f"zone {zone.id}: {err}") from None
    area, sim_area = scenario.area_m2(zone), site.zone_area_m2(tl.zone)
    if abs(area - sim_area) > AREA_TOLERANCE * sim_area:
        raise ScenarioError(f"zone {zone.id}: polygon area {area:.1f} m2 is not the simulated zone's {sim_area:.1f} m2")
    try:
        table = zone_series(tl.site, demand, scenario.duration_s, scenario.interval_s, tl.zone)
    except ImportError as err:
        raise ScenarioError(
            f"zone {zone.id}: simulated timelines need the `sim` extra (jupedsim, pedpy): {err}"
        ) from None
    return [
        ZoneSample(
            t_end_s=float(r["t_end_s"]),
            count=float(r["count"]),
            count_max=int(r["count_max"]),
            density=float(r["density"]),
            speed_p50_mps=_opt(r["speed_p50_mps"]),
            speed_p85_mps=_opt(r["speed_p85_mps"]),
            direction_deg=_opt(r["direction_deg"]),
            inflow=int(r["inflow"]),
        )
        for r in table.to_dict("records")
    ]
