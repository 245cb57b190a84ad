"""Ingest stage: validate, dedupe and batch-store edge metrics; route the rest to the evaluator.

Messages arrive through the communicator (central/mqtt/). Messages are acknowledged by hand only after their batch is committed: a crash between receipt and
commit makes the broker redeliver, and the database's unique (site, camera, seq) drops the duplicate.
Anything that does not validate is counted, logged and forwarded to `<prefix>/deadletter`, never raised.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict, deque
from dataclasses import dataclass, replace
from typing import Any

from pydantic import ValidationError

from central.clock import Clock
from central.commands import CommandSink, RemoteAlert, RemoteForecast
from central.config import CentralConfig
from central.liveness import CameraStats, CameraStatus
from central.mqtt.communicator import Communicator, Inbound
from central.obs import Telemetry
from central.patrols import PatrolMessageError, parse_owntracks, parse_patrol_location
from central.store import MetricRow, Store
from central.zones import ZoneRegistry
from contract.central_messages import AlertMessage, DeadLetterMessage, ForecastMessage
from contract.edge_messages import StatsMessage, StatusMessage, ZoneMetricsMessage
from contract.topics import TopicRef, dead_letter_topic, parse_topic
from contract.wire import MessageT, validation_problems

log = logging.getLogger(__name__)


class Rejected(ValueError):
    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True)
class _Pending:
    row: MetricRow | None  # None: nothing to store, only the ack
    mid: int
    qos: int
    arrival: int = -1  # numbered by MetricWriter.put


class Deduper:
    """Recently seen (site, camera, seq) keys; the database's unique key is the backstop beyond it."""

    def __init__(self, capacity: int = 200_000) -> None:
        self._seen: OrderedDict[tuple[str, str, int], None] = OrderedDict()
        self._cap = capacity

    def seen(self, key: tuple[str, str, int]) -> bool:
        if key in self._seen:
            self._seen.move_to_end(key)
            return True
        self._seen[key] = None
        if len(self._seen) > self._cap:
            self._seen.popitem(last=False)
        return False


def parse_metric(topic: str, payload: bytes, prefix: str, registry: ZoneRegistry, now: float) -> MetricRow:
    """One metrics message -> a row for the store, or Rejected with the reason."""
    try:
        msg = ZoneMetricsMessage.model_validate_json(payload)
    except ValidationError as err:
        raise Rejected("invalid", validation_problems(err, first_only=True)) from None
    expected = f"{prefix}/{msg.site}/{msg.camera}/zones/{msg.zone}/metrics"
    if topic != expected:
        raise Rejected("topic_mismatch", "the payload's site/camera/zone do not match its topic")
    if msg.site != registry.site:
        raise Rejected("unknown_site", f"site {msg.site!r} is not this site")
    zone = registry.for_edge(msg.camera, msg.zone)
    if zone is None:
        raise Rejected("unknown_zone", f"camera {msg.camera!r} zone {msg.zone!r} is not mapped to a site zone")
    return MetricRow(
        site=msg.site,
        camera=msg.camera,
        seq=msg.seq,
        zone=zone.id,
        edge_zone=msg.zone,
        measured_at=msg.measured_at,
        count=msg.count,
        count_max=msg.count_max,
        density=msg.density,
        speed_p50=msg.speed_p50,
        speed_p85=msg.speed_p85,
        los=msg.los,
        stale=msg.stale,
        inflow=msg.inflow,
        outflow=msg.outflow,
        received_at=now,
    )


class MetricWriter:
    """Batches rows in two lanes and writes each batch with one executemany; acks only after the commit.

    Live rows wait up to `batch_s` to share a batch; backlog rows (`put(..., backlog=True)`) are written in
    chunks of `backlog_chunk`, one chunk after each live batch, so a backlog of any size holds live rows up
    by one chunk's write at most. Acks go out in arrival order (as MQTT asks) once everything that arrived
    before is committed too.
    """

    def __init__(
        self, store: Store, batch_s: float, telemetry: Telemetry, on_written: Any = None, backlog_chunk: int = 2000
    ) -> None:
        self.store = store
        self.batch_s = batch_s
        self.backlog_chunk = backlog_chunk
        self.telemetry = telemetry
        self.on_written = on_written
        self.ack: Any = None  # set by Ingest: ack(mid, qos)
        self._live: deque[_Pending] = deque()
        self._backlog: deque[_Pending] = deque()
        self._cond = threading.Condition()
        self._arrivals = 0  # numbers the puts; acks follow this order
        self._next_ack = 0
        self._committed: dict[int, _Pending] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="metric-writer", daemon=True)
        self.written = 0
        self.backlog_written = 0

    def start(self) -> None:
        self._thread.start()

    def put(self, item: _Pending, backlog: bool = False) -> None:
        with self._cond:
            item = replace(item, arrival=self._arrivals)
            self._arrivals += 1
            (self._backlog if backlog and item.row is not None else self._live).append(item)
            self._cond.notify()

    def queued(self) -> int:
        with self._cond:
            return len(self._live) + len(self._backlog)

    def stop(self, timeout_s: float = 5.0) -> None:
        self._stop.set()
        with self._cond:
            self._cond.notify()
        self._thread.join(timeout_s)

    def _run(self) -> None:
        while True:
            live, backlog = self._collect()
            if not live and not backlog:
                if self._stop.is_set():
                    return
                continue
            for batch, is_backlog in ((live, False), (backlog, True)):
                if batch and not self._write(batch, is_backlog):
                    return

    def _collect(self) -> tuple[list[_Pending], list[_Pending]]:
        with self._cond:
            if not self._live and not self._backlog:
                self._cond.wait(0.1)
            if self._live and not self._backlog and not self._stop.is_set():
                # Let live rows share a batch; no waiting while a backlog keeps the writer busy anyway.
                deadline = time.monotonic() + self.batch_s
                while len(self._live) < 5000 and (left := deadline - time.monotonic()) > 0:
                    self._cond.wait(left)
            live = [self._live.popleft() for _ in range(min(5000, len(self._live)))]
            backlog = [self._backlog.popleft() for _ in range(min(self.backlog_chunk, len(self._backlog)))]
        return live, backlog

    def _write(self, batch: list[_Pending], backlog: bool) -> bool:
        """Store one batch (retrying while the database is away); False when stopped before it could."""
        rows = [p.row for p in batch if p.row is not None]
        delay = 0.2
        while True:
            try:
                self.store.insert_metrics(rows)
                break
            except Exception:
                # The database is away: keep the batch (unacked, so the broker keeps it too) and retry.
                log.exception("storing %d metrics failed; retrying in %.1f s", len(rows), delay)
                if self._stop.wait(delay) and delay > 2:
                    return False
                delay = min(delay * 2, 5.0)
        self.written += len(rows)
        if backlog:
            self.backlog_written += len(rows)
        self.telemetry.ingested.inc(len(rows))
        self.telemetry.write_queue.set(self.queued())
        self._ack_in_order(batch)
        if self.on_written is not None and rows:
            self.on_written()
        return True

    def _ack_in_order(self, batch: list[_Pending]) -> None:
        for p in batch:
            self._committed[p.arrival] = p
        while self._next_ack in self._committed:
            p = self._committed.pop(self._next_ack)
            self._next_ack += 1
            if self.ack is not None:
                self.ack(p.mid, p.qos)


class Ingest:
    """The ingest stage: every received message is validated, deduplicated, stored or handed to the evaluator."""

    def __init__(
        self,
        cfg: CentralConfig,
        store: Store,
        evaluator: CommandSink,
        clock: Clock,
        telemetry: Telemetry,
        link: Communicator,
    ) -> None:
        self.cfg = cfg
        self.store = store
        self.evaluator = evaluator
        self.clock = clock
        self.telemetry = telemetry
        self.link = link
        self.prefix = cfg.mqtt.topic_prefix
        self.registry = ZoneRegistry(cfg)
        self.deduper = Deduper()
        self.writer = MetricWriter(
            store,
            cfg.database.batch_ms / 1000.0,
            telemetry,
            on_written=evaluator.wake.set,
            backlog_chunk=cfg.backlog.write_chunk,
        )
        self.writer.ack = link.ack
        link.set_handler(self.on_message)
        self.rejected = 0
        self.duplicates = 0

    @property
    def connected(self) -> threading.Event:
        return self.link.connected

    # -- lifecycle ---------------------------------------------------------------------------------
    def start(self) -> None:
        self.writer.start()
        self.link.start()

    def stop(self) -> None:
        self.link.stop()
        self.writer.stop()

    # -- the communicator's thread -----------------------------------------------------------------
    def on_message(self, msg: Inbound) -> None:
        try:
            self._route(msg)
        except Exception as err:  # never let one message kill the network thread
            log.exception("unexpected error on %s", msg.topic[:200])
            self._reject(msg, "internal", str(err)[:200])
            self.writer.put(_Pending(None, msg.mid, msg.qos))

    def _route(self, msg: Inbound) -> None:
        now = self.clock.now()
        ref = parse_topic(self.prefix, msg.topic)
        if ref is not None and ref.kind == "metrics":
            self._on_metric(msg, now)
            return
        try:
            if len(msg.payload) > self.cfg.mqtt.max_payload_bytes:
                raise Rejected("too_large", f"{len(msg.payload)} bytes")
            if ref is not None:
                self._route_other(ref, msg.topic, msg.payload)
        except Rejected as rej:
            self._reject(msg, rej.reason, rej.detail)
        finally:
            self.writer.put(_Pending(None, msg.mid, msg.qos))

    def _on_metric(self, msg: Inbound, now: float) -> None:
        try:
            if len(msg.payload) > self.cfg.mqtt.max_payload_bytes:
                raise Rejected("too_large", f"{len(msg.payload)} bytes")
            row = parse_metric(msg.topic, msg.payload, self.prefix, self.registry, now)
        except Rejected as rej:
            self._reject(msg, rej.reason, rej.detail)
            self.writer.put(_Pending(None, msg.mid, msg.qos))
            return
        if self.deduper.seen((row.site, row.camera, row.seq)):
            self.duplicates += 1
            self.telemetry.duplicates.inc()
            self.writer.put(_Pending(None, msg.mid, msg.qos))
            return
        backlog = now - row.measured_at > self.cfg.backlog.lag_s
        if backlog:
            self.evaluator.note_backlog(row.zone)
        self.writer.put(_Pending(row, msg.mid, msg.qos), backlog=backlog)

    def _route_other(self, ref: TopicRef, topic: str, payload: bytes) -> None:
        if ref.kind == "owntracks":
            try:
                pos = parse_owntracks(topic, payload)
            except PatrolMessageError as err:
                raise Rejected("invalid_patrol", str(err)) from None
            if pos is not None:
                self._on_patrol(pos)
        elif ref.kind == "patrol_location" and ref.id is not None:
            try:
                pos = parse_patrol_location(ref.id, payload)
            except PatrolMessageError as err:
                raise Rejected("invalid_patrol", str(err)) from None
            self._on_patrol(pos)
        elif ref.kind == "alert":
            if payload:  # an empty payload removes a retained alert
                self.evaluator.submit(RemoteAlert(_validated(AlertMessage, payload)))
        elif ref.kind == "forecast" and ref.site is not None and ref.zone is not None:
            self.evaluator.submit(RemoteForecast(ref.site, ref.zone, _validated(ForecastMessage, payload)))
        elif ref.kind == "status":
            st = _validated(StatusMessage, payload)
            self.evaluator.submit(CameraStatus(st.site, st.camera, st.state, st.at))
        elif ref.kind == "stats":
            sm = _validated(StatsMessage, payload)
            self.evaluator.submit(CameraStats(sm.site, sm.camera, sm.processed_fps, sm.capture_fps, sm.at))

    def _on_patrol(self, pos: Any) -> None:
        self.telemetry.patrol_positions.inc()
        try:
            self.store.insert_patrol_positions([pos], self.clock.now())
        except Exception:
            log.exception("could not store a patrol position")
        self.evaluator.submit(pos)

    def _reject(self, msg: Inbound, reason: str, detail: str) -> None:
        self.rejected += 1
        self.telemetry.rejected.labels(reason=reason).inc()
        log.warning(
            "rejected a message", extra={"fields": {"topic": msg.topic[:200], "reason": reason, "detail": detail[:300]}}
        )
        dl = DeadLetterMessage.model_validate(
            {
                "schema": "crowd.dead_letter/1",
                "topic": msg.topic[:512],
                "reason": f"{reason}: {detail}"[:1000],
                "payload": msg.payload[:1024].decode("utf-8", errors="replace"),
                "payload_bytes": len(msg.payload),
                "at": self.clock.now(),
                "worker": self.cfg.worker.index,
            }
        )
        self.link.publish(dead_letter_topic(self.prefix), dl.model_dump_json(by_alias=True).encode(), qos=1)


def _validated(model: type[MessageT], payload: bytes) -> MessageT:
    try:
        return model.model_validate_json(payload)
    except ValidationError as err:
        raise Rejected("invalid", validation_problems(err, first_only=True)) from None
