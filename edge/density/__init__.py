"""Density-map counting: people too packed for a detector to separate, counted by a crowd-counting network.

`csrnet` runs the network, `plan` decides where it looks and which cells belong to which zone, `blend`
weighs its count against the detector's, `counter` ties them together for one camera.
"""

from edge.density.blend import DensityEstimate, blend_count, density_weight, hidden_share
from edge.density.counter import DensityCounter, DensityRun, load_density_model
from edge.density.csrnet import CsrnetModel, DensityModel, DensityModelError, default_model_path
from edge.density.plan import DensityPlan, DensityPlanError, PlanSettings, plan_density

__all__ = [
    "CsrnetModel",
    "DensityCounter",
    "DensityEstimate",
    "DensityModel",
    "DensityModelError",
    "DensityPlan",
    "DensityPlanError",
    "DensityRun",
    "PlanSettings",
    "blend_count",
    "default_model_path",
    "density_weight",
    "hidden_share",
    "load_density_model",
    "plan_density",
]
