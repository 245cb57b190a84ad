"""Rules stage, state machine (pure): alert rules as (state, condition, now) -> (state, events).

One `RuleState` per (zone, kind). A condition must hold for `pending_s` (data time) before an alert
opens; a rise in level must hold as long before the same alert escalates (and re-opens it, acknowledged or
not); a fall to a lower level must hold for `keep_firing_s` before the alert steps down (its state kept: it
needs no new acknowledgement), so its severity and figures are those of the zone now, not of its worst
moment; the alert clears only after the value stayed below the lower clear level for `keep_firing_s`
(hysteresis). There is at most one
open alert per zone and kind. An operator resolving an alert whose condition still holds suppresses
new ones of that kind until the condition has cleared, so a resolved alert does not reopen at once.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Any, Literal

Kind = Literal["current", "forecast", "stop_and_go", "stale"]
Level = Literal["warning", "critical"]
State = Literal["open", "acknowledged", "assigned", "resolved", "cleared"]
EventType = Literal["new", "update", "end"]
Action = Literal["ack", "assign", "resolve"]

KINDS: tuple[Kind, ...] = ("current", "forecast", "stop_and_go", "stale")
OPEN_STATES: frozenset[str] = frozenset({"open", "acknowledged", "assigned"})
_RANK = {"warning": 1, "critical": 2}
VALUE_CHANGE_FOR_UPDATE = 0.10  # relative change of the value that is worth an update event


@dataclass(frozen=True)
class AuditStep:
    at_s: float
    action: str
    by: str
    detail: str | None = None


@dataclass(frozen=True)
class Alert:
    id: str
    zone: str
    kind: Kind
    level: Level
    state: State
    opened_at_s: float
    updated_at_s: float
    value: float | None
    threshold: float | None
    message: str
    expected_crossing_at_s: float | None = None
    probability: float | None = None
    assigned_patrol: str | None = None
    ended_at_s: float | None = None
    history: tuple[AuditStep, ...] = ()

    @property
    def is_open(self) -> bool:
        return self.state in OPEN_STATES

    def record(self) -> dict[str, Any]:
        """The alert's own fields under their wire names (times without `_s`): one row of the store, and
        the part of the API's alert object that is not patrols or history."""
        return {
            "id": self.id,
            "zone": self.zone,
            "kind": self.kind,
            "level": self.level,
            "state": self.state,
            "opened_at": self.opened_at_s,
            "updated_at": self.updated_at_s,
            "ended_at": self.ended_at_s,
            "value": self.value,
            "threshold": self.threshold,
            "expected_crossing_at": self.expected_crossing_at_s,
            "probability": self.probability,
            "message": self.message,
            "assigned_patrol": self.assigned_patrol,
        }


@dataclass(frozen=True)
class AlertEvent:
    type: EventType
    alert: Alert


@dataclass(frozen=True)
class Outlook:
    """A forecast's figures for one threshold: how likely it is crossed within the horizon, and when the
    drawn path reaches it (None: it does not)."""

    threshold: float
    probability: float
    expected_crossing_at_s: float | None


@dataclass(frozen=True)
class Condition:
    """What a rule sees at one instant: the level it fires at (None: not firing) and whether it is clear."""

    level: Level | None
    clear: bool
    value: float | None
    threshold: float | None
    message: str = ""
    expected_crossing_at_s: float | None = None
    probability: float | None = None
    outlooks: tuple[Outlook, ...] = ()  # a forecast's figures for every threshold, the firing one included


@dataclass(frozen=True)
class RuleTiming:
    pending_s: float
    keep_firing_s: float


@dataclass(frozen=True)
class RuleState:
    alert: Alert | None = None
    pending_since_s: float | None = None
    pending_level: Level | None = None
    rise_since_s: float | None = None
    fall_since_s: float | None = None
    clear_since_s: float | None = None
    suppressed: bool = False
    last_t_s: float | None = None
    published_value: float | None = field(default=None, compare=False)


class ActionError(ValueError):
    """An operator step that the alert's state does not allow."""


def alert_id(zone: str, kind: Kind, opened_at_s: float) -> str:
    """Stable id from the data: the same stream gives the same id on any worker, and after a restart."""
    return f"{zone}.{kind}.{math.floor(opened_at_s)}"


def evaluate(
    state: RuleState, cond: Condition, now_s: float, zone: str, kind: Kind, timing: RuleTiming
) -> tuple[RuleState, list[AlertEvent]]:
    """Advance one rule by one observation at data time `now_s`; late observations change nothing."""
    if state.last_t_s is not None and now_s < state.last_t_s:
        return state, []
    state = replace(state, last_t_s=now_s)
    if state.alert is None:
        return _while_closed(state, cond, now_s, zone, kind, timing)
    return _while_open(state, state.alert, cond, now_s, timing)


def _while_closed(
    state: RuleState, cond: Condition, now_s: float, zone: str, kind: Kind, timing: RuleTiming
) -> tuple[RuleState, list[AlertEvent]]:
    if state.suppressed:
        return (replace(state, suppressed=False) if cond.clear else state), []
    if cond.level is None:
        return replace(state, pending_since_s=None, pending_level=None), []
    since = state.pending_since_s if state.pending_since_s is not None else now_s
    # The pending level is the lowest level seen while pending: an alert opens at a level that held.
    level = cond.level if state.pending_level is None else _min_level(state.pending_level, cond.level)
    state = replace(state, pending_since_s=since, pending_level=level)
    if now_s - since < timing.pending_s:
        return state, []
    alert = Alert(
        id=alert_id(zone, kind, now_s),
        zone=zone,
        kind=kind,
        level=level,
        state="open",
        opened_at_s=now_s,
        updated_at_s=now_s,
        value=cond.value,
        threshold=cond.threshold,
        message=cond.message,
        expected_crossing_at_s=cond.expected_crossing_at_s,
        probability=cond.probability,
        history=(AuditStep(now_s, "opened", "system", level),),
    )
    new_state = RuleState(alert=alert, last_t_s=now_s, published_value=cond.value)
    return new_state, [AlertEvent("new", alert)]


def _while_open(
    state: RuleState, alert: Alert, cond: Condition, now_s: float, timing: RuleTiming
) -> tuple[RuleState, list[AlertEvent]]:
    if cond.clear:
        since = state.clear_since_s if state.clear_since_s is not None else now_s
        if now_s - since >= timing.keep_firing_s:
            ended = replace(
                alert,
                state="cleared",
                updated_at_s=now_s,
                ended_at_s=now_s,
                value=cond.value,
                history=(*alert.history, AuditStep(now_s, "cleared", "system", None)),
            )
            return RuleState(last_t_s=now_s), [AlertEvent("end", ended)]
        state = replace(state, clear_since_s=since)
    else:
        state = replace(state, clear_since_s=None)

    events: list[AlertEvent] = []
    # The figures are those of the alert's own threshold in this condition: a critical forecast alert must
    # neither show the warning threshold's probability nor keep the "p 100 %" it fired with.
    own = next((o for o in cond.outlooks if o.threshold == alert.threshold), None)
    updated = replace(
        alert,
        message=cond.message if cond.message and cond.level == alert.level else alert.message,
        value=cond.value if cond.value is not None else alert.value,
        expected_crossing_at_s=alert.expected_crossing_at_s if own is None else own.expected_crossing_at_s,
        probability=alert.probability if own is None else own.probability,
    )
    if cond.level is not None and _RANK[cond.level] > _RANK[alert.level]:
        rise_since = state.rise_since_s if state.rise_since_s is not None else now_s
        if now_s - rise_since >= timing.pending_s:
            # An operator acknowledged (or assigned) the lower level, not this one: the escalated alert
            # needs attention again, so it re-opens and must be acknowledged anew (the patrol stays assigned).
            updated = _at_level(updated, cond, now_s, "escalated", reopen=True)
            state = replace(state, rise_since_s=None, fall_since_s=None, alert=updated, published_value=updated.value)
            return state, [AlertEvent("update", updated)]
        state = replace(state, rise_since_s=rise_since, fall_since_s=None)
    elif cond.level is not None and _RANK[cond.level] < _RANK[alert.level]:
        fall_since = state.fall_since_s if state.fall_since_s is not None else now_s
        if now_s - fall_since >= timing.keep_firing_s:
            updated = _at_level(updated, cond, now_s, "de-escalated", reopen=False)
            state = replace(state, rise_since_s=None, fall_since_s=None, alert=updated, published_value=updated.value)
            return state, [AlertEvent("update", updated)]
        state = replace(state, rise_since_s=None, fall_since_s=fall_since)
    else:
        state = replace(state, rise_since_s=None, fall_since_s=None)

    if _value_moved(state.published_value, updated.value):
        updated = replace(updated, updated_at_s=now_s)
        events.append(AlertEvent("update", updated))
        state = replace(state, published_value=updated.value)
    return replace(state, alert=updated), events


def _at_level(alert: Alert, cond: Condition, now_s: float, step: str, *, reopen: bool) -> Alert:
    """The alert moved to the condition's level, with the condition's figures and an audit step."""
    assert cond.level is not None
    return replace(
        alert,
        level=cond.level,
        state="open" if reopen else alert.state,
        threshold=cond.threshold,
        message=cond.message or alert.message,
        probability=cond.probability,
        expected_crossing_at_s=cond.expected_crossing_at_s,
        updated_at_s=now_s,
        history=(*alert.history, AuditStep(now_s, step, "system", cond.level)),
    )


def _value_moved(published: float | None, value: float | None) -> bool:
    if value is None:
        return False
    if published is None:
        return True
    return abs(value - published) > VALUE_CHANGE_FOR_UPDATE * max(abs(published), 1e-3)


def _min_level(a: Level, b: Level) -> Level:
    return a if _RANK[a] <= _RANK[b] else b


def transition(alert: Alert, action: Action, by: str, now_s: float, patrol: str | None = None) -> Alert:
    """An operator's lifecycle step; raises ActionError where the state does not allow it."""
    if not alert.is_open:
        raise ActionError(f"alert {alert.id} is {alert.state}; it can no longer be changed")
    if action == "ack":
        if alert.state != "open":
            raise ActionError(f"alert {alert.id} is already {alert.state}")
        return replace(
            alert,
            state="acknowledged",
            updated_at_s=now_s,
            history=(*alert.history, AuditStep(now_s, "acknowledged", by)),
        )
    if action == "assign":
        if not patrol:
            raise ActionError("assign needs a patrol id")
        return replace(
            alert,
            state="assigned",
            assigned_patrol=patrol,
            updated_at_s=now_s,
            history=(*alert.history, AuditStep(now_s, "assigned", by, patrol)),
        )
    if action == "resolve":
        return replace(
            alert,
            state="resolved",
            updated_at_s=now_s,
            ended_at_s=now_s,
            history=(*alert.history, AuditStep(now_s, "resolved", by)),
        )
    raise ActionError(f"unknown action {action!r}")


def merge_operator_state(state: RuleState, stored: Alert) -> RuleState:
    """Take an operator's change of the open alert (made through the store, maybe by another worker)."""
    if state.alert is None or state.alert.id != stored.id:
        return state
    if stored.state == "resolved":
        # Still firing: wait for the condition to clear before a new alert of this kind may open.
        return RuleState(last_t_s=state.last_t_s, suppressed=True)
    if stored.state == "cleared":
        return RuleState(last_t_s=state.last_t_s)
    merged = replace(
        state.alert,
        state=stored.state,
        assigned_patrol=stored.assigned_patrol,
        history=stored.history if len(stored.history) >= len(state.alert.history) else state.alert.history,
    )
    return replace(state, alert=merged)


def restore(alert: Alert) -> RuleState:
    """The rule state for an open alert read back from the store after a restart."""
    return RuleState(alert=alert, last_t_s=alert.updated_at_s, published_value=alert.value)
