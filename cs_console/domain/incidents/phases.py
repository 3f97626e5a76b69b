"""The manual's "Incident Response Procedures" as phases with checklists.

Items tick themselves when the timeline shows them done (a metric snapshot
means the situation was assessed, a stakeholder update means the initial
communication went out, ...); the rest are ticked by a responder, which is a
`checklist_item` event like any other.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from cs_console.domain.health import PLATFORM_STATUS
from cs_console.domain.incidents.events import EventType
from cs_console.domain.incidents.model import Incident
from cs_console.domain.incidents.status import Status


def _has(kind: EventType) -> Callable[[Incident], bool]:
    return lambda inc: any(e.type is kind for e in inc.events)


def _reached(*statuses: Status) -> Callable[[Incident], bool]:
    wanted = {s.value for s in statuses}
    return lambda inc: any(e.type is EventType.STATUS_CHANGED and e.data.get("to") in wanted for e in inc.events)


def _update_after_resolution(inc: Incident) -> bool:
    return inc.resolved_at is not None and any(
        e.type is EventType.STAKEHOLDER_UPDATE and e.data.get("delivered", True) and e.ts >= inc.resolved_at
        for e in inc.events
    )


def _lessons(inc: Incident) -> bool:
    return bool(inc.postmortem.get("root_cause")) or bool(inc.postmortem_waiver)


_STEP_SEEN = {"succeeded", "failed"}  # the page was read (failed: its expectation "no incident" was not met)


def status_page_seen(inc: Incident, *, ticks: bool = True) -> str:
    """What the timeline says the status page showed, newest first; "" if nobody has looked.

    A health snapshot naming the Platform status (the console read the page at
    declaration or when evidence was attached), the incident-response runbook's
    status_page step, or (`ticks`) a responder's tick that recorded what the
    console showed. A page the console could not read (UNKNOWN) is not a look at it.
    """
    for ev in reversed(inc.events):
        data = ev.data
        if ev.type is EventType.METRIC_SNAPSHOT:
            metrics = data.get("metrics") if isinstance(data.get("metrics"), dict) else {}
            live = metrics.get("_health") if isinstance(metrics.get("_health"), dict) else {}
            line = live.get(PLATFORM_STATUS)
            if isinstance(line, str) and line and not line.startswith("UNKNOWN"):
                return line
            health = metrics.get("health")
            if isinstance(health, dict) and health.get("component") == PLATFORM_STATUS and health.get("status") not in (None, "UNKNOWN"):
                return f"{health['status']}: {health.get('detail') or ''}".rstrip(": ")
        elif ev.type is EventType.RUNBOOK_STEP and data.get("step_id") == "status_page" and data.get("outcome") in _STEP_SEEN:
            return f"runbook {data.get('runbook_id', '')}: {data.get('outcome')}" + (f": {data['detail']}" if data.get("detail") else "")
        elif ticks and ev.type is EventType.CHECKLIST_ITEM and data.get("item") == "status_page" and data.get("done") and data.get("note"):
            return str(data["note"])
    return ""


@dataclass(frozen=True)
class ChecklistItem:
    id: str
    label: str
    auto: Callable[[Incident], bool] | None = None  # ticks itself from the timeline
    seen: Callable[[Incident], str] | None = None  # what the timeline recorded for it (shown beside the tick)


@dataclass(frozen=True)
class Phase:
    id: str
    title: str
    window: str  # the manual's time box, as printed
    due_after: timedelta | None  # from declaration; None: no time box
    statuses: frozenset[Status]  # the statuses during which this phase is current
    items: tuple[ChecklistItem, ...]


PHASES: tuple[Phase, ...] = (
    Phase("immediate", "Immediate response", "0–15 min", timedelta(minutes=15), frozenset({Status.TRIAGE}), (
        ChecklistItem("assess", "Assess the situation: run the health check", _has(EventType.METRIC_SNAPSHOT)),
        ChecklistItem("status_page", "Check the Supabase status page (status.supabase.com) for ongoing incidents",
                      lambda inc: bool(status_page_seen(inc, ticks=False)), status_page_seen),
        ChecklistItem("notify", "Initial communication: notify stakeholders", _has(EventType.STAKEHOLDER_UPDATE)),
        ChecklistItem("channel", "Create the incident channel / ticket"),
        ChecklistItem("log", "Begin the incident log", _has(EventType.CREATED)),
    )),
    Phase("investigation", "Investigation", "15–60 min", timedelta(minutes=60),
          frozenset({Status.INVESTIGATING, Status.IDENTIFIED}), (
        ChecklistItem("logs", "Gather information: recent logs (all sources, last hour)"),
        ChecklistItem("deploys", "Review recent deployments (last 24 hours)"),
        ChecklistItem("root_cause", "Identify the root cause: error patterns, resource use, recent changes",
                      _reached(Status.IDENTIFIED, Status.MITIGATED, Status.RESOLVED)),
        ChecklistItem("temp_fix", "Implement temporary fixes: scale, disable features, hotfix",
                      _reached(Status.MITIGATED, Status.RESOLVED)),
    )),
    Phase("resolution", "Resolution and recovery", "after mitigation", None, frozenset({Status.MITIGATED}), (
        ChecklistItem("perm_fix", "Implement the permanent fix: code, configuration, database changes"),
        ChecklistItem("verify", "Verify the resolution with the health check"),
        ChecklistItem("resolved", "Mark the incident resolved", _reached(Status.RESOLVED)),
    )),
    Phase("post", "Post-incident", "after resolution", None,
          frozenset({Status.RESOLVED, Status.POSTMORTEM, Status.CLOSED}), (
        ChecklistItem("final_update", "Update stakeholders", _update_after_resolution),
        ChecklistItem("lessons", "Document lessons learned (post-mortem)", _lessons),
        ChecklistItem("review", "Schedule the post-mortem review"),
    )),
)

ITEM_IDS: frozenset[str] = frozenset(item.id for phase in PHASES for item in phase.items)


@dataclass(frozen=True)
class ItemView:
    item: ChecklistItem
    done: bool
    auto: bool  # ticked by the timeline rather than by hand
    note: str = ""  # what was seen, when the item records it (the status page)


@dataclass(frozen=True)
class PhaseView:
    phase: Phase
    state: str  # "done", "current", "upcoming"
    started_at: datetime | None
    elapsed: timedelta | None  # in this phase (current) or spent in it (done)
    overdue: bool  # still current past the manual's time box
    items: tuple[ItemView, ...]


def _phase_index(status: Status) -> int:
    for i, phase in enumerate(PHASES):
        if status in phase.statuses:
            return i
    return len(PHASES) - 1  # declined / merged: nothing further applies


def phase_views(inc: Incident, now: datetime) -> list[PhaseView]:
    declared = inc.declared_at or now
    # When each phase was first entered, from the status history.
    entered: dict[int, datetime] = {0: declared}
    for ev in inc.events:
        if ev.type is EventType.STATUS_CHANGED:
            idx = _phase_index(Status(ev.data["to"]))
            for j in range(1, idx + 1):
                entered.setdefault(j, ev.ts)
    current = _phase_index(inc.status)
    end = inc.closed_at or now
    views: list[PhaseView] = []
    for i, phase in enumerate(PHASES):
        state = "done" if i < current else "current" if i == current else "upcoming"
        started = entered.get(i) if state != "upcoming" else None
        if state == "current":
            elapsed = end - started if started else None
        elif state == "done" and started is not None:
            nxt = min((t for j, t in entered.items() if j > i), default=None)
            elapsed = (nxt - started) if nxt else None
        else:
            elapsed = None
        overdue = (
            state == "current" and inc.status.is_working and phase.due_after is not None
            and now - declared > phase.due_after
        )
        items = []
        for item in phase.items:
            auto = bool(item.auto and item.auto(inc))
            done = auto or inc.checklist.get(item.id, False)
            items.append(ItemView(item, done, auto, item.seen(inc) if item.seen else ""))
        views.append(PhaseView(phase, state, started, elapsed, overdue, tuple(items)))
    return views
