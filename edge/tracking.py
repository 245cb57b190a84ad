"""Multi-object tracker (pure): Detections -> Tracks.

One constant-velocity Kalman filter per person on the box centre, with the box size as slowly
varying state (filterpy's equations, stepped for all people at once as arrays), and Hungarian
assignment (scipy) on IoU. Real timestamps drive the filter, so a dropped live frame or a file's
true frame rate changes nothing but dt. A track counts as a person
only once it is confirmed by `min_hits` detections; tentative tracks that miss a detection die at
once, so one spurious box never becomes a person. Between detections, optical flow moves the boxes
(`carry`), which keeps the filter on the person without counting as a detection.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
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


def _boxes_to_z(boxes: F64) -> F64:
    """(N, 4) xyxy -> (N, 4) centre x, centre y, width, height (at least 1 px)."""
    b = np.asarray(boxes, np.float64).reshape(-1, 4)
    return np.stack(
        [
            (b[:, 0] + b[:, 2]) / 2,
            (b[:, 1] + b[:, 3]) / 2,
            np.maximum(b[:, 2] - b[:, 0], 1.0),
            np.maximum(b[:, 3] - b[:, 1], 1.0),
        ],
        axis=1,
    )


class _Filters:
    """Every track's constant-velocity Kalman filter, stepped together as arrays.

    The same filter as filterpy's `KalmanFilter` (predict x = Fx, P = FPF' + Q; Joseph-form update),
    but one set of array operations per frame for all tracks instead of a dozen small matrix calls per
    track: with 30+ people in view the per-track objects cost several milliseconds a frame.
    State per row: cx, cy, w, h, vx, vy (px, px/s); sizes have no velocity, people do not grow.
    """

    def __init__(self, settings: TrackerSettings) -> None:
        self.settings = settings
        self.x = np.zeros((0, 6))
        self.p = np.zeros((0, 6, 6))
        self.t_s = np.zeros(0)

    def add(self, boxes: F64, t_s: float) -> None:
        z = _boxes_to_z(boxes)
        h = z[:, 3:4]
        x = np.concatenate([z, np.zeros((len(z), 2))], axis=1)
        sd = np.concatenate([np.repeat(h * 0.1, 4, axis=1), np.repeat(h * 2.0, 2, axis=1)], axis=1)
        p = np.einsum("ni,ij->nij", sd**2, np.eye(6))
        self.x = np.concatenate([self.x, x])
        self.p = np.concatenate([self.p, p])
        self.t_s = np.concatenate([self.t_s, np.full(len(z), t_s)])

    def keep(self, rows: npt.NDArray[np.intp]) -> None:
        self.x, self.p, self.t_s = self.x[rows], self.p[rows], self.t_s[rows]

    def _height(self) -> F64:
        # Position noise grows with box height: a far person's pixel jitter is smaller.
        return np.maximum(self.x[:, 3], 4.0)

    def predict(self, t_s: float) -> None:
        dt = np.maximum(t_s - self.t_s, 0.0)
        self.t_s = np.maximum(t_s, self.t_s)
        rows = np.nonzero(dt > 0)[0]
        if len(rows) == 0:
            return
        dt, h = dt[rows], self._height()[rows]
        n = len(rows)
        f = np.broadcast_to(np.eye(6), (n, 6, 6)).copy()
        f[:, 0, 4] = f[:, 1, 5] = dt
        q_acc = (self.settings.accel_noise_frac_per_s2 * h) ** 2
        # Discrete white-noise acceleration on the centre; a small random walk on the size.
        q = np.zeros((n, 6, 6))
        for pos, vel in ((0, 4), (1, 5)):
            q[:, pos, pos] = dt**4 / 4 * q_acc
            q[:, pos, vel] = q[:, vel, pos] = dt**3 / 2 * q_acc
            q[:, vel, vel] = dt**2 * q_acc
        q[:, 2, 2] = q[:, 3, 3] = (0.05 * h) ** 2 * dt
        self.x[rows] = np.einsum("nij,nj->ni", f, self.x[rows])
        self.p[rows] = f @ self.p[rows] @ f.transpose(0, 2, 1) + q

    def update(self, rows: npt.NDArray[np.intp], boxes: F64) -> None:
        if len(rows) == 0:
            return
        x, p = self.x[rows], self.p[rows]
        r = (self.settings.measurement_noise_frac * self._height()[rows]) ** 2
        big_r = np.einsum("ni,ij->nij", np.stack([r, r, r * 4, r * 4], axis=1), np.eye(4))
        s = p[:, :4, :4] + big_r
        k = p[:, :, :4] @ np.linalg.inv(s)  # (n, 6, 4); H = [I 0] picks the first four rows/columns
        x = x + np.einsum("nij,nj->ni", k, _boxes_to_z(boxes) - x[:, :4])
        i_kh = np.broadcast_to(np.eye(6), (len(rows), 6, 6)).copy()
        i_kh[:, :, :4] -= k
        self.x[rows] = x
        self.p[rows] = i_kh @ p @ i_kh.transpose(0, 2, 1) + k @ big_r @ k.transpose(0, 2, 1)

    def boxes(self) -> F64:
        cx, cy, w, h = self.x[:, 0], self.x[:, 1], self.x[:, 2], self.x[:, 3]
        return np.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], axis=1)


class Tracker:
    """Call `update` on frames with detections and `carry` on frames in between."""

    def __init__(self, settings: TrackerSettings | None = None) -> None:
        self.settings = settings or TrackerSettings()
        self._kf = _Filters(self.settings)
        self._ids = np.zeros(0, np.int64)
        self._last_detection_t_s = np.zeros(0)
        self._hits = np.zeros(0, np.int64)
        self._confirmed = np.zeros(0, bool)
        self._next_id = 1

    def update(self, t_s: float, detections: Detections) -> Tracks:
        self._kf.predict(t_s)
        boxes = detections.xyxy.astype(np.float64).reshape(-1, 4)
        iou = iou_matrix(self._kf.boxes(), boxes)
        matched = np.zeros(len(self._ids), bool)
        matched_dets = np.zeros(len(boxes), bool)
        if iou.size:
            rows, cols = linear_sum_assignment(-iou)
            ok = iou[rows, cols] >= self.settings.iou_gate
            rows, cols = rows[ok], cols[ok]
            self._kf.update(rows, boxes[cols])
            matched[rows] = True
            matched_dets[cols] = True
            self._hits[rows] += 1
            self._last_detection_t_s[rows] = t_s
            self._confirmed[rows] |= self._hits[rows] >= self.settings.min_hits
        alive = self._confirmed & (t_s - self._last_detection_t_s <= self.settings.max_age_s)
        self._keep(np.nonzero(matched | alive)[0])
        new = boxes[~matched_dets]
        if len(new):
            self._kf.add(new, t_s)
            self._ids = np.concatenate([self._ids, np.arange(self._next_id, self._next_id + len(new))])
            self._next_id += len(new)
            self._last_detection_t_s = np.concatenate([self._last_detection_t_s, np.full(len(new), t_s)])
            self._hits = np.concatenate([self._hits, np.ones(len(new), np.int64)])
            self._confirmed = np.concatenate([self._confirmed, np.full(len(new), self.settings.min_hits <= 1)])
        return self.tracks()

    def carry(self, t_s: float, boxes_by_id: Mapping[int, FloatArray | F64]) -> Tracks:
        """Advance to `t_s`, correcting tracks whose boxes optical flow followed."""
        self._kf.predict(t_s)
        if boxes_by_id:
            row_of = {int(tid): k for k, tid in enumerate(self._ids)}
            pairs = [(row_of[tid], box) for tid, box in boxes_by_id.items() if tid in row_of]
            if pairs:
                rows = np.array([r for r, _ in pairs], np.intp)
                self._kf.update(rows, np.array([np.asarray(b, np.float64).reshape(4) for _, b in pairs]))
        stale = self._confirmed & (t_s - self._last_detection_t_s > self.settings.max_age_s)
        self._keep(np.nonzero(~stale)[0])
        return self.tracks()

    def _keep(self, rows: npt.NDArray[np.intp]) -> None:
        self._kf.keep(rows)
        self._ids, self._hits = self._ids[rows], self._hits[rows]
        self._last_detection_t_s, self._confirmed = self._last_detection_t_s[rows], self._confirmed[rows]

    def tracks(self) -> Tracks:
        if len(self._ids) == 0:
            return Tracks.empty()
        return Tracks(
            ids=self._ids.copy(),
            xyxy=self._kf.boxes().astype(np.float32),
            confirmed=self._confirmed.copy(),
        )
