"""Store stage, alert tables: alerts and their audit log (every step with who and when).

Rules write the columns they own (level, value, times), operators the state and assignment, each with a
conditional update, so neither overwrites the other and two workers cannot both apply a step.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import and_, func, insert, select, update

from central import schema as s
from central.alerts import OPEN_STATES, Action, Alert, AuditStep, transition
from central.store.base import StoreBase


class AlertNotFound(KeyError):
    pass


class AlertTables(StoreBase):
    # -- alerts --------------------------------------------------------------------------------
    def open_alert_rows(self) -> list[Alert]:
        return self.list_alerts("open")

    def insert_alert(self, alert: Alert) -> bool:
        """Insert a new alert with its opening step; False when it already exists (replay, other worker)."""
        # RETURNING rather than rowcount: drivers disagree on the rowcount of ON CONFLICT DO NOTHING.
        stmt = (
            self._insert(s.alerts)
            .values(**alert.record())
            .on_conflict_do_nothing(index_elements=["id"])
            .returning(s.alerts.c.id)
        )
        with self.db.begin() as conn:
            if conn.execute(stmt).first() is None:
                return False
            conn.execute(insert(s.alert_audit), [_audit_values(alert.id, h) for h in alert.history])
        return True

    def update_alert_from_rules(self, alert: Alert, step: AuditStep | None) -> bool:
        """Write the columns the rules own (never assignment, which operators own; the state only where an
        escalation re-opens an acknowledged alert, see alerts.evaluate)."""
        values: dict[str, Any] = {
            "level": alert.level,
            "value": alert.value,
            "threshold": alert.threshold,
            "message": alert.message,
            "expected_crossing_at": alert.expected_crossing_at_s,
            "probability": alert.probability,
            "updated_at": alert.updated_at_s,
        }
        if step is not None and step.action == "escalated":
            values["state"] = "open"
        with self.db.begin() as conn:
            res = conn.execute(
                update(s.alerts)
                .where(and_(s.alerts.c.id == alert.id, s.alerts.c.state.in_(OPEN_STATES)))
                .values(**values)
            )
            if res.rowcount == 1 and step is not None:
                conn.execute(insert(s.alert_audit), _audit_values(alert.id, step))
            return bool(res.rowcount == 1)

    def clear_alert(self, alert: Alert) -> bool:
        """End an open alert as cleared; False when an operator resolved it first."""
        with self.db.begin() as conn:
            res = conn.execute(
                update(s.alerts)
                .where(and_(s.alerts.c.id == alert.id, s.alerts.c.state.in_(OPEN_STATES)))
                .values(state="cleared", ended_at=alert.ended_at_s, updated_at=alert.updated_at_s, value=alert.value)
            )
            if res.rowcount == 1:
                conn.execute(insert(s.alert_audit), _audit_values(alert.id, alert.history[-1]))
            return bool(res.rowcount == 1)

    def apply_action(self, alert_id: str, action: Action, by: str, now_s: float, patrol: str | None = None) -> Alert:
        """An operator's step, checked by the pure lifecycle and written only if nobody changed it meanwhile."""
        for _ in range(5):
            current = self.get_alert(alert_id)
            changed = transition(current, action, by, now_s, patrol)
            with self.db.begin() as conn:
                res = conn.execute(
                    update(s.alerts)
                    .where(and_(s.alerts.c.id == alert_id, s.alerts.c.state == current.state))
                    .values(
                        state=changed.state,
                        assigned_patrol=changed.assigned_patrol,
                        updated_at=changed.updated_at_s,
                        ended_at=changed.ended_at_s,
                    )
                )
                done = res.rowcount == 1
                if done:
                    conn.execute(insert(s.alert_audit), _audit_values(alert_id, changed.history[-1]))
            if done:
                return self.get_alert(alert_id)
        raise RuntimeError(f"alert {alert_id} kept changing; try again")

    def get_alert(self, alert_id: str) -> Alert:
        with self.db.connect() as conn:
            row = conn.execute(select(s.alerts).where(s.alerts.c.id == alert_id)).first()
            if row is None:
                raise AlertNotFound(alert_id)
            hist = conn.execute(
                select(s.alert_audit).where(s.alert_audit.c.alert_id == alert_id).order_by(s.alert_audit.c.id)
            )
            return _alert_from(row._mapping, [_step_from(h._mapping) for h in hist])

    def list_alerts(self, state: str = "open", limit: int = 500) -> list[Alert]:
        q = select(s.alerts).order_by(s.alerts.c.opened_at.desc()).limit(limit)
        if state == "open":
            q = q.where(s.alerts.c.state.in_(OPEN_STATES))
        elif state != "all":
            q = q.where(s.alerts.c.state == state)
        with self.db.connect() as conn:
            rows = list(conn.execute(q))
            ids = [r.id for r in rows]
            steps: dict[str, list[AuditStep]] = {i: [] for i in ids}
            if ids:
                hq = select(s.alert_audit).where(s.alert_audit.c.alert_id.in_(ids)).order_by(s.alert_audit.c.id)
                for h in conn.execute(hq):
                    steps[h.alert_id].append(_step_from(h._mapping))
        return [_alert_from(r._mapping, steps[r.id]) for r in rows]

    def operator_steps_after(self, cursor_id: int) -> tuple[int, list[str]]:
        """Ids of alerts an operator changed since `cursor_id` (an audit row id), and the new cursor."""
        q = (
            select(s.alert_audit.c.id, s.alert_audit.c.alert_id)
            .where(and_(s.alert_audit.c.id > cursor_id, s.alert_audit.c.by != "system"))
            .order_by(s.alert_audit.c.id)
        )
        with self.db.connect() as conn:
            rows = list(conn.execute(q))
        if not rows:
            return cursor_id, []
        return int(rows[-1].id), list(dict.fromkeys(r.alert_id for r in rows))

    def max_audit_id(self) -> int:
        with self.db.connect() as conn:
            return int(conn.execute(select(func.coalesce(func.max(s.alert_audit.c.id), 0))).scalar_one())


def _audit_values(alert_id: str, step: AuditStep) -> dict[str, Any]:
    return {"alert_id": alert_id, "at": step.at_s, "action": step.action, "by": step.by, "detail": step.detail}


def _step_from(m: Any) -> AuditStep:
    return AuditStep(float(m["at"]), m["action"], m["by"], m["detail"])


def _alert_from(m: Any, history: Iterable[AuditStep]) -> Alert:
    return Alert(
        id=m["id"],
        zone=m["zone"],
        kind=m["kind"],
        level=m["level"],
        state=m["state"],
        opened_at_s=float(m["opened_at"]),
        updated_at_s=float(m["updated_at"]),
        value=m["value"],
        threshold=m["threshold"],
        message=m["message"],
        expected_crossing_at_s=m["expected_crossing_at"],
        probability=m["probability"],
        assigned_patrol=m["assigned_patrol"],
        ended_at_s=m["ended_at"],
        history=tuple(history),
    )
