"""Property tests: random operation sequences never break the workflow or the timers."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cs_console.domain.incidents import IncidentError, Severity, Status, fold
from cs_console.domain.incidents import workflow as wf
from cs_console.domain.incidents.events import EventType, IncidentEvent
from cs_console.domain.incidents.model import Role
from cs_console.domain.incidents.postmortem import export_json, export_markdown
from cs_console.domain.incidents.status import TRANSITIONS
from cs_console.domain.incidents.timers import TimerKind, TimerState, sla

T0 = datetime(2025, 6, 1, 8, 0, tzinfo=timezone.utc)
REF = "INC-2025-0100"

severities = st.sampled_from(list(Severity))
op = st.one_of(
    st.tuples(st.just("clock"), st.integers(min_value=-900, max_value=6 * 3600)),  # negative: a skewed clock
    st.tuples(st.just("ack"), st.sampled_from(["bob", "carol"])),
    st.tuples(st.just("status"), st.sampled_from(list(Status)), st.sampled_from(["", "because"])),
    st.tuples(st.just("severity"), severities, st.sampled_from(["", "impact changed"])),
    st.tuples(st.just("note"), st.text(max_size=30)),
    st.tuples(st.just("update"), st.booleans()),
    st.tuples(st.just("role"), st.sampled_from(list(Role)), st.sampled_from(["", "dana", "erin"])),
    st.tuples(st.just("postmortem"), st.booleans()),
    st.tuples(st.just("waive"), st.sampled_from(["", "covered by INC-2025-0001"])),
)


def _decide(inc, step, now):
    kind = step[0]
    if kind == "ack":
        return wf.acknowledge(inc, now, step[1])
    if kind == "status":
        return wf.change_status(inc, step[1], now, "bob", reason=step[2], merge_into="INC-2025-0001" if step[1] is Status.MERGED else "")
    if kind == "severity":
        return [wf.change_severity(inc, step[1], now, "bob", step[2])]
    if kind == "note":
        return [wf.add_note(inc, step[1], now, "carol")]
    if kind == "update":
        return [wf.record_update(inc, "update", "webhook", now, "bob", delivered=step[1], error="" if step[1] else "HTTP 500")]
    if kind == "role":
        return [wf.assign_role(inc, step[1], step[2], now, "bob")]
    if kind == "postmortem":
        fields = {"impact": "i", "root_cause": "r", "action_items": [{"text": "a", "owner": "o" if step[1] else ""}]}
        return [wf.edit_postmortem(inc, fields, now, "bob")]
    if kind == "waive":
        return [wf.waive_postmortem(inc, step[1], now, "bob")]
    raise AssertionError(kind)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(first=severities, steps=st.lists(op, max_size=40))
def test_random_sequences_keep_every_invariant(first: Severity, steps) -> None:
    now = T0
    created = wf.open_incident(wf.OpenRequest(title="random", severity=first), now, "alice")
    events: list[IncidentEvent] = [created.placed(1)]
    inc = fold(REF, events)
    for step in steps:
        if step[0] == "clock":
            now = now + timedelta(seconds=step[1])
            continue
        before_update_timer = sla(inc, now).update
        try:
            drafts = _decide(inc, step, now)
        except IncidentError:
            assert fold(REF, events) == inc  # deciding never mutates the incident it read
            continue
        for d in drafts:
            events.append(d.placed(len(events) + 1))
        inc = fold(REF, events)
        if step[0] == "ack":
            assert sla(inc, now).update == before_update_timer  # ack never silences reminders
    _check(inc, events, now)


def _check(inc, events, now) -> None:
    # Timestamps never go backwards along seq; seqs are dense.
    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    assert all(a.ts <= b.ts for a, b in zip(events, events[1:]))
    # Every status change in the log was an allowed arrow.
    status = Status.TRIAGE
    for e in events:
        if e.type is EventType.STATUS_CHANGED:
            to = Status(e.data["to"])
            assert e.data["from"] == status.value and to in TRANSITIONS[status]
            if to is Status.DECLINED:
                assert e.data.get("reason")
            status = to
    assert status is inc.status
    # Milestones are ordered.
    assert inc.detected_at <= inc.declared_at
    if inc.acknowledged_at:
        assert inc.acknowledged_at >= inc.declared_at
    if inc.mitigated_at and inc.resolved_at:
        assert inc.mitigated_at <= inc.resolved_at
    if inc.status is Status.CLOSED and inc.max_severity.policy.postmortem_required:
        assert inc.postmortem_waiver or not wf.postmortem_owed(inc)
    assert inc.max_severity.rank <= inc.severity.rank
    # Deadlines are derived, consistent, and deterministic.
    report = sla(inc, now)
    assert report == sla(fold(REF, events), now)
    if inc.acknowledged_at is not None:
        assert report.response.state is TimerState.MET
    elif report.response.deadline is not None:
        assert report.response.deadline > inc.declared_at
        assert report.response.state is TimerState.BREACHED or report.response.deadline >= now
    if not inc.status.is_working or inc.severity.policy.update_every is None:
        assert report.update.state is TimerState.OFF
    else:
        cadence = inc.severity.policy.update_every
        assert report.update.deadline is not None and report.update.deadline - cadence <= max(now, inc.last_ts)
        assert report.update.deadline - cadence >= inc.declared_at
    for kind in TimerKind:
        assert sum(1 for b in report.breaches if b.kind is kind and b.ended_at is None) <= 1
    for b in report.breaches:
        assert b.ended_at is None or b.ended_at >= b.deadline
    # Exports never fail on any reachable state.
    assert export_markdown(inc, now).startswith(f"# Post-mortem: {REF}")
    assert export_json(inc, now)["ref"] == REF
