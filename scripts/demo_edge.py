"""An edge node for the demo: `crowd-edge`'s pipeline on a video file, looped and played `speed` times faster,
publishing over MQTT with central's scaled clock.

    python -m scripts.demo_edge EDGE_CONFIG --speed 5 --clock-start EPOCH --port 1883 --queue out/q.sqlite

The demo accelerates time (central runs on `ScaledClock(clock_start, speed)`), so a camera has to keep up:
frames are released at `speed` x their rate, and the publisher's clock is the scaled one, so an interval
measured `t` video seconds after the start is stamped `scaled start + t`, on central's time line. Frames the
machine cannot process in time are dropped (as a live camera's are), never queued, so the data stays current.
Video time inside the pipeline is unchanged: speeds are still metres per video second.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from central.clock import ScaledClock
from edge.config import ConfigError, EdgeConfig, load
from edge.mqtt_client import MqttPublisher
from edge.pipeline import Pipeline, default_detector_factory
from edge.publishing import MetricsSink, health_from
from edge.snapshot import SnapshotDesk, scene_keeper
from edge.sources import FileSource, SourceCounters, SourceError
from edge.types import Frame

log = logging.getLogger("demo_edge")
MAX_BEHIND_VIDEO_S = 0.5  # drop frames once this far behind the accelerated schedule


class AcceleratedLoop:
    """A video file as an endless source, paced at `speed` x its frame rate; times keep growing over loops."""

    live = False

    def __init__(self, path: str, speed: float, stop: threading.Event, fps: float | None = None) -> None:
        self.path, self.speed, self._stop, self._fps_override = path, speed, stop, fps
        probe = FileSource(path, fps=fps)
        self._fps = probe.fps or 10.0
        probe.close()
        self.dropped = 0
        self.counters = SourceCounters()

    @property
    def frame_count(self) -> int | None:
        return None

    @property
    def fps(self) -> float | None:
        return self._fps

    def frames(self) -> Iterator[Frame | None]:
        start_wall = time.monotonic()
        offset_s, index = 0.0, 0
        while not self._stop.is_set():
            src = FileSource(self.path, fps=self._fps_override)
            last_t = 0.0
            try:
                for frame in src.frames():
                    if frame is None or self._stop.is_set():
                        break
                    t = offset_s + frame.t_s
                    last_t = frame.t_s
                    behind = (time.monotonic() - start_wall) * self.speed - t
                    self.counters.frames_read += 1
                    if behind > MAX_BEHIND_VIDEO_S:
                        self.dropped += 1
                        self.counters.frames_dropped += 1
                        continue
                    if behind < 0:
                        self._stop.wait(-behind / self.speed)
                    yield Frame(index, t, frame.image)
                    index += 1
            finally:
                src.close()
            offset_s += last_t + 1.0 / self._fps

    def close(self) -> None:
        self._stop.set()


def _each(hooks: list[Callable[[Frame], None]], frame: Frame) -> None:
    for hook in hooks:
        hook(frame)


def run(cfg: EdgeConfig, speed: float, clock_start_s: float, stop: threading.Event) -> int:
    clock = ScaledClock(clock_start_s, speed)
    source = AcceleratedLoop(cfg.camera.source, speed, stop, fps=cfg.camera.fps)
    publisher = MqttPublisher(cfg.mqtt, site=cfg.site, camera=cfg.camera.id, clock=clock.now)
    publisher.start()
    snapshots = SnapshotDesk(cfg.snapshot, site=cfg.site, camera=cfg.camera.id)
    keepers: list[Callable[[Frame], None]] = []  # the snapshot desk's frame hook, once the pipeline exists
    pipeline = Pipeline(
        cfg,
        source,
        [MetricsSink(publisher)],
        detector_factory=default_detector_factory,
        on_frame=lambda frame: _each(keepers, frame),
    )
    keepers.append(scene_keeper(pipeline, snapshots))
    publisher.set_snapshot_desk(snapshots)
    publisher.set_health_source(lambda: health_from(pipeline.stats()))
    try:
        stats = pipeline.run(stop)
    finally:
        publisher.stop(drain_timeout_s=2.0)
    log.info("stopped after %d frames (%d dropped to keep up)", stats.frames_processed, source.dropped)
    return 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m scripts.demo_edge", description=__doc__.split("\n")[0])
    ap.add_argument("config", help="edge config YAML")
    ap.add_argument("--source", help="video file instead of the config's camera.source")
    ap.add_argument("--speed", type=float, default=1.0)
    ap.add_argument("--clock-start", type=float, required=True, help="central's clock.start_s")
    ap.add_argument("--port", type=int, required=True, help="broker port on 127.0.0.1")
    ap.add_argument("--queue", required=True, help="store-and-forward queue file")
    ap.add_argument("--site", help="site id to publish under instead of the config's")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s demo_edge %(levelname)s %(message)s")
    try:
        cfg = load(args.config)
    except ConfigError as err:
        print(err, file=sys.stderr)
        return 2
    camera = cfg.camera if args.source is None else cfg.camera.model_copy(update={"source": args.source})
    if not Path(camera.source).is_file():
        print(f"{camera.source}: the demo edge plays video files; not found", file=sys.stderr)
        return 2
    mqtt = cfg.mqtt.model_copy(update={"host": "127.0.0.1", "port": args.port, "queue_path": args.queue})
    cfg = cfg.model_copy(update={"camera": camera, "mqtt": mqtt, "site": args.site or cfg.site})
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    try:
        return run(cfg, args.speed, args.clock_start, stop)
    except SourceError as err:
        print(err, file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
