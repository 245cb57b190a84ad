"""A simulated zone's truth series, from the cache or simulated and measured on a miss."""

from __future__ import annotations

import pandas as pd

from crowdsim.cache import _lib_version, cache_dir, load_or_simulate, sim_key
from crowdsim.demand import Demand
from crowdsim.sites import get_site

__all__ = ["TRUTH_VERSION", "zone_series"]

TRUTH_VERSION = 3  # bump when truth.py changes what it measures


def zone_series(site: str, demand: Demand, duration_s: float, interval_s: float, zone: str) -> pd.DataFrame:
    """Per-interval PedPy truth of one zone (columns: see `crowdsim.truth.zone_truth`)."""
    s = get_site(site)
    if zone not in s.zones:
        raise KeyError(f"site {site!r} has no zone {zone!r}; it has {', '.join(sorted(s.zones))}")
    tag = f"{zone}-{interval_s:g}s-pedpy{_lib_version('pedpy')}-t{TRUTH_VERSION}"
    path = cache_dir() / f"{sim_key(site, demand, duration_s)}-{tag}.csv"
    if path.is_file():
        return pd.read_csv(path)
    from crowdsim.truth import zone_truth

    res, _ = load_or_simulate(site, demand, duration_s)
    table = zone_truth(s, res, zone, duration_s, interval_s).frame
    tmp = path.with_suffix(".tmp")
    table.to_csv(tmp, index=False)
    tmp.replace(path)
    return table
