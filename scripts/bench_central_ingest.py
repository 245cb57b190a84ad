"""Ingest throughput of one central worker: edge metric messages per second from MQTT into SQLite / PostgreSQL.

A real Mosquitto broker holds a backlog (N messages published while the worker was away, kept by its
persistent session); the worker then starts and drains it through validation, dedupe and batched writes,
with its evaluator running beside it. Prints messages per second per database.

    .venv/bin/python -m scripts.bench_central_ingest                     # 30,000 messages, SQLite and PostgreSQL
    .venv/bin/python -m scripts.bench_central_ingest --n 100000 --db sqlite
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
import uuid
from pathlib import Path

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from central.config import CentralConfig, parse
from central.service import CentralService
from tests.support.mosquitto import MosquittoBroker

PG_ADMIN = "host=127.0.0.1 port=5432 user=postgres dbname=test"


def _config(db_url: str, port: int, zones: int) -> CentralConfig:
    ring = [[8.54, 47.37], [8.5404, 47.37], [8.5404, 47.3702], [8.54, 47.3702]]
    return parse(
        {
            "site": {"id": "bench"},
            "mqtt": {"host": "127.0.0.1", "port": port, "client_id": "bench-central"},
            "database": {"url": db_url, "batch_ms": 50},
            "http": {"port": 0},
            "zones": [
                {"id": f"z{i}", "camera": f"cam{i // 4}", "edge_zone": f"e{i % 4}", "polygon": ring}
                for i in range(zones)
            ],
        }
    )


def _publish_backlog(port: int, n: int, zones: int) -> None:
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="bench-edge", protocol=mqtt.MQTTv5)
    client.max_inflight_messages_set(1000)
    client.connect("127.0.0.1", port)
    client.loop_start()
    t0 = time.time() - n
    infos = []
    seqs = [0] * zones
    for i in range(n):
        z = i % zones
        cam, ez = f"cam{z // 4}", f"e{z % 4}"
        seqs[z] += 1
        body = {
            "schema": "crowd.zone_metrics/1",
            "site": "bench",
            "camera": cam,
            "zone": ez,
            "seq": i,
            "measured_at": t0 + i * (1.0 / zones) * zones / zones,
            "frame_start": i,
            "frame_end": i,
            "t_start": float(i),
            "t_end": float(i + 1),
            "count": 12.0,
            "count_max": 14,
            "area_m2": 100.0,
            "density": 0.12 + 0.001 * (i % 50),
            "speed_p50": 1.1,
            "speed_p85": 1.4,
            "los": "A",
            "stale": False,
        }
        infos.append(client.publish(f"crowd/v1/bench/{cam}/zones/{ez}/metrics", json.dumps(body), qos=1))
    for info in infos:
        info.wait_for_publish(60)
    client.disconnect()
    client.loop_stop()


def bench(db_url: str, n: int, zones: int, workdir: Path) -> float:
    broker = MosquittoBroker(workdir / "mosquitto")
    broker.start()
    try:
        cfg = _config(db_url, broker.port, zones)
        # First start: create the database and the persistent session with its shared subscription.
        svc = CentralService(cfg)
        svc.start()
        assert svc.ingest is not None
        svc.ingest.connected.wait(10)
        time.sleep(0.5)
        svc.stop()
        _publish_backlog(broker.port, n, zones)
        svc = CentralService(cfg)
        t0 = time.perf_counter()
        svc.start()
        try:
            deadline = t0 + 600
            while svc.store.count_metrics() < n and time.perf_counter() < deadline:
                time.sleep(0.05)
            elapsed = time.perf_counter() - t0
            stored = svc.store.count_metrics()
        finally:
            svc.stop()
        if stored != n:
            raise SystemExit(f"only {stored} of {n} messages stored")
        return n / elapsed
    finally:
        broker.stop()


def _pg_database() -> tuple[str, str]:
    import psycopg

    name = f"central_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return name, f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"


def _drop_pg(name: str) -> None:
    import psycopg

    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    p.add_argument("--n", type=int, default=30_000, help="messages in the backlog")
    p.add_argument("--zones", type=int, default=40)
    p.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="both")
    args = p.parse_args(argv)
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        if args.db in ("sqlite", "both"):
            results["sqlite"] = bench(f"sqlite:///{tmp}/bench.sqlite", args.n, args.zones, Path(tmp) / "a")
        if args.db in ("postgresql", "both"):
            name, url = _pg_database()
            try:
                results["postgresql"] = bench(url, args.n, args.zones, Path(tmp) / "b")
            finally:
                _drop_pg(name)
    for db, rate in results.items():
        print(f"ingest into {db}: {rate:,.0f} messages/s per worker ({args.n} messages, {args.zones} zones)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
