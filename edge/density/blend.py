"""How much of a zone's count the density map should carry, and the count that results (pure).

Boxes count people exactly while people are separable, and undercount once they hide each other: a
detector cannot box the person whose body it cannot see. The density map counts heads through occlusion but
finds phantom people in empty texture and is only as good as the last run (every few seconds). So the
weight of the density map follows how much the detector's own boxes hide each other: the share of boxes
of which another box covers a good part. None hidden: the boxes alone; most hidden: the map alone.

Between runs the count follows the detector: the people the boxes missed at the last run are added to the
current count (an offset, not a factor, so that a detector seeing two people in a jam cannot multiply a small
fluctuation into a large one). The map only adds people, never removes a person a box found: it exists for the
people boxes cannot separate, and where it sees fewer than the boxes it is the map that missed them (people
of a look or size it was not trained on), not the detector that invented them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from edge.detectors.boxes import covered_share

__all__ = ["DensityEstimate", "blend_count", "density_weight", "hidden_share"]

# A box counts as hidden when another box covers this share of its area.
HIDDEN_COVER = 0.3


@dataclass(frozen=True)
class DensityEstimate:
    """One zone at one density-map run: the map's count, the boxes counted in the zone on the same frame,
    their hidden share and the weight it gives the map."""

    zone: str
    t_s: float
    density_count: float
    detected: int
    hidden: float
    weight: float

    def __post_init__(self) -> None:
        if not 0.0 <= self.weight <= 1.0:
            raise ValueError(f"DensityEstimate: weight {self.weight} outside [0, 1]")
        if self.detected < 0 or not np.isfinite(self.density_count):
            raise ValueError("DensityEstimate: counts must be finite and detected >= 0")


def hidden_share(xyxy: npt.NDArray[np.floating], cover: float = HIDDEN_COVER) -> float:
    """Share of the boxes of which some other box covers at least `cover` of the area (0 with fewer than 2)."""
    shares = covered_share(xyxy)
    if len(shares) < 2:
        return 0.0
    hidden = shares >= cover
    return float(hidden.mean())


def density_weight(hidden: float, low: float, high: float) -> float:
    """0 up to `low` hidden, rising linearly to 1 at `high`."""
    if high <= low:
        raise ValueError(f"density_weight: high {high} must be above low {low}")
    return float(np.clip((hidden - low) / (high - low), 0.0, 1.0))


def blend_count(count: float, estimate: DensityEstimate | None) -> float:
    """The interval's `count` (tracks or boxes) corrected by the last density run, weighted."""
    if estimate is None or estimate.weight <= 0.0:
        return count
    corrected = count + max(0.0, estimate.density_count - estimate.detected)
    return (1.0 - estimate.weight) * count + estimate.weight * corrected
