"""Central ingest: metric messages per second through a real Mosquitto into SQLite and PostgreSQL,
with one worker and with two workers on a shared subscription (two processes, as deployed).

The backlog method: the workers' persistent sessions are created, the workers stop, N messages are
published, then the workers start and the clock runs until the database holds all N (validation,
dedupe, batched writes, the evaluator running beside them). Workers are separate processes,
built before the clock starts, so Python start-up is not counted but their GIL is their own.

    .venv/bin/python -m scripts.bench.central_ingest [--n 30000] [--db sqlite postgresql] [--workers 1 2]
    .venv/bin/python -m scripts.bench.central_ingest --n 20000 --db sqlite postgresql --workers 1

Target: >= 5,000 messages/s per worker into SQLite.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import tempfile
import time
import uuid
from multiprocessing.synchronize import Event
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from central.config import CentralConfig, parse
from central.service import CentralService
from central.store import Store
from devtools.broker import MosquittoBroker
from scripts.bench.common import load_average, print_table, write_result

TARGET_PER_WORKER_SQLITE = 5000.0
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


def worker_config(db_url: str, port: int, zones: int, index: int, count: int) -> CentralConfig:
    base = _config(db_url, port, zones)
    return base.model_copy(
        update={
            "mqtt": base.mqtt.model_copy(update={"client_id": f"bench-central-{index}"}),
            "worker": base.worker.model_copy(update={"index": index, "count": count}),
        }
    )


def _worker(cfg: CentralConfig, ready: Event, go: Event, stop: Event) -> None:
    svc = CentralService(cfg)
    ready.set()
    go.wait()
    svc.start()
    stop.wait()
    svc.stop()


def bench(db_url: str, n: int, zones: int, workers: int, workdir: Path) -> dict[str, Any]:
    broker = MosquittoBroker(workdir / "mosquitto")
    broker.start()
    ctx = mp.get_context("spawn")
    try:
        cfgs = [worker_config(db_url, broker.port, zones, i, workers) for i in range(workers)]
        for cfg in cfgs:  # persistent sessions and the shared subscription, then offline
            svc = CentralService(cfg)
            svc.start()
            assert svc.ingest is not None
            svc.ingest.connected.wait(10)
            time.sleep(0.3)
            svc.stop()
        _publish_backlog(broker.port, n, zones)
        ready = [ctx.Event() for _ in cfgs]
        go, stop = ctx.Event(), ctx.Event()
        procs = [ctx.Process(target=_worker, args=(cfg, r, go, stop)) for cfg, r in zip(cfgs, ready, strict=True)]
        for p in procs:
            p.start()
        for r in ready:
            r.wait(60)
        store = Store(db_url)
        load_before = load_average()[0]
        t0 = time.perf_counter()
        go.set()
        try:
            deadline = t0 + 600
            while (stored := store.count_metrics()) < n and time.perf_counter() < deadline:
                time.sleep(0.02)
            elapsed = time.perf_counter() - t0
        finally:
            stop.set()
            for p in procs:
                p.join(30)
            store.close()
        if stored != n:
            raise SystemExit(f"only {stored} of {n} messages stored")
        total = n / elapsed
        return {
            "workers": workers,
            "messages": n,
            "seconds": elapsed,
            "msgs_per_s": total,
            "msgs_per_s_per_worker": total / workers,
            "load_1m_before": load_before,
        }
    finally:
        broker.stop()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=30_000, help="messages in the backlog")
    ap.add_argument("--zones", type=int, default=40)
    ap.add_argument("--db", nargs="+", choices=["sqlite", "postgresql"], default=["sqlite", "postgresql"])
    ap.add_argument("--workers", nargs="+", type=int, default=[1, 2])
    args = ap.parse_args()
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp:
        for db in args.db:
            for workers in args.workers:
                work = Path(tmp) / f"{db}-{workers}"
                if db == "sqlite":
                    rows.append({"db": db, **bench(f"sqlite:///{work}.sqlite", args.n, args.zones, workers, work)})
                else:
                    name, url = _pg_database()
                    try:
                        rows.append({"db": db, **bench(url, args.n, args.zones, workers, work)})
                    finally:
                        _drop_pg(name)
                r = rows[-1]
                print(f"{db}, {workers} worker(s): {r['msgs_per_s']:,.0f} messages/s", flush=True)
    print()
    print_table(
        ["database", "workers", "messages/s", "per worker", "load"],
        [[r["db"], r["workers"], r["msgs_per_s"], r["msgs_per_s_per_worker"], r["load_1m_before"]] for r in rows],
    )
    sqlite_one = [r for r in rows if r["db"] == "sqlite" and r["workers"] == 1]
    verdict = {"target_per_worker_sqlite": TARGET_PER_WORKER_SQLITE}
    if sqlite_one:
        verdict["met"] = sqlite_one[0]["msgs_per_s"] >= TARGET_PER_WORKER_SQLITE
    write_result("central_ingest", {"settings": vars(args), "results": rows, "target": verdict})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
