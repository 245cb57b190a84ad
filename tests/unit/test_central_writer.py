"""The metric writer's two lanes: live rows first, a backlog in bounded chunks, acks in arrival order."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import cast

from central.ingest import MetricWriter, _Pending
from central.obs import Telemetry
from central.store import MetricRow, Store


class RecordingStore:
    """In-memory twin of Store.insert_metrics: remembers each batch."""

    def __init__(self) -> None:
        self.batches: list[list[MetricRow]] = []
        self.done = threading.Event()
        self.expect = 0

    def insert_metrics(self, rows: Sequence[MetricRow]) -> None:
        self.batches.append(list(rows))
        if sum(len(b) for b in self.batches) >= self.expect:
            self.done.set()


def _row(seq: int, camera: str) -> MetricRow:
    return MetricRow("s", camera, seq, "z", "e", 1000.0 + seq, 1.0, 1, 0.1, 1.0, 1.2, "A", False, 0, 0, 5000.0)


def _writer(store: RecordingStore, chunk: int) -> tuple[MetricWriter, list[int]]:
    w = MetricWriter(cast(Store, store), 0.01, Telemetry(), backlog_chunk=chunk)
    acks: list[int] = []
    w.ack = lambda mid, _qos: acks.append(mid)
    return w, acks


def test_live_rows_go_first_and_the_backlog_in_chunks() -> None:
    store = RecordingStore()
    w, acks = _writer(store, chunk=300)
    mids = iter(range(100_000))
    puts: list[tuple[int, bool]] = []

    def put(row: MetricRow | None, backlog: bool) -> None:
        mid = next(mids)
        puts.append((mid, backlog))
        w.put(_Pending(row, mid, 1), backlog=backlog)

    for i in range(1000):
        put(_row(i, "old"), True)
    put(None, True)  # a rejected message's ack rides in the live lane
    for i in range(5):
        put(_row(i, "live"), False)
    store.expect = 1005
    w.start()
    try:
        assert store.done.wait(10)
    finally:
        w.stop()
    first = store.batches[0]
    assert [r.camera for r in first] == ["live"] * 5  # although they arrived after 1000 backlog rows
    sizes = [len(b) for b in store.batches[1:]]
    assert max(sizes) <= 300 and sum(sizes) == 1000
    assert [r.seq for b in store.batches[1:] for r in b] == list(range(1000))
    assert acks == [mid for mid, _ in puts]  # in arrival order, each once
    assert w.written == 1005 and w.backlog_written == 1000


def test_live_rows_arriving_during_a_backlog_wait_for_one_chunk_at_most() -> None:
    store = RecordingStore()
    w, acks = _writer(store, chunk=100)
    for i in range(1000):
        w.put(_Pending(_row(i, "old"), i, 1), backlog=True)
    gate, live_put = threading.Event(), threading.Event()
    real = store.insert_metrics

    def slow_insert(rows: Sequence[MetricRow]) -> None:
        real(rows)
        if len(store.batches) == 2:  # hold the writer inside its second backlog chunk until a live row comes
            gate.set()
            live_put.wait(10)

    store.insert_metrics = slow_insert  # type: ignore[method-assign]
    store.expect = 1001
    w.start()
    try:
        assert gate.wait(10)
        w.put(_Pending(_row(0, "live"), 5000, 1))
        live_put.set()
        assert store.done.wait(10)
    finally:
        w.stop()
    live_at = next(i for i, b in enumerate(store.batches) if b and b[0].camera == "live")
    assert live_at == 2, f"the live row waited behind {live_at} backlog chunks"
    assert sorted(acks) == [*range(1000), 5000] and acks.index(5000) == 1000  # acked after all before it
