"""The density-map counter of one camera: when to run the network, and each zone's estimate from a run.

It owns the plan for the current frame size and the model; the pipeline asks `due` on detection frames and
hands the estimates to the metrics aggregator. `run` is also what `crowd-edge count` calls on a still image.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt

from edge.config import DensityConfig
from edge.density.blend import DensityEstimate, density_weight, hidden_share
from edge.density.csrnet import CsrnetModel, DensityModel, default_model_path
from edge.density.plan import DensityPlan, PlanSettings, plan_density
from edge.detectors.scale import PersonScaleMap
from edge.geometry import Homography, Zone
from edge.types import Detections

__all__ = ["DensityCounter", "DensityRun", "load_density_model"]

log = logging.getLogger(__name__)
F32 = npt.NDArray[np.float32]


@dataclass(frozen=True)
class DensityRun:
    """One run: the map over the plan's crop, and each zone's estimate."""

    t_s: float
    plan: DensityPlan
    density: F32
    estimates: tuple[DensityEstimate, ...]

    @property
    def total(self) -> float:
        return float(self.density.sum())


def load_density_model(cfg: DensityConfig) -> DensityModel | None:
    """The configured model, or None when `mode` is off, or `auto` and the file is not built (logged once).
    A file that is there but unusable, or missing with `mode: on`, raises DensityModelError."""
    if cfg.mode == "off":
        return None
    path = Path(cfg.model) if cfg.model else default_model_path()
    if cfg.mode == "auto" and not path.is_file():
        log.warning(
            "density: no density model at %s (build it with `python3 scripts/build_models.py`); dense crowds are "
            "counted from boxes only and will be undercounted",
            path,
        )
        return None
    model = CsrnetModel(path, cfg.threads)
    log.info("density: csrnet (%s), every %.0f s", path, cfg.interval_s)
    return model


class DensityCounter:
    def __init__(
        self,
        model: DensityModel,
        cfg: DensityConfig,
        zones: Sequence[Zone],
        homography: Homography | None,
        frame_size: tuple[int, int],
        person_height_m: float = 1.7,
    ) -> None:
        self.model = model
        self.cfg = cfg
        self.zones = list(zones)
        heights = None
        if homography is not None:
            heights = PersonScaleMap.from_homography(homography.image_to_ground, frame_size, person_height_m).height_px
        self.homography = homography
        # Raises DensityPlanError for a zone outside the frame (or a crop under one map cell): a config error.
        self.plan = plan_density(
            frame_size,
            {z.id: z.image_px for z in self.zones},
            heights,
            PlanSettings(cfg.person_height_px, cfg.max_input_px),
        )
        self.last_run: DensityRun | None = None
        self.runs = 0
        self.run_cpu_s = 0.0  # process CPU time over the runs (all threads): what the dense path costs
        # People too small in the network's input are missed by it: counting them would drag the count down.
        person_px = self.plan.person_px_in_input
        self.usable = person_px is None or person_px >= cfg.min_person_px
        if not self.usable:
            log.warning(
                "density: people are about %.0f px tall in the density map's input, under density.min_person_px (%.0f); "
                "the density map is not used, the detector's boxes count alone",
                person_px,
                cfg.min_person_px,
            )
        for zone_id, cells in self.plan.zone_cells.items():
            if not cells.any():
                log.warning("density: zone %r holds no density-map cell; its count comes from boxes alone", zone_id)
        log.info(
            "density: crop %s of %dx%d frames -> %dx%d input (typical person %s px)",
            self.plan.crop_px,
            *frame_size,
            *self.plan.input_wh,
            "?" if self.plan.typical_person_px is None else f"{self.plan.typical_person_px:.0f}",
        )

    def detected_per_zone(self, detections: Detections) -> dict[str, npt.NDArray[np.bool_]]:
        """Per zone, which boxes stand in it (by their foot point, as the metrics count them)."""
        feet = detections.foot_points_px.astype(np.float64)
        ground = self.homography.to_ground(feet) if self.homography is not None else feet
        return {z.id: z.contains(ground, feet) for z in self.zones}

    def due(self, t_s: float, detections: Detections) -> bool:
        """A run is due every `interval_s` while some zone holds `min_people` boxes, else every
        `sparse_interval_s` (the first frame always)."""
        if not self.usable:
            return False
        if self.last_run is None:
            return True
        since_s = t_s - self.last_run.t_s
        if since_s >= self.cfg.sparse_interval_s:
            return True
        if since_s < self.cfg.interval_s:
            return False
        inside = self.detected_per_zone(detections)
        return any(int(m.sum()) >= self.cfg.min_people for m in inside.values())

    def run(self, image: npt.NDArray[np.uint8], t_s: float, detections: Detections) -> DensityRun:
        cpu0 = time.process_time()
        x0, y0, x1, y1 = self.plan.crop_px
        crop = image[y0:y1, x0:x1]
        w, h = self.plan.input_wh
        shrink = w < crop.shape[1]
        resized = cv2.resize(crop, (w, h), interpolation=cv2.INTER_AREA if shrink else cv2.INTER_LINEAR)
        density = self.model.density_map(np.ascontiguousarray(resized))
        estimates = self.estimates(density, detections, t_s)
        run = DensityRun(t_s, self.plan, density, estimates)
        self.last_run = run
        self.runs += 1
        self.run_cpu_s += time.process_time() - cpu0
        return run

    def estimates(self, density: F32, detections: Detections, t_s: float) -> tuple[DensityEstimate, ...]:
        inside = self.detected_per_zone(detections)
        out = []
        for zone in self.zones:
            boxes = detections.xyxy[inside[zone.id]]
            hidden = hidden_share(boxes)
            cells = self.plan.zone_cells[zone.id]
            out.append(
                DensityEstimate(
                    zone=zone.id,
                    t_s=t_s,
                    density_count=float(np.sum(density * cells)),
                    detected=len(boxes),
                    hidden=hidden,
                    weight=density_weight(hidden, self.cfg.overlap_low, self.cfg.overlap_high) if cells.any() else 0.0,
                )
            )
        return tuple(out)
