"""The status workflow and its validated transitions (Rootly-style).

    triage ─► investigating ─► identified ─► mitigated ─► resolved ─► postmortem ─► closed

Decisions (documented in the README):
- Forward skips are allowed among the working statuses (triage → identified or
  → mitigated: a fix can land while still triaging), but never triage → resolved
  (Rootly refuses it too): somebody must have looked before it is declared fixed.
  investigating/identified → resolved is allowed (a fix that resolves outright).
- Regressions: identified/mitigated → investigating, mitigated → identified.
- declined (not an incident) needs a reason and is only possible before the
  cause is identified (triage, investigating).
- merged (a duplicate) needs the target reference; possible while working.
- reopen: resolved/postmortem → investigating within 72 h of resolution; later
  it is a new incident. closed, declined and merged are final.
- resolved → closed skips the post-mortem status only when no post-mortem is
  owed (see postmortem rules); postmortem → closed likewise.
"""

from __future__ import annotations

from datetime import timedelta
from enum import StrEnum

from cs_console.domain.incidents.errors import ValidationError


class Status(StrEnum):
    TRIAGE = "triage"
    INVESTIGATING = "investigating"
    IDENTIFIED = "identified"
    MITIGATED = "mitigated"
    RESOLVED = "resolved"
    POSTMORTEM = "postmortem"
    CLOSED = "closed"
    DECLINED = "declined"
    MERGED = "merged"

    @property
    def is_working(self) -> bool:
        """Someone is (or should be) working on it: timers and reminders run."""
        return self in WORKING

    @property
    def is_final(self) -> bool:
        return self in FINAL


WORKING = frozenset({Status.TRIAGE, Status.INVESTIGATING, Status.IDENTIFIED, Status.MITIGATED})
FINAL = frozenset({Status.CLOSED, Status.DECLINED, Status.MERGED})
# Shown in the pane ("open" incidents): not finished with.
OPEN = frozenset(set(Status) - FINAL)

REOPEN_WINDOW = timedelta(hours=72)

TRANSITIONS: dict[Status, frozenset[Status]] = {
    Status.TRIAGE: frozenset({Status.INVESTIGATING, Status.IDENTIFIED, Status.MITIGATED, Status.DECLINED, Status.MERGED}),
    Status.INVESTIGATING: frozenset({Status.IDENTIFIED, Status.MITIGATED, Status.RESOLVED, Status.DECLINED, Status.MERGED}),
    Status.IDENTIFIED: frozenset({Status.INVESTIGATING, Status.MITIGATED, Status.RESOLVED, Status.MERGED}),
    Status.MITIGATED: frozenset({Status.INVESTIGATING, Status.IDENTIFIED, Status.RESOLVED, Status.MERGED}),
    # → investigating from here is a reopen (72 h window, checked by the workflow).
    Status.RESOLVED: frozenset({Status.POSTMORTEM, Status.CLOSED, Status.INVESTIGATING}),
    Status.POSTMORTEM: frozenset({Status.CLOSED, Status.INVESTIGATING}),
    Status.CLOSED: frozenset(),
    Status.DECLINED: frozenset(),
    Status.MERGED: frozenset(),
}

# Statuses in display/workflow order, for pickers.
ORDER: tuple[Status, ...] = tuple(Status)


def parse_status(text: str) -> Status:
    t = text.strip().lower()
    aliases = {"reopen": "investigating", "post-mortem": "postmortem", "duplicate": "merged"}
    t = aliases.get(t, t)
    try:
        return Status(t)
    except ValueError:
        raise ValidationError(
            f"unknown status {text!r} (expected one of {', '.join(s.value for s in Status)})"
        ) from None


def allowed_next(current: Status) -> frozenset[Status]:
    return TRANSITIONS[current]
