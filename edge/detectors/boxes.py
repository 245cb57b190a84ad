"""Pure box arithmetic shared by the backends: IoU, non-maximum suppression and letterbox geometry."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

Float = npt.NDArray[np.float32]


def iou_matrix(a: Float, b: Float) -> Float:
    """IoU of every box in `a` (N, 4) with every box in `b` (M, 4), xyxy."""
    a = np.asarray(a, np.float32).reshape(-1, 4)
    b = np.asarray(b, np.float32).reshape(-1, 4)
    ix1 = np.maximum(a[:, None, 0], b[None, :, 0])
    iy1 = np.maximum(a[:, None, 1], b[None, :, 1])
    ix2 = np.minimum(a[:, None, 2], b[None, :, 2])
    iy2 = np.minimum(a[:, None, 3], b[None, :, 3])
    inter = np.clip(ix2 - ix1, 0, None) * np.clip(iy2 - iy1, 0, None)
    area_a = (a[:, 2] - a[:, 0]).clip(0) * (a[:, 3] - a[:, 1]).clip(0)
    area_b = (b[:, 2] - b[:, 0]).clip(0) * (b[:, 3] - b[:, 1]).clip(0)
    union = area_a[:, None] + area_b[None, :] - inter
    return np.where(union > 0, inter / np.maximum(union, 1e-12), 0.0).astype(np.float32)


def covered_share(xyxy: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """Per box (N, 4 xyxy), the largest share of its own area that one other box of the set covers (0 alone)."""
    b = np.asarray(xyxy, np.float64).reshape(-1, 4)
    if len(b) < 2:
        return np.zeros(len(b))
    iw = np.clip(np.minimum(b[:, None, 2], b[None, :, 2]) - np.maximum(b[:, None, 0], b[None, :, 0]), 0, None)
    ih = np.clip(np.minimum(b[:, None, 3], b[None, :, 3]) - np.maximum(b[:, None, 1], b[None, :, 1]), 0, None)
    inter = iw * ih
    np.fill_diagonal(inter, 0.0)
    area = np.maximum((b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1]), 1e-9)
    return np.asarray((inter / area[:, None]).max(axis=1), np.float64)


def nms(xyxy: Float, scores: Float, iou_threshold: float) -> npt.NDArray[np.int64]:
    """Indices kept by greedy NMS, best score first. A box is dropped when IoU > threshold with a kept one."""
    xyxy = np.asarray(xyxy, np.float32).reshape(-1, 4)
    order = np.argsort(-np.asarray(scores, np.float32), kind="stable")
    keep: list[int] = []
    while order.size:
        i = int(order[0])
        keep.append(i)
        if order.size == 1:
            break
        ious = iou_matrix(xyxy[i : i + 1], xyxy[order[1:]])[0]
        order = order[1:][ious <= iou_threshold]
    return np.asarray(keep, dtype=np.int64)


@dataclass(frozen=True)
class Letterbox:
    """How a frame was fitted into a square network input: uniform scale, then centred padding."""

    scale: float
    pad_x_px: float
    pad_y_px: float
    input_size_px: int

    @classmethod
    def fit(cls, width_px: int, height_px: int, input_size_px: int) -> Letterbox:
        scale = min(input_size_px / width_px, input_size_px / height_px)
        new_w, new_h = round(width_px * scale), round(height_px * scale)
        return cls(scale, (input_size_px - new_w) / 2, (input_size_px - new_h) / 2, input_size_px)

    def apply(self, image: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint8]:
        """The letterboxed image, grey (114) padding as the YOLO family was trained with."""
        h, w = image.shape[:2]
        new_w, new_h = round(w * self.scale), round(h * self.scale)
        resized = (
            cv2.resize(image, (new_w, new_h), interpolation=cv2.INTER_LINEAR) if (new_w, new_h) != (w, h) else image
        )
        top, left = round(self.pad_y_px - 0.1), round(self.pad_x_px - 0.1)
        bottom, right = self.input_size_px - new_h - top, self.input_size_px - new_w - left
        padded = cv2.copyMakeBorder(resized, top, bottom, left, right, cv2.BORDER_CONSTANT, value=(114, 114, 114))
        return np.asarray(padded, np.uint8)

    def to_original(self, xyxy_input: Float, width_px: int, height_px: int) -> Float:
        """Boxes in network-input pixels back to the original frame's pixels, clipped to the frame."""
        top, left = round(self.pad_y_px - 0.1), round(self.pad_x_px - 0.1)
        out = np.asarray(xyxy_input, np.float32).reshape(-1, 4).copy()
        out[:, [0, 2]] = (out[:, [0, 2]] - left) / self.scale
        out[:, [1, 3]] = (out[:, [1, 3]] - top) / self.scale
        out[:, [0, 2]] = out[:, [0, 2]].clip(0, width_px)
        out[:, [1, 3]] = out[:, [1, 3]].clip(0, height_px)
        return out


def cxcywh_to_xyxy(boxes: Float) -> Float:
    b = np.asarray(boxes, np.float32).reshape(-1, 4)
    half_w, half_h = b[:, 2] / 2, b[:, 3] / 2
    return np.stack([b[:, 0] - half_w, b[:, 1] - half_h, b[:, 0] + half_w, b[:, 1] + half_h], axis=1)
