"""The incident as the fold of its timeline events (event sourcing).

Nothing here is stored: `fold(events)` rebuilds the same Incident from the same
events in every console, which is what lets the local log and the team store
share one model and never disagree about derived values.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from cs_console.domain.incidents.errors import EventFormatError
from cs_console.domain.incidents.events import EventType, IncidentEvent, parse_ts
from cs_console.domain.incidents.severity import Severity
from cs_console.domain.incidents.status import Status


class Source(StrEnum):
    MANUAL = "manual"
    ALERT = "alert"
    HEALTH_CHECK = "health_check"


class Role(StrEnum):
    COMMANDER = "commander"
    SCRIBE = "scribe"
    COMMUNICATIONS = "communications"


def parse_role(text: str) -> Role:
    from cs_console.domain.incidents.errors import ValidationError

    t = text.strip().lower()
    t = {"ic": "commander", "comms": "communications", "liaison": "communications"}.get(t, t)
    try:
        return Role(t)
    except ValueError:
        raise ValidationError(f"unknown role {text!r} (expected commander, scribe or communications)") from None


@dataclass
class Incident:
    ref: str
    title: str = ""
    summary: str = ""
    severity: Severity = Severity.P3
    status: Status = Status.TRIAGE
    source: Source = Source.MANUAL
    source_ref: str = ""  # alert id or health component
    environment: str = ""
    components: tuple[str, ...] = ()
    roles: dict[Role, str] = field(default_factory=lambda: {r: "" for r in Role})
    proposed_severity: Severity | None = None
    triage_answers: dict[str, bool] = field(default_factory=dict)
    override_reason: str = ""
    detected_at: datetime | None = None
    declared_at: datetime | None = None
    acknowledged_at: datetime | None = None
    acknowledged_by: str = ""
    mitigated_at: datetime | None = None
    resolved_at: datetime | None = None
    closed_at: datetime | None = None
    declined_reason: str = ""
    merged_into: str = ""
    duplicates: list[str] = field(default_factory=list)
    # Highest severity ever held: a downgrade does not dodge a required post-mortem.
    max_severity: Severity = Severity.P3
    postmortem: dict[str, Any] = field(default_factory=dict)
    postmortem_waiver: str = ""
    checklist: dict[str, bool] = field(default_factory=dict)
    pins: dict[int, bool] = field(default_factory=dict)
    events: list[IncidentEvent] = field(default_factory=list, repr=False)

    @property
    def commander(self) -> str:
        return self.roles[Role.COMMANDER]

    def clone(self) -> "Incident":
        """A copy that applying further events to leaves this one untouched."""
        from dataclasses import replace

        return replace(
            self, roles=dict(self.roles), triage_answers=dict(self.triage_answers), duplicates=list(self.duplicates),
            postmortem=dict(self.postmortem), checklist=dict(self.checklist), pins=dict(self.pins), events=list(self.events),
        )

    def roles_display(self, role: str) -> str:
        return self.roles[Role(role)] or "—"

    @property
    def last_seq(self) -> int:
        return self.events[-1].seq if self.events else 0

    @property
    def last_ts(self) -> datetime | None:
        return self.events[-1].ts if self.events else None

    def is_pinned(self, event: IncidentEvent) -> bool:
        return self.pins.get(event.seq, event.pinned)

    def event(self, seq: int) -> IncidentEvent | None:
        if 1 <= seq <= len(self.events) and self.events[seq - 1].seq == seq:
            return self.events[seq - 1]
        return next((e for e in self.events if e.seq == seq), None)

    def summary_row(self) -> dict[str, Any]:
        """What a store keeps in its index to list incidents without folding them."""
        from cs_console.domain.incidents.events import format_ts

        return {
            "ref": self.ref, "title": self.title, "severity": self.severity.value,
            "status": self.status.value, "commander": self.commander,
            "declared_at": format_ts(self.declared_at) if self.declared_at else None,
            "last_seq": self.last_seq,
        }


def _opt_ts(value: Any) -> datetime | None:
    return parse_ts(value) if isinstance(value, str) and value else None


def apply(inc: Incident, ev: IncidentEvent) -> None:
    """Fold one event into the incident. Events were validated when decided;
    here we only read them, tolerating unknown extra data."""
    d = ev.data
    t = ev.type
    if t is EventType.CREATED:
        inc.title = str(d.get("title", ""))
        inc.summary = str(d.get("summary", ""))
        inc.severity = Severity(d.get("severity", "P3"))
        inc.max_severity = inc.severity
        inc.proposed_severity = Severity(d["proposed_severity"]) if d.get("proposed_severity") else None
        inc.override_reason = str(d.get("override_reason", ""))
        inc.triage_answers = {str(k): bool(v) for k, v in dict(d.get("answers", {})).items()}
        inc.source = Source(d.get("source", "manual"))
        inc.source_ref = str(d.get("source_ref", ""))
        inc.environment = str(d.get("environment", ""))
        inc.components = tuple(str(c) for c in d.get("components", ()))
        inc.declared_at = _opt_ts(d.get("declared_at")) or ev.ts
        inc.detected_at = _opt_ts(d.get("detected_at")) or inc.declared_at
        inc.status = Status.TRIAGE
    elif t is EventType.STATUS_CHANGED:
        to = Status(d["to"])
        if to is Status.INVESTIGATING:
            inc.mitigated_at = inc.resolved_at = None
        elif to is Status.IDENTIFIED:
            inc.mitigated_at = inc.resolved_at = None
        elif to is Status.MITIGATED:
            inc.mitigated_at = ev.ts
        elif to is Status.RESOLVED:
            inc.resolved_at = ev.ts
            inc.mitigated_at = inc.mitigated_at or ev.ts  # resolving mitigates too
        elif to in (Status.CLOSED, Status.DECLINED, Status.MERGED):
            inc.closed_at = ev.ts
        if to is Status.DECLINED:
            inc.declined_reason = str(d.get("reason", ""))
        if to is Status.MERGED:
            inc.merged_into = str(d.get("merge_into", ""))
        inc.status = to
    elif t is EventType.SEVERITY_CHANGED:
        inc.severity = Severity(d["to"])
        if inc.severity.rank < inc.max_severity.rank:
            inc.max_severity = inc.severity
    elif t is EventType.ACKNOWLEDGED:
        if inc.acknowledged_at is None:
            inc.acknowledged_at, inc.acknowledged_by = ev.ts, ev.actor
    elif t is EventType.ROLE_ASSIGNED:
        inc.roles[Role(d["role"])] = str(d.get("person", ""))
    elif t is EventType.CHECKLIST_ITEM:
        inc.checklist[str(d["item"])] = bool(d.get("done", True))
    elif t is EventType.DETAILS_EDITED:
        if "title" in d:
            inc.title = str(d["title"])
        if "summary" in d:
            inc.summary = str(d["summary"])
        if "components" in d:
            inc.components = tuple(str(c) for c in d["components"])
    elif t is EventType.POSTMORTEM_EDITED:
        for key, value in dict(d.get("fields", {})).items():
            inc.postmortem[str(key)] = value
    elif t is EventType.POSTMORTEM_WAIVED:
        inc.postmortem_waiver = str(d.get("reason", ""))
    elif t is EventType.PIN_CHANGED:
        inc.pins[int(d["target_seq"])] = bool(d.get("pinned", True))
    elif t is EventType.DUPLICATE_MERGED:
        inc.duplicates.append(str(d.get("from_ref", "")))
    # NOTE, ALERT_ATTACHED, METRIC_SNAPSHOT, RUNBOOK_STEP, STAKEHOLDER_UPDATE only
    # add to the timeline; timers and checklists read them from `events`.
    inc.events.append(ev)


def fold(ref: str, events: list[IncidentEvent], base: Incident | None = None) -> Incident:
    """The incident after `events`; with `base`, those events continue it (base is not changed)."""
    if base is None:
        if not events or events[0].type is not EventType.CREATED:
            raise EventFormatError(f"{ref}: the log does not start with a 'created' event")
        inc = Incident(ref=ref)
    else:
        inc = base.clone()
        if events and events[0].seq != base.last_seq + 1:
            raise EventFormatError(f"{ref}: event {events[0].seq} does not follow {base.last_seq}")
    for ev in events:
        try:
            apply(inc, ev)
        except (KeyError, ValueError, TypeError) as exc:
            raise EventFormatError(f"{ref}: event {ev.seq} ({ev.type.value}) unreadable: {exc}") from None
    return inc
