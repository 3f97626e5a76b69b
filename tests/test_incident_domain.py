"""Incident domain: workflow rules, timers, triage proposals, phases, updates (pure, no I/O)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from types import SimpleNamespace

import pytest

from cs_console.domain.health import ComponentHealth, HealthStatus
from cs_console.domain.incidents import (
    BadReference, EventType, Severity, Status, TransitionError, ValidationError, fold, normalize_ref,
    parse_severity, parse_status,
)
from cs_console.domain.incidents import workflow as wf
from cs_console.domain.incidents.events import IncidentEvent
from cs_console.domain.incidents.model import Incident, Role, Source
from cs_console.domain.incidents.phases import phase_views
from cs_console.domain.incidents.severity import POLICIES
from cs_console.domain.incidents.status import TRANSITIONS
from cs_console.domain.durations import countdown
from cs_console.domain.incidents.timers import TimerKind, TimerState, sla
from cs_console.domain.incidents.triage import CRITERIA, prefill_from_alert, prefill_from_health, propose, remaining_questions
from cs_console.domain.incidents.updates import render_update

T0 = datetime(2025, 3, 4, 10, 0, 0, tzinfo=timezone.utc)
REF = "INC-2025-0007"


class Log:
    """A tiny in-memory incident: decide with the workflow, place, fold."""

    def __init__(self, severity: Severity = Severity.P1, at: datetime = T0, **kwargs) -> None:
        first = wf.open_incident(wf.OpenRequest(title="API errors", severity=severity, **kwargs), at, "alice")
        self.events: list[IncidentEvent] = [first.placed(1)]

    @property
    def inc(self) -> Incident:
        return fold(REF, self.events)

    def do(self, drafts) -> Incident:
        drafts = [drafts] if isinstance(drafts, IncidentEvent) else list(drafts)
        for d in drafts:
            self.events.append(d.placed(len(self.events) + 1))
        return self.inc


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


# ---------------------------------------------------------------- references, parsing


def test_references_normalise_and_reject() -> None:
    assert normalize_ref(" inc-2025-0042 ") == "INC-2025-0042"
    assert normalize_ref("INC-2025-12345") == "INC-2025-12345"
    for bad in ("INC-25-0001", "INC-2025-01", "2025-0001", "INC-2025-0001x", ""):
        with pytest.raises(BadReference, match="expected INC-YYYY-NNNN"):
            normalize_ref(bad)


def test_severity_and_status_parsing() -> None:
    assert parse_severity("p1") is Severity.P1 and parse_severity("sev0") is Severity.P0 and parse_severity("3") is Severity.P3
    with pytest.raises(ValidationError, match="P0, P1, P2, P3"):
        parse_severity("P5")
    assert parse_status("Mitigated") is Status.MITIGATED and parse_status("reopen") is Status.INVESTIGATING
    with pytest.raises(ValidationError):
        parse_status("fixed")


def test_severities_exactly_as_the_manual() -> None:
    assert [p.response_label for p in POLICIES.values()] == ["Immediate", "< 1 hour", "< 4 hours", "< 24 hours"]
    assert [p.respond_within for p in POLICIES.values()] == [timedelta(minutes=15), timedelta(hours=1), timedelta(hours=4), timedelta(hours=24)]
    assert POLICIES[Severity.P0].criteria == ("Complete service outage", "Data loss or corruption", "Security breach")
    assert POLICIES[Severity.P1].criteria == ("Partial service outage", "Performance degradation affecting users", "Authentication issues")
    assert POLICIES[Severity.P2].criteria == ("Non-critical feature failures", "Minor performance issues", "Configuration problems")
    assert POLICIES[Severity.P3].criteria == ("Cosmetic issues", "Enhancement requests", "Documentation updates")
    assert [p.postmortem_required for p in POLICIES.values()] == [True, True, False, False]


# ---------------------------------------------------------------- transitions


def test_happy_path_sets_every_timestamp() -> None:
    log = Log()
    log.do(wf.acknowledge(log.inc, at(2), "bob"))
    for minute, status in ((3, Status.INVESTIGATING), (10, Status.IDENTIFIED), (20, Status.MITIGATED), (30, Status.RESOLVED)):
        log.do(wf.change_status(log.inc, status, at(minute), "bob"))
    inc = log.inc
    assert (inc.acknowledged_at, inc.mitigated_at, inc.resolved_at) == (at(2), at(20), at(30))
    assert inc.commander == "bob" and inc.acknowledged_by == "bob"
    log.do(wf.edit_postmortem(inc, {"impact": "5xx for 20 min", "root_cause": "pool", "action_items": [{"text": "alert", "owner": "carol"}]}, at(40), "bob"))
    log.do(wf.change_status(log.inc, Status.POSTMORTEM, at(41), "bob"))
    inc = log.do(wf.change_status(log.inc, Status.CLOSED, at(50), "bob"))
    assert inc.status is Status.CLOSED and inc.closed_at == at(50)


def test_triage_to_resolved_is_refused_but_forward_skip_to_mitigated_is_allowed() -> None:
    log = Log()
    with pytest.raises(TransitionError, match="cannot go from triage to resolved"):
        wf.change_status(log.inc, Status.RESOLVED, at(1), "bob")
    inc = log.do(wf.change_status(log.inc, Status.MITIGATED, at(1), "bob"))
    assert inc.status is Status.MITIGATED
    # Moving it on was responding: an implicit acknowledgement (generated).
    assert inc.acknowledged_at == at(1)
    assert any(e.type is EventType.ACKNOWLEDGED and e.generated and e.data["implicit"] for e in inc.events)


def test_every_transition_outside_the_table_is_refused() -> None:
    for cur, allowed in TRANSITIONS.items():
        for to in Status:
            if to in allowed or to is cur:
                continue
            inc = Log().inc
            inc.status = cur
            inc.resolved_at = at(0)
            with pytest.raises(TransitionError):
                wf.check_transition(inc, to, at(1), reason="r", merge_into="INC-2025-0001")


def test_declined_needs_a_reason_and_merged_a_target() -> None:
    log = Log()
    with pytest.raises(TransitionError, match="reason"):
        wf.change_status(log.inc, Status.DECLINED, at(1), "bob")
    with pytest.raises(TransitionError, match="duplicates"):
        wf.change_status(log.inc, Status.MERGED, at(1), "bob")
    with pytest.raises(TransitionError, match="itself"):
        wf.change_status(log.inc, Status.MERGED, at(1), "bob", merge_into=REF)
    inc = log.do(wf.change_status(log.inc, Status.DECLINED, at(1), "bob", reason="planned maintenance"))
    assert inc.declined_reason == "planned maintenance" and inc.status.is_final
    with pytest.raises(TransitionError, match="allowed: none"):
        wf.change_status(inc, Status.INVESTIGATING, at(2), "bob")


def test_reopen_within_72_hours_only() -> None:
    log = Log(Severity.P2)
    log.do(wf.change_status(log.inc, Status.INVESTIGATING, at(1), "bob"))
    log.do(wf.change_status(log.inc, Status.RESOLVED, at(10), "bob"))
    late = at(10) + timedelta(hours=72, seconds=1)
    with pytest.raises(TransitionError, match="72 h"):
        wf.change_status(log.inc, Status.INVESTIGATING, late, "bob")
    inc = log.do(wf.change_status(log.inc, Status.INVESTIGATING, at(10) + timedelta(hours=71), "bob", reason="errors back"))
    assert inc.status is Status.INVESTIGATING and inc.resolved_at is None and inc.mitigated_at is None
    assert inc.events[-1].data["reopen"] is True


def test_p0_p1_need_a_postmortem_or_waiver_to_close_even_after_a_downgrade() -> None:
    log = Log(Severity.P1)
    log.do(wf.change_status(log.inc, Status.INVESTIGATING, at(1), "bob"))
    log.do(wf.change_severity(log.inc, Severity.P3, at(2), "bob", "smaller than thought"))
    log.do(wf.change_status(log.inc, Status.RESOLVED, at(3), "bob"))
    with pytest.raises(TransitionError, match="P1 incident needs its post-mortem .*impact, root cause, action items"):
        wf.change_status(log.inc, Status.CLOSED, at(4), "bob")
    log.do(wf.edit_postmortem(log.inc, {"impact": "x", "root_cause": "y", "action_items": [{"text": "z", "owner": ""}]}, at(5), "bob"))
    with pytest.raises(TransitionError, match="an owner for every action item"):
        wf.change_status(log.inc, Status.CLOSED, at(6), "bob")
    with pytest.raises(ValidationError, match="required"):
        wf.waive_postmortem(log.inc, "  ", at(6), "bob")
    log.do(wf.waive_postmortem(log.inc, "duplicate of a reviewed incident", at(6), "bob"))
    assert log.do(wf.change_status(log.inc, Status.CLOSED, at(7), "bob")).status is Status.CLOSED


def test_p2_closes_without_a_postmortem() -> None:
    log = Log(Severity.P2)
    log.do(wf.change_status(log.inc, Status.INVESTIGATING, at(1), "bob"))
    log.do(wf.change_status(log.inc, Status.RESOLVED, at(2), "bob"))
    assert log.do(wf.change_status(log.inc, Status.CLOSED, at(3), "bob")).status is Status.CLOSED


def test_severity_change_needs_a_reason_and_a_change() -> None:
    log = Log(Severity.P2)
    with pytest.raises(ValidationError, match="reason"):
        wf.change_severity(log.inc, Severity.P0, at(1), "bob", "")
    with pytest.raises(ValidationError, match="already P2"):
        wf.change_severity(log.inc, Severity.P2, at(1), "bob", "same")


def test_open_override_of_the_proposal_needs_a_reason() -> None:
    answers = {"partial_outage": True}
    with pytest.raises(ValidationError, match="overrides the proposed P1: a reason is required"):
        wf.open_incident(wf.OpenRequest(title="t", severity=Severity.P3, answers=answers), T0, "a")
    ev = wf.open_incident(wf.OpenRequest(title="t", severity=Severity.P3, answers=answers, override_reason="one tenant"), T0, "a")
    inc = fold(REF, [ev.placed(1)])
    assert (inc.severity, inc.proposed_severity, inc.override_reason) == (Severity.P3, Severity.P1, "one tenant")
    # Without a severity the proposal is taken.
    ev = wf.open_incident(wf.OpenRequest(title="t", answers=answers), T0, "a")
    assert fold(REF, [ev.placed(1)]).severity is Severity.P1
    with pytest.raises(ValidationError, match="title is required"):
        wf.open_incident(wf.OpenRequest(title="  ", severity=Severity.P1), T0, "a")


def test_acknowledge_is_idempotent_and_names_a_commander() -> None:
    log = Log()
    inc = log.do(wf.acknowledge(log.inc, at(1), "bob"))
    assert inc.commander == "bob"
    assert wf.acknowledge(inc, at(2), "carol") == []
    log2 = Log()
    log2.do(wf.assign_role(log2.inc, Role.COMMANDER, "dana", at(0.5), "alice"))
    inc2 = log2.do(wf.acknowledge(log2.inc, at(1), "bob"))
    assert inc2.commander == "dana" and inc2.acknowledged_by == "bob"


def test_clock_skew_is_clamped_and_noted() -> None:
    log = Log()
    log.do(wf.add_note(log.inc, "first", at(10), "bob"))
    inc = log.do(wf.add_note(log.inc, "from a console whose clock is behind", at(7), "carol"))
    assert inc.events[-1].ts == at(10)
    assert inc.events[-1].data["clock_skew_s"] == 180.0
    # Detection reported in the future (a skewed alert source) is clamped to declaration.
    ev = wf.open_incident(wf.OpenRequest(title="t", severity=Severity.P1, detected_at=at(5)), at(0), "a")
    inc = fold(REF, [ev.placed(1)])
    assert inc.detected_at == inc.declared_at == at(0) and ev.data["detected_clock_skew_s"] == 300.0


# ---------------------------------------------------------------- timers


def test_response_timer_green_amber_red_then_met() -> None:
    log = Log(Severity.P1)
    assert sla(log.inc, at(10)).response.state is TimerState.OK
    assert sla(log.inc, at(46)).response.state is TimerState.CLOSE  # < 25 % of 1 h left
    late = sla(log.inc, at(61))
    assert late.response.state is TimerState.BREACHED and late.breached_now
    assert countdown(late.response.remaining) == "-1:00"
    inc = log.do(wf.acknowledge(log.inc, at(70), "bob"))
    report = sla(inc, at(80))
    assert report.response.state is TimerState.MET
    [breach] = [b for b in report.breaches if b.kind is TimerKind.RESPONSE]
    assert (breach.deadline, breach.ended_at) == (at(60), at(70))


def test_headline_is_whatever_is_late_first() -> None:
    log = Log(Severity.P2)
    report = sla(log.inc, at(150))  # response due at 4 h, update was due at 2 h
    assert report.response.state is TimerState.OK and report.update.state is TimerState.BREACHED
    assert report.headline is report.update
    inc = log.do(wf.record_update(log.inc, "on it", "clipboard", at(150), "bob"))
    assert sla(inc, at(151)).headline.kind is TimerKind.RESPONSE
    inc = log.do(wf.acknowledge(inc, at(152), "bob"))
    assert sla(inc, at(153)).headline.kind is TimerKind.UPDATE


def test_backdated_declaration_starts_the_timers_then() -> None:
    ev = wf.open_incident(wf.OpenRequest(title="t", severity=Severity.P1, declared_at=at(-120), detected_at=at(-130)), at(0), "a")
    inc = fold(REF, [ev.placed(1)])
    assert (inc.declared_at, inc.detected_at, ev.ts) == (at(-120), at(-130), at(0))
    report = sla(inc, at(0))
    assert report.response.deadline == at(-60) and report.response.state is TimerState.BREACHED
    assert report.update.deadline == at(-90)
    # A declaration "in the future" (skewed clock) is clamped to now, and says so.
    ev = wf.open_incident(wf.OpenRequest(title="t", severity=Severity.P1, declared_at=at(5)), at(0), "a")
    assert fold(REF, [ev.placed(1)]).declared_at == at(0) and ev.data["declared_clock_skew_s"] == 300.0


def test_p0_response_is_fifteen_minutes() -> None:
    log = Log(Severity.P0)
    report = sla(log.inc, at(0))
    assert report.response.deadline == at(15)


def test_acknowledging_never_silences_update_reminders() -> None:
    log = Log(Severity.P1)
    before = sla(log.inc, at(5)).update
    inc = log.do(wf.acknowledge(log.inc, at(5), "bob"))
    after = sla(inc, at(5)).update
    assert before == after and after.deadline == at(30)
    assert sla(inc, at(31)).update.state is TimerState.BREACHED


def test_update_resets_next_update_due_and_failed_posts_do_not() -> None:
    log = Log(Severity.P1)
    log.do(wf.record_update(log.inc, "we are on it", "webhook", at(20), "bob", delivered=False, error="HTTP 500"))
    assert sla(log.inc, at(20)).update.deadline == at(30)
    inc = log.do(wf.record_update(log.inc, "we are on it", "clipboard", at(25), "bob"))
    assert sla(inc, at(25)).update.deadline == at(55)


def test_severity_change_rebases_and_keeps_the_earlier_breach() -> None:
    log = Log(Severity.P1)
    # Unacknowledged past the P1 hour, then raised to P0 at 70 min.
    inc = log.do(wf.change_severity(log.inc, Severity.P0, at(70), "bob", "all tenants down"))
    report = sla(inc, at(71))
    assert report.response.deadline == at(85) and report.response.state is TimerState.OK
    kept = [b for b in report.breaches if b.severity is Severity.P1]
    assert {b.kind for b in kept} == {TimerKind.RESPONSE, TimerKind.UPDATE}
    assert all(b.ended_at == at(70) for b in kept)
    assert report.update.deadline == at(85)  # P0 cadence from the change
    assert not report.breached_now


def test_a_raise_never_pushes_a_pending_deadline_later() -> None:
    log = Log(Severity.P2)  # respond within 4 h, update every 2 h
    inc = log.do(wf.change_severity(log.inc, Severity.P1, at(230), "bob", "more users affected"))
    report = sla(inc, at(231))
    # P1 from 3h50m would be due at 4h50m: the P2 deadline at 4 h still holds.
    assert report.response.deadline == at(240)
    # The P2 update was already late at the raise: kept on record, then re-based on P1's cadence.
    [missed] = report.breaches
    assert (missed.kind, missed.deadline, missed.ended_at) == (TimerKind.UPDATE, at(120), at(230))
    assert report.update.deadline == at(260)
    # Raised early, the new class's shorter window wins.
    early = Log(Severity.P2)
    inc = early.do(wf.change_severity(early.inc, Severity.P0, at(10), "bob", "all tenants down"))
    report = sla(inc, at(11))
    assert report.response.deadline == at(25) and report.update.deadline == at(25)
    # An update due soon under P2 stays due then after a raise to P1.
    mid = Log(Severity.P2)
    mid.do(wf.record_update(mid.inc, "looking", "clipboard", at(100), "bob"))  # next due at 220
    inc = mid.do(wf.change_severity(mid.inc, Severity.P1, at(200), "bob", "worse"))
    assert sla(inc, at(201)).update.deadline == at(220)
    # A lowering re-bases to the new, longer window.
    low = Log(Severity.P1)
    inc = low.do(wf.change_severity(low.inc, Severity.P3, at(20), "bob", "cosmetic after all"))
    assert sla(inc, at(21)).response.deadline == at(20 + 24 * 60)


def test_timers_stop_when_resolved() -> None:
    log = Log(Severity.P1)
    log.do(wf.change_status(log.inc, Status.INVESTIGATING, at(1), "bob"))
    inc = log.do(wf.change_status(log.inc, Status.RESOLVED, at(10), "bob"))
    report = sla(inc, at(500))
    assert report.update.state is TimerState.OFF and report.response.state is TimerState.MET
    assert report.breaches == ()


def test_p3_has_no_update_reminder() -> None:
    report = sla(Log(Severity.P3).inc, at(5000))
    assert report.update.state is TimerState.OFF


# ---------------------------------------------------------------- triage


@pytest.mark.parametrize("criterion", CRITERIA, ids=lambda c: c.id)
def test_each_manual_criterion_proposes_its_class(criterion) -> None:
    proposal = propose({criterion.id: True})
    assert proposal.severity is criterion.severity
    assert proposal.because == (criterion,)
    assert criterion.label in POLICIES[criterion.severity].criteria


def test_most_severe_yes_wins_and_no_yes_is_p3() -> None:
    assert propose({"cosmetic": True, "auth_issues": True, "configuration": True}).severity is Severity.P1
    assert propose({}).severity is Severity.P3 and propose({}).because == ()
    assert propose({c.id: False for c in CRITERIA}).severity is Severity.P3
    with pytest.raises(ValidationError, match="unknown triage"):
        propose({"is_it_bad": True})


def test_questions_stop_at_the_first_yes() -> None:
    assert [c.id for c in remaining_questions({})][:3] == ["complete_outage", "data_loss", "security_breach"]
    assert remaining_questions({"complete_outage": True}) == []
    answers = {"complete_outage": False, "data_loss": False, "security_breach": False, "partial_outage": True}
    assert remaining_questions(answers) == []
    answers = {c.id: False for c in CRITERIA[:6]}
    assert remaining_questions(answers)[0].id == "noncritical_failure"


def _alert(alert_class: str, title: str, metric: str | None = None, detail: str = "") -> SimpleNamespace:
    return SimpleNamespace(id=f"a:{title}", title=title, detail=detail, alert_class=alert_class, metric=metric, at=at(-3))


@pytest.mark.parametrize(
    "alert, expected",
    [
        (_alert("critical", "Database down", None, "database unreachable"), Severity.P0),
        (_alert("critical", "Authentication service down"), Severity.P1),
        (_alert("critical", "Authentication failures", "auth.failures_per_min"), Severity.P1),
        (_alert("critical", "Connection pool near exhaustion", "db.connections.pct"), Severity.P1),
        (_alert("warning", "Storage down"), Severity.P1),
        (_alert("warning", "High response time: API p95", "api.p95_ms"), Severity.P2),
        (_alert("warning", "Elevated error rate: Function error rate", "fn.error_rate_pct"), Severity.P2),
        (_alert("info", "Unusual traffic: Requests", "api.requests_per_min"), Severity.P3),
    ],
)
def test_prefill_from_alerts(alert, expected) -> None:
    pre = prefill_from_alert(alert, {"db.connections.pct": {"value": 93.0, "state": "critical"}})
    assert pre.proposal.severity is expected
    assert pre.source is Source.ALERT and pre.source_ref == alert.id and pre.detected_at == at(-3)
    assert pre.evidence["alert"]["title"] == alert.title and "snapshot" in pre.evidence


@pytest.mark.parametrize(
    "title, metric, component",
    [
        ("Database down", None, "Database"), ("Authentication service down", None, "Auth"),
        ("Storage down", "", "Storage"), ("Restore failed", None, ""),
        ("High response time: API p95", "api.p95_ms", "REST"), ("Unusual traffic", "fn.invocations", "Edge Functions"),
    ],
)
def test_alert_prefill_names_the_component_from_metric_or_title(title, metric, component) -> None:
    pre = prefill_from_alert(_alert("critical", title, metric))
    assert pre.components == ((component,) if component else ())


@pytest.mark.parametrize(
    "name, status, expected",
    [
        ("Database", HealthStatus.DOWN, Severity.P0), ("REST", HealthStatus.DOWN, Severity.P0),
        ("Storage", HealthStatus.DOWN, Severity.P1), ("Auth", HealthStatus.DEGRADED, Severity.P1),
        ("Database", HealthStatus.DEGRADED, Severity.P1), ("Realtime", HealthStatus.DEGRADED, Severity.P2),
    ],
)
def test_prefill_from_failed_health_components(name, status, expected) -> None:
    pre = prefill_from_health(ComponentHealth(name, status, "timeout after 5 s", None, at(-1)))
    assert pre.proposal.severity is expected and pre.components == (name,) and pre.source is Source.HEALTH_CHECK
    assert pre.evidence["health"]["status"] == status.value


# ---------------------------------------------------------------- phases, updates


def test_phases_follow_status_and_tick_from_the_timeline() -> None:
    log = Log(Severity.P1)
    views = phase_views(log.inc, at(20))
    assert [v.state for v in views] == ["current", "upcoming", "upcoming", "upcoming"]
    assert views[0].overdue and views[0].elapsed == timedelta(minutes=20)
    items = {i.item.id: i for i in views[0].items}
    assert items["log"].done and items["log"].auto and not items["assess"].done
    log.do(wf.attach_snapshot(log.inc, {"db.connections.pct": 91}, at(21), "bob"))
    log.do(wf.record_update(log.inc, "investigating", "clipboard", at(22), "bob"))
    log.do(wf.check_item(log.inc, "status_page", True, at(23), "bob"))
    log.do(wf.change_status(log.inc, Status.INVESTIGATING, at(24), "bob"))
    views = phase_views(log.inc, at(30))
    assert [v.state for v in views] == ["done", "current", "upcoming", "upcoming"]
    done = {i.item.id for i in views[0].items if i.done}
    assert done == {"assess", "notify", "status_page", "log"}
    assert views[0].elapsed == timedelta(minutes=24) and views[1].elapsed == timedelta(minutes=6)
    with pytest.raises(ValidationError, match="unknown checklist item"):
        wf.check_item(log.inc, "coffee", True, at(31), "bob")


def test_update_templates_per_severity() -> None:
    p0 = render_update(Log(Severity.P0, components=("Database",)).inc, at(5))
    assert p0.startswith("🔴 [P0 CRITICAL] INC-2025-0007: API errors")
    assert "Components: Database" in p0 and "Next update by 10:20 UTC (every 15m)" in p0
    p3 = render_update(Log(Severity.P3).inc, at(5))
    assert p3.startswith("[P3 Low]") and "Next update" not in p3
