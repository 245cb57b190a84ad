"""The interface every vectorised model keeps, so the engine can score and choose among them."""

from __future__ import annotations

from typing import Protocol

import numpy as np


class VectorModel(Protocol):
    """State for `n` series; one `update` per grid bin (NaN = missing bin), forecasts for any horizons."""

    name: str

    def update(self, y: np.ndarray, observed: np.ndarray, slot: int | None) -> None:
        """`y` (n,) is this bin's value (ignored where `observed` is False); `slot` its seasonal slot."""
        ...

    def reset(self, mask: np.ndarray) -> None:
        """Forget the short-term state of the masked series (after a long gap); the next value restarts it."""
        ...

    def paths(self, horizon_steps: int, future_slots: np.ndarray | None) -> np.ndarray:
        """(n, H) point forecasts for steps 1..H after the last update."""
        ...
