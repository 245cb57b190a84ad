"""Online correction of the calibrated person scale from confident HOG detections (pure, stateful).

A site's calibration is often rough (four hand-picked points, a guessed camera height) and a person
height of 1.7 m is an average: the expected heights can be off by 20% everywhere. Confident HOG hits
measure people's pixel heights without using the calibration, so the median of (seen / expected)
over recent hits is a correction factor for the whole map. HOG only looks within a tolerance of the
current expectation, so the estimate moves towards the truth in steps as the map is rescaled.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

Float = npt.NDArray[np.float32]


@dataclass(frozen=True)
class RefineParams:
    min_margin: float = 0.5  # only clear people vote (a margin of 0.5 scores 0.73)
    min_samples: int = 30
    window: int = 300  # most recent votes kept
    max_factor: float = 1.5  # never trust a calibration less than this
    step_change: float = 0.05  # the map is rescaled when the factor moves by more than this


class ScaleRefiner:
    """Median ratio of HOG person heights to the calibrated expectation at their feet."""

    def __init__(self, params: RefineParams | None = None) -> None:
        self.params = params or RefineParams()
        self._log_ratios: deque[float] = deque(maxlen=self.params.window)
        self._applied = 1.0

    @property
    def applied_factor(self) -> float:
        """The factor the detector's map currently uses."""
        return self._applied

    def add(self, heights_px: Float, base_expected_px: Float, margins: Float) -> None:
        """Votes of one frame: hit heights, the uncorrected expected heights there, and SVM margins."""
        h = np.asarray(heights_px, np.float64)
        e = np.asarray(base_expected_px, np.float64)
        ok = np.isfinite(e) & (e > 0) & (h > 0) & (np.asarray(margins, np.float64) >= self.params.min_margin)
        self._log_ratios.extend(np.log(h[ok] / e[ok]).tolist())

    def estimate(self) -> float | None:
        """The current correction factor, or None until enough people were seen."""
        if len(self._log_ratios) < self.params.min_samples:
            return None
        limit = np.log(self.params.max_factor)
        return float(np.exp(np.clip(np.median(np.asarray(self._log_ratios)), -limit, limit)))

    def update(self) -> float | None:
        """A new factor to apply when it moved enough since the last one, else None."""
        factor = self.estimate()
        if factor is None or abs(factor / self._applied - 1.0) <= self.params.step_change:
            return None
        self._applied = factor
        return factor
