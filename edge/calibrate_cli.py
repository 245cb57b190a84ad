"""`crowd-edge calibrate CONFIG --from-people`: self-calibrate a camera nobody surveyed.

Runs the detector over a few minutes of the source, fits the camera to the people seen
(`edge.selfcal`), prints it with its uncertainty, writes a config with the new
`calibration.homography` and draws the 1 m grid for a person to check. When the people cannot pin
the camera down it says why and writes nothing (the CLI exits 2), rather than a wild homography.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import yaml

from edge.calibration import build_geometry, calibration_overlay, put_outlined_text, text_scale
from edge.config import EdgeConfig, parse, read_raw, rebase_paths
from edge.selfcal import PersonSamples, SelfCalibration, SelfCalSettings, self_calibrate
from edge.selfcal_collect import CollectSettings, collect_people
from edge.sources import open_source

__all__ = ["CalibrateInputError", "add_arguments", "run"]

# Stands in for a missing calibration while the rest of the config is checked: a camera with no
# survey has none, and the config schema requires one.
_PLACEHOLDER = {"homography": [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]]}


class CalibrateInputError(ValueError):
    """An argument or output path the operator must fix (exit 2)."""


def add_arguments(c: argparse.ArgumentParser) -> None:
    """The self-calibration options of `crowd-edge calibrate`."""
    g = c.add_argument_group("self-calibration from the people in view (--from-people)")
    g.add_argument("--from-people", action="store_true", help="estimate the ground plane from people ~1.7 m tall")
    g.add_argument("--source", help="override camera.source for the detection run")
    g.add_argument("--duration-s", type=float, default=120.0, help="seconds of the source to look at (default 120)")
    g.add_argument("--write-config", help="write the config with the new calibration here (a new file)")
    g.add_argument("--in-place", action="store_true", help="allow --write-config to be the input config itself")
    g.add_argument("--focal-px", type=float, help="the lens's focal length in pixels, when known (else fitted)")
    g.add_argument("--person-height-m", type=float, help="mean height of the people (default detector.person_height_m)")
    g.add_argument("--min-people", type=int, default=SelfCalSettings.min_people, help="refuse with fewer people")


def _with_calibration(
    raw: dict[str, Any], calibration: dict[str, Any], origin: str
) -> tuple[dict[str, Any], EdgeConfig]:
    """The config with a new calibration, as it would be saved at `origin` (its relative paths resolved from there)."""
    data = {**raw, "calibration": calibration}
    return data, parse(data, origin, base_dir=Path(origin).parent)


def _reference_px(cfg: EdgeConfig) -> tuple[float, float] | None:
    """Where the uncertainty matters: the centre of the zones drawn in pixels (None: where people stood)."""
    polygons = [np.asarray(z.image_polygon, np.float64) for z in cfg.zones if z.image_polygon is not None]
    if not polygons:
        return None
    centre = np.concatenate(polygons).mean(axis=0)
    return float(centre[0]), float(centre[1])


def _first_frame(source: str, fps: float | None) -> np.ndarray[Any, np.dtype[np.uint8]]:
    src = open_source(source, fps=fps)
    try:
        for frame in src.frames():
            if frame is not None:
                return np.asarray(frame.image, np.uint8)
    finally:
        src.close()
    raise CalibrateInputError(f"no decodable frame in {source}")


def _report(fit: SelfCalibration) -> str:
    cam = fit.camera
    return "\n".join(
        [
            f"people: {fit.people} ({fit.samples} samples, {100 * fit.inlier_frac:.0f}% fit a 1.7 m upright person)",
            f"camera: focal {cam.focal_px:.0f} px (68% range {fit.focal_range_px[0]:.0f}-{fit.focal_range_px[1]:.0f}, "
            f"horizontal field of view {cam.hfov_deg:.0f} deg), tilt {cam.tilt_deg:.1f} deg down, "
            f"roll {cam.roll_deg:.1f} deg, height {cam.height_m:.2f} m, horizon at row {cam.horizon_row_px:.0f}",
            f"uncertainty at pixel ({fit.reference_px[0]:.0f}, {fit.reference_px[1]:.0f}): ground distances "
            f"+-{fit.distance_uncertainty_pct:.0f}%, areas and densities +-{fit.area_uncertainty_pct:.0f}% "
            f"(one standard deviation; people alone +-{fit.statistical_area_pct:.0f}% on areas)",
        ]
    )


def _header(fit: SelfCalibration, source: str) -> str:
    cam = fit.camera
    return (
        f"# Self-calibrated by `crowd-edge calibrate --from-people` from {fit.people} people on {source}:\n"
        f"# focal {cam.focal_px:.0f} px, tilt {cam.tilt_deg:.1f} deg, roll {cam.roll_deg:.1f} deg, camera "
        f"{cam.height_m:.2f} m up; densities +-{fit.area_uncertainty_pct:.0f}%, distances "
        f"+-{fit.distance_uncertainty_pct:.0f}% (1 sigma).\n"
        "# Ground frame: metres, origin below the camera, y away from it along the view, x to the right.\n"
    )


def run(args: argparse.Namespace) -> int:
    """The `--from-people` mode; raises ConfigError, SelfCalibrationError, SourceError or
    CalibrateInputError for the CLI to report with exit code 2. Writes nothing unless it succeeds."""
    if not args.write_config and not args.out:
        raise CalibrateInputError("--from-people needs --write-config and/or --out to write its result")
    if args.write_config and Path(args.write_config).resolve() == Path(args.config).resolve() and not args.in_place:
        raise CalibrateInputError(
            f"--write-config {args.write_config} is the input config: add --in-place to overwrite it"
        )
    if args.duration_s <= 0 or (args.focal_px is not None and args.focal_px <= 0):
        raise CalibrateInputError("--duration-s and --focal-px must be positive")
    raw: dict[str, Any] = read_raw(args.config)
    _, cfg = _with_calibration(raw, _PLACEHOLDER, args.config)  # the old calibration is being replaced
    source = args.source or cfg.camera.source
    height_m = args.person_height_m or cfg.detector.person_height_m
    samples: PersonSamples = collect_people(
        source, cfg.detector, fps=cfg.camera.fps, settings=CollectSettings(duration_s=args.duration_s)
    )
    settings = SelfCalSettings(person_height_m=height_m, focal_px=args.focal_px, min_people=args.min_people)
    fit = self_calibrate(samples, settings, reference_px=_reference_px(cfg))
    print(_report(fit))
    w, h = samples.image_size
    matrix = [[float(f"{v:.10g}") for v in row] for row in fit.homography.image_to_ground.tolist()]
    if args.write_config:  # a copy in another folder: its relative paths are rewritten to still find the files
        raw = rebase_paths(raw, Path(args.config).parent, Path(args.write_config).parent)
    data, new_cfg = _with_calibration(
        raw, {"homography": matrix, "image_size": [w, h]}, args.write_config or args.config
    )
    geometry = build_geometry(new_cfg, (w, h))  # zones reaching above the new horizon fail here, before writing
    for z in new_cfg.zones:
        if z.polygon is not None:
            print(f"note: zone {z.id} is a ground polygon in the old ground frame's metres: redraw it", file=sys.stderr)
    if new_cfg.lines:
        print("note: counting lines are in the old ground frame's metres: redraw them", file=sys.stderr)
    for zone in geometry.zones:
        print(f"zone {zone.id}: {zone.area_m2:.1f} m2")
    if args.out:
        image = _first_frame(source, cfg.camera.fps)
        if (image.shape[1], image.shape[0]) != (w, h):
            geometry = build_geometry(new_cfg, (image.shape[1], image.shape[0]))
        overlay = calibration_overlay(image, geometry, step_m=args.grid_m)
        note = f"self-calibrated from {fit.people} people: densities +-{fit.area_uncertainty_pct:.0f}% (1 sigma)"
        scale = text_scale(overlay.shape[0])
        put_outlined_text(overlay, note, (8, int(18 + 30 * scale)), scale)
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        if not cv2.imwrite(args.out, overlay):
            raise CalibrateInputError(f"cannot write image: {args.out}")
        print(f"overlay written to {args.out}")
    if args.write_config:
        out = Path(args.write_config)
        try:
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_text(
                _header(fit, source) + yaml.safe_dump(data, sort_keys=False, default_flow_style=None), encoding="utf-8"
            )
        except OSError as err:
            raise CalibrateInputError(f"cannot write config {out}: {err.strerror or err}") from None
        print(f"config written to {out}")
    return 0
