"""Simulates (JuPedSim) and caches every simulated scenario's crowd, so scoring and tests find it ready.

    python -m scripts.simulate_scenarios [configs/scenarios/sim_*.yaml ...]

Each distinct (site, demand, duration) is simulated once; later runs find it in the cache
(crowdsim/cache.py) and print where it is.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import yaml

from crowdsim.cache import load_or_simulate
from crowdsim.demand import parse_demand

__all__ = ["main"]

SCEN = Path(__file__).resolve().parents[1] / "configs" / "scenarios"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m scripts.simulate_scenarios", description=__doc__)
    ap.add_argument("scenarios", nargs="*", type=Path)
    args = ap.parse_args(argv)
    paths = args.scenarios or sorted(SCEN.glob("sim_*.yaml"))
    seen: set[str] = set()
    for p in paths:
        data = yaml.safe_load(p.read_text(encoding="utf-8"))
        for z in data["zones"]:
            tl = z["timeline"]
            if tl.get("kind") != "simulated":
                continue
            demand = parse_demand(tl["demand"], f"{p}: zones.{z['id']}.timeline.demand")
            key = f"{tl['site']}|{demand.model_dump_json()}|{data['duration_s']}"
            if key in seen:
                continue
            seen.add(key)
            t0 = time.perf_counter()
            res, path = load_or_simulate(tl["site"], demand, float(data["duration_s"]))
            print(
                f"{p.stem}: {res.n_spawned} people, {len(res.frame)} positions, {time.perf_counter() - t0:.0f} s -> {path}",
                flush=True,
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
