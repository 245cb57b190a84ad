"""API stage, camera snapshots: `POST /api/cameras/{camera}/snapshot` and `GET /api/snapshots/audit`.

Pixels leave an edge only here, one picture per operator request: viewers may not ask, a site can turn it
off (`snapshots.enabled`), the edge rate-limits and pixelates, and every request, answered or not, gets an
audit row with who asked, for which camera, when and what came of it.
"""

# No `from __future__ import annotations`: FastAPI reads the routes' Annotated dependencies at runtime.
import base64
import logging
import math
from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated

from fastapi import Depends, FastAPI, HTTPException, Request, Response

from central.auth import Session, can_change_alerts
from central.store import SnapshotAuditRow

if TYPE_CHECKING:
    from central.api import Services

log = logging.getLogger(__name__)


def add_snapshot_routes(
    app: FastAPI, svc: "Services", changer: Callable[[Request], Session], reader: Callable[[Request], Session]
) -> None:
    Changer = Annotated[Session, Depends(changer)]  # a POST: cookie callers echo the CSRF token
    Reader = Annotated[Session, Depends(reader)]

    def audit(sess: Session, site: str, camera: str, outcome: str, detail: str | None = None) -> None:
        row = SnapshotAuditRow(
            at=svc.clock.now(), by=sess.username, site=site, camera=camera, outcome=outcome, detail=detail
        )
        svc.store.audit_snapshot(row)
        log.info("snapshot request", extra={"fields": row.model_dump()})

    @app.post("/api/cameras/{camera_id}/snapshot")
    def snapshot(camera_id: str, sess: Changer) -> Response:
        cam = next((c for c in svc.evaluator.cameras_view() if c.camera == camera_id), None)
        site = cam.site if cam is not None else svc.cfg.site.id
        if not can_change_alerts(sess.role):
            audit(sess, site, camera_id, "forbidden", sess.role)
            raise HTTPException(403, "only operators and admins may look at a camera")
        if not svc.cfg.snapshots.enabled:
            audit(sess, site, camera_id, "disabled")
            raise HTTPException(403, "camera pictures are turned off for this site")
        if cam is None:
            audit(sess, site, camera_id, "unknown_camera")
            raise HTTPException(404, "no such camera")
        if svc.snapshots is None:
            audit(sess, site, camera_id, "timeout", "central has no broker link")
            raise HTTPException(503, "central is not connected to the cameras")
        reply = svc.snapshots.request(site, camera_id, svc.cfg.snapshots.timeout_s)
        if reply is None:
            audit(sess, site, camera_id, "timeout")
            raise HTTPException(504, f"the camera did not answer within {svc.cfg.snapshots.timeout_s:g} s")
        if reply.status != "ok" or reply.jpeg is None:
            audit(sess, site, camera_id, "refused", reply.reason)
            reason = reply.reason or "no reason given"
            if reply.retry_after_s is not None:
                wait = math.ceil(reply.retry_after_s)
                raise HTTPException(429, f"the camera refused: {reason}", headers={"Retry-After": str(wait)})
            raise HTTPException(503 if reply.status == "unavailable" else 403, f"the camera refused: {reason}")
        audit(sess, site, camera_id, "ok")
        headers = {
            "Cache-Control": "no-store",  # a picture of people must not linger in a browser or proxy cache
            "X-Snapshot-Taken-At": repr(reply.taken_at),
            "X-Snapshot-Blurred": "true" if reply.blurred else "false",
        }
        return Response(base64.b64decode(reply.jpeg), media_type="image/jpeg", headers=headers)

    @app.get("/api/snapshots/audit")
    def snapshot_audit(sess: Reader, limit: int = 200) -> list[SnapshotAuditRow]:
        if not can_change_alerts(sess.role):
            raise HTTPException(403, "only operators and admins read the snapshot audit")
        return svc.store.snapshot_audit(max(1, min(limit, 1000)))
