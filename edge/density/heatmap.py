"""The density map drawn over the picture it came from: where the network sees people, warm colours.

Colours are relative to a fixed scale (people per map cell), not to the map's own maximum, so that an empty
scene stays clear instead of showing its noise at full heat.
"""

from __future__ import annotations

import cv2
import numpy as np
import numpy.typing as npt

from edge.density.plan import DensityPlan

__all__ = ["draw_density"]

Image = npt.NDArray[np.uint8]
F32 = npt.NDArray[np.float32]
# A map cell holding this many people is drawn at full heat; below a tenth of it, not at all.
FULL_HEAT_PEOPLE_PER_CELL = 0.05
_ALPHA = 0.5


def draw_density(image: Image, plan: DensityPlan, density: F32) -> None:
    """Blend the heat map of `density` (a map over `plan`'s crop) into `image` (the frame, BGR) in place."""
    x0, y0, x1, y1 = plan.crop_px
    if image.shape[1] != plan.frame_size[0] or image.shape[0] != plan.frame_size[1]:
        return  # a frame of another size than the plan's (the stream changed size): nothing lines up
    heat = np.clip(density / FULL_HEAT_PEOPLE_PER_CELL, 0.0, 1.0)
    heat = cv2.resize(heat.astype(np.float32), (x1 - x0, y1 - y0), interpolation=cv2.INTER_LINEAR)
    colours = cv2.applyColorMap((heat * 255).astype(np.uint8), cv2.COLORMAP_JET)
    alpha = np.where(heat > 0.1, _ALPHA * np.sqrt(heat), 0.0)[..., None]
    roi = image[y0:y1, x0:x1].astype(np.float32)
    image[y0:y1, x0:x1] = (roi * (1.0 - alpha) + colours.astype(np.float32) * alpha).astype(np.uint8)
