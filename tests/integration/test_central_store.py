"""The store against real SQLite files and a real PostgreSQL server: migrations, dedupe, alerts, retention."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from central.alerts import ActionError, Alert, AuditStep
from central.patrols import PatrolPosition
from central.store import AlertNotFound, MetricRow, Store
from tests.support.central_harness import fresh_postgres_db

pytestmark = pytest.mark.integration


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    if request.param == "sqlite":
        st = Store(f"sqlite:///{tmp_path / 'central.sqlite'}")
        st.migrate(0.0)
        yield st
        st.close()
    else:
        with fresh_postgres_db() as url:
            st = Store(url)
            st.migrate(0.0)
            yield st
            st.close()


def _row(seq: int, t: float, density: float = 0.5, camera: str = "cam1", zone: str = "za") -> MetricRow:
    return MetricRow("s1", camera, seq, zone, "a", t, density * 100, 60, density, 1.0, 1.2, "C", False, 0, 0, t + 1)


def _alert(aid: str = "za.current.100", t: float = 100.0) -> Alert:
    return Alert(
        id=aid,
        zone="za",
        kind="current",
        level="warning",
        state="open",
        opened_at_s=t,
        updated_at_s=t,
        value=1.2,
        threshold=1.0,
        message="density <b>1.2</b>",
        history=(AuditStep(t, "opened", "system", "warning"),),
    )


def test_migrations_are_versioned_and_idempotent(store: Store) -> None:
    assert store.migrate(1.0) == store.migrate(2.0) == 3
    assert store.load_cursor("0/1") is None  # v2: the evaluation cursor table
    assert store.snapshot_audit() == []  # v3: the snapshot audit table
    store.save_cursor("0/1", 5, 1.0)
    store.save_cursor("0/1", 7, 2.0)
    assert store.load_cursor("0/1") == 7
    store.insert_metrics([_row(1, 10.0)])
    store.migrate(3.0)
    assert store.count_metrics() == 1


def test_duplicates_by_camera_and_seq_are_dropped_and_ids_follow_commit_order(store: Store) -> None:
    store.insert_metrics([_row(1, 10.0), _row(2, 11.0), _row(1, 10.0)])
    store.insert_metrics([_row(2, 11.0), _row(3, 12.0), _row(1, 99.0, camera="cam2")])
    assert store.count_metrics() == 4
    got = store.metrics_after(0)
    assert [(m.row.camera, m.row.seq) for m in got] == [("cam1", 1), ("cam1", 2), ("cam1", 3), ("cam2", 1)]
    assert [m.row.seq for m in store.metrics_after(got[1].id)] == [3, 1]
    assert store.max_metric_id() == got[-1].id


def test_late_rows_are_kept_at_their_measured_time(store: Store) -> None:
    store.insert_metrics([_row(5, 50.0, 0.5), _row(6, 60.0, 0.6), _row(4, 40.0, 0.4)])
    assert [m.measured_at for m in store.zone_metrics_since("za", 0.0)] == [40.0, 50.0, 60.0]
    assert store.latest_metric_per_zone()["za"].measured_at == 60.0


def test_alert_insert_is_idempotent_and_only_an_escalation_reopens_an_operators_ack(store: Store) -> None:
    a = _alert()
    assert store.insert_alert(a) and not store.insert_alert(a)
    acked = store.apply_action(a.id, "ack", "olga", 110.0)
    assert acked.state == "acknowledged"
    # A value update keeps the operator's state; an escalation re-opens it (issue 16: the ack was for the
    # lower level, the escalated alert must be acknowledged again).
    moved = Alert(**{**a.__dict__, "value": 1.6, "updated_at_s": 115.0})
    assert store.update_alert_from_rules(moved, None)
    assert store.get_alert(a.id).state == "acknowledged"
    escalated = Alert(**{**a.__dict__, "level": "critical", "value": 2.4, "updated_at_s": 120.0})
    assert store.update_alert_from_rules(escalated, AuditStep(120.0, "escalated", "system", "critical"))
    got = store.get_alert(a.id)
    assert (got.state, got.level, got.value) == ("open", "critical", 2.4)
    assert [(h.action, h.by) for h in got.history] == [
        ("opened", "system"),
        ("acknowledged", "olga"),
        ("escalated", "system"),
    ]
    assert got.message == "density <b>1.2</b>"


def test_lifecycle_and_a_clear_that_loses_to_an_operators_resolve(store: Store) -> None:
    a = _alert()
    store.insert_alert(a)
    store.apply_action(a.id, "assign", "olga", 110.0, patrol="p1")
    resolved = store.apply_action(a.id, "resolve", "ivan", 120.0)
    assert (resolved.state, resolved.assigned_patrol, resolved.ended_at_s) == ("resolved", "p1", 120.0)
    cleared = Alert(**{**a.__dict__, "state": "cleared", "ended_at_s": 130.0, "updated_at_s": 130.0})
    assert not store.clear_alert(cleared)
    assert store.get_alert(a.id).state == "resolved"
    with pytest.raises(ActionError):
        store.apply_action(a.id, "ack", "olga", 140.0)
    with pytest.raises(AlertNotFound):
        store.apply_action("nope", "ack", "olga", 140.0)
    assert [x.id for x in store.list_alerts("open")] == []
    assert [x.id for x in store.list_alerts("resolved")] == [a.id]
    cursor, ids = store.operator_steps_after(0)
    assert ids == [a.id] and cursor > 0 and store.operator_steps_after(cursor) == (cursor, [])


def test_patrol_positions_dedupe_and_latest(store: Store) -> None:
    p1 = PatrolPosition("alice", "alice", 47.37, 8.54, 5.0, 100.0, "owntracks")
    p2 = PatrolPosition("alice", "alice", 47.371, 8.541, 5.0, 110.0, "owntracks")
    store.insert_patrol_positions([p1, p2, p1], 111.0)
    assert [p.at_s for p in store.patrol_positions_since(0)] == [100.0, 110.0]
    assert store.latest_patrol_positions() == [p2]


def test_retention_deletes_only_old_data_and_never_open_alerts(store: Store) -> None:
    day = 86400.0
    now = 100 * day
    store.insert_metrics([_row(1, now - 40 * day), _row(2, now - 1 * day)])
    old_open = _alert("za.current.1", now - 400 * day)
    old_closed = _alert("za.current.2", now - 400 * day)
    store.insert_alert(old_open)
    store.insert_alert(old_closed)
    store.apply_action(old_closed.id, "resolve", "olga", now - 399 * day)
    store.insert_patrol_positions([PatrolPosition("a", "a", 47.0, 8.0, 5.0, now - 8 * day, "crowd")], now)
    deleted = store.enforce_retention(now, metrics_days=30, alerts_days=365, patrol_track_days=7)
    assert deleted["metrics"] == 1 and deleted["alerts"] == 1 and deleted["patrol_positions"] == 1
    assert [a.id for a in store.list_alerts("all")] == [old_open.id]
    assert store.count_metrics() == 1
