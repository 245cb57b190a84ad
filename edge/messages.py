"""The MQTT wire contract between edge nodes and their subscribers.

These pydantic models are the single source of truth: the edge publishes them, central validates
with them, and `docs/mqtt.md` carries JSON Schemas generated from them. This module imports
nothing but pydantic so that any subscriber (central included) can use it without OpenCV.
Bump the `/N` in a `schema` value on any incompatible change.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

ZONE_METRICS_SCHEMA = "crowd.zone_metrics/1"
STATUS_SCHEMA = "crowd.status/1"
STATS_SCHEMA = "crowd.stats/1"
COMMAND_SCHEMA = "crowd.command/1"
DEFAULT_TOPIC_PREFIX = "crowd/v1"

Id = str  # ids travel in topic levels: no '/', '+', '#'
_ID = Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_.-]+$")


class _Message(BaseModel):
    # Wire messages reject unknown keys and non-finite numbers: a NaN density must not reach an alert rule.
    # The serialization schema marks defaulted fields required: the edge always sends every field.
    model_config = ConfigDict(
        extra="forbid", frozen=True, allow_inf_nan=False, json_schema_serialization_defaults_required=True
    )


class LineCounts(_Message):
    in_: int = Field(alias="in", ge=0, description="People who crossed the line in its 'in' direction.")
    out: int = Field(ge=0, description="People who crossed the line in its 'out' direction.")
    model_config = ConfigDict(
        extra="forbid", frozen=True, populate_by_name=True, json_schema_serialization_defaults_required=True
    )


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
        "Added in edge 0.2 ('density' in 0.3); absent means 'tracks'.",
    )
    density_weight: float = Field(
        default=0.0,
        ge=0,
        le=1,
        description="Share of the count carried by the density map, 0 to 1 (0: boxes or tracks alone; the map "
        "weighs more the more the detector's boxes hide each other). Added in edge 0.3; absent means 0.",
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
    at: float = Field(
        ge=0,
        description="UNIX time this status was produced; for 'offline' (the last will) the time the will was "
        "registered with the broker, which sends it later.",
    )


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


class CommandMessage(_Message):
    """A request to one edge. Topic `<prefix>/<site>/<camera>/cmd`, QoS 1, not retained.

    The edge answers `status` by publishing its status again and `stats` by publishing its stats
    now. Payloads that do not validate are logged and ignored.
    """

    schema_: Literal["crowd.command/1"] = Field(
        alias="schema", default="crowd.command/1", description="Message type and version."
    )
    command: Literal["status", "stats"] = Field(description="What the edge should publish now.")
    request_id: str | None = Field(
        default=None, max_length=128, description="Free text for the requester's own logs; not echoed."
    )


MessageT = TypeVar("MessageT", bound=_Message)


class MessageError(ValueError):
    """A payload that is not valid JSON or does not match its model; the text says which field."""


def encode(message: _Message) -> bytes:
    """The UTF-8 JSON payload of a message, with wire names (`schema`, `in`)."""
    return message.model_dump_json(by_alias=True).encode("utf-8")


def decode(model: type[MessageT], payload: bytes | str) -> MessageT:
    """Parse and validate a payload; raises MessageError with a readable reason."""
    try:
        data = json.loads(payload)
    except (UnicodeDecodeError, ValueError, RecursionError) as err:  # RecursionError: deeply nested JSON
        raise MessageError(f"{model.__name__}: payload is not JSON: {err}") from None
    try:
        return model.model_validate(data)
    except ValidationError as err:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc']) or '<root>'}: {e['msg']}" for e in err.errors())
        raise MessageError(f"{model.__name__}: {problems}") from None


def json_schema(model: type[BaseModel]) -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of what the edge sends for `model`."""
    schema = model.model_json_schema(by_alias=True, mode="serialization")
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    return schema


@dataclass(frozen=True)
class TopicRef:
    """A topic split into its parts; `zone` is set only for metrics topics."""

    site: str
    camera: str
    kind: Literal["status", "stats", "metrics", "cmd"]
    zone: str | None = None


def parse_topic(prefix: str, topic: str) -> TopicRef | None:
    """The parts of an edge topic under `prefix`, or None when the topic is not one of ours."""
    head = prefix.rstrip("/") + "/"
    if not topic.startswith(head):
        return None
    parts = topic[len(head) :].split("/")
    if len(parts) == 3 and parts[2] in ("status", "stats", "cmd") and parts[0] and parts[1]:
        return TopicRef(parts[0], parts[1], parts[2])  # type: ignore[arg-type]
    if len(parts) == 5 and parts[2] == "zones" and parts[4] == "metrics" and all(parts[:4]):
        return TopicRef(parts[0], parts[1], "metrics", parts[3])
    return None


@dataclass(frozen=True)
class TopicDoc:
    """One topic's entry in docs/mqtt.md (scripts/gen_mqtt_docs.py renders these; central adds its own)."""

    title: str
    topic: str
    model: type[BaseModel]
    example: BaseModel | None = None
    publisher: str | None = None
    qos: int | None = None
    retained: bool | None = None
    notes: str = ""


_EXAMPLE_T0 = 1_700_000_000.0

TOPIC_DOCS: list[TopicDoc] = [
    TopicDoc(
        title="Edge status",
        topic="<prefix>/<site>/<camera>/status",
        model=StatusMessage,
        example=StatusMessage(
            site="north", camera="cam-1", state="online", version="0.1.0", started_at=_EXAMPLE_T0, at=_EXAMPLE_T0 + 2
        ),
        publisher="edge",
        qos=1,
        retained=True,
        notes="`online` on every (re)connect, `offline` as the last will (the broker publishes it when the edge "
        "vanishes without a clean disconnect, e.g. killed or cut off for 1.5 x keepalive), `stopped` on a "
        "clean shutdown. A stopped or killed edge therefore leaves its last state retained.",
    ),
    TopicDoc(
        title="Zone metrics",
        topic="<prefix>/<site>/<camera>/zones/<zone>/metrics",
        model=ZoneMetricsMessage,
        example=ZoneMetricsMessage(
            site="north",
            camera="cam-1",
            zone="crossing",
            seq=41,
            measured_at=_EXAMPLE_T0 + 61,
            frame_start=420,
            frame_end=426,
            t_start=60.0,
            t_end=61.0,
            count=4.43,
            count_max=5,
            area_m2=120.0,
            density=0.0369,
            speed_p50=1.02,
            speed_p85=1.31,
            los="A",
            stale=False,
            direction_deg=87.5,
            inflow=1,
            outflow=0,
            speed_source="tracks",
            lines={"gate": LineCounts.model_validate({"in": 1, "out": 0})},
        ),
        publisher="edge",
        qos=1,
        retained=True,
        notes="One message per zone per interval. Sent through the edge's on-disk queue: after an outage "
        "the queued intervals arrive late, in order, with their original `measured_at`; an interval may "
        "arrive twice (sent, broker restarted before acknowledging). **Drop duplicates by `(camera, seq)`** "
        "(add `site` if camera ids are not unique across sites). `seq` is shared by all zones of a camera, so "
        "one zone sees gaps. The retained message is the latest interval of the zone.",
    ),
    TopicDoc(
        title="Edge stats",
        topic="<prefix>/<site>/<camera>/stats",
        model=StatsMessage,
        example=StatsMessage(
            site="north",
            camera="cam-1",
            at=_EXAMPLE_T0 + 600,
            capture_fps=7.0,
            processed_fps=7.0,
            frames_dropped=0,
            frames_skipped=0,
            detector_ms=38.5,
            source_reconnects_1h=0,
            broker_reconnects_1h=1,
            buffered_messages=0,
            queue_dropped=0,
            cpu_percent=85.0,
        ),
        publisher="edge",
        qos=1,
        retained=True,
        notes="Every `mqtt.stats_interval_s` seconds (default 10) while connected, and on a `stats` command. "
        "Not queued: figures from an outage are not replayed.",
    ),
    TopicDoc(
        title="Command to an edge",
        topic="<prefix>/<site>/<camera>/cmd",
        model=CommandMessage,
        example=CommandMessage(command="status", request_id="console-7"),
        publisher="any client (e.g. the console)",
        qos=1,
        retained=False,
        notes="The only topic an edge subscribes to. `status` republishes the status, `stats` publishes stats "
        "now. A payload that is not valid JSON or does not match the schema is logged by the edge and "
        "ignored; nothing is sent back.",
    ),
]


def metrics_topic(prefix: str, site: str, camera: str, zone: str) -> str:
    return f"{prefix}/{site}/{camera}/zones/{zone}/metrics"


def status_topic(prefix: str, site: str, camera: str) -> str:
    return f"{prefix}/{site}/{camera}/status"


def stats_topic(prefix: str, site: str, camera: str) -> str:
    return f"{prefix}/{site}/{camera}/stats"


def cmd_topic(prefix: str, site: str, camera: str) -> str:
    return f"{prefix}/{site}/{camera}/cmd"
