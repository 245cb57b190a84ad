"""Multi-object tracker (pure): Detections -> Tracks.

One constant-velocity Kalman filter (filterpy) per person on the box centre, with the box size as
slowly varying state, and Hungarian assignment (scipy) on IoU. Real timestamps drive the filter, so
a dropped live frame or a file's true frame rate changes nothing but dt. A track counts as a person
only once it is confirmed by `min_hits` detections; tentative tracks that miss a detection die at
once, so one spurious box never becomes a person. Between detections, optical flow moves the boxes
(`carry`), which keeps the filter on the person without counting as a detection.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from filterpy.kalman import KalmanFilter
from scipy.optimize import linear_sum_assignment

from edge.types import Detections, FloatArray, Tracks

F64 = npt.NDArray[np.float64]


@dataclass(frozen=True)
class TrackerSettings:
    min_hits: int = 3
    max_age_s: float = 1.5
    iou_gate: float = 0.1
    # Position noise grows with box height: a far person's pixel jitter is smaller.
    measurement_noise_frac: float = 0.05
    accel_noise_frac_per_s2: float = 0.5


def iou_matrix(a: FloatArray | F64, b: FloatArray | F64) -> F64:
    """Pairwise IoU of (N, 4) and (M, 4) xyxy boxes."""
    a64 = np.asarray(a, np.float64).reshape(-1, 4)
    b64 = np.asarray(b, np.float64).reshape(-1, 4)
    if len(a64) == 0 or len(b64) == 0:
        return np.zeros((len(a64), len(b64)))
    x1 = np.maximum(a64[:, None, 0], b64[None, :, 0])
    y1 = np.maximum(a64[:, None, 1], b64[None, :, 1])
    x2 = np.minimum(a64[:, None, 2], b64[None, :, 2])
    y2 = np.minimum(a64[:, None, 3], b64[None, :, 3])
    inter = np.clip(x2 - x1, 0, None) * np.clip(y2 - y1, 0, None)
    area_a = (a64[:, 2] - a64[:, 0]) * (a64[:, 3] - a64[:, 1])
    area_b = (b64[:, 2] - b64[:, 0]) * (b64[:, 3] - b64[:, 1])
    union = area_a[:, None] + area_b[None, :] - inter
    return np.where(union > 0, inter / np.maximum(union, 1e-9), 0.0)


def _box_to_z(box: F64) -> F64:
    x1, y1, x2, y2 = box
    return np.array([(x1 + x2) / 2, (y1 + y2) / 2, max(x2 - x1, 1.0), max(y2 - y1, 1.0)])


class _Track:
    def __init__(self, track_id: int, box: F64, t_s: float, settings: TrackerSettings) -> None:
        self.id = track_id
        self.settings = settings
        self.kf = KalmanFilter(dim_x=6, dim_z=4)
        # State: cx, cy, w, h, vx, vy (px, px/s); sizes have no velocity, people do not grow.
        self.kf.H = np.hstack([np.eye(4), np.zeros((4, 2))])
        z = _box_to_z(box)
        self.kf.x = np.concatenate([z, [0.0, 0.0]]).reshape(6, 1)
        h = z[3]
        self.kf.P = np.diag([h * 0.1, h * 0.1, h * 0.1, h * 0.1, h * 2.0, h * 2.0]) ** 2
        self.t_s = t_s
        self.last_detection_t_s = t_s
        self.hits = 1
        self.confirmed = settings.min_hits <= 1

    def _noise(self) -> tuple[F64, float]:
        h = max(float(self.kf.x[3, 0]), 4.0)
        r = (self.settings.measurement_noise_frac * h) ** 2
        return np.diag([r, r, r * 4, r * 4]), h

    def predict(self, t_s: float) -> None:
        dt = max(t_s - self.t_s, 0.0)
        self.t_s = max(t_s, self.t_s)
        if dt == 0:
            return
        f = np.eye(6)
        f[0, 4] = f[1, 5] = dt
        _, h = self._noise()
        q_acc = (self.settings.accel_noise_frac_per_s2 * h) ** 2
        # Discrete white-noise acceleration on the centre; a small random walk on the size.
        q = np.zeros((6, 6))
        for pos, vel in ((0, 4), (1, 5)):
            q[pos, pos] = dt**4 / 4 * q_acc
            q[pos, vel] = q[vel, pos] = dt**3 / 2 * q_acc
            q[vel, vel] = dt**2 * q_acc
        q[2, 2] = q[3, 3] = (0.05 * h) ** 2 * dt
        self.kf.F = f
        self.kf.Q = q
        self.kf.predict()

    def update(self, box: F64) -> None:
        self.kf.R, _ = self._noise()
        self.kf.update(_box_to_z(box))

    @property
    def box(self) -> F64:
        cx, cy, w, h = self.kf.x[:4, 0]
        return np.array([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2])


class Tracker:
    """Call `update` on frames with detections and `carry` on frames in between."""

    def __init__(self, settings: TrackerSettings | None = None) -> None:
        self.settings = settings or TrackerSettings()
        self._tracks: list[_Track] = []
        self._next_id = 1

    def update(self, t_s: float, detections: Detections) -> Tracks:
        for tr in self._tracks:
            tr.predict(t_s)
        boxes = detections.xyxy.astype(np.float64)
        predicted = np.array([tr.box for tr in self._tracks]).reshape(-1, 4)
        iou = iou_matrix(predicted, boxes)
        matched_tracks: set[int] = set()
        matched_dets: set[int] = set()
        if iou.size:
            rows, cols = linear_sum_assignment(-iou)
            for r, c in zip(rows, cols, strict=True):
                if iou[r, c] >= self.settings.iou_gate:
                    matched_tracks.add(int(r))
                    matched_dets.add(int(c))
                    tr = self._tracks[r]
                    tr.update(boxes[c])
                    tr.hits += 1
                    tr.last_detection_t_s = t_s
                    tr.confirmed = tr.confirmed or tr.hits >= self.settings.min_hits
        survivors: list[_Track] = []
        for i, tr in enumerate(self._tracks):
            if i in matched_tracks or (tr.confirmed and t_s - tr.last_detection_t_s <= self.settings.max_age_s):
                survivors.append(tr)
        for c in range(len(boxes)):
            if c not in matched_dets:
                survivors.append(_Track(self._next_id, boxes[c], t_s, self.settings))
                self._next_id += 1
        self._tracks = survivors
        return self.tracks()

    def carry(self, t_s: float, boxes_by_id: Mapping[int, FloatArray | F64]) -> Tracks:
        """Advance to `t_s`, correcting tracks whose boxes optical flow followed."""
        for tr in self._tracks:
            tr.predict(t_s)
            moved = boxes_by_id.get(tr.id)
            if moved is not None:
                tr.update(np.asarray(moved, np.float64))
        self._tracks = [
            tr for tr in self._tracks if not tr.confirmed or t_s - tr.last_detection_t_s <= self.settings.max_age_s
        ]
        return self.tracks()

    def tracks(self) -> Tracks:
        if not self._tracks:
            return Tracks.empty()
        return Tracks(
            ids=np.array([tr.id for tr in self._tracks], np.int64),
            xyxy=np.array([tr.box for tr in self._tracks], np.float32),
            confirmed=np.array([tr.confirmed for tr in self._tracks], bool),
        )
