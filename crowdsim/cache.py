"""Simulated trajectories and their PedPy truth, cached on disk by everything that determines them.

The key hashes the site, the demand, the duration, this package's model version and the JuPedSim and
PedPy versions: a change to any of them simulates again, nothing else does. The default folder is
`~/.cache/crowd-analytics/scenarios` (`CROWD_SCENARIO_CACHE` overrides it).
"""

from __future__ import annotations

import hashlib
import json
import os
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import numpy as np

from crowdsim.demand import Demand
from crowdsim.simulate import SimResult

__all__ = ["MODEL_VERSION", "cache_dir", "load_or_simulate", "sim_key"]

# Bump when sites.py or simulate.py change what a given demand produces.
MODEL_VERSION = 1


def cache_dir() -> Path:
    env = os.environ.get("CROWD_SCENARIO_CACHE")
    return Path(env) if env else Path.home() / ".cache" / "crowd-analytics" / "scenarios"


def _lib_version(name: str) -> str:
    try:
        return version(name)
    except PackageNotFoundError:
        return "absent"


def sim_key(site: str, demand: Demand, duration_s: float) -> str:
    blob = json.dumps(
        {
            "site": site,
            "demand": demand.model_dump(mode="json"),
            "duration_s": float(duration_s),
            "model": MODEL_VERSION,
            "jupedsim": _lib_version("jupedsim"),
        },
        sort_keys=True,
    )
    return f"{site}-{hashlib.sha256(blob.encode()).hexdigest()[:16]}"


def load_or_simulate(site: str, demand: Demand, duration_s: float) -> tuple[SimResult, Path]:
    """The cached trajectories of this simulation, simulated (minutes) and stored on a miss."""
    from crowdsim.simulate import FRAME_RATE_HZ, simulate
    from crowdsim.sites import get_site

    path = cache_dir() / f"{sim_key(site, demand, duration_s)}.npz"
    if path.is_file():
        z = np.load(path)
        return (
            SimResult(
                frame=z["frame"].astype(np.int64),
                person=z["person"].astype(np.int64),
                x_m=z["x"].astype(float),
                y_m=z["y"].astype(float),
                frame_rate_hz=float(z["frame_rate_hz"]),
                n_spawned=int(z["n_spawned"]),
                n_waiting_end=int(z["n_waiting_end"]),
            ),
            path,
        )
    res = simulate(get_site(site), demand, duration_s)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp.npz")
    np.savez_compressed(
        tmp,
        frame=res.frame.astype(np.int32),
        person=res.person.astype(np.int32),
        x=res.x_m.astype(np.float32),
        y=res.y_m.astype(np.float32),
        frame_rate_hz=FRAME_RATE_HZ,
        n_spawned=res.n_spawned,
        n_waiting_end=res.n_waiting_end,
    )
    tmp.replace(path)  # atomic: a killed run leaves no half-written cache entry
    return res, path
