"""Store stage, snapshot audit: one row per snapshot request (who, which camera, when, what came of it)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict
from sqlalchemy import insert, select

from central import schema as s
from central.store.base import StoreBase


class SnapshotAuditRow(BaseModel):
    model_config = ConfigDict(frozen=True)

    at: float
    by: str
    site: str
    camera: str
    outcome: str  # ok, refused (by the edge), timeout, disabled (by the site), forbidden (role), unknown_camera
    detail: str | None


class SnapshotAuditTables(StoreBase):
    def audit_snapshot(self, row: SnapshotAuditRow) -> None:
        with self.db.begin() as conn:
            conn.execute(insert(s.snapshot_audit).values(**row.model_dump()))

    def snapshot_audit(self, limit: int = 200) -> list[SnapshotAuditRow]:
        """The latest requests, newest first."""
        t = s.snapshot_audit
        stmt = select(t.c.at, t.c.by, t.c.site, t.c.camera, t.c.outcome, t.c.detail)
        with self.db.connect() as conn:
            rows = conn.execute(stmt.order_by(t.c.id.desc()).limit(limit)).mappings().all()
        return [SnapshotAuditRow.model_validate(dict(r)) for r in rows]
