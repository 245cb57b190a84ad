"""Store stage, site tables: patrol positions and camera states, and retention across every table."""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import BaseModel, ConfigDict
from sqlalchemy import and_, delete, func, select

from central import schema as s
from central.alerts import OPEN_STATES
from central.patrols import PatrolPosition
from central.store.base import StoreBase


class CameraRow(BaseModel):
    """A camera's stored state (the camera view of the API is this row and the camera's position)."""

    model_config = ConfigDict(frozen=True)

    site: str
    camera: str
    state: str
    last_seen: float | None
    processed_fps: float | None
    capture_fps: float | None


class SiteTables(StoreBase):
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
        with self.db.begin() as conn:
            conn.execute(stmt, params)

    def patrol_positions_since(self, since_s: float) -> list[PatrolPosition]:
        q = (
            select(s.patrol_positions)
            .where(s.patrol_positions.c.at >= since_s)
            .order_by(s.patrol_positions.c.patrol_id, s.patrol_positions.c.at)
        )
        with self.db.connect() as conn:
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
        with self.db.connect() as conn:
            return [PatrolPosition(r.patrol_id, r.name, r.lat, r.lon, r.acc_m, r.at, r.source) for r in conn.execute(q)]

    # -- cameras -------------------------------------------------------------------------------
    def upsert_camera(self, cam: CameraRow, now_s: float) -> None:
        values = {**cam.model_dump(), "updated_at": now_s}
        stmt = self._insert(s.cameras).values(**values)
        stmt = stmt.on_conflict_do_update(
            index_elements=["site", "camera"], set_={k: v for k, v in values.items() if k not in ("site", "camera")}
        )
        with self.db.begin() as conn:
            conn.execute(stmt)

    def cameras(self) -> list[CameraRow]:
        with self.db.connect() as conn:
            return [
                CameraRow(
                    site=r.site,
                    camera=r.camera,
                    state=r.state,
                    last_seen=r.last_seen,
                    processed_fps=r.processed_fps,
                    capture_fps=r.capture_fps,
                )
                for r in conn.execute(select(s.cameras).order_by(s.cameras.c.site, s.cameras.c.camera))
            ]

    # -- retention -----------------------------------------------------------------------------
    def enforce_retention(
        self, now_s: float, *, metrics_days: float, alerts_days: float, patrol_track_days: float
    ) -> dict[str, int]:
        day = 86400.0
        with self.db.begin() as conn:
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
