"""The MQTT wire contract between edge nodes and their subscribers.

These pydantic models are the single source of truth: the edge publishes them, central validates
with them, and `docs/mqtt.md` carries JSON Schemas generated from them. This module imports
nothing but pydantic so that any subscriber (central included) can use it without OpenCV.
Bump the `/N` in a `schema` value on any incompatible change.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

ZONE_METRICS_SCHEMA = "crowd.zone_metrics/1"
STATUS_SCHEMA = "crowd.status/1"
STATS_SCHEMA = "crowd.stats/1"

Id = str  # ids travel in topic levels: no '/', '+', '#'
_ID = Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_.-]+$")


class _Message(BaseModel):
    # Wire messages reject unknown keys and non-finite numbers: a NaN density must not reach an alert rule.
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class LineCounts(_Message):
    in_: int = Field(alias="in", ge=0, description="People who crossed the line in its 'in' direction.")
    out: int = Field(ge=0, description="People who crossed the line in its 'out' direction.")
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class ZoneMetricsMessage(_Message):
    """One zone over one interval. Topic `<prefix>/<site>/<camera>/zones/<zone>/metrics`, QoS 1, retained."""

    schema_: Literal["crowd.zone_metrics/1"] = Field(
        alias="schema", default="crowd.zone_metrics/1", description="Message type and version."
    )
    site: str = _ID
    camera: str = _ID
    zone: str = _ID
    seq: int = Field(
        ge=0,
        description="Per-camera sequence number; only grows, survives restarts. Receivers drop duplicates by (camera, seq).",
    )
    measured_at: float = Field(
        ge=0, description="UNIX time (s) of the end of the measured interval; not the time it was sent."
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


class StatusMessage(_Message):
    """Edge liveness. Topic `<prefix>/<site>/<camera>/status`, retained; 'offline' is the last will."""

    schema_: Literal["crowd.status/1"] = Field(
        alias="schema", default="crowd.status/1", description="Message type and version."
    )
    site: str = _ID
    camera: str = _ID
    state: Literal["online", "offline", "stopped"] = Field(
        description="online on every (re)connect, offline as last will, stopped on clean shutdown."
    )
    version: str = Field(max_length=64, description="Edge software version.")
    started_at: float = Field(ge=0, description="UNIX time the edge process started.")
    at: float = Field(ge=0, description="UNIX time this status was produced.")


class StatsMessage(_Message):
    """Edge health figures every N seconds. Topic `<prefix>/<site>/<camera>/stats`."""

    schema_: Literal["crowd.stats/1"] = Field(
        alias="schema", default="crowd.stats/1", description="Message type and version."
    )
    site: str = _ID
    camera: str = _ID
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


def metrics_topic(prefix: str, site: str, camera: str, zone: str) -> str:
    return f"{prefix}/{site}/{camera}/zones/{zone}/metrics"


def status_topic(prefix: str, site: str, camera: str) -> str:
    return f"{prefix}/{site}/{camera}/status"


def stats_topic(prefix: str, site: str, camera: str) -> str:
    return f"{prefix}/{site}/{camera}/stats"
