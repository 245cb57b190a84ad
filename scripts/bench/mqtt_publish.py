"""Messages per second from one edge publisher to Mosquitto at QoS 1: plain paho vs the project's publisher.

The project's figure includes everything a metrics message goes through: validation, numbering,
the SQLite outbox write (one commit per batch), the sender thread and deletion on PUBACK. The clock
stops when the broker has acknowledged every message. Starts its own Mosquitto on a free port
unless --host/--port are given.

    .venv/bin/python -m scripts.bench.mqtt_publish [--messages 20000] [--batch 10]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import threading
import time
from pathlib import Path

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from edge.config import MqttConfig
from edge.mqtt_client import MqttPublisher
from edge.types import ZoneMetrics
from scripts.bench.common import load_average, write_result

TARGET_MPS = 5000.0


def _metrics(k: int, zone: str) -> ZoneMetrics:
    return ZoneMetrics(
        camera="bench",
        zone=zone,
        frame_start=7 * k,
        frame_end=7 * k + 6,
        t_start=float(k),
        t_end=float(k + 1),
        count=3.5,
        count_max=5,
        area_m2=40.0,
        density=0.0875,
        speed_p50=1.02,
        speed_p85=1.31,
        los="A",
        stale=False,
        direction_deg=87.0,
    )


def bench_plain_paho(host: str, port: int, n: int, payload: bytes) -> float:
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="bench-plain", protocol=mqtt.MQTTv5)
    done = threading.Event()
    acked = [0]

    def on_publish(*_: object) -> None:
        acked[0] += 1
        if acked[0] >= n:
            done.set()

    client.on_publish = on_publish
    client.connect(host, port)
    client.loop_start()
    t0 = time.perf_counter()
    for _ in range(n):
        client.publish("bench/plain", payload, qos=1)
    if not done.wait(120):
        raise RuntimeError(f"plain paho: only {acked[0]} of {n} acknowledged")
    dt = time.perf_counter() - t0
    client.disconnect()
    client.loop_stop()
    return n / dt


def bench_publisher(host: str, port: int, n: int, batch: int, workdir: Path) -> float:
    cfg = MqttConfig(host=host, port=port, queue_path=str(workdir / f"bench-{batch}.sqlite"), queue_max_messages=10 * n)
    pub = MqttPublisher(cfg, site="bench", camera=f"bench{batch}")
    pub.start()
    deadline = time.monotonic() + 20
    while not pub.connected:
        if time.monotonic() > deadline:
            raise RuntimeError(f"could not connect to {host}:{port}")
        time.sleep(0.01)
    zones = [f"z{i}" for i in range(batch)]
    t0 = time.perf_counter()
    for k in range(n // batch):
        pub.publish_metrics([_metrics(k, z) for z in zones])
    if not pub.wait_drained(120):
        raise RuntimeError(f"publisher: {pub.buffered} messages never acknowledged")
    dt = time.perf_counter() - t0
    pub.stop()
    return (n // batch) * batch / dt


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="MQTT QoS 1 publish throughput")
    parser.add_argument("--messages", type=int, default=20_000)
    parser.add_argument("--batch", type=int, default=10, help="zones per publish_metrics call (one commit)")
    parser.add_argument("--host", default=None)
    parser.add_argument("--port", type=int, default=1883)
    args = parser.parse_args(argv)

    broker = None
    host, port = args.host, args.port
    load_before = load_average()
    with tempfile.TemporaryDirectory(prefix="bench-mqtt-") as tmp:
        if host is None:
            from devtools.broker import MosquittoBroker

            broker = MosquittoBroker(Path(tmp) / "mosquitto")
            broker.start()
            host, port = broker.host, broker.port
        try:
            payload = b'{"schema":"crowd.zone_metrics/1"' + b" " * 400 + b"}"
            plain = bench_plain_paho(host, port, args.messages, payload)
            print(f"plain paho QoS 1:             {plain:9.0f} msg/s ({args.messages} messages)")
            ours = bench_publisher(host, port, args.messages, args.batch, Path(tmp))
            print(f"MqttPublisher, batch {args.batch:3d}:     {ours:9.0f} msg/s (outbox + PUBACK-confirmed delete)")
            single = bench_publisher(host, port, args.messages // 4, 1, Path(tmp))
            print(f"MqttPublisher, batch   1:     {single:9.0f} msg/s ({args.messages // 4} messages)")
        finally:
            if broker is not None:
                broker.stop()
    ok = ours >= TARGET_MPS
    print(f"target >= {TARGET_MPS:.0f} msg/s (batch {args.batch}): {'PASS' if ok else 'FAIL'}")
    results = {"plain_paho_msgs_per_s": plain, "publisher_msgs_per_s": ours, "publisher_batch_1_msgs_per_s": single}
    target = {"msgs_per_s": TARGET_MPS, "batch": args.batch, "met": ok}
    write_result(
        "mqtt_publish", {"settings": vars(args), "load_avg_at_start": load_before, "results": results, "target": target}
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
