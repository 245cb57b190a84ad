"""Simulated build-ups end to end but short: JuPedSim runs a few minutes of crowd, PedPy measures the
zone, and the result plays through the scenario builder (central's replay path). The full 30-minute
scenarios are scored by `scripts/run_scenario.py` (figures in docs/benchmarks.md)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

pytestmark = [pytest.mark.integration, pytest.mark.slow]
pytest.importorskip("jupedsim", reason="JuPedSim (the `sim` extra) is not installed")
pytest.importorskip("pedpy", reason="PedPy (the `sim` extra) is not installed")

from central.playback.builders import build  # noqa: E402
from central.playback.scenario import ScenarioError, parse  # noqa: E402
from crowdsim.demand import parse_demand  # noqa: E402
from crowdsim.series import zone_series  # noqa: E402
from crowdsim.sites import get_site  # noqa: E402

DEMAND = {"arrivals_pps": [[0, 2.6]], "seed": 5}  # above the 2 m street's capacity: a queue must form
DURATION_S = 240.0


@pytest.fixture(autouse=True)
def _cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CROWD_SCENARIO_CACHE", str(tmp_path / "cache"))


def test_queue_builds_in_the_funnel_and_pedpy_truth_is_consistent() -> None:
    t = zone_series("square_street", parse_demand(DEMAND), DURATION_S, 10.0, "funnel")
    area = get_site("square_street").zone_area_m2("funnel")
    assert len(t) == 24
    assert np.allclose(t["count"], t["density"] * area, atol=0.01)
    # The crowd arrives, queues and slows: density rises and speed falls over the run.
    assert t["density"].iloc[-3:].mean() > 2 * t["density"].iloc[6:9].mean() > 0
    late = t.iloc[-6:]
    busy = late[late["density"] > 0.5]
    assert len(busy) and (busy["speed_p50_mps"] < 1.0).all()
    # Everyone in the zone came in through its edge: the entries so far are at least the people there now
    # (a queue holds them), and no more than the people who ever got near (arrivals at 2.6/s).
    entered = t["inflow"].cumsum()
    assert (entered >= t["count_max"] - 1).all()
    assert 0 < entered.iloc[-1] <= 2.6 * DURATION_S
    # Voronoi and classic density agree on average in a busy zone (both PedPy, different definitions).
    assert abs(late["density_voronoi"].mean() - late["density"].mean()) <= 0.35 * late["density"].mean()


def _scenario(polygon: list[list[float]]) -> dict[str, object]:
    return {
        "name": "sim_short",
        "kind": "other",
        "site": {"origin": [8.54, 47.37]},
        "duration_s": DURATION_S,
        "zones": [
            {
                "id": "funnel",
                "camera": "cam",
                "edge_zone": "funnel",
                "polygon_m": polygon,
                "thresholds": {"warning": 1.5, "critical": 3.0},
                "timeline": {"kind": "simulated", "site": "square_street", "zone": "funnel", "demand": DEMAND},
            }
        ],
    }


def test_simulated_timeline_plays_through_the_builder() -> None:
    built = build(parse(_scenario([[40, 11], [55, 14], [55, 16], [40, 19]])))
    msgs = built.messages
    assert len(msgs) == 24 and msgs[-1].density > msgs[6].density
    with pytest.raises(ScenarioError, match="area"):
        build(parse(_scenario([[40, 11], [50, 11], [50, 19], [40, 19]])))
    bad = _scenario([[40, 11], [55, 14], [55, 16], [40, 19]])
    bad["zones"][0]["timeline"]["demand"] = {"arrivals_pps": [[0, 1]], "typo": 1}  # type: ignore[index]
    with pytest.raises(ScenarioError, match="typo"):
        build(parse(bad))
