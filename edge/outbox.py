"""The edge's on-disk store-and-forward queue and its persistent sequence counters (one SQLite file).

Every outgoing metrics message is written here before it is handed to the broker and removed only
once the broker has acknowledged it, so neither a broker outage nor a restart of the edge loses an
interval. The per-camera `seq` counter lives in the same file and is advanced in the same
transaction as the rows that carry it, so a seq is never reused, even after a crash.

The queue is bounded: when full, the oldest rows are deleted and counted (`dropped_total`), which
the edge reports in its stats. Rows keep their insertion order (an AUTOINCREMENT id), which is
the order they are sent in.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Envelope", "Outbox", "OutboxTransaction", "StoredEnvelope"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    topic TEXT NOT NULL,
    payload BLOB NOT NULL,
    qos INTEGER NOT NULL,
    retain INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS counters (
    name TEXT PRIMARY KEY,
    value INTEGER NOT NULL
);
"""
# Counter names of callers are free-form; this one is the outbox's own.
_DROPPED = "outbox/dropped_total"


@dataclass(frozen=True)
class Envelope:
    """One MQTT message to send: topic, encoded payload, QoS and retain flag."""

    topic: str
    payload: bytes
    qos: int = 1
    retain: bool = False


@dataclass(frozen=True)
class StoredEnvelope:
    """An envelope as it sits in the queue; `id` grows with insertion order."""

    id: int
    envelope: Envelope


class OutboxTransaction:
    """Counter and queue writes that commit together; obtained from `Outbox.transaction()`."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn
        self._rows: list[tuple[str, bytes, int, int]] = []

    def next_seq(self, counter: str, n: int = 1) -> int:
        """Reserve `n` consecutive numbers of `counter` and return the first (0 on a fresh file)."""
        if n < 1:
            raise ValueError(f"next_seq: n must be >= 1, got {n}")
        row = self._conn.execute("SELECT value FROM counters WHERE name = ?", (counter,)).fetchone()
        first = 0 if row is None else int(row[0])
        self._conn.execute(
            "INSERT INTO counters(name, value) VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET value = excluded.value",
            (counter, first + n),
        )
        return first

    def put(self, envelope: Envelope) -> None:
        if envelope.qos not in (0, 1, 2):
            raise ValueError(f"Envelope qos must be 0, 1 or 2, got {envelope.qos}")
        self._rows.append((envelope.topic, envelope.payload, envelope.qos, int(envelope.retain)))

    def _flush(self) -> None:
        if self._rows:
            self._conn.executemany("INSERT INTO outbox(topic, payload, qos, retain) VALUES (?, ?, ?, ?)", self._rows)


class Outbox:
    """A bounded FIFO of envelopes in SQLite (WAL). Thread-safe; `":memory:"` gives a private in-memory twin."""

    def __init__(self, path: str | Path, max_messages: int = 100_000) -> None:
        if max_messages < 1:
            raise ValueError(f"Outbox max_messages must be >= 1, got {max_messages}")
        self.path = str(path)
        self.max_messages = max_messages
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        # One connection shared under a lock: the producer and the sender thread never write at once.
        self._conn = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._lock = threading.RLock()
        try:
            self._conn.execute("PRAGMA journal_mode=WAL")
            # NORMAL in WAL mode survives a process crash (the case that matters on an edge box);
            # a power cut may lose the last commits, which the broker never acknowledged either.
            self._conn.execute("PRAGMA synchronous=NORMAL")
            self._conn.executescript(_SCHEMA)
        except sqlite3.DatabaseError as err:
            self._conn.close()
            raise ValueError(f"{self.path}: not a usable outbox database: {err}") from None
        self._count = int(self._conn.execute("SELECT COUNT(*) FROM outbox").fetchone()[0])

    @contextmanager
    def transaction(self) -> Iterator[OutboxTransaction]:
        """Reserve seqs and queue envelopes atomically; trims the oldest rows beyond the bound."""
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            tx = OutboxTransaction(self._conn)
            try:
                yield tx
                tx._flush()
                added = len(tx._rows)
                excess = self._count + added - self.max_messages
                if excess > 0:
                    self._conn.execute(
                        "DELETE FROM outbox WHERE id IN (SELECT id FROM outbox ORDER BY id LIMIT ?)", (excess,)
                    )
                    self._add_dropped(excess)
                self._conn.execute("COMMIT")
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._count += added - max(excess, 0)

    def put(self, envelopes: Sequence[Envelope]) -> None:
        with self.transaction() as tx:
            for env in envelopes:
                tx.put(env)

    def peek(self, limit: int, after_id: int = 0) -> list[StoredEnvelope]:
        """The oldest `limit` rows with id > `after_id`, in order."""
        with self._lock:
            rows = self._conn.execute(
                "SELECT id, topic, payload, qos, retain FROM outbox WHERE id > ? ORDER BY id LIMIT ?",
                (after_id, limit),
            ).fetchall()
        return [StoredEnvelope(int(r[0]), Envelope(str(r[1]), bytes(r[2]), int(r[3]), bool(r[4]))) for r in rows]

    def ack_through(self, last_id: int) -> int:
        """Remove every row with id <= `last_id` (sent in order and acknowledged); returns how many."""
        with self._lock:
            cur = self._conn.execute("DELETE FROM outbox WHERE id <= ?", (last_id,))
            removed = max(cur.rowcount, 0)
            self._count -= removed
            return removed

    def __len__(self) -> int:
        with self._lock:
            return self._count

    @property
    def dropped_total(self) -> int:
        """Rows dropped because the queue was full, over the life of this file."""
        return self.counter(_DROPPED)

    def counter(self, name: str) -> int:
        """The next value `next_seq(name)` would return."""
        with self._lock:
            row = self._conn.execute("SELECT value FROM counters WHERE name = ?", (name,)).fetchone()
        return 0 if row is None else int(row[0])

    def _add_dropped(self, n: int) -> None:
        self._conn.execute(
            "INSERT INTO counters(name, value) VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET value = value + ?",
            (_DROPPED, n, n),
        )

    def close(self) -> None:
        with self._lock:
            self._conn.close()
