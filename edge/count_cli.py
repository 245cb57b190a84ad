"""`crowd-edge count IMAGE...`: count the people in still images, for an operator checking a snapshot.

Each image is counted the way the edge counts a frame: the detector's boxes, and the density map weighed
against them by how much the boxes hide each other (`edge.density.blend`). With `--config` the camera's
zones and calibration are used (a count per zone, perspective-aware); without, the whole picture is one zone
and the network sees it at its own size (shrunk to `density.max_input_px`). `--heatmap DIR` writes each image
with the density map drawn over it.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np

from edge.calibration import build_geometry
from edge.config import DensityConfig, DetectorConfig, EdgeConfig, load
from edge.density import DensityCounter, DensityRun, blend_count, load_density_model
from edge.density.heatmap import draw_density
from edge.detectors import Detector, build_detector
from edge.geometry import Homography, Zone, make_zone
from edge.pipeline import default_detector_factory
from edge.types import Frame

__all__ = ["CountInputError", "add_arguments", "run"]

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff")


class CountInputError(ValueError):
    """An image, folder or output the operator must fix (exit 2)."""


def add_arguments(c: argparse.ArgumentParser) -> None:
    c.add_argument("images", nargs="+", help="image files or folders of images")
    c.add_argument("--config", help="edge config: count per zone, with its calibration and detector settings")
    c.add_argument("--heatmap", help="folder to write each image with its density map drawn over it")
    c.add_argument("--json", action="store_true", help="one JSON object per image instead of text")


def _images(paths: list[str]) -> Iterator[Path]:
    for name in paths:
        path = Path(name)
        if path.is_dir():
            found = sorted(p for p in path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
            if not found:
                raise CountInputError(f"{path}: no images ({', '.join(IMAGE_SUFFIXES)}) in this folder")
            yield from found
        elif path.is_file():
            yield path
        else:
            raise CountInputError(f"{path}: no such image or folder")


def _whole_image(size: tuple[int, int]) -> list[Zone]:
    """The whole picture as one zone; pixels stand in for metres (nothing here is measured on the ground)."""
    w, h = size
    return [make_zone("image", Homography.from_matrix(np.eye(3)), image_px=[[0, 0], [w, 0], [w, h], [0, h]])]


class _ImageCounter:
    """Detector and density counter for one image size (rebuilt when the size changes)."""

    def __init__(self, cfg: EdgeConfig | None) -> None:
        self.cfg = cfg
        density_cfg = (cfg.density if cfg else DensityConfig()).model_copy(update={"mode": "on"})
        model = load_density_model(density_cfg)
        assert model is not None  # mode "on": a missing model raised
        self.model = model
        self.density_cfg = density_cfg
        self.size: tuple[int, int] | None = None
        self.detector: Detector | None = None
        self.counter: DensityCounter | None = None

    def _resize(self, size: tuple[int, int]) -> None:
        cfg = self.cfg
        homography: Homography | None = None
        if cfg is not None:
            geometry = build_geometry(cfg, size)
            zones = list(geometry.zones)
            homography = geometry.homography
            self.detector = default_detector_factory(cfg, geometry)  # as the pipeline builds it
        else:
            zones = _whole_image(size)
            self.detector = build_detector(DetectorConfig())
        person_m = (cfg.detector if cfg else DetectorConfig()).person_height_m
        self.counter = DensityCounter(self.model, self.density_cfg, zones, homography, size, person_m)
        self.size = size

    def count(self, image: np.ndarray, index: int) -> tuple[DensityRun, dict[str, dict[str, float]]]:
        size = (image.shape[1], image.shape[0])
        if size != self.size:
            self._resize(size)
        assert self.detector is not None and self.counter is not None
        detections = self.detector.detect(Frame(index=index, t_s=0.0, image=image))
        run = self.counter.run(image, 0.0, detections)
        zones = {
            e.zone: {
                "count": round(blend_count(float(e.detected), e), 2),
                "density_map": round(e.density_count, 2),
                "boxes": e.detected,
                "density_weight": round(e.weight, 2),
            }
            for e in run.estimates
        }
        return run, zones


def run(args: argparse.Namespace) -> int:
    cfg = load(args.config) if args.config else None
    out_dir = Path(args.heatmap) if args.heatmap else None
    if out_dir is not None:
        out_dir.mkdir(parents=True, exist_ok=True)
    counter = _ImageCounter(cfg)
    for index, path in enumerate(_images(args.images)):
        image = cv2.imread(str(path), cv2.IMREAD_COLOR)
        if image is None:
            raise CountInputError(f"{path}: not an image OpenCV can read")
        density_run, zones = counter.count(np.asarray(image, np.uint8), index)
        total = sum(z["count"] for z in zones.values())
        if args.json:
            print(json.dumps({"image": str(path), "count": round(total, 2), "zones": zones}))
        else:
            detail = ", ".join(
                f"{zid} {z['count']:.1f} (map {z['density_map']:.1f}, boxes {z['boxes']:.0f}, "
                f"map weight {z['density_weight']:.2f})"
                for zid, z in zones.items()
            )
            print(f"{path}: {total:.1f} people; {detail}")
        if out_dir is not None:
            picture = np.array(image, np.uint8, copy=True)
            draw_density(picture, density_run.plan, density_run.density)
            target = out_dir / f"{path.stem}-density.png"
            if not cv2.imwrite(str(target), picture):
                raise CountInputError(f"cannot write {target}")
    sys.stdout.flush()
    return 0
