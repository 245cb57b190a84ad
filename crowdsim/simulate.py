"""Runs a site and a demand curve through JuPedSim and returns everyone's positions twice a second.

Model: JuPedSim's collision-free speed model (Tordeux et al. 2016), the first-order model its authors
recommend for large crowds: it reproduces bottleneck capacity and the density-speed relation (the
fundamental diagram) at a fraction of a force model's cost. Each person walks to the nearest open exit.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from shapely import Point, Polygon

from crowdsim.demand import Demand
from crowdsim.sites import Site

__all__ = ["FRAME_RATE_HZ", "SimResult", "simulate"]

# A first-order model is stable at this step (its authors use 0.01-0.05 s); 0.05 s makes an hour of
# a thousand-person crowd a matter of minutes on one core.
DT_S = 0.05
FRAME_RATE_HZ = 2.0  # PedPy's frame rate: enough for 1-2 s speed windows, small for an hour of crowd
RADIUS_M = 0.2
MIN_GAP_M = 0.5  # a newcomer needs this much room; otherwise they wait outside the site (a queue at the gate)
PLACE_TRIES = 4  # attempts per waiting person per frame before they wait for the next frame


@dataclass(frozen=True)
class SimResult:
    frame: npt.NDArray[np.int64]
    person: npt.NDArray[np.int64]
    x_m: npt.NDArray[np.float64]
    y_m: npt.NDArray[np.float64]
    frame_rate_hz: float
    n_spawned: int
    n_waiting_end: int  # arrivals still outside for lack of room at the end


def _sample_in(poly: Polygon, rng: np.random.Generator) -> tuple[float, float]:
    x0, y0, x1, y1 = poly.bounds
    while True:
        x, y = float(rng.uniform(x0, x1)), float(rng.uniform(y0, y1))
        if poly.contains(Point(x, y)):
            return x, y


def _nearest_exit(site: Site, open_exits: list[str], x: float, y: float) -> str:
    return min(open_exits, key=lambda k: site.exits[k].centroid.distance(Point(x, y)))


def simulate(site: Site, demand: Demand, duration_s: float) -> SimResult:
    import jupedsim as jps

    rng = np.random.default_rng(demand.seed)
    sim = jps.Simulation(model=jps.CollisionFreeSpeedModel(), geometry=site.walkable, dt=DT_S)
    stage = {k: sim.add_exit_stage(p) for k, p in site.exits.items()}
    journey = {k: sim.add_journey(jps.JourneyDescription([stage[k]])) for k in site.exits}
    heading: dict[int, str] = {}
    blocked: set[str] = set()
    waiting = {"entry": 0.0, "holding": 0.0}
    steps_per_frame = round(1.0 / (FRAME_RATE_HZ * DT_S))
    frame_s = 1.0 / FRAME_RATE_HZ
    n_frames = math.floor(duration_s * FRAME_RATE_HZ + 1e-9)
    out_f: list[npt.NDArray[np.int64]] = []
    out_id: list[npt.NDArray[np.int64]] = []
    out_xy: list[npt.NDArray[np.float64]] = []
    n_spawned = 0
    for frame in range(n_frames):
        t = frame * frame_s
        for b in demand.blocks:
            if t >= b.from_s and not set(b.exits) <= blocked:
                blocked |= set(b.exits)
                _reroute(sim, site, heading, blocked, stage, journey)
        open_exits = [k for k in site.exits if k not in blocked]
        waiting["entry"] += float(rng.poisson(demand.rate_pps(t) * frame_s))
        for r in demand.releases:
            if r.at_s <= t < r.at_s + r.over_s:
                waiting["holding"] += r.persons * frame_s / r.over_s
        for area_name, area in (("entry", site.entry), ("holding", site.holding)):
            todo = math.floor(waiting[area_name])
            placed = 0
            for _ in range(todo * PLACE_TRIES):
                if placed >= todo:
                    break
                x, y = _sample_in(area, rng)
                if any(True for _ in sim.agents_in_range((x, y), MIN_GAP_M)):
                    continue
                target = _nearest_exit(site, open_exits, x, y)
                speed = float(np.clip(rng.normal(demand.desired_speed_mps, 0.2), 0.6, 2.0))
                params = jps.CollisionFreeSpeedModelAgentParameters(
                    journey_id=journey[target],
                    stage_id=stage[target],
                    position=(x, y),
                    desired_speed=speed,
                    radius=RADIUS_M,
                )
                heading[sim.add_agent(params)] = target
                placed += 1
            waiting[area_name] -= placed
            n_spawned += placed
        agents = list(sim.agents())
        if agents:
            out_f.append(np.full(len(agents), frame, dtype=np.int64))
            out_id.append(np.array([a.id for a in agents], dtype=np.int64))
            out_xy.append(np.array([a.position for a in agents], dtype=float).reshape(-1, 2))
        for _ in range(steps_per_frame):
            sim.iterate()
    xy = np.concatenate(out_xy) if out_xy else np.zeros((0, 2))
    return SimResult(
        frame=np.concatenate(out_f) if out_f else np.zeros(0, np.int64),
        person=np.concatenate(out_id) if out_id else np.zeros(0, np.int64),
        x_m=xy[:, 0],
        y_m=xy[:, 1],
        frame_rate_hz=FRAME_RATE_HZ,
        n_spawned=n_spawned,
        n_waiting_end=math.floor(sum(waiting.values())),
    )


def _reroute(
    sim: object, site: Site, heading: dict[int, str], blocked: set[str], stage: dict[str, int], journey: dict[str, int]
) -> None:
    """Everyone heading for a closed exit turns to the nearest open one (they learn it is closed)."""
    open_exits = [k for k in site.exits if k not in blocked]
    for a in list(sim.agents()):  # type: ignore[attr-defined]
        if heading.get(a.id) in blocked:
            target = _nearest_exit(site, open_exits, *a.position)
            sim.switch_agent_journey(a.id, journey[target], stage[target])  # type: ignore[attr-defined]
            heading[a.id] = target
