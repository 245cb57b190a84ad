"""Crowd science both sides share: Fruin's walkway levels of service and Weidmann's walking speed."""

from __future__ import annotations

import math
from collections.abc import Mapping

# Fruin's walkway levels of service: band -> lowest density (persons/m²) of the band. The edge's default
# `los` bands and the console's colours.
FRUIN_WALKWAY_BANDS: dict[str, float] = {"A": 0.0, "B": 0.31, "C": 0.43, "D": 0.72, "E": 1.08, "F": 2.17}

# Weidmann's (1993) fundamental diagram for pedestrians: free walking speed and the density at which flow stops.
FREE_SPEED_MPS = 1.34
JAM_DENSITY_PPM2 = 5.4
WEIDMANN_GAMMA = 1.913


def los_band(density: float, bands: Mapping[str, float] = FRUIN_WALKWAY_BANDS) -> str:
    """The band with the highest lower bound not above `density`."""
    ordered = sorted(bands.items(), key=lambda kv: kv[1])
    name = ordered[0][0]
    for band, lower in ordered:
        if density >= lower:
            name = band
    return name


def weidmann_speed_mps(density_ppm2: float) -> float:
    """Walking speed a crowd of this density usually keeps (Weidmann 1993); the free speed when empty."""
    if density_ppm2 <= 0:
        return FREE_SPEED_MPS
    if density_ppm2 >= JAM_DENSITY_PPM2:
        return 0.0
    return FREE_SPEED_MPS * (1.0 - math.exp(-WEIDMANN_GAMMA * (1.0 / density_ppm2 - 1.0 / JAM_DENSITY_PPM2)))
