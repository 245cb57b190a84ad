"""Central's MQTT topics: what it publishes (alerts, forecasts, dead letters) and the patrol location it reads.

Like edge/messages.py these pydantic models are the single source of truth; `TOPIC_DOCS` lists them
for the docs generator (scripts/gen_mqtt_docs.py) so docs/mqtt.md carries their JSON Schemas.
"""

from __future__ import annotations

import inspect
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from edge.messages import TopicDoc

ALERT_SCHEMA = "crowd.alert/1"
FORECAST_SCHEMA = "crowd.forecast/1"
PATROL_LOCATION_SCHEMA = "crowd.patrol_location/1"
DEAD_LETTER_SCHEMA = "crowd.dead_letter/1"


class _Message(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class PatrolRef(_Message):
    id: str = Field(description="Patrol id.")
    distance_m: float = Field(ge=0, description="Walking distance to the zone (straight line), m; 0 inside it.")
    eta_s: float = Field(ge=0, description="Walking time at the configured speed, s.")
    stale: bool = Field(description="Position older than 60 s or less accurate than 25 m.")


class AuditEntry(_Message):
    at: float = Field(description="UNIX time of the step.")
    action: str = Field(description="opened, escalated, acknowledged, assigned, resolved, cleared.")
    by: str = Field(description="Operator username, or 'system'.")
    detail: str | None = Field(default=None, description="Free text (patrol id, reason).")


class AlertMessage(_Message):
    """An alert event. Topic `<prefix>/alerts/<id>`, QoS 1; retained while the alert is open, the retained
    copy is removed when it ends (resolved or cleared)."""

    schema_: Literal["crowd.alert/1"] = Field(alias="schema", default="crowd.alert/1")
    event: Literal["new", "update", "end"] = Field(description="new when opened, update on any change, end once.")
    id: str = Field(description="Stable alert id: `<zone>.<kind>.<opening time, s>`.")
    site: str
    zone: str
    kind: Literal["current", "forecast", "stop_and_go", "stale"]
    level: Literal["warning", "critical"]
    state: Literal["open", "acknowledged", "assigned", "resolved", "cleared"]
    opened_at: float = Field(description="Data time (measured_at) the alert opened.")
    updated_at: float
    ended_at: float | None = None
    value: float | None = Field(description="Density (persons/m²), probability for forecast alerts, or speed ratio.")
    threshold: float | None = None
    expected_crossing_at: float | None = Field(default=None, description="Forecast alerts: expected crossing time.")
    probability: float | None = Field(default=None, ge=0, le=1, description="Forecast alerts: P(crossing).")
    message: str
    assigned_patrol: str | None = None
    patrols: list[PatrolRef] = Field(default_factory=list, description="Nearest patrols, nearest first, at most 3.")
    history: list[AuditEntry] = Field(default_factory=list)


class CrossingOut(_Message):
    name: str
    threshold: float
    probability: float = Field(ge=0, le=1)
    expected_time: float | None


class ForecastMessage(_Message):
    """A zone's density forecast. Topic `<prefix>/<site>/zones/<zone>/forecast`, QoS 1, retained."""

    schema_: Literal["crowd.forecast/1"] = Field(alias="schema", default="crowd.forecast/1")
    site: str
    zone: str
    origin: float = Field(description="Data time of the last observed bin's end, UNIX s.")
    step_s: float = Field(gt=0)
    times: list[float] = Field(description="Bin end times, UNIX s.")
    yhat: list[float] = Field(description="Point forecast of density, persons/m².")
    lo80: list[float]
    hi80: list[float]
    lo95: list[float]
    hi95: list[float]
    model: str
    crossings: list[CrossingOut] = Field(description="Probability of crossing each threshold within the horizon.")


class PatrolLocationMessage(BaseModel):
    """A patrol's position. Topic `<prefix>/patrols/<id>/location` (OwnTracks `_type: location` JSON is accepted
    on that topic too, and on `owntracks/<user>/<device>`)."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)
    schema_: Literal["crowd.patrol_location/1"] = Field(alias="schema", default="crowd.patrol_location/1")
    lat: float = Field(ge=-90, le=90, description="WGS-84 latitude, degrees.")
    lon: float = Field(ge=-180, le=180, description="WGS-84 longitude, degrees.")
    acc_m: float = Field(ge=0, le=1e7, description="Horizontal accuracy, m.")
    at: float = Field(ge=0, le=1e11, description="UNIX time of the fix.")
    name: str | None = Field(default=None, max_length=128, description="Display name.")


class DeadLetterMessage(_Message):
    """A message central could not use. Topic `<prefix>/deadletter`, QoS 1, not retained."""

    schema_: Literal["crowd.dead_letter/1"] = Field(alias="schema", default="crowd.dead_letter/1")
    topic: str = Field(description="Topic it arrived on (first 512 characters).")
    reason: str = Field(description="Why it was rejected.")
    payload: str = Field(description="The payload's first 1024 bytes, decoded with replacement characters.")
    payload_bytes: int = Field(ge=0, description="Full payload size.")
    at: float = Field(description="UNIX time it was rejected.")
    worker: int = Field(ge=0, description="Central worker index that rejected it.")


def alert_topic(prefix: str, alert_id: str) -> str:
    return f"{prefix}/alerts/{alert_id}"


def forecast_topic(prefix: str, site: str, zone: str) -> str:
    return f"{prefix}/{site}/zones/{zone}/forecast"


def patrol_topic(prefix: str, patrol_id: str) -> str:
    return f"{prefix}/patrols/{patrol_id}/location"


def dead_letter_topic(prefix: str) -> str:
    return f"{prefix}/deadletter"


_T0 = 1_700_000_000.0

# docs/mqtt.md entries (scripts/gen_mqtt_docs.py renders them after the edge's topics).
TOPIC_DOCS: list[TopicDoc] = [
    TopicDoc(
        title="Alert events (central)",
        topic="<prefix>/alerts/<id>",
        model=AlertMessage,
        publisher="central",
        qos=1,
        retained=True,
        notes=inspect.cleandoc(AlertMessage.__doc__ or "")
        + "\n\nSubscribers must ignore the empty payload that removes the retained copy.",
        example=AlertMessage.model_validate(
            {
                "schema": ALERT_SCHEMA,
                "event": "new",
                "id": "plaza.forecast.1700000000",
                "site": "north",
                "zone": "plaza",
                "kind": "forecast",
                "level": "warning",
                "state": "open",
                "opened_at": _T0,
                "updated_at": _T0,
                "value": 0.82,
                "threshold": 2.0,
                "expected_crossing_at": _T0 + 420,
                "probability": 0.82,
                "message": "forecast: 82% chance to cross 2 persons/m² around 22:20Z",
                "patrols": [{"id": "alice", "distance_m": 140.0, "eta_s": 100.0, "stale": False}],
                "history": [{"at": _T0, "action": "opened", "by": "system", "detail": "warning"}],
            }
        ),
    ),
    TopicDoc(
        title="Zone forecasts (central)",
        topic="<prefix>/<site>/zones/<zone>/forecast",
        model=ForecastMessage,
        publisher="central",
        qos=1,
        retained=True,
        notes=inspect.cleandoc(ForecastMessage.__doc__ or ""),
    ),
    TopicDoc(
        title="Patrol locations (patrol devices)",
        topic="<prefix>/patrols/<id>/location",
        model=PatrolLocationMessage,
        publisher="patrol device",
        qos=1,
        retained=False,
        notes=inspect.cleandoc(PatrolLocationMessage.__doc__ or "")
        + '\n\nOwnTracks: `owntracks/<user>/<device>` with `{"_type": "location", "lat", "lon", "acc", "tst"}`;'
        " other `_type`s are ignored. A position older than 60 s or less accurate than 25 m is flagged stale.",
        example=PatrolLocationMessage.model_validate(
            {"schema": PATROL_LOCATION_SCHEMA, "lat": 47.37, "lon": 8.54, "acc_m": 6.0, "at": _T0, "name": "Alice"}
        ),
    ),
    TopicDoc(
        title="Dead letters (central)",
        topic="<prefix>/deadletter",
        model=DeadLetterMessage,
        publisher="central",
        qos=1,
        retained=False,
        notes=inspect.cleandoc(DeadLetterMessage.__doc__ or ""),
    ),
]
