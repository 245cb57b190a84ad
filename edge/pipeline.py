"""The edge loop: source -> detector (every N frames) or optical flow -> tracker -> zone metrics -> sinks.

`Pipeline.run` reads in one sitting: per frame it detects or carries boxes, updates the tracks,
maps confirmed people's foot points to the ground, feeds the aggregator and hands closed intervals
to the sinks. A live source that has nothing new yields None; the loop then only lets the clock
advance, so a dead stream gives stale intervals, never made-up ones. Stop it by setting `stop`
(the CLI does on SIGTERM/SIGINT): the interval in progress is flushed and the sinks are closed.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from edge.annotate import Annotator, draw_frame
from edge.calibration import CameraGeometry, build_geometry
from edge.config import AUTO_DETECTIONS_PER_S, EdgeConfig
from edge.counting import CountSettings
from edge.density import DensityCounter, DensityRun, load_density_model
from edge.detect_ahead import DetectAhead
from edge.detectors import Detector, build_detector
from edge.flow import BoxFlow, DenseFlowSpeed, DenseSpeed, FlowImages, flow_images
from edge.metrics import FRUIN_WALKWAY_BANDS, MetricsSettings, Observation, ZoneMetricsAggregator
from edge.sinks import Sink
from edge.sources import Source
from edge.tracking import Tracker, TrackerSettings
from edge.types import Detections, Frame, Tracks, ZoneMetrics

log = logging.getLogger(__name__)

DetectorFactory = Callable[[EdgeConfig, CameraGeometry], Detector]
Gray = npt.NDArray[np.uint8]
_RATE_WINDOW_S = 10.0
_HOUR_S = 3600.0


def default_detector_factory(cfg: EdgeConfig, geometry: CameraGeometry) -> Detector:
    return build_detector(
        cfg.detector,
        image_to_ground=geometry.homography.image_to_ground,
        image_size=geometry.frame_size,
        zone_polygons_px=[zone.image_px for zone in geometry.zones],
    )


@dataclass(frozen=True)
class PipelineStats:
    """Health figures for the stats message; rates over the last 10 s of wall time."""

    frames_read: int
    frames_processed: int
    capture_fps: float
    processed_fps: float
    frames_dropped: int
    frames_skipped: int
    detector_ms: float
    detections_run: int
    source_reconnects_1h: int
    wall_s: float


def detection_interval(every_n_frames: int, source_fps: float | None) -> int:
    """`detector.every_n_frames`, with 0 ("auto") resolved for the source's frame rate (25 when unknown)."""
    if every_n_frames > 0:
        return every_n_frames
    return max(1, round((source_fps or 25.0) / AUTO_DETECTIONS_PER_S))


def metrics_settings(cfg: EdgeConfig) -> MetricsSettings:
    m = cfg.metrics
    return MetricsSettings(
        interval_s=m.interval_s,
        speed_window_s=m.speed_window_s,
        max_speed_mps=m.max_speed_mps,
        los_bands=dict(m.los_bands) if m.los_bands else dict(FRUIN_WALKWAY_BANDS),
        dense_flow_min_count=m.dense_flow_min_count,
        stale_after_s=m.stale_after_s,
        counting=CountSettings(mode=m.count_from, crowd_min_count=m.crowd_min_count, max_track_gap_s=m.max_track_gap_s),
        density_max_age_s=cfg.density.max_age_s,
    )


class Pipeline:
    def __init__(
        self,
        cfg: EdgeConfig,
        source: Source,
        sinks: Sequence[Sink],
        *,
        detector_factory: DetectorFactory = default_detector_factory,
        annotator: Annotator | None = None,
        on_frame: Callable[[Frame], None] | None = None,
        clock: Callable[[], float] = time.time,
        detect_ahead: bool = True,
    ) -> None:
        self.cfg = cfg
        self.source = source
        self.sinks = list(sinks)
        self.detector_factory = detector_factory
        self.annotator = annotator
        self.on_frame = on_frame
        self.clock = clock
        # Files only: a live source's next frame is not there yet, and waiting for it would add latency.
        self.detect_ahead = detect_ahead and not source.live
        self.every_n = detection_interval(cfg.detector.every_n_frames, source.fps)
        self._ahead: DetectAhead[FlowImages] | None = None
        t = cfg.tracking
        self.tracker = Tracker(TrackerSettings(min_hits=t.min_hits, max_age_s=t.max_age_s, iou_gate=t.iou_gate))
        # A 9 px window (on frames at most 640 px wide) costs a fifth less than 11 px and carried boxes
        # as well on PETS and the 720p benchmark clip, detecting every 4th frame (scripts/bench/edge_fps.py).
        self.box_flow = BoxFlow(win_px=9)
        self.dense_flow = DenseFlowSpeed(
            max_speed_mps=cfg.metrics.max_speed_mps, person_height_m=cfg.detector.person_height_m
        )
        # Zones are known before the first frame (areas do not depend on its size), so a live
        # source that never delivers still reports stale intervals.
        self.geometry = build_geometry(cfg)
        self.aggregator = ZoneMetricsAggregator(
            cfg.camera.id, self.geometry.zones, self.geometry.lines, metrics_settings(cfg), live=source.live
        )
        self.detector: Detector | None = None
        self.density_model = load_density_model(cfg.density)
        self.density: DensityCounter | None = None
        # Live sources run the density network beside the loop (it takes longer than a frame); files in line,
        # so that a replay gives the same numbers every time.
        self._density_pool = ThreadPoolExecutor(1, "density") if source.live and self.density_model else None
        self._density_job: Future[DensityRun] | None = None
        self.last_metrics: dict[str, ZoneMetrics] = {}
        self._sized = False
        self._tracks = Tracks.empty()
        # Boxes counted but not tracked (low scores) must be pixelated too in a privacy-blurred output.
        self._last_detected_xyxy: npt.NDArray[np.float32] | None = None
        self._prev_gray: Gray | None = None
        self._prev_small: Gray | None = None
        self._prev_t_s = 0.0
        self._frames_processed = 0
        self._detector_s_total = 0.0
        self._detections_run = 0
        self._started_wall = time.monotonic()
        self._rate_marks: deque[tuple[float, int, int]] = deque()
        self._reconnect_times: deque[float] = deque()
        self._reconnects_seen = 0
        self._lock = threading.Lock()

    @property
    def tracks(self) -> Tracks:
        """The latest frame's tracks (read by frame hooks, e.g. the snapshot desk, after `_process`)."""
        return self._tracks

    @property
    def last_detected_xyxy(self) -> npt.NDArray[np.float32] | None:
        """The detector's latest boxes, counted but not all tracked: a picture must pixelate them too."""
        return self._last_detected_xyxy

    def run(self, stop: threading.Event | None = None, max_frames: int | None = None) -> PipelineStats:
        stop = stop or threading.Event()
        frames = self.source.frames()
        if self.detect_ahead:
            # Two detection intervals of head start: the worker shares the cores with decoding and
            # optical flow, and with one interval the main thread still waited for a third of the
            # detections (720p, every 4th frame; 4% more frames/s with two).
            depth = 2 * self.every_n
            self._ahead = DetectAhead(depth, self._will_detect, lambda: self.detector, prepare=flow_images)
            frames = self._ahead.frames(frames)
        try:
            for frame in frames:
                if stop.is_set():
                    break
                if frame is None:
                    self._emit(self.aggregator.tick(self.clock()))
                else:
                    self._process(frame)
                    if max_frames is not None and self._frames_processed >= max_frames:
                        break
                self._watch_source()
        finally:
            if self._ahead is not None:
                self._ahead.close()
            if self._density_pool is not None:
                self._density_pool.shutdown(wait=True, cancel_futures=True)
            self._emit(self.aggregator.flush())
            self.source.close()
            for sink in self.sinks:
                sink.close()
            if self.annotator is not None:
                self.annotator.close()
        return self.stats()

    def _process(self, frame: Frame) -> None:
        size = (frame.image.shape[1], frame.image.shape[0])
        if not self._sized or size != self.geometry.frame_size:
            self._resize(size)
        images = self._ahead.prepared(frame) if self._ahead is not None else flow_images(frame.image)
        gray, small = images.gray, images.small

        every_n = self.every_n
        detections: Detections | None = None
        if self._frames_processed % every_n == 0 or self._prev_gray is None or self._prev_small is None:
            assert self.detector is not None
            if self._ahead is not None:
                detections, detector_s = self._ahead.detect(frame, self.detector)
            else:
                t0 = time.perf_counter()
                detections = self.detector.detect(frame)
                detector_s = time.perf_counter() - t0
            self._detector_s_total += detector_s
            self._detections_run += 1
            track_min = float(getattr(self.detector, "track_min_score", 0.0))
            trackable = detections if track_min <= 0 else detections[detections.scores >= track_min]
            self._tracks = self.tracker.update(frame.t_s, trackable)
            self._last_detected_xyxy = detections.xyxy
            self._count_dense(frame, detections)
        else:
            moved = self.box_flow.carry(
                self._prev_small, small, self._tracks.ids, self._tracks.xyxy, image_scale=images.scale
            )
            self._tracks = self.tracker.carry(frame.t_s, moved)

        dense: dict[str, DenseSpeed] = {}
        if self._prev_gray is not None:
            for zone in self.aggregator.zones_needing_dense_flow():
                dense[zone.id] = self.dense_flow.measure(
                    self._prev_gray, gray, frame.t_s - self._prev_t_s, zone, self.geometry.homography
                )
        self._emit(self.aggregator.add(self._observation(frame, detections), dense))

        if self.annotator is not None:
            los = {zone_id: m.los for zone_id, m in self.last_metrics.items()}
            image = draw_frame(
                frame,
                self._tracks,
                self.geometry,
                los,
                blur_people=self.annotator.blur_people,
                metrics_by_zone=self.last_metrics,
                detected_xyxy=self._last_detected_xyxy,
                density=None if self.density is None else self.density.last_run,
            )
            self.annotator.write(image, frame.index)
        if self.on_frame is not None:
            self.on_frame(frame)
        self._prev_gray, self._prev_small, self._prev_t_s = gray, small, frame.t_s
        with self._lock:
            self._frames_processed += 1
            self._rate_marks.append((time.monotonic(), self.source.counters.frames_read, self._frames_processed))

    def _count_dense(self, frame: Frame, detections: Detections) -> None:
        """Run the density map when due (see DensityCounter.due); its estimates correct the zones' counts."""
        counter = self.density
        if counter is None:
            return
        if self._density_job is not None:
            if not self._density_job.done():
                return
            self.aggregator.add_density(self._density_job.result().estimates)
            self._density_job = None
        if not counter.due(frame.t_s, detections):
            return
        if self._density_pool is not None:
            self._density_job = self._density_pool.submit(counter.run, frame.image, frame.t_s, detections)
        else:
            self.aggregator.add_density(counter.run(frame.image, frame.t_s, detections).estimates)

    def _will_detect(self, frame: Frame, frames_before: int) -> bool:
        """Whether `frame`, with `frames_before` frames still to process ahead of it, will be a detection frame
        (the rule in `_process`); frames after a size change are left to be detected when they come."""
        size = (frame.image.shape[1], frame.image.shape[0])
        if not self._sized or size != self.geometry.frame_size:
            return False
        return (self._frames_processed + frames_before) % self.every_n == 0

    def _observation(self, frame: Frame, detections: Detections | None) -> Observation:
        people = self._tracks.confirmed
        foot_px = self._tracks.foot_points_px[people].astype(np.float64)
        detected_px = None if detections is None else detections.foot_points_px.astype(np.float64)
        to_ground = self.geometry.homography.to_ground
        return Observation(
            frame_index=frame.index,
            t_s=frame.t_s,
            track_ids=self._tracks.ids[people],
            ground_m=to_ground(foot_px),
            image_px=foot_px,
            detected_ground_m=None if detected_px is None else to_ground(detected_px),
            detected_image_px=detected_px,
        )

    def _resize(self, size: tuple[int, int]) -> None:
        """First frame, or a stream that came back at another resolution: pixels change, metres do not."""
        if self._sized:
            log.warning("frame size changed from %s to %s; tracks restart", self.geometry.frame_size, size)
            self.tracker = Tracker(self.tracker.settings)
            self._tracks = Tracks.empty()
            self._prev_gray = self._prev_small = None
        self.geometry = build_geometry(self.cfg, size)
        self.aggregator.zones = list(self.geometry.zones)
        if self._ahead is not None:
            self._ahead.discard()
        self.detector = self.detector_factory(self._detector_cfg(), self.geometry)
        if self.density_model is not None:
            self.density = DensityCounter(
                self.density_model,
                self.cfg.density,
                self.geometry.zones,
                self.geometry.homography,
                size,
                self.cfg.detector.person_height_m,
            )
        self._sized = True

    def _detector_cfg(self) -> EdgeConfig:
        """The config the detector is built from, with `threads: 0` ("let it choose") resolved.

        Detecting ahead every few frames, the network runs in a worker beside the main thread's
        optical flow and tracking: a second intra-op thread would only compete with them for the
        cores. One thread costs 8% less CPU per frame and gave 20-30% more frames/s on the 2-core
        benchmark box (scripts/bench/edge_fps.py, 720p, every 4th frame). Detecting every frame, the network is
        nearly all the work; in line (live sources) the main thread waits for it: in both cases the
        runtime keeps its own choice of all cores.
        """
        det = self.cfg.detector
        if self.detect_ahead and self.every_n > 1 and det.threads == 0:
            return self.cfg.model_copy(update={"detector": det.model_copy(update={"threads": 1})})
        return self.cfg

    def _emit(self, metrics: list[ZoneMetrics]) -> None:
        if not metrics:
            return
        for m in metrics:
            self.last_metrics[m.zone] = m
        for sink in self.sinks:
            sink.write(metrics)

    def _watch_source(self) -> None:
        n = self.source.counters.reconnects
        now = time.monotonic()
        if n > self._reconnects_seen:
            self._reconnect_times.extend([now] * (n - self._reconnects_seen))
            self._reconnects_seen = n
        while self._reconnect_times and now - self._reconnect_times[0] > _HOUR_S:
            self._reconnect_times.popleft()

    def stats(self) -> PipelineStats:
        """Safe to call from another thread (the publisher's stats timer)."""
        now = time.monotonic()
        with self._lock:
            while len(self._rate_marks) > 2 and now - self._rate_marks[0][0] > _RATE_WINDOW_S:
                self._rate_marks.popleft()
            marks = list(self._rate_marks)
            processed = self._frames_processed
        capture_fps = processed_fps = 0.0
        if len(marks) >= 2 and marks[-1][0] > marks[0][0]:
            span = marks[-1][0] - marks[0][0]
            capture_fps = (marks[-1][1] - marks[0][1]) / span
            processed_fps = (marks[-1][2] - marks[0][2]) / span
        c = self.source.counters
        return PipelineStats(
            frames_read=c.frames_read,
            frames_processed=processed,
            capture_fps=capture_fps,
            processed_fps=processed_fps,
            frames_dropped=c.frames_dropped,
            frames_skipped=c.frames_skipped,
            detector_ms=1000.0 * self._detector_s_total / self._detections_run if self._detections_run else 0.0,
            detections_run=self._detections_run,
            source_reconnects_1h=len(self._reconnect_times),
            wall_s=now - self._started_wall,
        )
