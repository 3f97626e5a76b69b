"""SLA timers derived from the timeline, never stored as countdowns.

- Response: met by the first acknowledgement. Deadline = declared_at + the
  severity's response target; a severity change re-bases it to
  change time + new target (while unacknowledged); a deadline missed before the
  change stays on record as a breach. A raise never pushes a pending deadline
  later than the one already running (P2 at 3h50m raised to P1 is still due at
  4h, not at 4h50m): the more severe class cannot buy time.
- Updates: while the incident is being worked (triage..mitigated), the next
  stakeholder update is due at (last delivered update, or declaration, or the
  last severity change / reopen, whichever is latest) + the severity's cadence,
  with the same rule for raises. Acknowledging never touches it: an
  acknowledged incident still nags for updates.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from cs_console.domain.incidents.events import EventType
from cs_console.domain.incidents.model import Incident
from cs_console.domain.incidents.severity import Severity
from cs_console.domain.incidents.status import Status

# Amber once less than this share of the window is left.
CLOSE_SHARE = 0.25


class TimerState(StrEnum):
    OK = "ok"  # green
    CLOSE = "close"  # amber
    BREACHED = "breached"  # red
    MET = "met"
    OFF = "off"  # no timer (finished, or no cadence)


class TimerKind(StrEnum):
    RESPONSE = "response"
    UPDATE = "update"


@dataclass(frozen=True, slots=True)
class Breach:
    kind: TimerKind
    severity: Severity
    deadline: datetime
    ended_at: datetime | None  # when it was met late (or the timer stopped); None: still late

    def describe(self) -> str:
        what = "response" if self.kind is TimerKind.RESPONSE else "stakeholder update"
        return f"{self.severity.value} {what} due {self.deadline:%Y-%m-%d %H:%M:%S} UTC missed"

    def until_text(self) -> str:
        """Until when it was late: answered, re-based by a severity change, or the incident left work."""
        return f"overdue until {self.ended_at:%Y-%m-%d %H:%M:%S} UTC" if self.ended_at else "still overdue"


@dataclass(frozen=True, slots=True)
class Timer:
    kind: TimerKind
    state: TimerState
    deadline: datetime | None
    window: timedelta | None
    remaining: timedelta | None  # negative when late

    @property
    def label(self) -> str:
        return "respond" if self.kind is TimerKind.RESPONSE else "update"


@dataclass(frozen=True, slots=True)
class SlaReport:
    response: Timer
    update: Timer
    breaches: tuple[Breach, ...]

    @property
    def headline(self) -> Timer:
        """The timer the pane shows: whichever is late, else the pending response, else the next update."""
        for timer in (self.response, self.update):
            if timer.state is TimerState.BREACHED:
                return timer
        if self.response.state not in (TimerState.MET, TimerState.OFF):
            return self.response
        return self.update

    @property
    def breached_now(self) -> bool:
        return any(b.ended_at is None for b in self.breaches)


def _state(remaining: timedelta, window: timedelta) -> TimerState:
    if remaining < timedelta(0):
        return TimerState.BREACHED
    if remaining <= window * CLOSE_SHARE:
        return TimerState.CLOSE
    return TimerState.OK


def _rebased(start: datetime, window: timedelta, sev: Severity, previous: tuple[datetime, Severity] | None) -> datetime:
    """The deadline from a severity change at `start`: start + the new window, except
    that a raise keeps an earlier deadline that is still pending."""
    deadline = start + window
    if previous is not None:
        before, old = previous
        if sev.rank < old.rank and start <= before < deadline:
            return before
    return deadline


def _severity_epochs(inc: Incident) -> list[tuple[datetime, Severity]]:
    """(start, severity) for the declaration and each severity change."""
    epochs: list[tuple[datetime, Severity]] = []
    for ev in inc.events:
        if ev.type is EventType.CREATED:
            epochs.append((inc.declared_at or ev.ts, Severity(ev.data["severity"])))
        elif ev.type is EventType.SEVERITY_CHANGED:
            epochs.append((ev.ts, Severity(ev.data["to"])))
    return epochs


def _response(inc: Incident, now: datetime) -> tuple[Timer, list[Breach]]:
    breaches: list[Breach] = []
    ack = inc.acknowledged_at
    # Leaving the working statuses unacknowledged (declined, merged) stops the clock.
    stop = next(
        (ev.ts for ev in inc.events
         if ev.type is EventType.STATUS_CHANGED and not Status(ev.data["to"]).is_working),
        None,
    )
    settled = min((t for t in (ack, stop) if t is not None), default=None)
    epochs = _severity_epochs(inc)
    previous: tuple[datetime, Severity] | None = None  # (deadline, severity) of the epoch before
    for i, (start, sev) in enumerate(epochs):
        if settled is not None and settled <= start:
            break  # answered (or stopped) before this severity applied
        window = sev.policy.respond_within
        deadline = _rebased(start, window, sev, previous)
        previous = (deadline, sev)
        end = epochs[i + 1][0] if i + 1 < len(epochs) else None
        limit = min((t for t in (settled, end) if t is not None), default=None)
        if limit is not None:
            if deadline < limit:
                breaches.append(Breach(TimerKind.RESPONSE, sev, deadline, limit))
            continue
        # The current epoch, still unanswered.
        remaining = deadline - now
        if remaining < timedelta(0):
            breaches.append(Breach(TimerKind.RESPONSE, sev, deadline, None))
        return Timer(TimerKind.RESPONSE, _state(remaining, window), deadline, window, remaining), breaches
    state = TimerState.MET if ack is not None else TimerState.OFF
    return Timer(TimerKind.RESPONSE, state, None, None, None), breaches


def _updates(inc: Incident, now: datetime) -> tuple[Timer, list[Breach]]:
    breaches: list[Breach] = []
    due: datetime | None = None  # the next update's deadline (None: no cadence)
    sev = Severity.P3
    working = True

    def cadence_from(at: datetime, severity: Severity) -> datetime | None:
        cadence = severity.policy.update_every
        return at + cadence if cadence is not None else None

    def close_window(at: datetime) -> None:
        if working and due is not None and at > due:
            breaches.append(Breach(TimerKind.UPDATE, sev, due, at))

    for ev in inc.events:
        if ev.type is EventType.CREATED:
            sev = Severity(ev.data["severity"])
            due = cadence_from(inc.declared_at or ev.ts, sev)
        elif ev.type is EventType.STAKEHOLDER_UPDATE and ev.data.get("delivered", True):
            close_window(ev.ts)
            due = cadence_from(ev.ts, sev)
        elif ev.type is EventType.SEVERITY_CHANGED:
            close_window(ev.ts)
            new = Severity(ev.data["to"])
            rebased = cadence_from(ev.ts, new)  # re-based on the new cadence
            if rebased is not None and due is not None and working and new.rank < sev.rank and ev.ts <= due < rebased:
                rebased = due  # a raise never pushes a pending update later
            due, sev = rebased, new
        elif ev.type is EventType.STATUS_CHANGED:
            now_working = Status(ev.data["to"]).is_working
            if working and not now_working:
                close_window(ev.ts)
            elif now_working and not working:
                due = cadence_from(ev.ts, sev)  # reopened: a fresh window
            working = now_working
    cadence = sev.policy.update_every
    if not working or cadence is None or due is None:
        return Timer(TimerKind.UPDATE, TimerState.OFF, None, cadence, None), breaches
    remaining = due - now
    if remaining < timedelta(0):
        breaches.append(Breach(TimerKind.UPDATE, sev, due, None))
    return Timer(TimerKind.UPDATE, _state(remaining, cadence), due, cadence, remaining), breaches


def sla(inc: Incident, now: datetime) -> SlaReport:
    response, rb = _response(inc, now)
    update, ub = _updates(inc, now)
    breaches = sorted(rb + ub, key=lambda b: b.deadline)
    return SlaReport(response, update, tuple(breaches))
