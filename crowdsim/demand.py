"""Demand curves: who arrives when, who is released at once, and which exit closes when.

Rates are persons per second at the site's entry, piecewise linear in time; a release adds a crowd
to the holding area over `over_s` (an audience leaving its seats); a block closes exits from a time on
and sends everyone heading there to the nearest open one.
"""

from __future__ import annotations

import itertools
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

__all__ = ["Block", "Demand", "DemandError", "Release", "parse_demand"]

RatePoint = Annotated[list[float], Field(min_length=2, max_length=2)]


class DemandError(ValueError):
    """A demand description that cannot be simulated; the message names the key."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Release(_Model):
    at_s: float = Field(ge=0)
    persons: int = Field(gt=0, le=20_000)
    over_s: float = Field(gt=0, description="Seconds over which the released crowd sets off.")


class Block(_Model):
    exits: list[str] = Field(min_length=1)
    from_s: float = Field(ge=0)


class Demand(_Model):
    arrivals_pps: list[RatePoint] = Field(default_factory=lambda: [[0.0, 0.0]], description="[[t_s, persons/s], ...]")
    releases: list[Release] = Field(default_factory=list)
    blocks: list[Block] = Field(default_factory=list)
    desired_speed_mps: float = Field(default=1.34, gt=0.3, lt=3.0)
    seed: int = 0

    @model_validator(mode="after")
    def _sorted(self) -> Demand:
        ts = [p[0] for p in self.arrivals_pps]
        if ts != sorted(ts):
            raise ValueError(f"arrivals_pps must have increasing times, got {ts}")
        if any(p[1] < 0 for p in self.arrivals_pps):
            raise ValueError("arrival rates must be >= 0")
        return self

    def rate_pps(self, t_s: float) -> float:
        pts = self.arrivals_pps
        if t_s <= pts[0][0]:
            return pts[0][1]
        for (t0, r0), (t1, r1) in itertools.pairwise(pts):
            if t_s <= t1:
                return r0 if t1 == t0 else r0 + (r1 - r0) * (t_s - t0) / (t1 - t0)
        return pts[-1][1]


def parse_demand(data: object, origin: str = "demand") -> Demand:
    try:
        return Demand.model_validate(data)
    except ValidationError as err:
        keys = "; ".join(f"{'.'.join(str(p) for p in e['loc']) or '<root>'}: {e['msg']}" for e in err.errors())
        raise DemandError(f"{origin}: {keys}") from None
