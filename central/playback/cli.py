"""`crowd-central record` and `crowd-central replay`: argparse sub-commands registered by central/cli.py.

`replay` takes a recording (JSONL) or a scenario (YAML): a scenario is built first (metric streams and
patrol reports) and played re-timed to the wall clock. Ctrl-C stops either cleanly: the recording keeps
every line written so far, the replay stops between two messages.
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
import time
from pathlib import Path

from central.clock import ScaledClock, SystemClock
from central.playback.mqtt import MqttError, MqttPublisher, record
from central.playback.records import RecordError, read_records
from central.playback.replay import Retime, replay

REPO = Path(__file__).resolve().parents[2]


def default_data_dir() -> Path:
    return Path(os.environ.get("CROWD_SHARED_DATA", REPO.parent / "shared" / "data"))


def _broker_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--host", default="localhost", help="broker host")
    p.add_argument("--port", type=int, default=1883, help="broker port")
    p.add_argument("--username", default=os.environ.get("CROWD_MQTT_USERNAME"), help="or CROWD_MQTT_USERNAME")


def _record(args: argparse.Namespace) -> int:
    stop = threading.Event()
    n = 0
    try:
        n = record(
            args.host,
            args.port,
            args.topic,
            args.out,
            duration_s=args.duration,
            max_messages=args.max_messages,
            stop=stop,
            username=args.username,
            password=os.environ.get("CROWD_MQTT_PASSWORD"),
        )
    except KeyboardInterrupt:
        stop.set()
        print(f"stopped; {args.out} keeps every message received", file=sys.stderr)
        return 130
    except MqttError as err:
        print(err, file=sys.stderr)
        return 2
    print(f"recorded {n} messages from {args.topic!r} to {args.out}")
    return 0


def _replay(args: argparse.Namespace) -> int:
    # Imported here: building scenarios needs pandas, which `crowd-central run` should not pay for at start.
    from central.playback.builders import build
    from central.playback.scenario import ScenarioError, load

    path = Path(args.file)
    try:
        if path.suffix.lower() in (".yaml", ".yml"):
            built = build(load(path), base_dir=path.parent, data_dir=Path(args.data_dir), start_epoch=time.time())
            records = built.records()
            retime: Retime = "wall" if args.retime is None else args.retime
        else:
            records = read_records(path)
            retime = "keep" if args.retime is None else args.retime
    except (ScenarioError, RecordError, OSError) as err:
        print(err, file=sys.stderr)
        return 2
    payload_time = None
    if args.central:
        import httpx

        try:
            health = httpx.get(args.central.rstrip("/") + "/healthz", timeout=5.0).json()
        except (httpx.HTTPError, ValueError) as err:
            print(f"cannot read {args.central}/healthz: {err}", file=sys.stderr)
            return 2
        if float(health.get("clock_speed") or 1.0) != args.speed:
            print(f"central's clock runs at x{health.get('clock_speed')}, not x{args.speed:g}", file=sys.stderr)
            return 2
        args.clock_start = health.get("clock_start_s")
    if args.clock_start is not None:
        payload_time = ScaledClock(args.clock_start, args.speed).at
    elif args.speed != 1 and retime == "wall":
        print(
            "note: payload times are wall times, so central sees the timeline squeezed; run central with "
            "--speed and pass its clock here (--central URL or --clock-start) to keep durations consistent",
            file=sys.stderr,
        )
    span = (records[-1].received_at - records[0].received_at) / args.speed if records else 0.0
    print(f"replaying {len(records)} messages over {span:.0f} s (x{args.speed:g}, retime={retime})", flush=True)
    stop = threading.Event()
    try:
        with MqttPublisher(
            args.host, args.port, username=args.username, password=os.environ.get("CROWD_MQTT_PASSWORD")
        ) as pub:
            stats = replay(
                records,
                pub,
                SystemClock(stop),
                speed=args.speed,
                retime=retime,
                should_stop=stop.is_set,
                payload_time=payload_time,
            )
    except KeyboardInterrupt:
        stop.set()
        print("stopped", file=sys.stderr)
        return 130
    except MqttError as err:
        print(err, file=sys.stderr)
        return 2
    print(
        f"sent {stats.sent} messages in {stats.finished_at - stats.started_at:.1f} s (latest {stats.late_max_s:.3f} s late)"
    )
    return 0


def add_record(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("record", help="record MQTT messages under a topic filter to JSONL")
    p.add_argument("out", help="JSONL file to append to")
    p.add_argument("--topic", default="crowd/#", help="topic filter (default crowd/#)")
    p.add_argument("--duration", type=float, help="stop after this many seconds")
    p.add_argument("--max-messages", type=int, help="stop after this many messages")
    _broker_args(p)
    p.set_defaults(func=_record)


def speed_arg(text: str) -> float:
    v = float(text)
    if not v > 0:
        raise argparse.ArgumentTypeError(f"speed must be > 0, got {text}")
    return v


def add_replay(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("replay", help="replay a recording (JSONL) or a scenario (YAML) with original timing x speed")
    p.add_argument("file", help="recording .jsonl or scenario .yaml")
    p.add_argument("--speed", type=speed_arg, default=1.0, help="time acceleration (default 1)")
    p.add_argument(
        "--retime",
        choices=["keep", "wall"],
        help="rewrite payload times to the moment of sending (default: wall for scenarios, keep for recordings)",
    )
    p.add_argument("--data-dir", default=str(default_data_dir()), help="shared data for real-data scenarios")
    p.add_argument("--clock-start", type=float, help="central's clock.start_s: stamp payloads on its scaled clock")
    p.add_argument("--central", help="central's base URL: read its clock (speed and start) from /healthz")
    _broker_args(p)
    p.set_defaults(func=_replay)
