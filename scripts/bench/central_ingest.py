"""Central ingest: metric messages per second through a real Mosquitto into SQLite and PostgreSQL,
with one worker and with two workers on a shared subscription (two processes, as deployed).

The backlog method of scripts/bench_central_ingest.py (central's own benchmark, reused here): the
workers' persistent sessions are created, the workers stop, N messages are published, then the
workers start and the clock runs until the database holds all N. Workers are separate processes,
built before the clock starts, so Python start-up is not counted but their GIL is their own.

    .venv/bin/python -m scripts.bench.central_ingest [--n 30000] [--db sqlite postgresql] [--workers 1 2]

Target: >= 5,000 messages/s per worker into SQLite.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import tempfile
import time
from multiprocessing.synchronize import Event
from pathlib import Path
from typing import Any

from central.config import CentralConfig
from central.service import CentralService
from central.store import Store
from scripts.bench.common import load_average, print_table, write_result
from scripts.bench_central_ingest import _config, _drop_pg, _pg_database, _publish_backlog
from tests.support.mosquitto import MosquittoBroker

TARGET_PER_WORKER_SQLITE = 5000.0


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
