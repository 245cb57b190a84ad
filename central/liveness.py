"""Camera liveness stage: each camera's state, last sight and frame rates, stored and announced to the console.

Fed on the evaluator's thread by status and stats messages and by every metric row; says when a camera is
stale (offline, stopped or silent) so the rules stage can raise or clear its `stale` alert.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass

from central import views
from central.config import CentralConfig
from central.events import EventBus
from central.store import CameraRow, Store
from central.zones import ZoneRegistry

log = logging.getLogger(__name__)

CAMERA_CHECK_S = 1.0  # camera staleness is checked this often (central's clock), and at once on a status change
# A camera that only sends metrics (no stats) is still stored and announced this often, so that the
# console's "seen" age and a restarted central's camera list stay true without a write per message.
CAMERA_ANNOUNCE_S = 5.0


@dataclass(frozen=True)
class CameraStatus:
    site: str
    camera: str
    state: str
    at_s: float


@dataclass(frozen=True)
class CameraStats:
    site: str
    camera: str
    processed_fps: float
    capture_fps: float
    at_s: float


@dataclass
class CameraRuntime:
    site: str
    camera: str
    state: str = "unknown"
    last_seen_wall: float | None = None
    processed_fps: float | None = None
    capture_fps: float | None = None
    announced_at: float | None = None  # when this camera was last stored and sent to the console
    announced_state: str | None = None  # the state (stale included) the console was last sent


class CameraLiveness:
    def __init__(self, cfg: CentralConfig, registry: ZoneRegistry, store: Store, bus: EventBus) -> None:
        self.cfg = cfg
        self.registry = registry
        self.store = store
        self.bus = bus
        self.cameras: dict[tuple[str, str], CameraRuntime] = {}
        self._pos = {(c.site or cfg.site.id, c.id): c.position for c in cfg.cameras if c.position is not None}
        self._names = {(c.site or cfg.site.id, c.id): c.display_name for c in cfg.cameras if c.display_name}
        self.checked_at = -math.inf
        self.dirty = True  # something changed that the stale rules must look at now

    def restore(self) -> None:
        for c in self.store.cameras():
            self.cameras[(c.site, c.camera)] = CameraRuntime(
                c.site, c.camera, c.state, None, c.processed_fps, c.capture_fps
            )

    def due(self, now: float) -> bool:
        return self.dirty or now - self.checked_at >= CAMERA_CHECK_S

    def checked(self, now: float) -> None:
        self.checked_at, self.dirty = now, False

    def get(self, site: str, camera: str) -> CameraRuntime | None:
        return self.cameras.get((site, camera))

    def _camera(self, site: str, camera: str) -> CameraRuntime:
        cam = self.cameras.get((site, camera))
        if cam is None:
            cam = self.cameras[(site, camera)] = CameraRuntime(site, camera)
        return cam

    def on_status(self, item: CameraStatus, now: float) -> None:
        cam = self._camera(item.site, item.camera)
        cam.state = item.state
        cam.last_seen_wall = now
        self.dirty = True
        self._save(cam, now)

    def on_stats(self, item: CameraStats, now: float) -> None:
        cam = self._camera(item.site, item.camera)
        cam.processed_fps, cam.capture_fps = item.processed_fps, item.capture_fps
        cam.last_seen_wall = now
        if cam.state == "unknown":
            cam.state = "online"
        self._save(cam, now)

    def on_metric(self, site: str, camera: str, now: float) -> None:
        cam = self._camera(site, camera)
        if cam.last_seen_wall is not None and now - cam.last_seen_wall > self.cfg.alerts.camera_stale_s:
            self.dirty = True  # it was silent: clear its stale alert at this step, not when the clock moves
        cam.last_seen_wall = now
        if cam.state in ("unknown", "offline", "stopped"):
            cam.state = "online"
            self.dirty = True
            self._save(cam, now)
        elif cam.announced_at is None or now - cam.announced_at >= CAMERA_ANNOUNCE_S:
            self._save(cam, now)

    def _save(self, cam: CameraRuntime, now: float) -> None:
        cam.announced_at = now
        try:
            self.store.upsert_camera(_row(cam), now)
        except Exception:
            log.exception("could not store camera %s", cam.camera)
        self._announce(cam, now)

    def _announce(self, cam: CameraRuntime, now: float) -> None:
        view = self.view(cam, now)
        cam.announced_state = view.state
        self.bus.publish("camera", view.json_dict())

    def announce_changes(self, now: float) -> None:
        """Send the console each camera whose state changed without a message, i.e. went silent: no
        message arrives to say so, and the page must not keep showing a dead camera online."""
        for cam in list(self.cameras.values()):
            if cam.announced_state is not None and self.view(cam, now).state != cam.announced_state:
                self._announce(cam, now)

    def stale(self, cam: CameraRuntime, now: float) -> tuple[bool, str]:
        if cam.state in ("offline", "stopped"):
            return True, f"is {cam.state}"
        if cam.last_seen_wall is not None and now - cam.last_seen_wall > self.cfg.alerts.camera_stale_s:
            return True, f"silent for {now - cam.last_seen_wall:.0f} s"
        return False, ""

    # -- read side -----------------------------------------------------------------------------------
    def view(self, cam: CameraRuntime, now: float) -> views.CameraView:
        stale, _ = self.stale(cam, now)
        return views.camera_view(
            _row(cam),
            stale and cam.state == "online",
            self._pos.get((cam.site, cam.camera)),
            stale_after_s=self.cfg.alerts.camera_stale_s,
            display_name=self._names.get((cam.site, cam.camera)),
        )

    def views(self, now: float) -> list[views.CameraView]:
        known = dict(self.cameras)
        for cam_id in self.registry.cameras():
            known.setdefault((self.registry.site, cam_id), CameraRuntime(self.registry.site, cam_id))
        # A position puts a camera on the map before it reports; a display name alone does not list it (the
        # demo names cameras that only some of its runs start).
        for site, cam_id in self._pos:
            known.setdefault((site, cam_id), CameraRuntime(site, cam_id))
        return [self.view(c, now) for _, c in sorted(known.items())]


def _row(cam: CameraRuntime) -> CameraRow:
    return CameraRow(
        site=cam.site,
        camera=cam.camera,
        state=cam.state,
        last_seen=cam.last_seen_wall,
        processed_fps=cam.processed_fps,
        capture_fps=cam.capture_fps,
    )
