"""What an edge publishes (zone metrics, status, stats, on-demand snapshots) and the one message it receives
(commands).

Topics are in `contract.topics`; examples in `contract.examples`.
"""

from __future__ import annotations

from typing import Literal

from pydantic import ConfigDict, Field

from contract.wire import WireMessage, id_field

ZONE_METRICS_SCHEMA = "crowd.zone_metrics/1"
STATUS_SCHEMA = "crowd.status/1"
STATS_SCHEMA = "crowd.stats/1"
COMMAND_SCHEMA = "crowd.command/1"
SNAPSHOT_SCHEMA = "crowd.snapshot/1"


class LineCounts(WireMessage):
    in_: int = Field(alias="in", ge=0, description="People who crossed the line in its 'in' direction.")
    out: int = Field(ge=0, description="People who crossed the line in its 'out' direction.")
    model_config = ConfigDict(populate_by_name=True)


class ZoneMetricsMessage(WireMessage):
    """One zone over one interval. Topic `<prefix>/<site>/<camera>/zones/<zone>/metrics`, QoS 1, retained."""

    schema_: Literal["crowd.zone_metrics/1"] = Field(
        alias="schema", default="crowd.zone_metrics/1", description="Message type and version."
    )
    site: str = id_field()
    camera: str = id_field()
    zone: str = id_field()
    seq: int = Field(
        ge=0,
        description="Per-camera sequence number; only grows, survives restarts. Receivers drop duplicates by (camera, seq).",
    )
    measured_at: float = Field(
        ge=0,
        description="UNIX time (s) of the end of the measured interval, not the time it was sent. "
        "Live sources: t_end. Files: the wall-clock time the run started plus t_end.",
    )
    frame_start: int = Field(ge=0, description="First source frame of the interval (0-based, inclusive).")
    frame_end: int = Field(ge=0, description="Last source frame of the interval (0-based, inclusive).")
    t_start: float = Field(description="Interval start: seconds of source time for files, UNIX time for live sources.")
    t_end: float = Field(description="Interval end, same clock as t_start.")
    count: float = Field(ge=0, le=1e6, description="Mean number of people in the zone over the interval.")
    count_max: int = Field(ge=0, le=1_000_000, description="Most people in the zone in any frame of the interval.")
    area_m2: float = Field(gt=0, le=1e8, description="Zone area on the ground, m2.")
    density: float = Field(ge=0, le=1e4, description="count / area_m2, persons per m2.")
    speed_p50: float | None = Field(ge=0, le=20, description="Median walking speed, m/s; null when nobody moved.")
    speed_p85: float | None = Field(
        ge=0, le=20, description="85th percentile walking speed, m/s; null when nobody moved."
    )
    los: str = Field(min_length=1, max_length=16, description="Level-of-service band (Fruin walkway A-F by default).")
    stale: bool = Field(
        description="True when the source gave no frames for the interval; counts are then not measurements."
    )
    direction_deg: float | None = Field(
        default=None,
        ge=0,
        lt=360,
        description="Dominant walking direction on the ground, degrees from +x towards +y.",
    )
    inflow: int = Field(default=0, ge=0, description="Crossings into the zone over its lines in the interval.")
    outflow: int = Field(default=0, ge=0, description="Crossings out of the zone over its lines in the interval.")
    speed_source: Literal["tracks", "dense_flow", "none"] = Field(
        default="tracks", description="Where the speeds come from."
    )
    lines: dict[str, LineCounts] = Field(
        default_factory=dict, description="Per counting line attached to the zone: in/out counts."
    )
    count_source: Literal["tracks", "detections", "density"] = Field(
        default="tracks",
        description="What the count measures: 'tracks' (people followed from frame to frame, the default), "
        "'detections' (the detector's boxes on the frames it ran on; used where frames come too far apart "
        "to follow people, or the zone is too crowded for tracks) or 'density' (a crowd-counting network's "
        "density map carried most of the count: people packed too tightly for boxes; see density_weight). "
        "An optional addition to crowd.zone_metrics/1 ('density' added with the density map); absent means 'tracks'.",
    )
    density_weight: float = Field(
        default=0.0,
        ge=0,
        le=1,
        description="Share of the count carried by the density map, 0 to 1 (0: boxes or tracks alone; the map "
        "weighs more the more the detector's boxes hide each other). An optional addition to crowd.zone_metrics/1; "
        "absent means 0.",
    )


class StatusMessage(WireMessage):
    """Edge liveness. Topic `<prefix>/<site>/<camera>/status`, retained; 'offline' is the last will."""

    schema_: Literal["crowd.status/1"] = Field(
        alias="schema", default="crowd.status/1", description="Message type and version."
    )
    site: str = id_field()
    camera: str = id_field()
    state: Literal["online", "offline", "stopped"] = Field(
        description="online on every (re)connect, offline as last will, stopped on clean shutdown."
    )
    version: str = Field(max_length=64, description="Edge software version.")
    started_at: float = Field(ge=0, description="UNIX time the edge process started.")
    at: float = Field(
        ge=0,
        description="UNIX time this status was produced; for 'offline' (the last will) the time the will was "
        "registered with the broker, which sends it later.",
    )


class StatsMessage(WireMessage):
    """Edge health figures every N seconds. Topic `<prefix>/<site>/<camera>/stats`."""

    schema_: Literal["crowd.stats/1"] = Field(
        alias="schema", default="crowd.stats/1", description="Message type and version."
    )
    site: str = id_field()
    camera: str = id_field()
    at: float = Field(ge=0, description="UNIX time of these figures.")
    capture_fps: float = Field(ge=0, description="Frames per second read from the source.")
    processed_fps: float = Field(ge=0, description="Frames per second through the whole pipeline.")
    frames_dropped: int = Field(
        ge=0, description="Frames the live reader replaced before they were processed (latest frame wins)."
    )
    frames_skipped: int = Field(ge=0, description="Frames that failed to decode and were skipped.")
    detector_ms: float = Field(ge=0, description="Mean detector time per detection, ms.")
    source_reconnects_1h: int = Field(ge=0, description="Video source reconnects in the last hour.")
    broker_reconnects_1h: int = Field(ge=0, description="Broker reconnects in the last hour.")
    buffered_messages: int = Field(ge=0, description="Messages waiting in the store-and-forward queue.")
    queue_dropped: int = Field(ge=0, description="Messages dropped because the queue was full, since start.")
    cpu_percent: float = Field(ge=0, description="CPU use of the edge process, percent of one core.")


class CommandMessage(WireMessage):
    """A request to one edge. Topic `<prefix>/<site>/<camera>/cmd`, QoS 1, not retained.

    The edge answers `status` by publishing its status again, `stats` by publishing its stats now and
    `snapshot` by publishing one SnapshotMessage (a picture or a refusal) on its snapshot topic, carrying
    the request's `request_id`. Payloads that do not validate are logged and ignored.
    """

    schema_: Literal["crowd.command/1"] = Field(
        alias="schema", default="crowd.command/1", description="Message type and version."
    )
    command: Literal["status", "stats", "snapshot"] = Field(
        description="What the edge should publish now. 'snapshot' is an addition to crowd.command/1: an edge "
        "older than it logs the command as invalid and sends nothing (the requester times out)."
    )
    request_id: str | None = Field(
        default=None,
        max_length=128,
        description="Free text for the requester's own logs; echoed only in a snapshot's reply, where the "
        "requester matches the reply to its request by it.",
    )


class SnapshotMessage(WireMessage):
    """One annotated picture of the scene, or why there is none: the answer to a `snapshot` command.
    Topic `<prefix>/<site>/<camera>/snapshot`, QoS 1, not retained.

    Sent only on request, never on a timer: apart from these, only aggregates leave the edge.
    """

    schema_: Literal["crowd.snapshot/1"] = Field(
        alias="schema", default="crowd.snapshot/1", description="Message type and version."
    )
    site: str = id_field()
    camera: str = id_field()
    request_id: str | None = Field(max_length=128, description="The command's request_id, echoed.")
    status: Literal["ok", "refused", "unavailable"] = Field(
        description="ok: `jpeg` holds the picture. refused: the edge's rate limit or its config said no "
        "(see `reason`, `retry_after_s`). unavailable: no frame processed yet."
    )
    reason: str | None = Field(max_length=200, description="Why there is no picture; null when status is ok.")
    retry_after_s: float | None = Field(ge=0, description="When refused by the rate limit: seconds to wait.")
    taken_at: float | None = Field(ge=0, description="UNIX time the pictured frame was processed; null without one.")
    width: int | None = Field(ge=1, le=4096, description="Picture width, px (the long side is capped by the edge).")
    height: int | None = Field(ge=1, le=4096, description="Picture height, px.")
    blurred: bool | None = Field(
        description="Whether people are pixelated (the default; an edge's config may allow not)."
    )
    jpeg: str | None = Field(
        max_length=2_000_000,
        description="The JPEG, base64 (standard alphabet, padded): zones and boxes drawn on the downscaled frame.",
    )
