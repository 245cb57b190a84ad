"""Patrol fusion stage: the latest position of every patrol, the nearest patrols to a zone, and when an open
alert's nearest patrols have moved enough to publish it again.

Mutated only on the evaluator's thread (positions arrive as commands from ingest); the API reads views.
"""

from __future__ import annotations

from central import views
from central.clock import Clock
from central.config import CentralConfig
from central.patrol_order import stable_order
from central.patrols import PatrolDistance, PatrolPosition, is_stale, nearest
from central.store import Store
from central.zones import ZoneRegistry
from contract.central_messages import PatrolRef

NEAREST_K = 3  # patrols listed per alert
MOVED_M = 5.0  # an alert is published again when one of its nearest patrols moved more than this


class PatrolFusion:
    def __init__(self, cfg: CentralConfig, registry: ZoneRegistry, store: Store, clock: Clock) -> None:
        self.cfg = cfg
        self.registry = registry
        self.store = store
        self.clock = clock
        self.positions: dict[str, PatrolPosition] = {}
        self.dirty = False  # a position changed since the open alerts' patrols were last compared
        self._published: dict[str, list[PatrolRef]] = {}  # alert id -> the patrols it was last sent with
        # zone id -> every patrol in the order last shown: the API's and the page's nearest lists follow it
        # (see central.patrol_order), so the list an operator reads is the list the Assign click acts on.
        self._order: dict[str, list[str]] = {}

    def restore(self) -> None:
        for p in self.store.latest_patrol_positions():
            self.positions[p.patrol_id] = p

    def on_position(self, pos: PatrolPosition) -> bool:
        """Take a position; False when it is older than the one held."""
        old = self.positions.get(pos.patrol_id)
        if old is not None and pos.at_s < old.at_s:
            return False
        self.positions[pos.patrol_id] = pos
        self.dirty = True
        return True

    def nearest(self, zone_id: str) -> list[PatrolDistance]:
        zone = self.registry.get(zone_id)
        if zone is None:
            return []
        p = self.cfg.patrols
        positions = list(self.positions.values())
        ranked = nearest(
            zone.polygon,
            positions,
            self.clock.now(),
            walking_speed_mps=p.walking_speed_mps,
            stale_after_s=p.stale_after_s,
            max_accuracy_m=p.max_accuracy_m,
            k=len(positions),
        )
        order = stable_order(self._order.get(zone_id, ()), ranked)
        self._order[zone_id] = [d.patrol_id for d in order]
        return order[:NEAREST_K]

    def sent(self, alert_id: str, patrols: list[PatrolRef] | None) -> None:
        """Publication sent this alert with these patrols (None: it ended)."""
        if patrols is None:
            self._published.pop(alert_id, None)
        else:
            self._published[alert_id] = patrols

    def moved(self, alert_id: str, zone_id: str) -> bool:
        """Whether the alert's nearest patrols differ from those it was last sent with."""
        return _patrols_moved(self._published.get(alert_id), [p.ref() for p in self.nearest(zone_id)])

    # -- read side -----------------------------------------------------------------------------------
    def view(self, patrol_id: str, now: float | None = None) -> views.PatrolView:
        now = self.clock.now() if now is None else now
        latest = self.positions[patrol_id]
        track = [
            p
            for p in self.store.patrol_positions_since(now - self.cfg.patrols.track_minutes * 60)
            if p.patrol_id == patrol_id
        ]
        p = self.cfg.patrols
        return views.patrol_view(
            latest, track, is_stale(latest, now, p.stale_after_s, p.max_accuracy_m), p.stale_after_s
        )

    def views(self) -> list[views.PatrolView]:
        now = self.clock.now()
        p = self.cfg.patrols
        tracks: dict[str, list[PatrolPosition]] = {}
        for pos in self.store.patrol_positions_since(now - p.track_minutes * 60):
            tracks.setdefault(pos.patrol_id, []).append(pos)
        return [
            views.patrol_view(
                latest, tracks.get(pid, []), is_stale(latest, now, p.stale_after_s, p.max_accuracy_m), p.stale_after_s
            )
            for pid, latest in sorted(dict(self.positions).items())
        ]


def _patrols_moved(old: list[PatrolRef] | None, new: list[PatrolRef]) -> bool:
    if old is None:
        return bool(new)
    if [p.id for p in old] != [p.id for p in new]:
        return True
    return any(a.stale != b.stale or abs(a.distance_m - b.distance_m) > MOVED_M for a, b in zip(old, new, strict=True))
