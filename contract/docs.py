"""docs/mqtt.md: one entry per topic (title, topic, model, example, delivery) and the renderer.

`python -m scripts.gen_mqtt_docs` writes the file; a unit test fails when it is stale.
"""

from __future__ import annotations

import inspect
import json
import re
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from contract import examples as ex
from contract.central_messages import AlertMessage, DeadLetterMessage, ForecastMessage
from contract.edge_messages import (
    CommandMessage,
    SnapshotMessage,
    StatsMessage,
    StatusMessage,
    ZoneMetricsMessage,
)
from contract.patrol_messages import PatrolLocationMessage
from contract.wire import DEFAULT_TOPIC_PREFIX, json_schema


@dataclass(frozen=True)
class TopicDoc:
    """One topic's entry in docs/mqtt.md."""

    title: str
    topic: str
    model: type[BaseModel]
    example: BaseModel | None = None
    publisher: str | None = None
    qos: int | None = None
    retained: bool | None = None
    notes: str = ""


def _doc(model: type[BaseModel]) -> str:
    return inspect.cleandoc(model.__doc__ or "")


TOPIC_DOCS: list[TopicDoc] = [
    TopicDoc(
        title="Edge status",
        topic="<prefix>/<site>/<camera>/status",
        model=StatusMessage,
        example=ex.STATUS,
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
        example=ex.ZONE_METRICS,
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
        example=ex.STATS,
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
        example=ex.COMMAND,
        publisher="any client (e.g. the console)",
        qos=1,
        retained=False,
        notes="The only topic an edge subscribes to. `status` republishes the status, `stats` publishes stats "
        "now, `snapshot` publishes one picture (or a refusal) on the snapshot topic; central sends `snapshot` "
        'on an operator\'s request (`{"schema": "crowd.command/1", "command": "snapshot", "request_id": '
        '"snap-3f9c2a"}`). A payload that is not valid JSON or does not match the schema is logged by the edge '
        "and ignored; nothing is sent back.",
    ),
    TopicDoc(
        title="Snapshot reply",
        topic="<prefix>/<site>/<camera>/snapshot",
        model=SnapshotMessage,
        example=ex.SNAPSHOT,
        publisher="edge",
        qos=1,
        retained=False,
        notes=_doc(SnapshotMessage)
        + "\n\nThe edge keeps references to its latest processed frame and encodes only when asked. Limits (edge "
        "config `snapshot`): at most one picture per `min_interval_s` (default 10) per camera, a request "
        "inside it is answered `refused` with `retry_after_s`; the long side at most `max_side_px` (default "
        "640), JPEG quality `jpeg_quality` (default 70); people pixelated unless `blur_people: false`; "
        "`enabled: false` refuses every request. Match replies to requests by `request_id`; a reply whose "
        "`request_id` is not yours is someone else's.",
    ),
    TopicDoc(
        title="Alert events (central)",
        topic="<prefix>/alerts/<id>",
        model=AlertMessage,
        example=ex.ALERT,
        publisher="central",
        qos=1,
        retained=True,
        notes=_doc(AlertMessage) + "\n\nSubscribers must ignore the empty payload that removes the retained copy.",
    ),
    TopicDoc(
        title="Zone forecasts (central)",
        topic="<prefix>/<site>/zones/<zone>/forecast",
        model=ForecastMessage,
        example=ex.FORECAST,
        publisher="central",
        qos=1,
        retained=True,
        notes=_doc(ForecastMessage),
    ),
    TopicDoc(
        title="Patrol locations (patrol devices)",
        topic="<prefix>/patrols/<id>/location",
        model=PatrolLocationMessage,
        example=ex.PATROL_LOCATION,
        publisher="patrol device",
        qos=1,
        retained=False,
        notes=_doc(PatrolLocationMessage)
        + '\n\nOwnTracks: `owntracks/<user>/<device>` with `{"_type": "location", "lat", "lon", "acc", "tst"}`;'
        " other `_type`s are ignored. A position older than 60 s or less accurate than 25 m is flagged stale.",
    ),
    TopicDoc(
        title="Dead letters (central)",
        topic="<prefix>/deadletter",
        model=DeadLetterMessage,
        example=ex.DEAD_LETTER,
        publisher="central",
        qos=1,
        retained=False,
        notes=_doc(DeadLetterMessage),
    ),
]

INTRO = f"""# MQTT contract

Generated by `scripts/gen_mqtt_docs.py` from the pydantic models of the `contract/` package; do not edit
by hand. Everything a subscriber in any language needs is here.

## Conventions

- **Topics** live under a configurable prefix, default `{DEFAULT_TOPIC_PREFIX}` (edge config key
  `mqtt.topic_prefix`). `<site>`, `<camera>` and `<zone>` are ids matching `^[A-Za-z0-9_.-]+$`, so
  they never contain `/`, `+` or `#`. Subscribe to `{DEFAULT_TOPIC_PREFIX}/+/+/zones/+/metrics` for all
  metrics, `{DEFAULT_TOPIC_PREFIX}/+/+/status` for all edges' liveness.
- **Payloads** are UTF-8 JSON objects. Every payload has a `schema` field, `<type>/<version>` (for
  example `crowd.zone_metrics/1`). The version is bumped on any incompatible change; a subscriber should
  reject (and log) versions it does not know. Unknown fields are not sent; numbers are finite (no NaN).
- **Times** are UNIX seconds (float, UTC). `measured_at` is when an interval ended, not when it was sent:
  for a live camera it is the interval's `t_end`; for a video file (whose `t_start`/`t_end` are seconds
  into the file) it is the wall-clock time the edge started plus `t_end`.
- **Units**: areas in m², densities in persons/m², speeds in m/s, angles in degrees.
- **Delivery**: QoS 1 (at least once). Metrics are written to the edge's bounded on-disk queue first and
  sent in order when the broker is reachable, also after an edge restart; when the queue is full the
  oldest are dropped and counted in the stats (`queue_dropped`). Receivers **drop duplicates by
  `(camera, seq)`**; `seq` only grows per camera (it survives restarts) and may have gaps.
- **Sessions**: edges connect with MQTT 5 (3.1.1 as a fallback), client id
  `crowd-edge-<site>-<camera>`, a persistent session (session expiry 7 days). Persistent subscribers
  (clean start off, a session expiry) get what was published while they were away.
- **Schemas** below are JSON Schema 2020-12 of what is sent: every listed property is present
  (optional values are `null`), except in the patrol location, which devices send and may shorten.
"""


def _schema_id(schema: dict[str, Any]) -> str | None:
    prop = schema.get("properties", {}).get("schema", {})
    const = prop.get("const")
    return const if isinstance(const, str) else None


def render_topic(doc: TopicDoc) -> str:
    schema = json_schema(doc.model)
    rows = [("topic", f"`{doc.topic}`")]
    if doc.publisher is not None:
        rows.append(("published by", doc.publisher))
    if doc.qos is not None:
        rows.append(("QoS", str(doc.qos)))
    if doc.retained is not None:
        rows.append(("retained", "yes" if doc.retained else "no"))
    schema_id = _schema_id(schema)
    if schema_id is not None:
        rows.append(("schema", f"`{schema_id}`"))
    table = "| | |\n|---|---|\n" + "".join(f"| {k} | {v} |\n" for k, v in rows)
    parts = [f"## {doc.title}\n\n{table}"]
    if doc.notes:
        parts.append(f"{doc.notes}\n")
    if doc.example is not None:
        example = json.dumps(doc.example.model_dump(mode="json", by_alias=True), indent=2)
        parts.append(f"Example:\n\n```json\n{example}\n```\n")
    parts.append(
        f"<details><summary>JSON Schema</summary>\n\n```json\n{json.dumps(schema, indent=2)}\n```\n\n</details>\n"
    )
    return "\n".join(parts)


def _anchor(title: str) -> str:
    """The heading anchor GitHub-style renderers generate."""
    return re.sub(r"[^a-z0-9 _-]", "", title.lower()).replace(" ", "-")


def render(docs: list[TopicDoc] | None = None) -> str:
    """The whole of docs/mqtt.md."""
    docs = TOPIC_DOCS if docs is None else docs
    index = "\n".join(f"- [{d.title}](#{_anchor(d.title)}): `{d.topic}`" for d in docs)
    return INTRO + "\n## Topics\n\n" + index + "\n\n" + "\n".join(render_topic(d) for d in docs)
