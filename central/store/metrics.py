"""Store stage, metric tables: metric rows, the evaluation cursor and the forecasts.

Metric inserts are batched and idempotent (`ON CONFLICT DO NOTHING` on (site, camera, seq)), so a
redelivered or duplicated message is dropped by the database even when two workers received it. On
PostgreSQL metric batches are written under an advisory lock so that ids become visible in order and
readers can follow the table by id (central/lanes.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, func, select, text

from central import schema as s
from central.store.base import StoreBase

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


class MetricTables(StoreBase):
    # -- metrics -------------------------------------------------------------------------------
    def insert_metrics(self, rows: Sequence[MetricRow]) -> None:
        if not rows:
            return
        stmt = self._insert(s.metrics).on_conflict_do_nothing(index_elements=["site", "camera", "seq"])
        params = [r.__dict__ for r in rows]
        with self.db.begin() as conn:
            if self.dialect == "postgresql":
                conn.execute(text(f"SELECT pg_advisory_xact_lock({_METRICS_LOCK_KEY})"))
            conn.execute(stmt, params)

    def metrics_after(self, cursor_id: int, limit: int = 5000) -> list[StoredMetric]:
        q = select(s.metrics).where(s.metrics.c.id > cursor_id).order_by(s.metrics.c.id).limit(limit)
        with self.db.connect() as conn:
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
        with self.db.connect() as conn:
            return [_stored_metric(r._mapping) for r in conn.execute(q)]

    def backlog_zones(self, after_id: int, upto_id: int, lag_s: float) -> dict[str, int]:
        """Zones with backlog rows among after_id < id <= upto_id, each with its highest such id."""
        m = s.metrics.c
        q = (
            select(m.zone, func.max(m.id))
            .where(and_(m.id > after_id, m.id <= upto_id, (m.received_at - m.measured_at) > lag_s))
            .group_by(m.zone)
        )
        with self.db.connect() as conn:
            return {str(zone): int(top) for zone, top in conn.execute(q)}

    def count_backlog(self, after_id: int, upto_id: int, lag_s: float) -> int:
        m = s.metrics.c
        q = (
            select(func.count())
            .select_from(s.metrics)
            .where(and_(m.id > after_id, m.id <= upto_id, (m.received_at - m.measured_at) > lag_s))
        )
        with self.db.connect() as conn:
            return int(conn.execute(q).scalar_one())

    def max_metric_id(self) -> int:
        with self.db.connect() as conn:
            return int(conn.execute(select(func.coalesce(func.max(s.metrics.c.id), 0))).scalar_one())

    def count_metrics(self) -> int:
        with self.db.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(s.metrics)).scalar_one())

    def zone_metrics_since(
        self, zone: str, since_s: float, limit: int = 20000, upto_id: int | None = None
    ) -> list[MetricRow]:
        cond = and_(s.metrics.c.zone == zone, s.metrics.c.measured_at >= since_s)
        if upto_id is not None:
            cond = and_(cond, s.metrics.c.id <= upto_id)
        q = select(s.metrics).where(cond).order_by(s.metrics.c.measured_at).limit(limit)
        with self.db.connect() as conn:
            return [_stored_metric(r._mapping).row for r in conn.execute(q)]

    def latest_metric_per_zone(self) -> dict[str, MetricRow]:
        latest = (
            select(s.metrics.c.zone, func.max(s.metrics.c.measured_at).label("t")).group_by(s.metrics.c.zone).subquery()
        )
        q = select(s.metrics).join(
            latest, and_(s.metrics.c.zone == latest.c.zone, s.metrics.c.measured_at == latest.c.t)
        )
        with self.db.connect() as conn:
            return {m.row.zone: m.row for m in (_stored_metric(r._mapping) for r in conn.execute(q))}

    # -- evaluation cursor ---------------------------------------------------------------------
    def load_cursor(self, worker: str) -> int | None:
        """The saved evaluation cursor of a worker; None when it never saved one."""
        q = select(s.eval_cursor.c.metric_id).where(s.eval_cursor.c.worker == worker)
        with self.db.connect() as conn:
            value = conn.execute(q).scalar_one_or_none()
        return None if value is None else int(value)

    def save_cursor(self, worker: str, metric_id: int, now_s: float) -> None:
        stmt = self._insert(s.eval_cursor).values(worker=worker, metric_id=metric_id, updated_at=now_s)
        stmt = stmt.on_conflict_do_update(index_elements=["worker"], set_={"metric_id": metric_id, "updated_at": now_s})
        with self.db.begin() as conn:
            conn.execute(stmt)

    # -- forecasts -----------------------------------------------------------------------------
    def save_forecast(self, zone: str, origin: float, model: str, body: dict[str, Any], now_s: float) -> None:
        stmt = self._insert(s.forecasts).on_conflict_do_nothing(index_elements=["zone", "origin"])
        with self.db.begin() as conn:
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
        with self.db.connect() as conn:
            return {r.zone: dict(r.body) for r in conn.execute(q)}


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
