"""Persistence: the last observed value, the honest fallback with little or broken history."""

from __future__ import annotations

import numpy as np


class Persistence:
    name = "persistence"

    def __init__(self, n_series: int) -> None:
        self.last = np.zeros(n_series)

    def update(self, y: np.ndarray, observed: np.ndarray, slot: int | None) -> None:
        self.last = np.where(observed, y, self.last)

    def reset(self, mask: np.ndarray) -> None:
        """Persistence has no state worth forgetting: the next value replaces the last one anyway."""

    def paths(self, horizon_steps: int, future_slots: np.ndarray | None) -> np.ndarray:
        return np.repeat(self.last[:, None], horizon_steps, axis=1)
