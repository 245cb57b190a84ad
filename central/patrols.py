"""Patrol fusion stage, messages and distances (pure): parse OwnTracks and crowd patrol messages, rank patrols by distance to a zone."""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from pydantic import ValidationError

from central import geo
from contract.central_messages import PatrolRef
from contract.patrol_messages import OwnTracksLocation, PatrolLocationMessage


@dataclass(frozen=True)
class PatrolPosition:
    patrol_id: str
    name: str
    lat: float
    lon: float
    acc_m: float
    at_s: float  # device time of the fix
    source: str  # "owntracks" or "crowd"


@dataclass(frozen=True)
class PatrolDistance:
    patrol_id: str
    distance_m: float
    eta_s: float
    stale: bool

    def ref(self) -> PatrolRef:
        """As an alert shows it (API and MQTT): distance and ETA to 0.1."""
        return PatrolRef(
            id=self.patrol_id, distance_m=round(self.distance_m, 1), eta_s=round(self.eta_s, 1), stale=self.stale
        )


class PatrolMessageError(ValueError):
    """A patrol message that cannot be used; the text says why."""


def _id_ok(text: str) -> bool:
    return 0 < len(text) <= 128 and all(c.isalnum() or c in "_.-" for c in text) and text.isascii()


def parse_owntracks(topic: str, payload: bytes) -> PatrolPosition | None:
    """`owntracks/<user>/<device>`: a position, or None for OwnTracks messages that are not locations."""
    parts = topic.split("/")
    if len(parts) != 3 or parts[0] != "owntracks" or not _id_ok(parts[1]) or not _id_ok(parts[2]):
        raise PatrolMessageError(f"not an owntracks/<user>/<device> topic: {topic[:200]!r}")
    try:
        raw = json.loads(payload)
    except (ValueError, UnicodeDecodeError, RecursionError) as err:  # RecursionError: deeply nested JSON
        raise PatrolMessageError(f"not JSON: {err}") from None
    if not isinstance(raw, dict):
        raise PatrolMessageError("an OwnTracks message must be a JSON object")
    if raw.get("_type") != "location":
        return None
    try:
        msg = OwnTracksLocation.model_validate(raw)
    except ValidationError as err:
        raise PatrolMessageError(_short(err)) from None
    return PatrolPosition(parts[1], parts[1], msg.lat, msg.lon, msg.acc, msg.tst, "owntracks")


def parse_patrol_location(patrol_id: str, payload: bytes) -> PatrolPosition:
    """`<prefix>/patrols/<id>/location`: a crowd.patrol_location/1 message (or an OwnTracks-shaped one)."""
    if not _id_ok(patrol_id):
        raise PatrolMessageError(f"bad patrol id in topic: {patrol_id[:200]!r}")
    try:
        raw = json.loads(payload)
    except (ValueError, UnicodeDecodeError, RecursionError) as err:  # RecursionError: deeply nested JSON
        raise PatrolMessageError(f"not JSON: {err}") from None
    if isinstance(raw, dict) and raw.get("_type") == "location":
        pos = parse_owntracks(f"owntracks/{patrol_id}/phone", payload)
        assert pos is not None
        return PatrolPosition(patrol_id, patrol_id, pos.lat, pos.lon, pos.acc_m, pos.at_s, "crowd")
    try:
        msg = PatrolLocationMessage.model_validate(raw)
    except ValidationError as err:
        raise PatrolMessageError(_short(err)) from None
    return PatrolPosition(patrol_id, msg.name or patrol_id, msg.lat, msg.lon, msg.acc_m, msg.at, "crowd")


def _short(err: ValidationError) -> str:
    e = err.errors()[0]
    key = ".".join(str(p) for p in e["loc"]) or "<root>"
    return f"{key}: {e['msg']} ({err.error_count()} error(s))"


def is_stale(pos: PatrolPosition, now_s: float, stale_after_s: float, max_accuracy_m: float) -> bool:
    return (now_s - pos.at_s) > stale_after_s or pos.acc_m > max_accuracy_m


def nearest(
    ring: Sequence[geo.LonLat],
    positions: Iterable[PatrolPosition],
    now_s: float,
    *,
    walking_speed_mps: float,
    stale_after_s: float,
    max_accuracy_m: float,
    k: int = 3,
) -> list[PatrolDistance]:
    """The k patrols nearest to a zone (0 m when inside), nearest first; stale ones are kept but flagged."""
    ranked = []
    for p in positions:
        d = geo.distance_to_polygon_m(ring, p.lon, p.lat)
        if not math.isfinite(d):
            continue
        ranked.append(
            PatrolDistance(p.patrol_id, d, d / walking_speed_mps, is_stale(p, now_s, stale_after_s, max_accuracy_m))
        )
    ranked.sort(key=lambda r: (r.distance_m, r.patrol_id))
    return ranked[:k]
