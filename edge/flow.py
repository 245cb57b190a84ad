"""Optical flow: sparse Lucas-Kanade to carry boxes between detections, dense DIS flow for the
speed of a crowd too dense to track.

Both work on grayscale frames the pipeline converts once per frame.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

from edge.detectors.scale import camera_from_homography
from edge.geometry import Homography, Zone, heading_deg

F64 = npt.NDArray[np.float64]
Gray = npt.NDArray[np.uint8]

_LK_CRITERIA = (cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_COUNT, 20, 0.03)
MAX_PYRAMID_LEVEL = 2
# Share of the boxes that must have moved in the last step for the next one to use a shallow pyramid.
_SHALLOW_MIN_MOVED = 0.9
# Lucas-Kanade runs on a grey frame no wider than this: at 720p/1080p a full-size pyramid costs
# several times more for shifts that are small next to a person's box (scripts/bench/edge_fps.py).
FLOW_MAX_WIDTH_PX = 640


@dataclass(frozen=True)
class FlowImages:
    """One frame's grey images for optical flow: `gray` full size (dense flow), `small` at most
    FLOW_MAX_WIDTH_PX wide (Lucas-Kanade), `scale` = small / full size."""

    gray: Gray
    small: Gray
    scale: float


def flow_images(image: npt.NDArray[np.uint8]) -> FlowImages:
    """Grey and shrunk copies of a frame. A pure function of the image, so the pipeline can make them
    in a worker thread ahead of the frame (OpenCV releases the GIL here)."""
    gray: Gray = image if image.ndim == 2 else np.asarray(cv2.cvtColor(image, cv2.COLOR_BGR2GRAY), np.uint8)
    h, w = gray.shape[:2]
    scale = min(1.0, FLOW_MAX_WIDTH_PX / w)
    if scale == 1.0:
        return FlowImages(gray, gray, 1.0)
    size = (max(round(w * scale), 1), max(round(h * scale), 1))
    return FlowImages(gray, np.asarray(cv2.resize(gray, size, interpolation=cv2.INTER_AREA), np.uint8), scale)


class BoxFlow:
    """Moves each box by the median Lucas-Kanade shift of corners found inside it.

    Points that do not come back to where they started (forward-backward check) are dropped: they
    sit on an occluder's edge or on the background. A box with too few good points is not moved,
    so the tracker falls back to its own prediction. Between two detections a box keeps the points
    that survived the last step, as a KLT tracker does, while enough of them are still inside it:
    finding corners box by box cost the edge as much as the flow itself (scripts/bench/edge_fps.py).

    The pyramid is only as deep as the motion needs: one level above the image follows shifts of
    about a window, which at 25 fps is several times what a walker moves per frame; a slow frame
    rate, a fast mover or boxes that lost their points switch back to the full depth next step.
    """

    def __init__(
        self, points_per_box: int = 24, min_points: int = 3, max_fb_error_px: float = 1.0, win_px: int = 15
    ) -> None:
        self.points_per_box = points_per_box
        self.min_points = min_points
        self.max_fb_error_px = max_fb_error_px
        # Twice the minimum: a box can lose a few more points in the next step and still be moved.
        self.min_kept_points = 2 * min_points
        # LK's cost grows with points x window area; both dominate the edge's time between detections.
        self._lk_params = {"winSize": (win_px, win_px), "criteria": _LK_CRITERIA}
        self.pyramid_levels = MAX_PYRAMID_LEVEL  # levels above the image the next step's LK uses
        # A third of the window leaves the shallow pyramid three times the last step's largest shift.
        self._shallow_below_px = win_px / 3
        # The last call's good points by track id, in the pixels of the frame they ended in (`_kept_in`).
        self._kept: dict[int, npt.NDArray[np.float32]] = {}
        self._kept_in: Gray | None = None

    def carry(
        self, prev: Gray, curr: Gray, ids: npt.ArrayLike, boxes_xyxy: npt.ArrayLike, image_scale: float = 1.0
    ) -> dict[int, F64]:
        """Moved boxes by track id. `prev`/`curr` may be the frames shrunk by `image_scale` (boxes stay in
        full-frame pixels): LK on a 720p frame costs several times more than on a half-size one, for
        box shifts that a person's size dwarfs anyway."""
        boxes = np.asarray(boxes_xyxy, np.float64).reshape(-1, 4)
        id_list = [int(i) for i in np.asarray(ids).reshape(-1)]
        # Points carry over only when this call continues the last one (its `curr` is our `prev`):
        # after a detection frame the boxes are new, and so must their points be.
        kept = self._kept if self._kept_in is prev else {}
        self._kept, self._kept_in = {}, curr
        starts, owners = self._start_points(prev, boxes * image_scale, id_list, kept)
        if not starts:
            return {}
        p0 = np.concatenate(starts).reshape(-1, 1, 2)
        lk = {**self._lk_params, "maxLevel": self.pyramid_levels}
        p1, st1, _ = cv2.calcOpticalFlowPyrLK(prev, curr, p0, None, **lk)  # type: ignore[call-overload]
        p0r, st2, _ = cv2.calcOpticalFlowPyrLK(curr, prev, p1, None, **lk)  # type: ignore[call-overload]
        fb = np.linalg.norm((p0 - p0r).reshape(-1, 2), axis=1)
        good = (st1.reshape(-1) == 1) & (st2.reshape(-1) == 1) & (fb < self.max_fb_error_px)
        ends = p1.reshape(-1, 2)[good]
        shifts = (ends - p0.reshape(-1, 2)[good]).astype(np.float64)
        owner_arr = np.asarray(owners, np.int64)[good]
        self._keep(owner_arr, ends, id_list)
        counts = np.bincount(owner_arr, minlength=len(boxes))
        moved = np.nonzero(counts >= self.min_points)[0]
        if len(moved) == 0:
            self.pyramid_levels = MAX_PYRAMID_LEVEL
            return {}
        medians_px = _grouped_median(owner_arr, shifts, counts, moved)
        self._choose_depth(float(np.abs(medians_px).max()), len(moved) / len(boxes))
        medians = medians_px / image_scale
        return {id_list[k]: boxes[k] + np.array([dx, dy, dx, dy]) for k, (dx, dy) in zip(moved, medians, strict=True)}

    def _choose_depth(self, largest_shift_px: float, moved_share: float) -> None:
        shallow = largest_shift_px <= self._shallow_below_px and moved_share >= _SHALLOW_MIN_MOVED
        self.pyramid_levels = 1 if shallow else MAX_PYRAMID_LEVEL

    def _start_points(
        self, prev: Gray, boxes: F64, id_list: list[int], kept: dict[int, npt.NDArray[np.float32]]
    ) -> tuple[list[npt.NDArray[np.float32]], list[int]]:
        """Per box (in `prev`'s pixels) its kept points if enough are still inside it, else fresh corners;
        and for every point the index of its box."""
        h, w = prev.shape[:2]
        starts: list[npt.NDArray[np.float32]] = []
        owners: list[int] = []
        for k, (x1, y1, x2, y2) in enumerate(boxes):
            # The box's middle avoids the background at its corners.
            bx1, by1 = int(max(x1 + (x2 - x1) * 0.15, 0)), int(max(y1 + (y2 - y1) * 0.05, 0))
            bx2, by2 = int(min(x2 - (x2 - x1) * 0.15, w)), int(min(y2 - (y2 - y1) * 0.05, h))
            if bx2 - bx1 < 4 or by2 - by1 < 4:
                continue
            pts = kept.get(id_list[k])
            if pts is not None:
                pts = pts[(pts[:, 0] >= bx1) & (pts[:, 0] < bx2) & (pts[:, 1] >= by1) & (pts[:, 1] < by2)]
            if pts is None or len(pts) < self.min_kept_points:
                found = cv2.goodFeaturesToTrack(
                    prev[by1:by2, bx1:bx2], maxCorners=self.points_per_box, qualityLevel=0.01, minDistance=3
                )
                if found is None:
                    continue
                pts = (found.reshape(-1, 2) + np.array([bx1, by1], np.float32)).astype(np.float32)
            starts.append(pts)
            owners.extend([k] * len(pts))
        return starts, owners

    def _keep(self, owners: npt.NDArray[np.int64], ends: npt.NDArray[np.float32], id_list: list[int]) -> None:
        for k in np.unique(owners):
            self._kept[id_list[int(k)]] = np.ascontiguousarray(ends[owners == k], np.float32)


def _grouped_median(
    groups: npt.NDArray[np.int64], values: F64, counts: npt.NDArray[np.int64], wanted: npt.NDArray[np.int64]
) -> F64:
    """Per wanted group, the median of its (N, 2) values: one NaN-padded table instead of a median
    call per box (a few dozen boxes per frame made np.median's overhead a third of the flow's time)."""
    order = np.argsort(groups, kind="stable")
    g, v = groups[order], values[order]
    slot = np.arange(len(g)) - (np.cumsum(counts) - counts)[g]
    table = np.full((len(counts), int(counts.max()), 2), np.nan)
    table[g, slot] = v
    ordered = np.sort(table[wanted], axis=1)  # each coordinate on its own; NaN padding sorts last
    n, rows = counts[wanted], np.arange(len(wanted))
    return np.asarray((ordered[rows, (n - 1) // 2] + ordered[rows, n // 2]) / 2, np.float64)


@dataclass(frozen=True)
class DenseSpeed:
    """Ground speeds of a zone's moving pixels between two frames."""

    speed_p50_mps: float | None
    speed_p85_mps: float | None
    direction_deg: float | None
    moving_fraction: float


class DenseFlowSpeed:
    """Speed of a dense crowd from DIS optical flow, projected onto the ground.

    Each moving pixel's displacement is mapped to metres, so a pixel far from the camera counts its
    true metres. Flow is computed only on the zone's bounding rectangle.

    Two corrections make this the walkers' speed, neither inflated by their height nor diluted by the pavement:
    - The pixels that move are on bodies, on average half a person's height above the ground, not on it.
      Through the ground homography a torso pixel lands where its ray meets the ground, behind the person,
      and its motion grows by camera height / (camera height - pixel height): every walker read too fast
      by that factor. Displacements are therefore measured on the horizontal plane at half
      `person_height_m` (the camera recovered from the homography, edge/detectors/scale.py), which is
      exact for the body's middle and errs either way for the feet and the head; where no camera
      explains the homography, the ground plane is used as before.
    - DIS's ultrafast preset stops at a quarter of the resolution with 8 px patches, so flow cells on a
      walker's outline straddle person and pavement: the pavement around every walker picks up part of
      their motion, passes the moving threshold and counts as slow walkers. A pixel is therefore taken as
      moving only where the flow explains the change between the frames better than no motion does
      (`_flow_explains_change`): still pavement is explained by no motion, and moving it only adds residual.
    People standing still do not move in the image and are not measured here; the tracks path counts them.
    """

    def __init__(
        self,
        min_flow_px: float = 0.5,
        max_speed_mps: float = 4.0,
        person_height_m: float = 1.7,
        finest_scale: int = 2,
    ) -> None:
        self.min_flow_px = min_flow_px
        self.max_speed_mps = max_speed_mps
        self.body_height_m = person_height_m / 2
        self._dis = cv2.DISOpticalFlow.create(cv2.DISOPTICAL_FLOW_PRESET_ULTRAFAST)
        self._dis.setFinestScale(finest_scale)
        self._masks: dict[tuple[str, int, int], tuple[tuple[int, int, int, int], npt.NDArray[np.bool_]]] = {}
        self._planes: dict[tuple[bytes, int, int], Homography] = {}

    def body_plane(self, homography: Homography, frame_size_px: tuple[int, int]) -> Homography:
        """Image -> metres on the horizontal plane at `body_height_m`, for frames of (width, height);
        the ground homography itself where no plausible camera explains it."""
        key = (homography.image_to_ground.tobytes(), frame_size_px[0], frame_size_px[1])
        if key not in self._planes:
            plane = homography
            camera = camera_from_homography(homography.image_to_ground, frame_size_px)
            if camera is not None:
                # The plane z = c projects through P [x, y, c, 1]: columns p1, p2 and p4 + c p3.
                to_image = np.column_stack(
                    [camera[:, 0], camera[:, 1], camera[:, 3] + self.body_height_m * camera[:, 2]]
                )
                try:
                    plane = Homography.from_matrix(np.linalg.inv(to_image))
                except (np.linalg.LinAlgError, ValueError):
                    plane = homography
            self._planes[key] = plane
        return self._planes[key]

    def _mask(self, zone: Zone, shape: tuple[int, int]) -> tuple[tuple[int, int, int, int], npt.NDArray[np.bool_]]:
        key = (zone.id, shape[0], shape[1])
        if key not in self._masks:
            full = np.zeros(shape, np.uint8)
            poly = np.nan_to_num(zone.image_px).round().astype(np.int32)
            cv2.fillPoly(full, [poly], 1)
            ys, xs = np.nonzero(full)
            if len(xs) == 0:
                self._masks[key] = ((0, 0, 0, 0), np.zeros((0, 0), bool))
            else:
                x1, y1, x2, y2 = int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1
                self._masks[key] = ((x1, y1, x2, y2), full[y1:y2, x1:x2].astype(bool))
        return self._masks[key]

    def measure(self, prev: Gray, curr: Gray, dt_s: float, zone: Zone, homography: Homography) -> DenseSpeed:
        (x1, y1, x2, y2), mask = self._mask(zone, (prev.shape[0], prev.shape[1]))
        if mask.size == 0 or dt_s <= 0:
            return DenseSpeed(None, None, None, 0.0)
        a, b = np.ascontiguousarray(prev[y1:y2, x1:x2]), np.ascontiguousarray(curr[y1:y2, x1:x2])
        flow = np.asarray(self._dis.calc(a, b, None), np.float32)  # type: ignore[call-overload]
        mag = np.linalg.norm(flow, axis=2)
        moving = mask & (mag >= self.min_flow_px) & _flow_explains_change(a, b, flow)
        frac = float(moving.sum()) / max(int(mask.sum()), 1)
        if not moving.any():
            return DenseSpeed(None, None, None, frac)
        ys, xs = np.nonzero(moving)
        # Subsample: a few thousand pixels give the same percentiles as all of them.
        if len(xs) > 4000:
            pick = np.linspace(0, len(xs) - 1, 4000).astype(int)
            ys, xs = ys[pick], xs[pick]
        p0 = np.stack([xs + x1, ys + y1], axis=1).astype(np.float64)
        p1 = p0 + flow[ys, xs].astype(np.float64)
        plane = self.body_plane(homography, (prev.shape[1], prev.shape[0]))
        disp = plane.to_ground(p1) - plane.to_ground(p0)
        speed = np.linalg.norm(disp, axis=1) / dt_s
        ok = np.isfinite(speed) & (speed <= self.max_speed_mps)
        if not ok.any():
            return DenseSpeed(None, None, None, frac)
        mean = disp[ok].mean(axis=0)
        direction = heading_deg(float(mean[0]), float(mean[1]))
        return DenseSpeed(float(np.percentile(speed[ok], 50)), float(np.percentile(speed[ok], 85)), direction, frac)


def _flow_explains_change(prev: Gray, curr: Gray, flow: npt.NDArray[np.float32]) -> npt.NDArray[np.bool_]:
    """Pixels where the next frame, pulled back along the flow, matches this one better than the next
    frame unmoved does: there something moved as the flow says. The pavement next to a walker, which DIS
    smears part of the walker's motion onto, stays where it was, and its residual only grows when moved."""
    h, w = prev.shape
    map_x = (np.arange(w, dtype=np.float32)[None, :] + flow[..., 0]).astype(np.float32)
    map_y = (np.arange(h, dtype=np.float32)[:, None] + flow[..., 1]).astype(np.float32)
    warped = cv2.remap(curr, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    still = cv2.absdiff(curr, prev)
    moved = cv2.absdiff(warped, prev)
    return np.asarray(still > moved, np.bool_)
