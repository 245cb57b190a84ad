"""Peak resident memory: an edge node on a long stream replayed fast, and central with 1,000 zones.

Edge: the 720p clip's first frames looped as one continuous stream (`--hours` of stream time at
`--stream-fps`), with the clip's true boxes as detections (the network's memory is fixed; leaving
it out keeps an hour affordable) and a counting line, so every loop brings new track ids. Central:
its own process with 1,000 zones, fed `--rounds` seconds of metrics for every zone as fast as it
takes them. Resident memory is sampled throughout; growth over the second half of the run is the
sign of state that grows without bound.

    .venv/bin/python -m scripts.bench.memory [--hours 1] [--stream-fps 5] [--rounds 300] [--only edge|central]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import psutil

from devtools.broker import MosquittoBroker
from edge.config import LineConfig, load
from edge.pipeline import Pipeline
from edge.sinks import MemorySink
from edge.sources import SourceCounters
from edge.types import Detections, Frame
from scripts.bench.central_site import EdgeFleet, start_central, zones
from scripts.bench.clips import ensure_clips, load_gt_boxes
from scripts.bench.common import print_table, write_result


class LoopSource:
    """A file's first frames repeated as one endless stream, timestamps always advancing."""

    live = False

    def __init__(self, images: list[np.ndarray], fps: float, total_frames: int) -> None:
        self.images, self._fps, self.total = images, fps, total_frames
        self.counters = SourceCounters(connected=True)

    @property
    def frame_count(self) -> int | None:
        return self.total

    @property
    def fps(self) -> float | None:
        return self._fps

    def frames(self) -> Iterator[Frame | None]:
        for k in range(self.total):
            self.counters.frames_read += 1
            yield Frame(k, k / self._fps, self.images[k % len(self.images)])

    def close(self) -> None:
        pass


class LoopTruth:
    name = "truth"

    def __init__(self, truth: list[np.ndarray], loop: int) -> None:
        self.truth, self.loop = truth, loop

    def detect(self, frame: Frame) -> Detections:
        boxes = self.truth[frame.index % self.loop]
        return Detections(boxes, np.full(len(boxes), 0.9, np.float32))


def _slope_mb_per_h(samples: list[tuple[float, float]]) -> float:
    half = samples[len(samples) // 2 :]
    if len(half) < 2:
        return 0.0
    t, m = np.array(half).T
    return float(np.polyfit(t / 3600.0, m, 1)[0])


def edge(hours: float, stream_fps: float, loop_frames: int) -> dict[str, Any]:
    clip = ensure_clips()["720p"]
    cap = cv2.VideoCapture(str(clip.video))
    images = [cap.read()[1] for _ in range(loop_frames)]
    cap.release()
    raw = load(clip.config)
    line = LineConfig(id="mid", points=[[-3.0, 7.0], [3.0, 7.0]], zone="plaza")
    cfg = raw.model_copy(update={"detector": raw.detector.model_copy(update={"every_n_frames": 4}), "lines": [line]})
    truth = load_gt_boxes(clip.gt, loop_frames)
    total = round(hours * 3600 * stream_fps)
    source = LoopSource(images, stream_fps, total)
    sink = MemorySink()
    proc = psutil.Process()
    samples: list[tuple[float, float]] = []

    def on_frame(frame: Frame) -> None:
        if frame.index % 500 == 0:
            samples.append((frame.t_s, proc.memory_info().rss / 2**20))
        if len(sink.metrics) > 1000:  # a real sink sends them on; keep the bench's own list bounded
            sink.metrics.clear()

    pipeline = Pipeline(
        cfg, source, [sink], detector_factory=lambda c, g: LoopTruth(truth, loop_frames), on_frame=on_frame
    )
    t0 = time.perf_counter()
    pipeline.run()
    wall = time.perf_counter() - t0
    return {
        "part": "edge",
        "stream_s": total / stream_fps,
        "frames": total,
        "wall_s": wall,
        "rss_start_mb": samples[0][1],
        "rss_peak_mb": max(m for _, m in samples),
        "rss_end_mb": samples[-1][1],
        "growth_mb_per_stream_h_second_half": _slope_mb_per_h(samples),
        "samples": samples,
    }


def central(n_zones: int, rounds: int, workdir: Path) -> dict[str, Any]:
    broker = MosquittoBroker(workdir / "mosquitto")
    broker.start()
    refs = zones(n_zones)
    proc = start_central(broker, workdir / "central", refs)
    fleet = EdgeFleet(broker)
    assert proc.proc is not None
    ps = psutil.Process(proc.proc.pid)
    samples: list[tuple[float, float]] = []
    rng = np.random.default_rng(0)
    start = time.time() - rounds
    t0 = time.perf_counter()
    try:
        for r in range(rounds):
            infos = [fleet.publish(z, float(0.3 + 0.2 * rng.random()), measured_at=start + r) for z in refs]
            infos[-1].wait_for_publish(60)
            if r % 10 == 0:
                samples.append((float(r), ps.memory_info().rss / 2**20))
        time.sleep(2.0)
        samples.append((float(rounds), ps.memory_info().rss / 2**20))
    finally:
        fleet.close()
        proc.stop()
        broker.stop()
    return {
        "part": "central",
        "zones": n_zones,
        "stream_s": rounds,
        "messages": rounds * n_zones,
        "wall_s": time.perf_counter() - t0,
        "rss_start_mb": samples[0][1],
        "rss_peak_mb": max(m for _, m in samples),
        "rss_end_mb": samples[-1][1],
        "growth_mb_per_stream_h_second_half": _slope_mb_per_h(samples),
        "samples": samples,
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--hours", type=float, default=1.0, help="edge: stream time")
    ap.add_argument("--stream-fps", type=float, default=5.0, help="edge: frames per stream second")
    ap.add_argument("--loop-frames", type=int, default=25, help="edge: distinct frames looped")
    ap.add_argument("--zones", type=int, default=1000)
    ap.add_argument("--rounds", type=int, default=300, help="central: seconds of metrics for every zone")
    ap.add_argument("--only", choices=["edge", "central"])
    args = ap.parse_args()
    rows: list[dict[str, Any]] = []
    if args.only in (None, "edge"):
        rows.append(edge(args.hours, args.stream_fps, args.loop_frames))
        print(f"edge: peak {rows[-1]['rss_peak_mb']:.0f} MB", flush=True)
    if args.only in (None, "central"):
        with tempfile.TemporaryDirectory() as tmp:
            rows.append(central(args.zones, args.rounds, Path(tmp)))
    print_table(
        ["part", "stream s", "wall s", "RSS start MB", "RSS peak MB", "RSS end MB", "MB per stream-hour (2nd half)"],
        [
            [
                r["part"],
                r["stream_s"],
                r["wall_s"],
                r["rss_start_mb"],
                r["rss_peak_mb"],
                r["rss_end_mb"],
                r["growth_mb_per_stream_h_second_half"],
            ]
            for r in rows
        ],
    )
    write_result(f"memory_{args.only}" if args.only else "memory", {"settings": vars(args), "results": rows})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
