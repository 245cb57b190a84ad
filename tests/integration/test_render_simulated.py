"""The edge on a rendered dense simulated crowd against the simulation's truth (issue 17).

JuPedSim queues a crowd in the square's funnel for a few minutes; the last seconds are rendered with the
synthetic scene renderer at a fixed camera pose and the edge runs on the video with the renderer's boxes
(`--detector gt`), so this checks the edge's geometry, tracking and zone aggregation on a dense crowd, not
the detector (scripts/render_simulated.py measures the detector too; figures in docs/benchmarks.md).
Targets: zone density within 15 % of count / area, speed p50 within 0.15 m/s of the individual speeds.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

pytestmark = [pytest.mark.integration, pytest.mark.slow]
pytest.importorskip("jupedsim", reason="JuPedSim (the `sim` extra) is not installed")

from crowdsim.cache import load_or_simulate  # noqa: E402
from crowdsim.demand import parse_demand  # noqa: E402
from edge.synthetic_render import Trajectories  # noqa: E402
from edge.trajectory_truth import read_truth  # noqa: E402
from scripts.render_simulated import MARGIN_M, render_zone  # noqa: E402
from scripts.render_trajectories import ZONE_ID, run_and_score  # noqa: E402

DEMAND = {"arrivals_pps": [[0, 2.6]], "seed": 5}  # above the street's capacity: a queue forms in the funnel
DURATION_S, WINDOW_S = 240.0, 12.0


def test_edge_density_and_speed_on_a_rendered_dense_crowd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CROWD_SCENARIO_CACHE", str(tmp_path / "cache"))
    res, _ = load_or_simulate("square_street", parse_demand(DEMAND), DURATION_S)
    # A rectangle in the wide end of the funnel, where the queue stands: the edge's zone.
    x0, y0, x1, y1 = 46.0, 12.5, 52.0, 17.5
    zone_m = [(x0, y0), (x1, y0), (x1, y1), (x0, y1)]
    start = DURATION_S - WINDOW_S - 1.0
    t = res.frame / res.frame_rate_hz
    keep = (
        (t >= start) & (t <= start + WINDOW_S)
        & (res.x_m >= x0 - MARGIN_M) & (res.x_m <= x1 + MARGIN_M)
        & (res.y_m >= y0 - MARGIN_M) & (res.y_m <= y1 + MARGIN_M)
    )  # fmt: skip
    traj = Trajectories(
        t[keep] - start, res.person[keep].astype(np.int64), res.x_m[keep], res.y_m[keep], 1 / res.frame_rate_hz
    )
    clip = render_zone(tmp_path / "clip", traj, zone_m, 8.0, (640, 360))
    score, metrics = run_and_score(clip, detector="gt", dense=False)
    area = (x1 - x0) * (y1 - y0)
    truth = [r for r in read_truth(clip.truth) if r.t_start_s >= 3.0]
    rows = [m for m in metrics if m.zone == ZONE_ID and m.t_end >= 3.0]
    truth_density = float(np.mean([r.count for r in truth])) / area
    assert truth_density > 1.0, f"not a dense crowd: {truth_density:.2f} /m2"  # the queue must have formed
    edge_density = float(np.mean([m.density for m in rows]))
    assert abs(edge_density / truth_density - 1.0) <= 0.15, (edge_density, truth_density)
    err = score.median_abs_error_mps
    assert err is not None and len(score.intervals) >= 5
    assert err <= 0.15, score.summary()
