"""Decisions: from the current incident and a request, the events to append.

Every rule of the workflow is checked here, before anything is written; the
stores only place the events. Every function takes `now` (never reads a clock)
and returns drafts; `_draft` keeps timestamps from going backwards: if the
clock is behind the last event (skew between consoles), the event is recorded
at the last event's time and says by how much it was clamped.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from cs_console.domain.incidents.errors import TransitionError, ValidationError
from cs_console.domain.incidents.events import PINNED_BY_DEFAULT, EventType, IncidentEvent, json_safe, to_utc, format_ts
from cs_console.domain.incidents.model import Incident, Role, Source
from cs_console.domain.incidents.phases import ITEM_IDS
from cs_console.domain.incidents.postmortem import ACTION_FIELDS, TEXT_FIELDS, postmortem_gaps
from cs_console.domain.incidents.reference import normalize_ref
from cs_console.domain.incidents.severity import Severity
from cs_console.domain.incidents.status import REOPEN_WINDOW, Status, allowed_next
from cs_console.domain.incidents.triage import propose

MAX_TEXT = 20_000  # a note or summary longer than this is a paste accident


def _text(value: str, what: str, *, required: bool = False, limit: int = MAX_TEXT) -> str:
    if not isinstance(value, str):
        raise ValidationError(f"{what}: expected text")
    value = value.strip()
    if required and not value:
        raise ValidationError(f"{what} is required")
    if len(value) > limit:
        raise ValidationError(f"{what} is too long ({len(value)} characters; at most {limit})")
    return value


def _draft(
    inc: Incident | None, now: datetime, etype: EventType, actor: str, data: Mapping[str, Any],
    *, generated: bool = False, pinned: bool | None = None,
) -> IncidentEvent:
    now = to_utc(now)
    payload = dict(data)
    last = inc.last_ts if inc is not None else None
    if last is not None and now < last:
        payload["clock_skew_s"] = round((last - now).total_seconds(), 6)
        now = last
    return IncidentEvent(
        type=etype, ts=now, actor=actor or "unknown", data=json_safe(payload), generated=generated,
        pinned=etype in PINNED_BY_DEFAULT if pinned is None else pinned,
    )


@dataclass
class OpenRequest:
    title: str
    severity: Severity | None = None  # None: take the proposal
    summary: str = ""
    answers: dict[str, bool] = field(default_factory=dict)
    override_reason: str = ""
    source: Source = Source.MANUAL
    source_ref: str = ""
    components: Sequence[str] = ()
    detected_at: datetime | None = None
    # Declared before it was entered here (in a war-room channel, on the phone): the
    # timers start from then. Never after now.
    declared_at: datetime | None = None
    environment: str = ""


def open_incident(req: OpenRequest, now: datetime, actor: str) -> IncidentEvent:
    """The 'created' event. A severity other than the proposal needs a reason.

    Without triage answers nothing was proposed, and the chosen severity stands
    on its own (the CLI's non-interactive `open --severity P1`).
    """
    title = _text(req.title, "title", required=True, limit=200)
    summary = _text(req.summary, "summary")
    proposal = propose(req.answers) if req.answers else None
    severity = req.severity or (proposal.severity if proposal else None)
    if severity is None:
        raise ValidationError("severity is required (answer the triage questions or give P0..P3)")
    reason = _text(req.override_reason, "override reason", limit=2000)
    if proposal is not None and severity is not proposal.severity and not reason:
        raise ValidationError(
            f"severity {severity.value} overrides the proposed {proposal.severity.value}: a reason is required"
        )
    now = to_utc(now)
    declared = min(to_utc(req.declared_at), now) if req.declared_at else now
    detected = to_utc(req.detected_at) if req.detected_at else declared
    data: dict[str, Any] = {
        "title": title, "summary": summary, "severity": severity.value,
        "proposed_severity": proposal.severity.value if proposal else None,
        "answers": dict(req.answers), "override_reason": reason if proposal and severity is not proposal.severity else "",
        "source": req.source.value, "source_ref": req.source_ref,
        "components": [c.strip() for c in req.components if c.strip()],
        "environment": req.environment,
        # Detection cannot be after declaration (a skewed alert clock): clamp and keep the original.
        "detected_at": format_ts(min(detected, declared)),
    }
    if declared < now:
        data["declared_at"] = format_ts(declared)
    if req.declared_at and to_utc(req.declared_at) > now:
        data["declared_clock_skew_s"] = round((to_utc(req.declared_at) - now).total_seconds(), 6)
    if detected > declared:
        data["detected_clock_skew_s"] = round((detected - declared).total_seconds(), 6)
    return _draft(None, now, EventType.CREATED, actor, data)


def acknowledge(inc: Incident, now: datetime, actor: str, *, implicit: bool = False) -> list[IncidentEvent]:
    """Acknowledge once; later acks are no-ops (two consoles pressing 'a' together).

    The first responder becomes commander when there is none. This meets the
    response timer; it never touches the update reminders.
    """
    if inc.acknowledged_at is not None or inc.status.is_final:
        return []
    out = [_draft(inc, now, EventType.ACKNOWLEDGED, actor, {"implicit": implicit}, generated=implicit)]
    if not inc.commander:
        out.append(_draft(inc, now, EventType.ROLE_ASSIGNED, actor,
                          {"role": Role.COMMANDER.value, "person": actor, "previous": ""}, generated=True))
    return out


def check_transition(inc: Incident, to: Status, now: datetime, *, reason: str = "", merge_into: str = "") -> None:
    cur = inc.status
    if to is cur:
        raise TransitionError(f"{inc.ref} is already {cur.value}")
    if to not in allowed_next(cur):
        allowed = ", ".join(s.value for s in sorted(allowed_next(cur), key=list(Status).index)) or "none (final)"
        raise TransitionError(f"{inc.ref}: cannot go from {cur.value} to {to.value} (allowed: {allowed})")
    if to is Status.DECLINED and not reason.strip():
        raise TransitionError(f"{inc.ref}: declining needs a reason (--reason)")
    if to is Status.MERGED:
        if not merge_into.strip():
            raise TransitionError(f"{inc.ref}: merging needs the incident it duplicates")
        if normalize_ref(merge_into) == inc.ref:
            raise TransitionError(f"{inc.ref}: cannot merge an incident into itself")
    if cur in (Status.RESOLVED, Status.POSTMORTEM) and to is Status.INVESTIGATING:
        assert inc.resolved_at is not None
        if now - inc.resolved_at > REOPEN_WINDOW:
            raise TransitionError(
                f"{inc.ref}: resolved more than 72 h ago ({format_ts(inc.resolved_at)}); open a new incident instead"
            )
    if to is Status.CLOSED and postmortem_owed(inc):
        gaps = postmortem_gaps(inc)
        raise TransitionError(
            f"{inc.ref}: a {inc.max_severity.value} incident needs its post-mortem before closing "
            f"(missing: {', '.join(gaps)}) or a recorded waiver"
        )


def postmortem_owed(inc: Incident) -> bool:
    """P0/P1 (the highest severity it ever had) need a post-mortem or a waiver to close."""
    if not inc.max_severity.policy.postmortem_required or inc.postmortem_waiver:
        return False
    return bool(postmortem_gaps(inc))


def change_status(
    inc: Incident, to: Status, now: datetime, actor: str, *, reason: str = "", merge_into: str = "",
) -> list[IncidentEvent]:
    reason = _text(reason, "reason", limit=2000)
    target = normalize_ref(merge_into) if merge_into.strip() else ""
    now = to_utc(now)
    check_transition(inc, to, max(now, inc.last_ts or now), reason=reason, merge_into=target)
    out: list[IncidentEvent] = []
    # Moving an unacknowledged incident on is responding to it.
    if to.is_working and inc.acknowledged_at is None:
        out.extend(acknowledge(inc, now, actor, implicit=True))
    data: dict[str, Any] = {"from": inc.status.value, "to": to.value}
    if reason:
        data["reason"] = reason
    if target:
        data["merge_into"] = target
    if inc.status in (Status.RESOLVED, Status.POSTMORTEM) and to is Status.INVESTIGATING:
        data["reopen"] = True
    out.append(_draft(inc, now, EventType.STATUS_CHANGED, actor, data))
    return out


def change_severity(inc: Incident, to: Severity, now: datetime, actor: str, reason: str) -> IncidentEvent:
    if inc.status.is_final:
        raise TransitionError(f"{inc.ref} is {inc.status.value}: its severity can no longer change")
    if to is inc.severity:
        raise ValidationError(f"{inc.ref} is already {to.value}")
    reason = _text(reason, "reason for the severity change", required=True, limit=2000)
    return _draft(inc, now, EventType.SEVERITY_CHANGED, actor, {"from": inc.severity.value, "to": to.value, "reason": reason})


def add_note(inc: Incident, text: str, now: datetime, actor: str, *, pinned: bool = False) -> IncidentEvent:
    return _draft(inc, now, EventType.NOTE, actor, {"text": _text(text, "note", required=True)}, pinned=pinned)


def assign_role(inc: Incident, role: Role, person: str, now: datetime, actor: str) -> IncidentEvent:
    person = _text(person, f"{role.value}", limit=100)
    if inc.roles[role] == person:
        raise ValidationError(f"{inc.ref}: {role.value} is already {person or 'unassigned'}")
    return _draft(inc, now, EventType.ROLE_ASSIGNED, actor,
                  {"role": role.value, "person": person, "previous": inc.roles[role]})


def attach_alert(inc: Incident, alert: Mapping[str, Any], now: datetime, actor: str) -> IncidentEvent:
    return _draft(inc, now, EventType.ALERT_ATTACHED, actor, {"alert": dict(alert)}, generated=True)


def attach_snapshot(inc: Incident, metrics: Mapping[str, Any], now: datetime, actor: str, *, label: str = "") -> IncidentEvent:
    if not metrics:
        raise ValidationError("an empty metric snapshot has nothing to attach")
    return _draft(inc, now, EventType.METRIC_SNAPSHOT, actor,
                  {"label": _text(label, "label", limit=200), "metrics": dict(metrics)}, generated=True)


def record_runbook_step(
    inc: Incident, runbook_id: str, step_id: str, outcome: str, detail: str, now: datetime, actor: str,
    *, run_id: str = "",
) -> IncidentEvent:
    data = {
        "runbook_id": _text(runbook_id, "runbook id", required=True, limit=200),
        "step_id": _text(step_id, "step id", required=True, limit=200),
        "outcome": _text(outcome, "outcome", required=True, limit=100),
        "detail": _text(detail, "detail"),
    }
    if run_id:
        data["run_id"] = run_id
    return _draft(inc, now, EventType.RUNBOOK_STEP, actor, data, generated=True)


def record_update(
    inc: Incident, body: str, channel: str, now: datetime, actor: str, *, delivered: bool = True, error: str = "",
) -> IncidentEvent:
    data: dict[str, Any] = {"channel": channel, "body": _text(body, "update", required=True), "delivered": delivered}
    if error:
        data["error"] = error
    return _draft(inc, now, EventType.STAKEHOLDER_UPDATE, actor, data, pinned=delivered)


def check_item(inc: Incident, item: str, done: bool, now: datetime, actor: str, *, note: str = "") -> IncidentEvent:
    """`note`: what was seen (the status page's verdict when its item is ticked)."""
    if item not in ITEM_IDS:
        raise ValidationError(f"unknown checklist item {item!r} (expected one of {', '.join(sorted(ITEM_IDS))})")
    data: dict[str, Any] = {"item": item, "done": done}
    if note and done:
        data["note"] = _text(note[:500], "note", limit=500)
    return _draft(inc, now, EventType.CHECKLIST_ITEM, actor, data)


def edit_details(
    inc: Incident, now: datetime, actor: str, *, title: str | None = None, summary: str | None = None,
    components: Sequence[str] | None = None,
) -> IncidentEvent:
    data: dict[str, Any] = {}
    if title is not None:
        data["title"] = _text(title, "title", required=True, limit=200)
    if summary is not None:
        data["summary"] = _text(summary, "summary")
    if components is not None:
        data["components"] = [c.strip() for c in components if c.strip()]
    if not data:
        raise ValidationError("nothing to change")
    return _draft(inc, now, EventType.DETAILS_EDITED, actor, data)


def edit_postmortem(inc: Incident, fields: Mapping[str, Any], now: datetime, actor: str) -> IncidentEvent:
    clean: dict[str, Any] = {}
    for key, value in fields.items():
        if key in TEXT_FIELDS:
            clean[key] = _text(value, key.replace("_", " "))
        elif key == "action_items":
            items = []
            for n, item in enumerate(value, start=1):
                if not isinstance(item, Mapping) or not str(item.get("text", "")).strip():
                    raise ValidationError(f"action item {n}: expected text and an owner")
                items.append({k: _text(str(item.get(k, "")), f"action item {n} {k}", limit=500) for k in ACTION_FIELDS})
            clean[key] = items
        else:
            raise ValidationError(f"unknown post-mortem field {key!r} (expected {', '.join([*TEXT_FIELDS, 'action_items'])})")
    if not clean:
        raise ValidationError("nothing to change")
    return _draft(inc, now, EventType.POSTMORTEM_EDITED, actor, {"fields": clean})


def waive_postmortem(inc: Incident, reason: str, now: datetime, actor: str) -> IncidentEvent:
    reason = _text(reason, "reason for waiving the post-mortem", required=True, limit=2000)
    return _draft(inc, now, EventType.POSTMORTEM_WAIVED, actor, {"reason": reason})


def set_pin(inc: Incident, seq: int, pinned: bool, now: datetime, actor: str) -> IncidentEvent:
    target = inc.event(seq)
    if target is None:
        raise ValidationError(f"{inc.ref} has no event {seq}")
    return _draft(inc, now, EventType.PIN_CHANGED, actor, {"target_seq": seq, "pinned": pinned}, generated=True)


def note_duplicate(target: Incident, from_ref: str, now: datetime, actor: str) -> IncidentEvent:
    if target.status.is_final and target.status is not Status.CLOSED:
        raise TransitionError(f"cannot merge into {target.ref}: it is {target.status.value}")
    return _draft(target, now, EventType.DUPLICATE_MERGED, actor, {"from_ref": from_ref}, generated=True)


def age(inc: Incident, now: datetime) -> timedelta:
    return (inc.closed_at or now) - (inc.declared_at or now)
