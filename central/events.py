"""Publication stage, live stream: fan-out of live events to the console's SSE streams (the publication stage's other half besides MQTT).

Producers are worker threads; consumers are asyncio queues in the HTTP server's loop, so events cross
threads with `call_soon_threadsafe`. A consumer that falls too far behind is dropped (its stream
ends; the browser reconnects and refetches everything) instead of holding memory for it.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class LiveEvent:
    name: str  # zone, alert, patrol, camera
    data: dict[str, Any]


class _Subscriber:
    def __init__(self, loop: asyncio.AbstractEventLoop, maxsize: int) -> None:
        self.loop = loop
        self.queue: asyncio.Queue[LiveEvent | None] = asyncio.Queue(maxsize=maxsize)
        self.dropped = False

    def offer(self, ev: LiveEvent | None) -> None:
        if self.dropped:
            return
        try:
            self.queue.put_nowait(ev)
        except asyncio.QueueFull:
            self.dropped = True
            # Make room for the end-of-stream marker so the reader stops.
            while not self.queue.empty():
                self.queue.get_nowait()
            self.queue.put_nowait(None)


class EventBus:
    def __init__(self, maxsize: int = 2000) -> None:
        self._subs: set[_Subscriber] = set()
        self._lock = threading.Lock()
        self._maxsize = maxsize

    def subscribe(self) -> _Subscriber:
        sub = _Subscriber(asyncio.get_running_loop(), self._maxsize)
        with self._lock:
            self._subs.add(sub)
        return sub

    def unsubscribe(self, sub: _Subscriber) -> None:
        with self._lock:
            self._subs.discard(sub)

    def publish(self, name: str, data: dict[str, Any]) -> None:
        ev = LiveEvent(name, data)
        with self._lock:
            subs = list(self._subs)
        for sub in subs:
            try:
                sub.loop.call_soon_threadsafe(sub.offer, ev)
            except RuntimeError:  # its loop is closed
                self.unsubscribe(sub)

    def close(self) -> None:
        with self._lock:
            subs = list(self._subs)
        for sub in subs:
            with contextlib.suppress(RuntimeError):
                sub.loop.call_soon_threadsafe(sub.offer, None)

    @property
    def subscriber_count(self) -> int:
        with self._lock:
            return len(self._subs)
