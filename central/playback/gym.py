"""Zone metric streams from the shared campus-gym occupancy series.

The series counts people in a gym about every 10 minutes. A scenario maps one local-time window of
one day onto a zone: people = the recorded count, density = count / the zone's area (the scenario
names the area; the real gym's floor area is not in the data). Between samples the count is
interpolated linearly; a hole longer than `max_gap_s` is refused rather than bridged, because a
straight line across hours of missing data would be invented, not replayed. Speeds come from the
Weidmann fundamental diagram (the series has none).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd

from central.playback.scenario import GymTimeline
from central.playback.streams import ZoneSample, weidmann_speed_mps


def load_gym(path: str | Path) -> pd.DataFrame:
    """Columns `local` (naive local time) and `people`, sorted."""
    p = Path(path)
    try:
        df = pd.read_csv(p, usecols=["number_people", "date"])
    except (OSError, ValueError) as err:
        raise ValueError(f"{p}: cannot read the gym series: {err}") from None
    # Local wall-clock time: the offset changes with daylight saving, the gym's opening hours do not.
    local = pd.to_datetime(df["date"].str.slice(0, 19), format="%Y-%m-%d %H:%M:%S", errors="coerce")
    out = pd.DataFrame({"local": local, "people": pd.to_numeric(df["number_people"], errors="coerce")})
    return out.dropna().sort_values("local").reset_index(drop=True)


def gym_samples(
    series: pd.DataFrame, timeline: GymTimeline, area_m2: float, duration_s: float, interval_s: float
) -> list[ZoneSample]:
    start = pd.Timestamp(timeline.date) + pd.Timedelta(hours=timeline.from_hour)
    end = start + pd.Timedelta(seconds=duration_s)
    t = (series["local"] - start).dt.total_seconds().to_numpy()
    y = series["people"].to_numpy(dtype=float)
    lo = np.searchsorted(t, 0.0, side="right") - 1
    hi = np.searchsorted(t, duration_s, side="left")
    if lo < 0 or hi >= len(t):
        raise ValueError(f"gym series does not cover {start} .. {end}")
    t, y = t[lo : hi + 1], y[lo : hi + 1]
    gaps = np.diff(t)
    if gaps.max(initial=0.0) > timeline.max_gap_s:
        at = start + pd.Timedelta(seconds=float(t[int(np.argmax(gaps))]))
        raise ValueError(f"gym series has a {gaps.max() / 60:.0f}-minute hole at {at} (max_gap_s={timeline.max_gap_s})")
    out = []
    n = math.floor(duration_s / interval_s + 1e-9)
    for i in range(1, n + 1):
        te = i * interval_s
        count = float(np.interp(te - interval_s / 2, t, y))
        density = count / area_m2
        speed = weidmann_speed_mps(density) if count >= 0.5 else None
        out.append(
            ZoneSample(
                t_end_s=te,
                count=round(count, 3),
                count_max=math.ceil(float(np.interp(te, t, y)) if count else 0),
                density=round(density, 5),
                speed_p50_mps=None if speed is None else round(speed, 3),
                speed_p85_mps=None if speed is None else round(speed * 1.2, 3),
            )
        )
    return out
