"""The store: metrics, forecasts, alerts with their audit log, patrol positions, cameras (SQLAlchemy Core).

SQLite by default (WAL, one file, no set-up), PostgreSQL by URL. Metric inserts are batched and
idempotent (`ON CONFLICT DO NOTHING` on (site, camera, seq)), so a redelivered or duplicated message is
dropped by the database even when two workers received it. On PostgreSQL metric batches are written
under an advisory lock so that ids become visible in order and readers can follow the table by id.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, and_, create_engine, delete, event, func, insert, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.pool import StaticPool

from central import schema as s
from central.alerts import OPEN_STATES, Action, Alert, AuditStep, transition
from central.patrols import PatrolPosition

_METRICS_LOCK_KEY = 727002


@dataclass(frozen=True)
class MetricRow:
    site: str
    camera: str
    seq: int
    zone: str
    edge_zone: str
    measured_at: float
    count: float
    count_max: int
    density: float
    speed_p50: float | None
    speed_p85: float | None
    los: str
    stale: bool
    inflow: int
    outflow: int
    received_at: float


@dataclass(frozen=True)
class StoredMetric:
    id: int
    row: MetricRow


@dataclass(frozen=True)
class CameraRow:
    site: str
    camera: str
    state: str
    last_seen: float | None
    processed_fps: float | None
    capture_fps: float | None


class AlertNotFound(KeyError):
    pass


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        memory = url in ("sqlite://", "sqlite:///:memory:")
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": 30},
            poolclass=StaticPool if memory else None,
        )

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn: Any, _record: Any) -> None:
            cur = dbapi_conn.cursor()
            if not memory:
                cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=5)


class Store:
    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = make_engine(url)
        self.dialect = self.engine.dialect.name

    def migrate(self, now_s: float) -> int:
        return s.migrate(self.engine, now_s)

    def close(self) -> None:
        self.engine.dispose()

    def _insert(self, table: Any) -> Any:
        if self.dialect == "postgresql":
            return postgresql.insert(table)
        if self.dialect == "sqlite":
            return sqlite.insert(table)
        raise RuntimeError(f"unsupported database {self.dialect}")

    # -- metrics -------------------------------------------------------------------------------
    def insert_metrics(self, rows: Sequence[MetricRow]) -> None:
        if not rows:
            return
        stmt = self._insert(s.metrics).on_conflict_do_nothing(index_elements=["site", "camera", "seq"])
        params = [r.__dict__ for r in rows]
        with self.engine.begin() as conn:
            if self.dialect == "postgresql":
                conn.execute(text(f"SELECT pg_advisory_xact_lock({_METRICS_LOCK_KEY})"))
            conn.execute(stmt, params)

    def metrics_after(self, cursor_id: int, limit: int = 5000) -> list[StoredMetric]:
        q = select(s.metrics).where(s.metrics.c.id > cursor_id).order_by(s.metrics.c.id).limit(limit)
        with self.engine.connect() as conn:
            return [_stored_metric(r._mapping) for r in conn.execute(q)]

    def metrics_in_lane(
        self, after_id: int, upto_id: int, *, backlog: bool, lag_s: float, limit: int = 5000
    ) -> list[StoredMetric]:
        """Rows with after_id < id <= upto_id of one lane, in id order. A row is backlog when it was
        received more than `lag_s` after it was measured; both columns are stored, so every worker (and
        both of a worker's passes) sorts a row into the same lane."""
        m = s.metrics.c
        late = (m.received_at - m.measured_at) > lag_s
        q = (
            select(s.metrics)
            .where(and_(m.id > after_id, m.id <= upto_id, late if backlog else ~late))
            .order_by(m.id)
            .limit(limit)
        )
        with self.engine.connect() as conn:
            return [_stored_metric(r._mapping) for r in conn.execute(q)]

    def backlog_zones(self, after_id: int, upto_id: int, lag_s: float) -> dict[str, int]:
        """Zones with backlog rows among after_id < id <= upto_id, each with its highest such id."""
        m = s.metrics.c
        q = (
            select(m.zone, func.max(m.id))
            .where(and_(m.id > after_id, m.id <= upto_id, (m.received_at - m.measured_at) > lag_s))
            .group_by(m.zone)
        )
        with self.engine.connect() as conn:
            return {str(zone): int(top) for zone, top in conn.execute(q)}

    def count_backlog(self, after_id: int, upto_id: int, lag_s: float) -> int:
        m = s.metrics.c
        q = (
            select(func.count())
            .select_from(s.metrics)
            .where(and_(m.id > after_id, m.id <= upto_id, (m.received_at - m.measured_at) > lag_s))
        )
        with self.engine.connect() as conn:
            return int(conn.execute(q).scalar_one())

    def max_metric_id(self) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(select(func.coalesce(func.max(s.metrics.c.id), 0))).scalar_one())

    def count_metrics(self) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(s.metrics)).scalar_one())

    def zone_metrics_since(
        self, zone: str, since_s: float, limit: int = 20000, upto_id: int | None = None
    ) -> list[MetricRow]:
        cond = and_(s.metrics.c.zone == zone, s.metrics.c.measured_at >= since_s)
        if upto_id is not None:
            cond = and_(cond, s.metrics.c.id <= upto_id)
        q = select(s.metrics).where(cond).order_by(s.metrics.c.measured_at).limit(limit)
        with self.engine.connect() as conn:
            return [_stored_metric(r._mapping).row for r in conn.execute(q)]

    def latest_metric_per_zone(self) -> dict[str, MetricRow]:
        latest = (
            select(s.metrics.c.zone, func.max(s.metrics.c.measured_at).label("t")).group_by(s.metrics.c.zone).subquery()
        )
        q = select(s.metrics).join(
            latest, and_(s.metrics.c.zone == latest.c.zone, s.metrics.c.measured_at == latest.c.t)
        )
        with self.engine.connect() as conn:
            return {m.row.zone: m.row for m in (_stored_metric(r._mapping) for r in conn.execute(q))}

    # -- evaluation cursor ---------------------------------------------------------------------
    def load_cursor(self, worker: str) -> int | None:
        """The saved evaluation cursor of a worker; None when it never saved one."""
        q = select(s.eval_cursor.c.metric_id).where(s.eval_cursor.c.worker == worker)
        with self.engine.connect() as conn:
            value = conn.execute(q).scalar_one_or_none()
        return None if value is None else int(value)

    def save_cursor(self, worker: str, metric_id: int, now_s: float) -> None:
        stmt = self._insert(s.eval_cursor).values(worker=worker, metric_id=metric_id, updated_at=now_s)
        stmt = stmt.on_conflict_do_update(index_elements=["worker"], set_={"metric_id": metric_id, "updated_at": now_s})
        with self.engine.begin() as conn:
            conn.execute(stmt)

    # -- forecasts -----------------------------------------------------------------------------
    def save_forecast(self, zone: str, origin: float, model: str, body: dict[str, Any], now_s: float) -> None:
        stmt = self._insert(s.forecasts).on_conflict_do_nothing(index_elements=["zone", "origin"])
        with self.engine.begin() as conn:
            conn.execute(stmt, {"zone": zone, "origin": origin, "created_at": now_s, "model": model, "body": body})

    def latest_forecasts(self) -> dict[str, dict[str, Any]]:
        latest = (
            select(s.forecasts.c.zone, func.max(s.forecasts.c.origin).label("o"))
            .group_by(s.forecasts.c.zone)
            .subquery()
        )
        q = select(s.forecasts.c.zone, s.forecasts.c.body).join(
            latest, and_(s.forecasts.c.zone == latest.c.zone, s.forecasts.c.origin == latest.c.o)
        )
        with self.engine.connect() as conn:
            return {r.zone: dict(r.body) for r in conn.execute(q)}

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
        with self.engine.begin() as conn:
            if conn.execute(stmt).first() is None:
                return False
            conn.execute(insert(s.alert_audit), [_audit_values(alert.id, h) for h in alert.history])
        return True

    def update_alert_from_rules(self, alert: Alert, step: AuditStep | None) -> bool:
        """Write the columns the rules own (never state or assignment, which operators own)."""
        values = {
            "level": alert.level,
            "value": alert.value,
            "threshold": alert.threshold,
            "message": alert.message,
            "expected_crossing_at": alert.expected_crossing_at_s,
            "probability": alert.probability,
            "updated_at": alert.updated_at_s,
        }
        with self.engine.begin() as conn:
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
        with self.engine.begin() as conn:
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
            with self.engine.begin() as conn:
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
        with self.engine.connect() as conn:
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
        with self.engine.connect() as conn:
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
        with self.engine.connect() as conn:
            rows = list(conn.execute(q))
        if not rows:
            return cursor_id, []
        return int(rows[-1].id), list(dict.fromkeys(r.alert_id for r in rows))

    def max_audit_id(self) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(select(func.coalesce(func.max(s.alert_audit.c.id), 0))).scalar_one())

    # -- patrols -------------------------------------------------------------------------------
    def insert_patrol_positions(self, positions: Sequence[PatrolPosition], received_at: float) -> None:
        if not positions:
            return
        stmt = self._insert(s.patrol_positions).on_conflict_do_nothing(index_elements=["patrol_id", "at"])
        params = [
            {
                "patrol_id": p.patrol_id,
                "name": p.name,
                "lat": p.lat,
                "lon": p.lon,
                "acc_m": p.acc_m,
                "at": p.at_s,
                "received_at": received_at,
                "source": p.source,
            }
            for p in positions
        ]
        with self.engine.begin() as conn:
            conn.execute(stmt, params)

    def patrol_positions_since(self, since_s: float) -> list[PatrolPosition]:
        q = (
            select(s.patrol_positions)
            .where(s.patrol_positions.c.at >= since_s)
            .order_by(s.patrol_positions.c.patrol_id, s.patrol_positions.c.at)
        )
        with self.engine.connect() as conn:
            return [PatrolPosition(r.patrol_id, r.name, r.lat, r.lon, r.acc_m, r.at, r.source) for r in conn.execute(q)]

    def latest_patrol_positions(self) -> list[PatrolPosition]:
        latest = (
            select(s.patrol_positions.c.patrol_id, func.max(s.patrol_positions.c.at).label("t"))
            .group_by(s.patrol_positions.c.patrol_id)
            .subquery()
        )
        q = select(s.patrol_positions).join(
            latest,
            and_(s.patrol_positions.c.patrol_id == latest.c.patrol_id, s.patrol_positions.c.at == latest.c.t),
        )
        with self.engine.connect() as conn:
            return [PatrolPosition(r.patrol_id, r.name, r.lat, r.lon, r.acc_m, r.at, r.source) for r in conn.execute(q)]

    # -- cameras -------------------------------------------------------------------------------
    def upsert_camera(self, cam: CameraRow, now_s: float) -> None:
        values = {**cam.__dict__, "updated_at": now_s}
        stmt = self._insert(s.cameras).values(**values)
        stmt = stmt.on_conflict_do_update(
            index_elements=["site", "camera"], set_={k: v for k, v in values.items() if k not in ("site", "camera")}
        )
        with self.engine.begin() as conn:
            conn.execute(stmt)

    def cameras(self) -> list[CameraRow]:
        with self.engine.connect() as conn:
            return [
                CameraRow(r.site, r.camera, r.state, r.last_seen, r.processed_fps, r.capture_fps)
                for r in conn.execute(select(s.cameras).order_by(s.cameras.c.site, s.cameras.c.camera))
            ]

    # -- retention -----------------------------------------------------------------------------
    def enforce_retention(
        self, now_s: float, *, metrics_days: float, alerts_days: float, patrol_track_days: float
    ) -> dict[str, int]:
        day = 86400.0
        with self.engine.begin() as conn:
            m = conn.execute(delete(s.metrics).where(s.metrics.c.measured_at < now_s - metrics_days * day)).rowcount
            f = conn.execute(delete(s.forecasts).where(s.forecasts.c.origin < now_s - metrics_days * day)).rowcount
            old = select(s.alerts.c.id).where(
                and_(s.alerts.c.state.not_in(OPEN_STATES), s.alerts.c.ended_at < now_s - alerts_days * day)
            )
            conn.execute(delete(s.alert_audit).where(s.alert_audit.c.alert_id.in_(old)))
            a = conn.execute(
                delete(s.alerts).where(
                    and_(s.alerts.c.state.not_in(OPEN_STATES), s.alerts.c.ended_at < now_s - alerts_days * day)
                )
            ).rowcount
            p = conn.execute(
                delete(s.patrol_positions).where(s.patrol_positions.c.at < now_s - patrol_track_days * day)
            ).rowcount
        return {"metrics": m, "forecasts": f, "alerts": a, "patrol_positions": p}


def _stored_metric(m: Any) -> StoredMetric:
    return StoredMetric(
        id=int(m["id"]),
        row=MetricRow(
            site=m["site"],
            camera=m["camera"],
            seq=int(m["seq"]),
            zone=m["zone"],
            edge_zone=m["edge_zone"],
            measured_at=float(m["measured_at"]),
            count=float(m["count"]),
            count_max=int(m["count_max"]),
            density=float(m["density"]),
            speed_p50=m["speed_p50"],
            speed_p85=m["speed_p85"],
            los=m["los"],
            stale=bool(m["stale"]),
            inflow=int(m["inflow"]),
            outflow=int(m["outflow"]),
            received_at=float(m["received_at"]),
        ),
    )


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
