"""What central publishes: alert events, zone forecasts and dead letters.

`AlertView` and `ForecastView` are also the HTTP API's shapes (docs/api.md): the API returns the view,
the MQTT message is the view inside its envelope (`schema`, `site`, and `event` for alerts).
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from contract.wire import WireMessage

ALERT_SCHEMA = "crowd.alert/1"
FORECAST_SCHEMA = "crowd.forecast/1"
DEAD_LETTER_SCHEMA = "crowd.dead_letter/1"

AlertKind = Literal["current", "forecast", "stop_and_go", "stale"]
AlertLevel = Literal["warning", "critical"]
AlertState = Literal["open", "acknowledged", "assigned", "resolved", "cleared"]
AlertEventType = Literal["new", "update", "end"]


class PatrolRef(WireMessage):
    id: str = Field(description="Patrol id.")
    distance_m: float = Field(ge=0, description="Walking distance to the zone (straight line), m; 0 inside it.")
    eta_s: float = Field(ge=0, description="Walking time at the configured speed, s.")
    stale: bool = Field(description="Position older than 60 s or less accurate than 25 m.")


class AuditEntry(WireMessage):
    at: float = Field(description="UNIX time of the step.")
    action: str = Field(description="opened, escalated, acknowledged, assigned, resolved, cleared.")
    by: str = Field(description="Operator username, or 'system'.")
    detail: str | None = Field(default=None, description="Free text (patrol id, reason).")


class AlertView(WireMessage):
    """An alert with its nearest patrols and its history: the API's alert object and the body of AlertMessage."""

    id: str = Field(description="Stable alert id: `<zone>.<kind>.<opening time, s>`.")
    zone: str
    kind: AlertKind
    level: AlertLevel
    state: AlertState
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

    @property
    def is_open(self) -> bool:
        return self.state in ("open", "acknowledged", "assigned")


class _AlertEnvelope(WireMessage):
    schema_: Literal["crowd.alert/1"] = Field(alias="schema", default="crowd.alert/1")
    event: AlertEventType = Field(description="new when opened, update on any change, end once.")
    site: str


class AlertMessage(AlertView, _AlertEnvelope):  # the envelope's fields first on the wire
    """An alert event. Topic `<prefix>/alerts/<id>`, QoS 1; retained while the alert is open, the retained
    copy is removed when it ends (resolved or cleared)."""

    @classmethod
    def wrap(cls, view: AlertView, event: AlertEventType, site: str) -> AlertMessage:
        return cls.model_validate({**view.model_dump(), "event": event, "site": site})

    def view(self) -> AlertView:
        return AlertView.model_validate(self.model_dump(exclude={"schema_", "event", "site"}))


class ForecastCrossing(WireMessage):
    """The probability that a zone's density crosses one threshold within the forecast's horizon."""

    name: str
    threshold: float
    probability: float = Field(ge=0, le=1)
    expected_time: float | None


class ForecastView(WireMessage):
    """A zone's density forecast: the API's `forecast` of a zone and the body of ForecastMessage."""

    origin: float = Field(description="Data time of the last observed bin's end, UNIX s.")
    step_s: float = Field(gt=0)
    times: list[float] = Field(description="Bin end times, UNIX s.")
    yhat: list[float] = Field(description="Point forecast of density, persons/m².")
    lo80: list[float]
    hi80: list[float]
    lo95: list[float]
    hi95: list[float]
    model: str
    crossings: list[ForecastCrossing] = Field(description="Probability of crossing each threshold within the horizon.")


class _ForecastEnvelope(WireMessage):
    schema_: Literal["crowd.forecast/1"] = Field(alias="schema", default="crowd.forecast/1")
    site: str
    zone: str


class ForecastMessage(ForecastView, _ForecastEnvelope):  # the envelope's fields first on the wire
    """A zone's density forecast. Topic `<prefix>/<site>/zones/<zone>/forecast`, QoS 1, retained."""

    @classmethod
    def wrap(cls, view: ForecastView, site: str, zone: str) -> ForecastMessage:
        return cls.model_validate({**view.model_dump(), "site": site, "zone": zone})

    def view(self) -> ForecastView:
        return ForecastView.model_validate(self.model_dump(exclude={"schema_", "site", "zone"}))


class DeadLetterMessage(WireMessage):
    """A message central could not use. Topic `<prefix>/deadletter`, QoS 1, not retained."""

    schema_: Literal["crowd.dead_letter/1"] = Field(alias="schema", default="crowd.dead_letter/1")
    topic: str = Field(description="Topic it arrived on (first 512 characters).")
    reason: str = Field(description="Why it was rejected.")
    payload: str = Field(description="The payload's first 1024 bytes, decoded with replacement characters.")
    payload_bytes: int = Field(ge=0, description="Full payload size.")
    at: float = Field(description="UNIX time it was rejected.")
    worker: int = Field(ge=0, description="Central worker index that rejected it.")
