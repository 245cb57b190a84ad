"""The alert state machine: pending, escalation, hysteresis, one open alert per zone and kind, lifecycle."""

from __future__ import annotations

import pytest

from central import alerts as al
from central.rules import ThresholdsPpm2, current_level

TH = ThresholdsPpm2(warning=1.0, critical=2.0)
TIMING = al.RuleTiming(pending_s=30.0, keep_firing_s=60.0)


def run(
    series: list[tuple[float, float]], state: al.RuleState | None = None
) -> tuple[al.RuleState, list[al.AlertEvent]]:
    st = state or al.RuleState()
    events: list[al.AlertEvent] = []
    for t, density in series:
        st, evs = al.evaluate(st, current_level(density, TH, 0.85), t, "z1", "current", TIMING)
        events.extend(evs)
    return st, events


def test_a_level_must_hold_for_the_pending_duration_before_it_alerts() -> None:
    st, events = run([(0, 1.2), (10, 1.3), (20, 1.2)])
    assert events == [] and st.alert is None
    st, events = run([(30, 1.25)], st)
    assert [e.type for e in events] == ["new"]
    a = events[0].alert
    assert (a.level, a.state, a.opened_at_s, a.value) == ("warning", "open", 30, 1.25)
    assert a.id == "z1.current.30"


def test_a_dip_below_the_threshold_restarts_the_pending_time() -> None:
    _, events = run([(0, 1.2), (20, 0.9), (30, 1.2), (50, 1.2)])
    assert events == []
    _, events = run([(0, 1.2), (20, 0.9), (30, 1.2), (60, 1.2)])
    assert [e.type for e in events] == ["new"]


def test_one_open_alert_per_zone_and_kind_and_a_rise_escalates_the_same_alert() -> None:
    st, events = run([(0, 1.5), (30, 1.5), (40, 2.5), (60, 2.6), (70, 2.7)])
    assert events[0].type == "new" and {e.type for e in events[1:]} == {"update"}
    assert {e.alert.id for e in events} == {events[0].alert.id}
    levels = [(e.alert.updated_at_s, e.alert.level) for e in events]
    # The value update at 40 keeps the warning level; critical held 30 s (40 -> 70) before escalating.
    assert levels == [(30, "warning"), (40, "warning"), (70, "critical")]
    assert st.alert is not None and st.alert.level == "critical"
    assert [h.action for h in st.alert.history] == ["opened", "escalated"]


def test_hysteresis_clears_only_below_the_lower_level_after_keep_firing() -> None:
    st, events = run([(0, 1.5), (30, 1.5)])
    # 0.9 is under the threshold (1.0) but above the clear level (0.85): the alert stays.
    st, events = run([(40, 0.9), (200, 0.9)], st)
    assert "end" not in [e.type for e in events] and st.alert is not None
    # Below 0.85 for less than keep_firing_s: still open; after 60 s: cleared.
    st, events = run([(210, 0.5), (260, 0.5)], st)
    assert "end" not in [e.type for e in events] and st.alert is not None
    st, events = run([(270, 0.5)], st)
    assert [e.type for e in events] == ["end"]
    assert events[0].alert.state == "cleared" and events[0].alert.ended_at_s == 270
    assert st.alert is None


def test_late_observations_do_not_move_a_rule_backwards() -> None:
    st, _ = run([(0, 1.5), (30, 1.5)])
    st2, events = run([(10, 0.1)], st)
    assert events == [] and st2 == st


def test_big_value_changes_are_published_as_updates_small_ones_not() -> None:
    st, _ = run([(0, 1.5), (30, 1.5)])
    _, events = run([(40, 1.55)], st)
    assert events == []
    _, events = run([(40, 1.8)], st)
    assert [e.type for e in events] == ["update"] and events[0].alert.value == 1.8


def test_lifecycle_ack_assign_resolve_with_operator_and_time() -> None:
    _, events = run([(0, 1.5), (30, 1.5)])
    a = events[0].alert
    a = al.transition(a, "ack", "olga", 100.0)
    a = al.transition(a, "assign", "olga", 110.0, patrol="p7")
    a = al.transition(a, "resolve", "ivan", 200.0)
    assert a.state == "resolved" and a.assigned_patrol == "p7" and a.ended_at_s == 200.0
    assert [(h.action, h.by, h.at_s, h.detail) for h in a.history[1:]] == [
        ("acknowledged", "olga", 100.0, None),
        ("assigned", "olga", 110.0, "p7"),
        ("resolved", "ivan", 200.0, None),
    ]
    with pytest.raises(al.ActionError):
        al.transition(a, "ack", "olga", 300.0)


def test_acknowledging_twice_or_assigning_without_a_patrol_is_refused() -> None:
    _, events = run([(0, 1.5), (30, 1.5)])
    a = al.transition(events[0].alert, "ack", "olga", 40.0)
    with pytest.raises(al.ActionError):
        al.transition(a, "ack", "olga", 41.0)
    with pytest.raises(al.ActionError):
        al.transition(a, "assign", "olga", 42.0, patrol=None)


def test_resolving_while_still_firing_waits_for_a_clear_before_a_new_alert() -> None:
    st, events = run([(0, 1.5), (30, 1.5)])
    resolved = al.transition(events[0].alert, "resolve", "olga", 35.0)
    st = al.merge_operator_state(st, resolved)
    assert st.alert is None and st.suppressed
    st, events = run([(40, 1.5), (100, 1.6), (200, 1.6)], st)
    assert events == []
    st, events = run([(210, 0.2), (220, 1.5), (250, 1.5)], st)
    assert [e.type for e in events] == ["new"] and events[0].alert.id == "z1.current.250"


def test_an_operators_ack_is_kept_on_value_updates_and_reopened_by_an_escalation() -> None:
    # Issue 16: the operator acknowledged the warning, not the critical level; an escalated alert must be
    # acknowledged again (it used to stay acknowledged, and so silent).
    st, events = run([(0, 1.5), (30, 1.5)])
    acked = al.transition(events[0].alert, "ack", "olga", 35.0)
    st = al.merge_operator_state(st, acked)
    st, events = run([(40, 1.8)], st)
    assert [e.type for e in events] == ["update"] and events[0].alert.state == "acknowledged"
    st, events = run([(50, 2.5), (80, 2.5)], st)
    assert events[-1].alert.state == "open" and events[-1].alert.level == "critical"
    assert [h.action for h in events[-1].alert.history] == ["opened", "acknowledged", "escalated"]
    assert al.transition(events[-1].alert, "ack", "olga", 85.0).state == "acknowledged"


def test_an_escalation_reopens_an_assigned_alert_and_keeps_its_patrol() -> None:
    st, events = run([(0, 1.5), (30, 1.5)])
    assigned = al.transition(events[0].alert, "assign", "olga", 35.0, patrol="alice")
    st = al.merge_operator_state(st, assigned)
    st, events = run([(40, 2.5), (70, 2.5)], st)
    assert (events[-1].alert.state, events[-1].alert.assigned_patrol) == ("open", "alice")


def test_restore_keeps_the_open_alert_and_clears_it_later() -> None:
    _, events = run([(0, 1.5), (30, 1.5)])
    st = al.restore(events[0].alert)
    st, evs = run([(40, 1.5)], st)
    assert evs == [] and st.alert is not None and st.alert.id == events[0].alert.id
    st, evs = run([(50, 0.1), (110, 0.1)], st)
    assert [e.type for e in evs][-1:] == ["end"] and st.alert is None


def test_the_message_follows_the_values_it_describes_at_the_same_level() -> None:
    st, events = run([(0, 1.5), (30, 1.5)])
    assert events[0].alert.message.startswith("density 1.50")
    st, events = run([(40, 1.9)], st)
    assert events and events[-1].alert.message.startswith("density 1.90")
    assert st.alert is not None and st.alert.message.startswith("density 1.90")


def test_a_fall_to_a_lower_level_steps_the_alert_down_after_keep_firing_without_reopening_it() -> None:
    st, _ = run([(0, 2.5), (30, 2.5)])
    assert st.alert is not None and st.alert.level == "critical"
    st = al.RuleState(**{**st.__dict__, "alert": al.transition(st.alert, "ack", "op", 35)})
    # 1.5 is a warning; for less than keep_firing_s (60 s) the alert stays critical.
    st, events = run([(40, 1.5), (90, 1.5)], st)
    assert st.alert is not None and st.alert.level == "critical"
    assert all(e.alert.level == "critical" for e in events)
    # A brief return to critical restarts the fall's clock.
    st, _ = run([(95, 2.2), (100, 1.5), (150, 1.5)], st)
    assert st.alert is not None and st.alert.level == "critical"
    st, events = run([(160, 1.5)], st)
    assert [(e.type, e.alert.level, e.alert.state) for e in events] == [("update", "warning", "acknowledged")]
    assert events[0].alert.threshold == TH.warning and events[0].alert.message.startswith("density 1.50")
    assert [h.action for h in events[0].alert.history][-1] == "de-escalated"
    # And a new rise escalates (and re-opens) it again.
    st, events = run([(170, 2.4), (200, 2.4)], st)
    assert [(e.alert.level, e.alert.state) for e in events][-1] == ("critical", "open")


def _forecast(p_warn: float, p_crit: float, t_crit: float | None) -> al.Condition:
    from central.rules import CrossingIn, forecast_crossing

    crossings = [CrossingIn("warning", 1.0, p_warn, 500.0), CrossingIn("critical", 2.0, p_crit, t_crit)]
    return forecast_crossing(crossings, TH, 0.6, 0.85)


def test_a_forecast_alert_shows_its_own_thresholds_probability_never_a_stale_or_foreign_one() -> None:
    st = al.RuleState()
    for t in (0, 30):
        st, _ = al.evaluate(st, _forecast(0.99, 0.9, 700.0), t, "z1", "forecast", TIMING)
    assert st.alert is not None and (st.alert.level, st.alert.probability) == ("critical", 0.9)
    # The critical crossing fades (the path no longer reaches it): the warning's 0.99 must not be shown
    # as the critical alert's probability; the critical one's own current figure is.
    st, _ = al.evaluate(st, _forecast(0.99, 0.3, None), 40, "z1", "forecast", TIMING)
    assert st.alert is not None and st.alert.level == "critical" and st.alert.probability == 0.3
    st, events = al.evaluate(st, _forecast(0.99, 0.3, None), 100, "z1", "forecast", TIMING)
    assert [(e.alert.level, e.alert.probability, e.alert.threshold) for e in events] == [("warning", 0.99, 1.0)]
