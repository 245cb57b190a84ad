"""Topic builders and the one parser: which message a topic carries, and for whom.

Edge topics sit under `<prefix>/<site>/<camera>/`; central's under `<prefix>/alerts/`, `<prefix>/<site>/zones/`,
`<prefix>/deadletter`; patrol devices publish under `<prefix>/patrols/` or OwnTracks' own `owntracks/`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from contract.wire import DEFAULT_TOPIC_PREFIX

__all__ = [
    "DEFAULT_TOPIC_PREFIX",
    "TopicKind",
    "TopicRef",
    "alert_topic",
    "cmd_topic",
    "dead_letter_topic",
    "forecast_topic",
    "metrics_topic",
    "parse_topic",
    "patrol_topic",
    "snapshot_topic",
    "stats_topic",
    "status_topic",
]

TopicKind = Literal[
    "status", "stats", "metrics", "cmd", "snapshot", "alert", "forecast", "patrol_location", "owntracks", "deadletter"
]


@dataclass(frozen=True)
class TopicRef:
    """A topic split into its parts. Edge topics set `site` and `camera` (`zone` for metrics); forecasts set
    `site` and `zone`; alerts and patrol locations set `id` (for OwnTracks the user)."""

    site: str | None
    camera: str | None
    kind: TopicKind
    zone: str | None = None
    id: str | None = None


def parse_topic(prefix: str, topic: str) -> TopicRef | None:
    """The parts of a topic of ours under `prefix` (or OwnTracks'), or None when it is not one."""
    if topic.startswith("owntracks/"):
        user_device = topic.split("/")[1:]
        if len(user_device) == 2 and all(user_device):
            return TopicRef(None, None, "owntracks", id=user_device[0])
        return None
    head = prefix.rstrip("/") + "/"
    if not topic.startswith(head):
        return None
    parts = topic[len(head) :].split("/")
    if not all(parts):
        return None
    if len(parts) == 1 and parts[0] == "deadletter":
        return TopicRef(None, None, "deadletter")
    if len(parts) == 2 and parts[0] == "alerts":
        return TopicRef(None, None, "alert", id=parts[1])
    if len(parts) == 3 and parts[0] == "patrols" and parts[2] == "location":
        return TopicRef(None, None, "patrol_location", id=parts[1])
    if len(parts) == 3 and parts[2] in ("status", "stats", "cmd", "snapshot"):
        return TopicRef(parts[0], parts[1], parts[2])  # type: ignore[arg-type]
    if len(parts) == 4 and parts[1] == "zones" and parts[3] == "forecast":
        return TopicRef(parts[0], None, "forecast", parts[2])
    if len(parts) == 5 and parts[2] == "zones" and parts[4] == "metrics":
        return TopicRef(parts[0], parts[1], "metrics", parts[3])
    return None


def metrics_topic(prefix: str, site: str, camera: str, zone: str) -> str:
    return f"{prefix}/{site}/{camera}/zones/{zone}/metrics"


def status_topic(prefix: str, site: str, camera: str) -> str:
    return f"{prefix}/{site}/{camera}/status"


def stats_topic(prefix: str, site: str, camera: str) -> str:
    return f"{prefix}/{site}/{camera}/stats"


def cmd_topic(prefix: str, site: str, camera: str) -> str:
    return f"{prefix}/{site}/{camera}/cmd"


def snapshot_topic(prefix: str, site: str, camera: str) -> str:
    """Where an edge answers a `snapshot` command."""
    return f"{prefix}/{site}/{camera}/snapshot"


def alert_topic(prefix: str, alert_id: str) -> str:
    return f"{prefix}/alerts/{alert_id}"


def forecast_topic(prefix: str, site: str, zone: str) -> str:
    return f"{prefix}/{site}/zones/{zone}/forecast"


def patrol_topic(prefix: str, patrol_id: str) -> str:
    return f"{prefix}/patrols/{patrol_id}/location"


def dead_letter_topic(prefix: str) -> str:
    return f"{prefix}/deadletter"
