"""The guard: typed confirmations bound to one action, read-only refusal, maintenance windows.

The engine (not the UI) calls these before running a step. A destructive or
irreversible step runs only with a :class:`Confirmation` whose run id, step id
and target equal the :class:`Gate` the engine computed *at execution time*,
and whose typed text matches the gate's phrase.

Phrase rule (documented in SCHEMA.md and tested):
- the phrase is the step's ``confirm.phrase`` rendered at the gate: the target
  (database name, function slug, user e-mail, number of backends as
  previewed) or, for environment-wide actions, the environment name;
- surrounding whitespace of what was typed is trimmed (terminals and pastes
  add it); everything else must be identical: case-sensitive, inner whitespace
  significant, no Unicode folding;
- an empty (or all-whitespace) typed text never matches, and a gate whose
  phrase renders empty refuses outright.

Maintenance runbooks outside their window need one extra confirmation, bound
to the pseudo step :data:`WINDOW_STEP_ID`, whose phrase is the runbook id.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from cs_console.domain.maintenance import MaintenanceWindow
from cs_console.domain.runbooks.schema import Risk, Runbook

WINDOW_STEP_ID = "@maintenance-window"


@dataclass(frozen=True, slots=True)
class Gate:
    """What the operator must confirm before one step runs."""

    run_id: str
    step_id: str
    target: str  # what the action touches: "production/db postgres", "production/user a@b.c"
    phrase: str  # what must be typed
    risk: Risk
    title: str = ""
    reason: str = ""  # why a confirmation is needed, one line

    def confirm(self, typed: str) -> "Confirmation":
        """The confirmation object for this gate with what the operator typed."""
        return Confirmation(self.run_id, self.step_id, self.target, typed)

    def prompt(self) -> str:
        return f"type {self.phrase!r} to {self.reason or 'run ' + self.step_id}"


@dataclass(frozen=True, slots=True)
class Confirmation:
    """The operator's typed confirmation for one gate."""

    run_id: str
    step_id: str
    target: str
    typed: str

    def __repr__(self) -> str:  # the typed text is not secret, but keep reprs short
        return f"Confirmation(run={self.run_id}, step={self.step_id}, target={self.target!r})"


@dataclass(frozen=True, slots=True)
class GuardDecision:
    allowed: bool
    reason: str = ""

    def __bool__(self) -> bool:
        return self.allowed


def normalize_typed(text: str) -> str:
    return text.strip()


def phrase_matches(expected: str, typed: str | None) -> bool:
    """Exact match after trimming surrounding whitespace; empty never matches."""
    if typed is None:
        return False
    want = normalize_typed(expected)
    got = normalize_typed(typed)
    return bool(want) and bool(got) and got == want


def check_confirmation(gate: Gate, confirmation: Confirmation | None) -> GuardDecision:
    """Does `confirmation` unlock `gate`? The reason says why not, without echoing the typed text."""
    if not normalize_typed(gate.phrase):
        return GuardDecision(False, "the confirmation phrase is empty (the target could not be determined)")
    if confirmation is None:
        return GuardDecision(False, f"needs a typed confirmation: {gate.phrase!r}")
    if not isinstance(confirmation, Confirmation):
        return GuardDecision(False, "needs a Confirmation object")
    if confirmation.run_id != gate.run_id:
        return GuardDecision(False, "the confirmation belongs to another run")
    if confirmation.step_id != gate.step_id:
        return GuardDecision(False, "the confirmation belongs to another step")
    if confirmation.target != gate.target:
        return GuardDecision(False, f"the confirmation was for another target (now {gate.target})")
    if not normalize_typed(confirmation.typed or ""):
        return GuardDecision(False, f"empty confirmation: type {gate.phrase!r}")
    if not phrase_matches(gate.phrase, confirmation.typed):
        return GuardDecision(False, f"the typed phrase did not match {gate.phrase!r}")
    return GuardDecision(True)


def check_read_only(risk: Risk, read_only: bool) -> GuardDecision:
    if read_only and risk.mutating:
        return GuardDecision(False, f"read-only session: a {risk.value} step is refused")
    return GuardDecision(True)


def needs_gate(risk: Risk) -> bool:
    return risk.guarded


# ---------------------------------------------------------------- maintenance windows


@dataclass(frozen=True, slots=True)
class WindowStatus:
    applies: bool  # the runbook is a maintenance runbook
    inside: bool
    windows: tuple[MaintenanceWindow, ...]
    next_start: datetime | None
    message: str


def window_status(runbook: Runbook, windows: Iterable[MaintenanceWindow], now: datetime) -> WindowStatus:
    """Is `now` inside one of the windows this runbook may run in?"""
    all_windows = tuple(windows)
    if not runbook.is_maintenance:
        return WindowStatus(False, True, (), None, "")
    if runbook.maintenance_windows:
        chosen = tuple(w for w in all_windows if w.name in runbook.maintenance_windows)
        missing = [n for n in runbook.maintenance_windows if n not in {w.name for w in all_windows}]
    else:
        chosen, missing = all_windows, []
    inside = any(w.contains(now) for w in chosen)
    starts = [w.next_start(now) for w in chosen]
    nxt = min(starts) if starts else None
    described = "; ".join(w.describe() for w in chosen) or "no window defined"
    if missing:
        described += f" (unknown window: {', '.join(missing)})"
    if inside:
        msg = f"inside the maintenance window ({described})"
    else:
        when = f", next starts {nxt:%a %Y-%m-%d %H:%M} UTC" if nxt else ""
        msg = f"outside the maintenance window ({described}{when})"
    return WindowStatus(True, inside, chosen, nxt, msg)


def window_gate(run_id: str, runbook: Runbook, environment: str, status: WindowStatus) -> Gate:
    return Gate(
        run_id=run_id, step_id=WINDOW_STEP_ID, target=f"{environment}/runbook {runbook.id}",
        phrase=runbook.id, risk=Risk.WRITE, title="Run outside the maintenance window",
        reason=f"run {runbook.id} {status.message}",
    )
