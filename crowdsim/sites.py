"""Site geometries for simulated build-ups, in metres: a walkable polygon, where people enter, where they
leave, and the zones central watches (each with its own warning levels in the scenario files).

Three layouts the issue names: a square feeding a narrowing street (one bottleneck), a station
concourse emptying through a line of ticket gates, and an arena emptying through three exits.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from shapely import Polygon, box, union_all

__all__ = ["SITES", "Site", "get_site"]


@dataclass(frozen=True)
class Site:
    name: str
    walkable: Polygon
    entry: Polygon  # arrivals appear here (the edge of the site, a platform stair)
    holding: Polygon  # where a released crowd (an event's audience) starts from
    exits: dict[str, Polygon]  # JuPedSim exit stages; agents go to the nearest open one
    zones: dict[str, Polygon]  # measured with PedPy; central sees one zone per entry
    lines: dict[str, tuple[tuple[float, float], tuple[float, float]]] = field(default_factory=dict)

    def zone_area_m2(self, zone: str) -> float:
        return float(self.zones[zone].area)


def square_street() -> Site:
    """A 40 x 30 m square; its east side opens into a street that narrows from 8 m to 2 m over 15 m."""
    square = box(0, 0, 40, 30)
    funnel = Polygon([(40, 11), (55, 14), (55, 16), (40, 19)])
    street = box(55, 14, 70, 16)
    return Site(
        name="square_street",
        walkable=union_all([square, funnel, street]),
        entry=box(0.4, 1, 3, 29),
        holding=box(4, 3, 28, 27),
        exits={"street_end": box(69, 14, 70, 16)},
        zones={"funnel": Polygon([(40, 11), (55, 14), (55, 16), (40, 19)]), "mouth": box(32, 9, 40, 21)},
        lines={"street": ((60.0, 14.0), (60.0, 16.0))},
    )


GATE_YS_M = (7.0, 11.0, 15.0, 19.0, 23.0)
GATE_WIDTH_M = 0.6


def concourse_gates() -> Site:
    """A 50 x 30 m concourse; a wall at x = 50 with five 0.6 m ticket gates into the station hall."""
    hall = box(51, 0, 60, 30)
    gates = [box(50, y - GATE_WIDTH_M / 2, 51, y + GATE_WIDTH_M / 2) for y in GATE_YS_M]
    return Site(
        name="concourse_gates",
        walkable=union_all([box(0, 0, 50, 30), *gates, hall]),
        entry=box(0.4, 2, 3, 28),
        holding=box(4, 2, 30, 28),
        exits={f"gate{i + 1}": box(58, y - 1.5, 60, y + 1.5) for i, y in enumerate(GATE_YS_M)},
        zones={"gates": box(45, 9, 50, 25)},  # where the queues behind the gates form
        lines={f"gate{i + 1}": ((50.5, y - 0.3), (50.5, y + 0.3)) for i, y in enumerate(GATE_YS_M)},
    )


EXIT_YS_M = {"north": 32.0, "centre": 20.0, "south": 8.0}
EXIT_WIDTH_M = 1.0


def event_egress() -> Site:
    """A 60 x 40 m arena emptying through three 1 m exits in its east wall into short corridors."""
    corridors = [box(60, y - EXIT_WIDTH_M / 2, 66, y + EXIT_WIDTH_M / 2) for y in EXIT_YS_M.values()]
    return Site(
        name="event_egress",
        walkable=union_all([box(0, 0, 60, 40), *corridors]),
        entry=box(0.4, 2, 3, 38),
        holding=box(4, 3, 44, 37),
        exits={k: box(65, y - EXIT_WIDTH_M / 2, 66, y + EXIT_WIDTH_M / 2) for k, y in EXIT_YS_M.items()},
        zones={f"exit_{k}": box(52, y - 4, 60, y + 4) for k, y in EXIT_YS_M.items()},
        lines={k: ((62.0, y - EXIT_WIDTH_M / 2), (62.0, y + EXIT_WIDTH_M / 2)) for k, y in EXIT_YS_M.items()},
    )


SITES = {"square_street": square_street, "concourse_gates": concourse_gates, "event_egress": event_egress}


def get_site(name: str) -> Site:
    try:
        return SITES[name]()
    except KeyError:
        raise KeyError(f"unknown site {name!r}; known: {', '.join(sorted(SITES))}") from None
