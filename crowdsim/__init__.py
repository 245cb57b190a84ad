"""Crowd build-ups simulated with JuPedSim and measured with PedPy, for scoring central's alerts.

`sites` holds the geometries, `demand` the arrival curves, `simulate` runs JuPedSim, `truth` measures
the zones with PedPy and `cache` keys the simulated series by their parameters and library versions.
JuPedSim and PedPy are the optional `sim` extra: only `simulate` and `truth` import them.
"""

from crowdsim.demand import Demand, DemandError
from crowdsim.sites import SITES, Site, get_site

__all__ = ["SITES", "Demand", "DemandError", "Site", "get_site"]
