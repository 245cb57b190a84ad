"""The typed values that flow between the edge's stages.

Each stage takes one of these and returns one of these, so stages compose and are tested alone.
Arrays are checked for shape once, here, instead of in every consumer.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float32]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]


@dataclass(frozen=True)
class Frame:
    """One decoded image of a source. `t_s` is source time for files, UNIX time for live sources."""

    index: int
    t_s: float
    image: npt.NDArray[np.uint8]

    def __post_init__(self) -> None:
        if self.image.ndim not in (2, 3):
            raise ValueError(f"Frame.image must be HxW or HxWxC, got shape {self.image.shape}")
        if self.index < 0:
            raise ValueError(f"Frame.index must be >= 0, got {self.index}")


@dataclass(frozen=True)
class Detections:
    """Person boxes of one frame: `xyxy` in image pixels (N, 4) and `scores` in [0, 1] (N,)."""

    xyxy: FloatArray
    scores: FloatArray

    def __post_init__(self) -> None:
        xyxy = np.asarray(self.xyxy, dtype=np.float32).reshape(-1, 4)
        scores = np.asarray(self.scores, dtype=np.float32).reshape(-1)
        if len(xyxy) != len(scores):
            raise ValueError(f"Detections: {len(xyxy)} boxes but {len(scores)} scores")
        object.__setattr__(self, "xyxy", xyxy)
        object.__setattr__(self, "scores", scores)

    @classmethod
    def empty(cls) -> Detections:
        return cls(np.zeros((0, 4), np.float32), np.zeros((0,), np.float32))

    def __len__(self) -> int:
        return len(self.scores)

    def __getitem__(self, mask: npt.NDArray[np.bool_] | IntArray) -> Detections:
        return Detections(self.xyxy[mask], self.scores[mask])

    @property
    def foot_points_px(self) -> FloatArray:
        """Bottom centre of each box: where the person stands on the ground."""
        return np.stack([(self.xyxy[:, 0] + self.xyxy[:, 2]) / 2, self.xyxy[:, 3]], axis=1).astype(np.float32)

    @property
    def heights_px(self) -> FloatArray:
        return (self.xyxy[:, 3] - self.xyxy[:, 1]).astype(np.float32)


@dataclass(frozen=True)
class Tracks:
    """The tracker's people in one frame. Only `confirmed` tracks count as people."""

    ids: IntArray
    xyxy: FloatArray
    confirmed: BoolArray

    def __post_init__(self) -> None:
        ids = np.asarray(self.ids, dtype=np.int64).reshape(-1)
        xyxy = np.asarray(self.xyxy, dtype=np.float32).reshape(-1, 4)
        confirmed = np.asarray(self.confirmed, dtype=bool).reshape(-1)
        if not (len(ids) == len(xyxy) == len(confirmed)):
            raise ValueError(f"Tracks: {len(ids)} ids, {len(xyxy)} boxes, {len(confirmed)} flags")
        object.__setattr__(self, "ids", ids)
        object.__setattr__(self, "xyxy", xyxy)
        object.__setattr__(self, "confirmed", confirmed)

    @classmethod
    def empty(cls) -> Tracks:
        return cls(np.zeros((0,), np.int64), np.zeros((0, 4), np.float32), np.zeros((0,), bool))

    def __len__(self) -> int:
        return len(self.ids)

    @property
    def foot_points_px(self) -> FloatArray:
        return np.stack([(self.xyxy[:, 0] + self.xyxy[:, 2]) / 2, self.xyxy[:, 3]], axis=1).astype(np.float32)


@dataclass(frozen=True)
class ZoneMetrics:
    """One zone over one interval: the edge's product, written as JSONL and published over MQTT.

    Times: `t_start`/`t_end` are seconds of source time for files, UNIX time for live sources.
    Frames are 0-based indices of the source, inclusive. Speeds are None when nobody moved.
    """

    camera: str
    zone: str
    frame_start: int
    frame_end: int
    t_start: float
    t_end: float
    count: float
    count_max: int
    area_m2: float
    density: float
    speed_p50: float | None
    speed_p85: float | None
    los: str
    stale: bool
    direction_deg: float | None = None
    inflow: int = 0
    outflow: int = 0
    speed_source: str = "tracks"
    lines: dict[str, dict[str, int]] = field(default_factory=dict)
    count_source: str = "tracks"
    # Share of `count` the density map carried (0: boxes or tracks alone).
    density_weight: float = 0.0

    def __post_init__(self) -> None:
        if self.frame_end < self.frame_start:
            raise ValueError(f"ZoneMetrics: frame_end {self.frame_end} < frame_start {self.frame_start}")
        if self.t_end < self.t_start:
            raise ValueError(f"ZoneMetrics: t_end {self.t_end} < t_start {self.t_start}")
        if self.area_m2 <= 0:
            raise ValueError(f"ZoneMetrics: area_m2 must be > 0, got {self.area_m2}")
        if self.count < 0 or self.count_max < 0:
            raise ValueError("ZoneMetrics: counts must be >= 0")
