"""Zone truth from simulated trajectories, measured by PedPy (not by this project's own code).

Per zone and interval (`(k * interval_s, (k + 1) * interval_s]`): PedPy's classic density (people in
the measurement area / its area) and Voronoi density averaged over the interval's frames; count =
classic density x area; walking speed percentiles over the people in the zone, each person once with
the median of PedPy's individual speeds on their frames there (how the edge defines `speed_p50`);
the mean walking direction; the people who entered the zone in the interval (`inflow`: what the edge's line
counts at the zone's entrances report; from the same positions PedPy reads); and per measurement line the
people crossing it in the interval (PedPy N(t)).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from crowdsim.simulate import SimResult
from crowdsim.sites import Site

__all__ = ["SPEED_FRAME_STEP", "VORONOI_CUTOFF_M", "ZoneTruthTable", "line_flows", "zone_truth"]

# PedPy's speed window is 2 x frame_step frames: 2 s at 2 Hz, the edge's `metrics.speed_window_s`.
SPEED_FRAME_STEP = 2
# Cells of isolated people are cut to a 2 m disc (PedPy's cut-off), as PedPy advises for open spaces:
# otherwise one person in an empty square owns the whole square and the density reads near zero.
VORONOI_CUTOFF_M = 2.0
# Voronoi cells depend only on neighbours within about twice the cut-off; people farther away are left out.
CROP_MARGIN_M = 5.0
VORONOI_EVERY_N_FRAMES = 2  # once a second: Voronoi tessellation is PedPy's slowest measure
MOVING_MPS = 0.1  # as the playback streams: people standing still give no walking direction


@dataclass(frozen=True)
class ZoneTruthTable:
    zone: str
    area_m2: float
    frame: pd.DataFrame  # per 10 s interval: t_end_s, count, count_max, density, density_voronoi, speed_p50_mps, speed_p85_mps, direction_deg, inflow


def _traj(res: SimResult, keep: np.ndarray | None = None) -> object:
    import pedpy

    m = slice(None) if keep is None else keep
    df = pd.DataFrame({"id": res.person[m], "frame": res.frame[m], "x": res.x_m[m], "y": res.y_m[m]})
    return pedpy.TrajectoryData(data=df, frame_rate=res.frame_rate_hz)


def _by_frame(table: pd.DataFrame) -> pd.Series:
    """PedPy's per-frame density as a Series indexed by frame (PedPy 1.5 returns `frame` as a column;
    frames where nobody is near the zone are absent and mean zero)."""
    t = table.set_index("frame") if "frame" in table.columns else table
    return t["density"]


def zone_truth(site: Site, res: SimResult, zone: str, duration_s: float, interval_s: float) -> ZoneTruthTable:
    import pedpy
    import shapely

    poly = site.zones[zone]
    area = float(poly.area)
    ma = pedpy.MeasurementArea(poly)
    near = shapely.contains_xy(poly.buffer(CROP_MARGIN_M), res.x_m, res.y_m)
    traj = _traj(res, near)
    classic = pedpy.compute_classic_density(traj_data=traj, measurement_area=ma)
    speed = pedpy.compute_individual_speed(
        traj_data=traj,
        frame_step=SPEED_FRAME_STEP,
        compute_velocity=True,
        speed_calculation=pedpy.SpeedCalculation.BORDER_SINGLE_SIDED,
    )
    vor_keep = near & (res.frame % VORONOI_EVERY_N_FRAMES == 0)
    walkable = pedpy.WalkableArea(site.walkable)
    voronoi = pedpy.compute_individual_voronoi_polygons(
        traj_data=_traj(res, vor_keep), walkable_area=walkable, cut_off=pedpy.Cutoff(radius=VORONOI_CUTOFF_M)
    )
    vdens, _ = pedpy.compute_voronoi_density(individual_voronoi_data=voronoi, measurement_area=ma)
    n_frames = math.floor(duration_s * res.frame_rate_hz + 1e-9)
    dens = _by_frame(classic).reindex(range(n_frames), fill_value=0.0).to_numpy()
    vd = _by_frame(vdens).reindex(range(0, n_frames, VORONOI_EVERY_N_FRAMES), fill_value=0.0)
    # Who is in the zone on which frame, with their speed there.
    in_zone = shapely.contains_xy(poly, traj.data["x"], traj.data["y"])  # type: ignore[attr-defined]
    inside = traj.data.loc[in_zone, ["id", "frame"]]  # type: ignore[attr-defined]
    sp = inside.merge(speed, on=["id", "frame"], how="inner")
    entry_frames = _entries(traj.data, in_zone)  # type: ignore[attr-defined]
    fpi = interval_s * res.frame_rate_hz
    n = math.floor(duration_s / interval_s + 1e-9)
    sp["k"] = np.floor((sp["frame"] - 1) / fpi).astype(int)  # frame f closes at f / rate: interval (k, k+1]
    rows = []
    for k in range(n):
        f0, f1 = round(k * fpi) + 1, min(round((k + 1) * fpi) + 1, n_frames)
        d = dens[f0:f1] if f1 > f0 else dens[f0 - 1 : f0]
        v = vd[(vd.index >= f0 - 1) & (vd.index < f1)].to_numpy()
        people = sp[sp["k"] == k]
        entered = int(np.count_nonzero((entry_frames >= f0) & (entry_frames < f1)))
        per = people.groupby("id").agg(speed=("speed", "median"), vx=("v_x", "median"), vy=("v_y", "median"))
        moving = per[per["speed"] > MOVING_MPS]
        p50 = p85 = direction = None
        if len(per):
            p50 = round(float(np.percentile(per["speed"], 50)), 3)
            p85 = round(float(np.percentile(per["speed"], 85)), 3)
        if len(moving):
            direction = round(math.degrees(math.atan2(moving["vy"].sum(), moving["vx"].sum())) % 360.0, 1) % 360.0
        rows.append(
            {
                "t_end_s": (k + 1) * interval_s,
                "count": round(float(d.mean()) * area, 3),
                "count_max": round(float(d.max()) * area),
                "density": round(float(d.mean()), 5),
                "density_voronoi": round(float(v.mean()), 5) if v.size else 0.0,
                "speed_p50_mps": p50,
                "speed_p85_mps": p85,
                "direction_deg": direction,
                "inflow": entered,
            }
        )
    return ZoneTruthTable(zone=zone, area_m2=area, frame=pd.DataFrame(rows))


def line_flows(site: Site, res: SimResult, duration_s: float, interval_s: float) -> pd.DataFrame:
    """People crossing each of the site's measurement lines per interval (PedPy's N(t) differenced)."""
    import pedpy

    traj = _traj(res)
    n = math.floor(duration_s / interval_s + 1e-9)
    out = {"t_end_s": (np.arange(n) + 1) * interval_s}
    for name, (a, b) in site.lines.items():
        nt, _ = pedpy.compute_n_t(traj_data=traj, measurement_line=pedpy.MeasurementLine([a, b]))
        cum = np.interp(out["t_end_s"], nt["time"].to_numpy(), nt["cumulative_pedestrians"].to_numpy())
        out[name] = np.diff(np.r_[0.0, cum])
    return pd.DataFrame(out)


def _entries(data: pd.DataFrame, inside: np.ndarray) -> np.ndarray:
    """Frames on which someone is inside the zone having been outside on their previous frame (an entry;
    a person's first frame inside counts only if they were seen outside before: nobody spawns in a zone)."""
    d = pd.DataFrame({"id": data["id"].to_numpy(), "frame": data["frame"].to_numpy(), "inside": inside})
    d = d.sort_values(["id", "frame"], kind="stable")
    prev = d.groupby("id")["inside"].shift(1)
    entered = d["inside"].to_numpy() & (prev == False).to_numpy()  # noqa: E712 - NaN (first frame) is not an entry
    return np.asarray(d["frame"].to_numpy()[entered])
