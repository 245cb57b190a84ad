"""`crowd-edge`: run the edge on a source, draw a calibration check, count still images, or score a run.

Exit codes: 0 done, 2 bad input (config, calibration, missing or unreadable video), 1 anything else.
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import signal
import sys
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from types import FrameType

import cv2
import numpy as np

from edge import __version__, calibrate_cli, count_cli
from edge.annotate import Annotator
from edge.calibration import build_geometry, calibration_overlay
from edge.config import ConfigError, EdgeConfig, load
from edge.detectors import DetectorError
from edge.evaluation import GroundTruthDetector, format_table, load_mot, plot_counts, score, truth_metrics
from edge.geometry import CalibrationError
from edge.health import DEFAULT_HEALTH_PORT, EdgeHealth, HealthServer
from edge.mqtt_client import publisher_for
from edge.pipeline import DetectorFactory, Pipeline, PipelineStats, default_detector_factory, metrics_settings
from edge.publishing import MetricsSink, health_from
from edge.sinks import JsonlSink, Sink, metrics_to_dict, read_jsonl
from edge.snapshot import SnapshotDesk, scene_keeper
from edge.sources import SourceError, open_source
from edge.types import Frame

log = logging.getLogger("crowd-edge")
EXIT_BAD_INPUT = 2


class BadInput(Exception):
    """Input the operator must fix; printed without a traceback, exit code 2."""


def _load(path: str, source: str | None) -> EdgeConfig:
    cfg = load(path)
    if source is not None:
        cfg = cfg.model_copy(update={"camera": cfg.camera.model_copy(update={"source": source})})
    try:
        build_geometry(cfg)  # fail on a bad calibration or zone before opening any video
    except ValueError as err:  # CalibrationError too: name the file it is in
        raise ConfigError(f"{path}: {err}") from None
    return cfg


def _install_stop_handlers(stop: threading.Event) -> None:
    def handler(signum: int, _frame: FrameType | None) -> None:
        log.info("signal %d: stopping after this frame", signum)
        stop.set()

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, handler)
        signal.signal(signal.SIGINT, handler)


def run_edge(
    cfg: EdgeConfig,
    sinks: Sequence[Sink],
    *,
    realtime: bool = False,
    annotate: str | None = None,
    blur_people: bool = False,
    progress: bool = True,
    stop: threading.Event | None = None,
    detector_factory: DetectorFactory | None = None,
    frame_hook: Callable[[Frame], None] | None = None,
    on_pipeline: Callable[[Pipeline], None] | None = None,
) -> tuple[PipelineStats, list[tuple[int, float]]]:
    """Run the pipeline to the end of the source (or until stopped); returns its stats and the
    (index, time) of every processed frame."""
    source = open_source(cfg.camera.source, fps=cfg.camera.fps, realtime=realtime)
    seen: list[tuple[int, float]] = []
    bar = None
    if progress and source.frame_count and not source.live:
        from tqdm import tqdm

        bar = tqdm(total=source.frame_count, unit="frame", desc=cfg.camera.id, file=sys.stderr)

    def on_frame(frame: Frame) -> None:
        seen.append((frame.index, frame.t_s))
        if frame_hook is not None:
            frame_hook(frame)
        if bar is not None:
            bar.update(frame.index + 1 - bar.n)

    annotator = Annotator(annotate, fps=source.fps or 10.0, blur_people=blur_people) if annotate else None
    factory = detector_factory or default_detector_factory
    pipeline = Pipeline(cfg, source, sinks, detector_factory=factory, annotator=annotator, on_frame=on_frame)
    if on_pipeline is not None:
        on_pipeline(pipeline)
    stats = pipeline.run(stop)
    if bar is not None:
        bar.close()
    return stats, seen


def _cmd_run(args: argparse.Namespace) -> int:
    cfg = _load(args.config, args.source)
    stop = threading.Event()
    _install_stop_handlers(stop)
    sinks: list[Sink] = [JsonlSink(args.output)] if args.output else []
    publisher = None if args.no_mqtt else publisher_for(cfg)
    if publisher is not None:
        publisher.start()
        sinks.append(MetricsSink(publisher))  # closing the sink drains the queue (5 s) and publishes 'stopped'

    health = EdgeHealth(site=cfg.site, camera=cfg.camera.id, version=__version__)
    snapshots = SnapshotDesk(cfg.snapshot, site=cfg.site, camera=cfg.camera.id)
    keepers: list[Callable[[Frame], None]] = []  # the snapshot desk's frame hook, once the pipeline exists

    def wire_health(pipeline: Pipeline) -> None:
        keepers.append(scene_keeper(pipeline, snapshots))

        def figures() -> dict[str, float]:
            live: dict[str, float] = dict(dataclasses.asdict(health_from(pipeline.stats())))
            if publisher is not None:
                live["buffered_messages"] = len(publisher.outbox)
            return live

        health.watch(figures)
        if publisher is not None:
            publisher.set_health_source(lambda: health_from(pipeline.stats()))
            publisher.set_snapshot_desk(snapshots)

    def on_frame(frame: Frame) -> None:
        health.beat()
        for keep in keepers:
            keep(frame)

    server = HealthServer(health, host=args.health_host, port=args.health_port).start() if args.health_port else None
    t0 = time.perf_counter()
    try:
        stats, _ = run_edge(
            cfg,
            sinks,
            realtime=args.realtime,
            annotate=args.annotate,
            blur_people=args.blur_people,
            progress=not args.quiet,
            stop=stop,
            frame_hook=on_frame,
            on_pipeline=wire_health,
        )
    finally:
        health.stopping()
        if publisher is not None:
            publisher.stop(drain_timeout_s=0)  # no-op after a normal run (the sink stopped it); else says 'stopped'
        if server is not None:
            server.stop()
    wall = time.perf_counter() - t0
    print(
        f"{stats.frames_processed} frames in {wall:.1f} s ({stats.frames_processed / max(wall, 1e-9):.1f} fps); "
        f"skipped {stats.frames_skipped}, dropped {stats.frames_dropped}, detector {stats.detector_ms:.1f} ms"
        + (f"; metrics in {args.output}" if args.output else "")
        + (f"; annotated output in {args.annotate}" if args.annotate else ""),
        file=sys.stderr,
    )
    return 0


def _cmd_calibrate(args: argparse.Namespace) -> int:
    if args.from_people:
        return calibrate_cli.run(args)
    if not args.image or not args.out:
        raise BadInput("calibrate needs --image and --out (or --from-people)")
    cfg = _load(args.config, None)
    image = cv2.imread(args.image, cv2.IMREAD_COLOR)
    if image is None:
        raise BadInput(f"cannot read image: {args.image}")
    geometry = build_geometry(cfg, (image.shape[1], image.shape[0]))
    overlay = calibration_overlay(np.asarray(image, np.uint8), geometry, step_m=args.grid_m)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    if not cv2.imwrite(args.out, overlay):
        raise BadInput(f"cannot write image: {args.out}")
    h = geometry.homography
    print(f"reprojection error: mean {h.reprojection_error_m:.3f} m, max {h.max_reprojection_error_m:.3f} m")
    for z in geometry.zones:
        print(f"zone {z.id}: {z.area_m2:.1f} m2 ({'image' if z.in_image else 'ground'} polygon)")
    print(f"overlay written to {args.out}")
    return 0


def _cmd_eval(args: argparse.Namespace) -> int:
    cfg = _load(args.config, args.source)
    gt = load_mot(args.gt, scale=args.gt_scale)
    fps: float | None = None
    if args.metrics:
        run_rows = read_jsonl(args.metrics)
        src = open_source(cfg.camera.source, fps=cfg.camera.fps)
        frame_times = [(f.index, f.t_s) for f in src.frames() if f is not None]
        src.close()
    else:
        from edge.sinks import MemorySink

        memory = MemorySink()
        sinks: list[Sink] = [memory] + ([JsonlSink(args.output)] if args.output else [])
        factory: DetectorFactory | None = None
        if args.detector == "gt":
            factory = lambda _c, _g: GroundTruthDetector(gt)  # noqa: E731
        t0 = time.perf_counter()
        stats, frame_times = run_edge(cfg, sinks, progress=not args.quiet, detector_factory=factory)
        fps = stats.frames_processed / max(time.perf_counter() - t0, 1e-9)
        run_rows = [metrics_to_dict(m) for m in memory.metrics]
    frame_size = _frame_size(cfg)
    truth = truth_metrics(gt, frame_times, build_geometry(cfg, frame_size), metrics_settings(cfg), cfg.camera.id)
    scores = score(run_rows, truth)
    print(format_table(scores, fps))
    if args.plot:
        plot_counts(run_rows, truth, args.plot)
        print(f"plot written to {args.plot}")
    return 0


def _frame_size(cfg: EdgeConfig) -> tuple[int, int]:
    src = open_source(cfg.camera.source, fps=cfg.camera.fps)
    try:
        for f in src.frames():
            if f is not None:
                return f.image.shape[1], f.image.shape[0]
    finally:
        src.close()
    raise BadInput(f"no decodable frame in {cfg.camera.source}")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="crowd-edge", description="Crowd analytics edge node.")
    p.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = p.add_subparsers(dest="command", required=True)

    r = sub.add_parser("run", help="analyse a source and write per-zone metrics")
    r.add_argument("config", help="edge config YAML")
    r.add_argument("--source", help="override camera.source (file, folder, URL or webcam index)")
    r.add_argument("--output", help="write metrics as JSONL to this file")
    r.add_argument("--realtime", action="store_true", help="pace files at their frame rate")
    r.add_argument("--annotate", help="write annotated frames: a .mp4/.avi video or a folder of PNGs")
    r.add_argument("--blur-people", action="store_true", help="pixelate every tracked person in the --annotate output")
    r.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    r.add_argument("--no-mqtt", action="store_true", help="do not publish over MQTT (no broker needed)")
    r.add_argument(
        "--health-port",
        type=int,
        default=0,
        help=f"serve /healthz and Prometheus /metrics on this port (0: off; the container uses {DEFAULT_HEALTH_PORT})",
    )
    r.add_argument("--health-host", default="0.0.0.0", help="address for --health-port")
    r.set_defaults(func=_cmd_run)

    c = sub.add_parser("calibrate", help="draw a 1 m ground grid and the zones over a frame, or self-calibrate")
    c.add_argument("config")
    c.add_argument("--image", help="a frame of the camera (PNG/JPEG)")
    c.add_argument("--out", help="overlay PNG to write")
    c.add_argument("--grid-m", type=float, default=1.0, help="grid spacing in metres")
    calibrate_cli.add_arguments(c)
    c.set_defaults(func=_cmd_calibrate)

    n = sub.add_parser("count", help="count the people in still images (density map + boxes), with a heat map")
    count_cli.add_arguments(n)
    n.set_defaults(func=count_cli.run)

    e = sub.add_parser("eval", help="score a run against MOT ground truth")
    e.add_argument("config")
    e.add_argument("--gt", required=True, help="MOT gt.txt")
    e.add_argument("--gt-scale", type=float, default=1.0, help="multiply GT pixels by this (GT at another size)")
    e.add_argument("--source", help="override camera.source")
    e.add_argument("--metrics", help="score this JSONL instead of running the pipeline")
    e.add_argument("--output", help="also write the run's metrics JSONL here")
    e.add_argument("--detector", choices=["config", "gt"], default="config", help="gt: replay GT boxes")
    e.add_argument("--plot", help="PNG of counted versus true people over time")
    e.add_argument("-q", "--quiet", action="store_true")
    e.set_defaults(func=_cmd_eval)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.WARNING, format="%(levelname)s %(message)s")
    try:
        return int(args.func(args))
    except (ConfigError, CalibrationError, SourceError, BadInput, DetectorError, FileNotFoundError) as err:
        print(f"crowd-edge: error: {err}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except ValueError as err:
        print(f"crowd-edge: error: {err}", file=sys.stderr)
        return EXIT_BAD_INPUT


if __name__ == "__main__":
    sys.exit(main())
