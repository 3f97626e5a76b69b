"""Compact views of an incident shared by the CLI and the TUI (pure)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from cs_console.domain.incidents.events import format_ts
from cs_console.domain.incidents.model import Incident
from cs_console.domain.durations import countdown, elapsed
from cs_console.domain.incidents.timers import SlaReport, Timer, TimerKind, TimerState, sla


def timer_text(timer: Timer) -> str:
    """'respond 12:04', 'update -3:10', 'ack ✓', '—'."""
    if timer.state is TimerState.OFF:
        return "—"
    if timer.state is TimerState.MET:
        return "ack ✓"
    verb = "ack in" if timer.kind is TimerKind.RESPONSE else "upd in"
    if timer.state is TimerState.BREACHED:
        verb = "ack LATE" if timer.kind is TimerKind.RESPONSE else "upd LATE"
        return f"{verb} {countdown(timer.remaining).lstrip('-')}"
    return f"{verb} {countdown(timer.remaining)}"


def timer_phrase(timer: Timer) -> str:
    """Spelled out, for lines with room: 'respond in 12:04', 'update LATE 3:10', 'acknowledged'."""
    verb = "respond" if timer.kind is TimerKind.RESPONSE else "update"
    if timer.state is TimerState.OFF:
        return "no response timer" if timer.kind is TimerKind.RESPONSE else "no update due"
    if timer.state is TimerState.MET:
        return "acknowledged"
    if timer.state is TimerState.BREACHED:
        return f"{verb} LATE {countdown(timer.remaining).lstrip('-')}"
    return f"{verb} in {countdown(timer.remaining)}"


def summary_json(inc: Incident, now: datetime, report: SlaReport | None = None) -> dict[str, Any]:
    report = report or sla(inc, now)

    def ts(at: datetime | None) -> str | None:
        return format_ts(at) if at else None

    return {
        "ref": inc.ref, "title": inc.title, "severity": inc.severity.value, "status": inc.status.value,
        "commander": inc.commander, "components": list(inc.components), "source": inc.source.value,
        "declared_at": ts(inc.declared_at), "acknowledged_at": ts(inc.acknowledged_at),
        "age_s": int((now - inc.declared_at).total_seconds()) if inc.declared_at else None,
        "response": {"state": report.response.state.value, "deadline": ts(report.response.deadline)},
        "next_update": {"state": report.update.state.value, "due": ts(report.update.deadline)},
        "breaches": len(report.breaches), "breached_now": report.breached_now,
    }


def age_text(inc: Incident, now: datetime) -> str:
    if inc.declared_at is None:
        return "—"
    return elapsed((inc.closed_at or now) - inc.declared_at)
