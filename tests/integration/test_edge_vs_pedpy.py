"""The edge's zone density and walking speed from tracks, against PedPy (the Juelich group's reference
analysis) on the shared ETH/UCY trajectories.

Each recorded walker is fed to the edge's aggregator (edge/metrics.py) as a confirmed track, frame by
frame, with their ground position; PedPy measures the same zone on the same trajectories: classic
density (people in the area / its area, averaged over the interval's frames) and individual speed.

Tolerances, and why:
- density: within 2% per 10 s interval. Both are the same definition (mean head count over the
  frames / area); only which frames fall into an interval at its borders may differ.
- speed p50: median absolute difference <= 0.05 m/s and 90% of intervals within 0.15 m/s (the
  rendered-video target). The edge times a walker over the trailing `speed_window_s` (2 s); PedPy over
  a centred window of 2 x frame_step frames (1.6 s here): on a turning or stopping walker the two
  windows see different steps. Per interval each walker counts once, with the median of their speeds
  in the zone, in both.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from central.playback.trajectories import load_obsmat
from edge.geometry import Zone
from edge.metrics import MetricsSettings, Observation, ZoneMetricsAggregator

pytestmark = [pytest.mark.integration]
pedpy = pytest.importorskip("pedpy", reason="PedPy (the `sim` extra) is not installed")

INTERVAL_S = 10.0
FRAME_STEP = 2  # PedPy's window: 2 x 2 frames x 0.4 s = 1.6 s, the nearest to the edge's 2 s
DENSITY_REL_TOL = 0.02
SPEED_P50_MEDIAN_TOL_MPS = 0.05
SPEED_P50_P90_TOL_MPS = 0.15


def _zone_box(x: np.ndarray, y: np.ndarray) -> tuple[float, float, float, float]:
    """The dense middle of the scene (15th-85th percentile of positions), as scripts/render_trajectories."""
    x0, x1 = np.percentile(x, [15, 85])
    y0, y1 = np.percentile(y, [15, 85])
    return float(x0), float(y0), float(x1), float(y1)


def _compare(path: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    import shapely

    tr = load_obsmat(path)
    frame = np.round(tr.t_s / 0.4).astype(np.int64)
    x0, y0, x1, y1 = _zone_box(tr.x_m, tr.y_m)
    ground = np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]], float)
    zone = Zone("z", ground, ground.copy(), in_image=False)
    agg = ZoneMetricsAggregator("cam", [zone], [], MetricsSettings(interval_s=INTERVAL_S, dense_flow_min_count=10**6))
    edge = []
    for f in range(int(frame.max()) + 1):
        m = frame == f
        g = np.stack([tr.x_m[m], tr.y_m[m]], axis=1)
        edge += agg.add(Observation(f, f * 0.4, tr.walker[m].astype(np.int64), g, g.copy()))
    edge += agg.flush()
    df = pd.DataFrame({"id": tr.walker, "frame": frame, "x": tr.x_m, "y": tr.y_m})
    traj = pedpy.TrajectoryData(data=df, frame_rate=2.5)
    poly = shapely.box(x0, y0, x1, y1)
    classic = pedpy.compute_classic_density(traj_data=traj, measurement_area=pedpy.MeasurementArea(poly))
    speed = pedpy.compute_individual_speed(
        traj_data=traj, frame_step=FRAME_STEP, speed_calculation=pedpy.SpeedCalculation.BORDER_SINGLE_SIDED
    )
    inside = df[shapely.contains_xy(poly, df["x"], df["y"])].merge(speed, on=["id", "frame"])
    k_of = np.floor(np.arange(int(frame.max()) + 1) * 0.4 / INTERVAL_S + 1e-9).astype(int)
    dens = classic["density"].reindex(range(int(frame.max()) + 1), fill_value=0.0).to_numpy()
    inside["k"] = k_of[inside["frame"].to_numpy()]
    e_d, p_d, e_s, p_s = [], [], [], []
    for m in edge[:-1]:  # the last interval is cut short by the recording's end
        k = round(m.t_start / INTERVAL_S)
        e_d.append(m.density)
        p_d.append(float(dens[k_of == k].mean()))
        people = inside[inside["k"] == k].groupby("id")["speed"].median()
        if m.speed_p50 is not None and len(people) >= 3:
            e_s.append(m.speed_p50)
            p_s.append(float(np.percentile(people, 50)))
    return np.array(e_d), np.array(p_d), np.array(e_s), np.array(p_s)


@pytest.mark.parametrize("dataset", ["students03", "zara01", "seq_eth"])
def test_edge_density_and_speed_agree_with_pedpy(shared_data: Path, dataset: str) -> None:
    e_d, p_d, e_s, p_s = _compare(shared_data / "trajectories" / dataset / "obsmat.txt")
    assert len(e_d) >= 15 and p_d.mean() > 0.01
    busy = p_d > 0.02
    rel = np.abs(e_d[busy] - p_d[busy]) / p_d[busy]
    assert rel.max() <= DENSITY_REL_TOL, (dataset, rel.max())
    assert len(e_s) >= 10
    err = np.abs(e_s - p_s)
    assert np.median(err) <= SPEED_P50_MEDIAN_TOL_MPS, (dataset, np.median(err))
    assert np.percentile(err, 90) <= SPEED_P50_P90_TOL_MPS, (dataset, np.percentile(err, 90))
