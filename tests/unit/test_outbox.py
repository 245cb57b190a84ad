"""The store-and-forward queue and its persistent seq counter, on real SQLite files (no broker)."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from edge.outbox import Envelope, Outbox


def env(i: int) -> Envelope:
    return Envelope(topic=f"t/{i}", payload=f"payload-{i}".encode(), qos=1, retain=i % 2 == 0)


def test_rows_come_back_in_insertion_order_with_all_fields(tmp_path: Path) -> None:
    box = Outbox(tmp_path / "q.sqlite")
    box.put([env(i) for i in range(5)])
    rows = box.peek(10)
    assert [r.envelope for r in rows] == [env(i) for i in range(5)]
    assert [r.id for r in rows] == sorted(r.id for r in rows)
    assert len(box) == 5


def test_peek_after_id_pages_through_the_queue(tmp_path: Path) -> None:
    box = Outbox(tmp_path / "q.sqlite")
    box.put([env(i) for i in range(7)])
    first = box.peek(3)
    second = box.peek(3, after_id=first[-1].id)
    third = box.peek(3, after_id=second[-1].id)
    assert [r.envelope.topic for r in first + second + third] == [f"t/{i}" for i in range(7)]
    assert len(third) == 1


def test_ack_through_removes_only_acknowledged_prefix(tmp_path: Path) -> None:
    box = Outbox(tmp_path / "q.sqlite")
    box.put([env(i) for i in range(6)])
    rows = box.peek(6)
    assert box.ack_through(rows[2].id) == 3
    assert len(box) == 3
    assert [r.envelope.topic for r in box.peek(10)] == ["t/3", "t/4", "t/5"]


def test_full_queue_drops_the_oldest_and_counts_them(tmp_path: Path) -> None:
    box = Outbox(tmp_path / "q.sqlite", max_messages=10)
    box.put([env(i) for i in range(8)])
    box.put([env(i) for i in range(8, 13)])
    assert len(box) == 10
    assert box.dropped_total == 3
    assert [r.envelope.topic for r in box.peek(100)] == [f"t/{i}" for i in range(3, 13)]


def test_a_batch_larger_than_the_bound_keeps_its_newest(tmp_path: Path) -> None:
    box = Outbox(tmp_path / "q.sqlite", max_messages=10)
    box.put([env(i) for i in range(25)])
    assert len(box) == 10
    assert box.dropped_total == 15
    assert box.peek(1)[0].envelope.topic == "t/15"


def test_queue_seq_and_drop_count_survive_reopening(tmp_path: Path) -> None:
    path = tmp_path / "q.sqlite"
    box = Outbox(path, max_messages=3)
    with box.transaction() as tx:
        assert tx.next_seq("seq/cam", 4) == 0
        for i in range(4):
            tx.put(env(i))
    box.close()
    again = Outbox(path, max_messages=3)
    assert len(again) == 3
    assert again.dropped_total == 1
    assert again.counter("seq/cam") == 4
    with again.transaction() as tx:
        assert tx.next_seq("seq/cam") == 4
    assert [r.envelope.topic for r in again.peek(10)] == ["t/1", "t/2", "t/3"]


def test_counters_are_independent(tmp_path: Path) -> None:
    box = Outbox(tmp_path / "q.sqlite")
    with box.transaction() as tx:
        assert tx.next_seq("a", 5) == 0
        assert tx.next_seq("b") == 0
        assert tx.next_seq("a") == 5
    assert (box.counter("a"), box.counter("b")) == (6, 1)


def test_a_failed_transaction_neither_queues_nor_consumes_seq(tmp_path: Path) -> None:
    box = Outbox(tmp_path / "q.sqlite")
    with pytest.raises(RuntimeError), box.transaction() as tx:
        tx.next_seq("seq/cam", 3)
        tx.put(env(0))
        raise RuntimeError("building the payload failed")
    assert len(box) == 0
    assert box.counter("seq/cam") == 0


def test_bad_arguments_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="max_messages"):
        Outbox(tmp_path / "q.sqlite", max_messages=0)
    box = Outbox(tmp_path / "q.sqlite")
    with pytest.raises(ValueError, match="qos"):
        box.put([Envelope("t", b"x", qos=3)])
    with pytest.raises(ValueError, match="n must be"), box.transaction() as tx:
        tx.next_seq("c", 0)


def test_a_file_that_is_not_sqlite_gives_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "q.sqlite"
    path.write_bytes(b"this is not a database" * 100)
    with pytest.raises(ValueError, match="not a usable outbox"):
        Outbox(path)


def test_concurrent_producer_and_consumer_lose_nothing(tmp_path: Path) -> None:
    box = Outbox(tmp_path / "q.sqlite")
    n = 2000
    seen: list[str] = []

    def produce() -> None:
        for i in range(0, n, 10):
            box.put([env(j) for j in range(i, i + 10)])

    producer = threading.Thread(target=produce)
    producer.start()
    last = 0
    while len(seen) < n:
        rows = box.peek(50, after_id=last)
        if rows:
            seen.extend(r.envelope.topic for r in rows)
            last = rows[-1].id
            box.ack_through(last)
        elif not producer.is_alive() and not box.peek(1, after_id=last):
            break
    producer.join()
    assert seen == [f"t/{i}" for i in range(n)]
    assert len(box) == 0


def test_in_memory_twin_behaves_like_the_file() -> None:
    box = Outbox(":memory:", max_messages=2)
    box.put([env(0), env(1), env(2)])
    assert [r.envelope.topic for r in box.peek(5)] == ["t/1", "t/2"]
    assert box.dropped_total == 1
