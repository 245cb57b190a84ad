"""Process: wires central's stages together: store, evaluator loop, MQTT ingest and the HTTP server in one process.

uvicorn runs in the main thread (it owns SIGTERM/SIGINT); the evaluator loop and paho's network thread
run beside it. On a signal the HTTP server stops taking requests, the live streams end, ingest
disconnects after committing what it holds, and the process exits well inside 10 s.
"""

from __future__ import annotations

import logging
import os
import secrets
import signal
import threading
import time
from typing import Any

import uvicorn

from central.api import Services, create_app
from central.auth import Authenticator, users_from_config
from central.clock import Clock, ScaledClock, SystemClock
from central.config import CentralConfig
from central.evaluator import Evaluator
from central.events import EventBus
from central.ingest import Ingest
from central.mqtt.communicator import Communicator, MemoryCommunicator
from central.mqtt.paho_link import MqttCommunicator
from central.obs import Telemetry
from central.snapshots import SnapshotRequests
from central.store import Store

log = logging.getLogger(__name__)


class CentralService:
    def __init__(self, cfg: CentralConfig, clock: Clock | None = None, with_mqtt: bool = True) -> None:
        self.cfg = cfg
        self.clock = clock or clock_from_config(cfg)
        self.telemetry = Telemetry()
        self.bus = EventBus()
        self.store = Store(cfg.database.url)
        self.link: Communicator = MqttCommunicator(cfg, self.telemetry) if with_mqtt else MemoryCommunicator()
        self.evaluator = Evaluator(cfg, self.store, self.link, self.clock, self.bus, self.telemetry)
        self.snapshots = SnapshotRequests(self.link, cfg.mqtt.topic_prefix)
        if isinstance(self.link, MqttCommunicator):
            self.link.snapshot_sink = self.snapshots.offer
        self.ingest: Ingest | None = None
        self.with_mqtt = with_mqtt
        secret_env = cfg.http.secret_env
        secret = os.environ.get(secret_env, "") if secret_env else ""
        self.auth = Authenticator(
            users_from_config(cfg), secret.encode() if secret else secrets.token_bytes(32), cfg.http.token_ttl_s
        )
        self.started_at = self.clock.now()
        self._stop = threading.Event()
        self._loop_thread = threading.Thread(target=self._evaluator_loop, name="evaluator", daemon=True)
        self._last_retention = 0.0
        self.services = Services(
            cfg=cfg,
            store=self.store,
            evaluator=self.evaluator,
            auth=self.auth,
            bus=self.bus,
            telemetry=self.telemetry,
            clock=self.clock,
            started_at=self.started_at,
            mqtt_connected=lambda: self.ingest is not None and self.ingest.connected.is_set(),
            auth_clock=SystemClock() if isinstance(self.clock, ScaledClock) else None,
            snapshots=self.snapshots if with_mqtt else None,
        )
        self.app = create_app(self.services)

    def start(self) -> None:
        self.store.migrate(self.clock.now())
        self.evaluator.start_up()
        if self.with_mqtt:
            self.ingest = Ingest(self.cfg, self.store, self.evaluator, self.clock, self.telemetry, self.link)
            self.ingest.start()
        self._loop_thread.start()
        log.info(
            "central started",
            extra={
                "fields": {
                    "worker": self.cfg.worker.index,
                    "zones": len(self.evaluator.registry),
                    "db": self.store.dialect,
                }
            },
        )

    def stop(self) -> None:
        self._stop.set()
        self.evaluator.wake.set()
        self.bus.close()
        if self.ingest is not None:
            self.ingest.stop()
        self._loop_thread.join(5)
        self.evaluator.close()
        self.store.close()
        log.info("central stopped")

    def _evaluator_loop(self) -> None:
        while not self._stop.is_set():
            try:
                n = self.evaluator.poll()
                self._maybe_retention()
            except Exception:
                log.exception("evaluator step failed; retrying")
                n = 0
                self._stop.wait(1.0)
            if n == 0:
                self.evaluator.wake.wait(0.25)
                self.evaluator.wake.clear()

    def _maybe_retention(self) -> None:
        now = self.clock.now()
        r = self.cfg.retention
        if now - self._last_retention < r.every_s:
            return
        self._last_retention = now
        deleted = self.store.enforce_retention(
            now, metrics_days=r.metrics_days, alerts_days=r.alerts_days, patrol_track_days=r.patrol_track_days
        )
        log.info("retention", extra={"fields": deleted})

    def serve(self) -> None:
        """Run until SIGTERM/SIGINT. Blocking."""
        self.start()
        try:
            if self.cfg.http.port:
                server = _Server(uvicorn_config(self.app, self.cfg.http.host, self.cfg.http.port), self.bus)
                server.run()
            else:
                _wait_for_signal()
        finally:
            self.stop()


def uvicorn_config(app: Any, host: str, port: int) -> uvicorn.Config:
    """How central serves HTTP (the tests serve with it too, so they see what production sees)."""
    return uvicorn.Config(
        app,
        host=host,
        port=port,
        log_config=None,
        access_log=False,
        # uvicorn would otherwise believe X-Forwarded-For from 127.0.0.1; central decides
        # (http.trusted_proxies, default none) because login throttling is keyed on the client.
        proxy_headers=False,
        timeout_graceful_shutdown=3,
        lifespan="off",
    )


def clock_from_config(cfg: CentralConfig) -> Clock:
    """The wall clock, or at `clock.speed` != 1 a scaled clock (equal to the wall clock at `clock.start_s`)."""
    c = cfg.clock
    if c.speed == 1.0 and c.start_s is None:
        return SystemClock()
    return ScaledClock(time.time() if c.start_s is None else c.start_s, c.speed)


class _Server(uvicorn.Server):
    """Ends the live event streams as soon as shutdown starts, so they do not hold the exit up."""

    def __init__(self, config: uvicorn.Config, bus: EventBus) -> None:
        super().__init__(config)
        self._bus = bus

    def handle_exit(self, sig: int, frame: Any) -> None:
        self._bus.close()
        super().handle_exit(sig, frame)
        # uvicorn re-raises the signal after its shutdown, which would kill us before ingest and the
        # store are closed; the signal is handled here, and the process exits 0 once all is stopped.
        self._captured_signals.clear()


def _wait_for_signal() -> None:
    done = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: done.set())
    while not done.wait(0.5):
        pass
    time.sleep(0)
