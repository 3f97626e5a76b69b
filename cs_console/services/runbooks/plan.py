"""What the engine hands back: a prepared plan, a step's outcome, a resume report."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from cs_console.domain.runbooks.guard import Gate
from cs_console.domain.runbooks.run_state import Run, RunStatus, StepState
from cs_console.domain.runbooks.schema import Step

CHANGED_RUNBOOK_STEP_ID = "@changed-runbook"
CHANGED_RUNBOOK_PHRASE = "resume changed runbook"
OUTPUT_EXCERPT_CHARS = 4000


class EngineError(Exception):
    """A problem starting or resuming a run; str() is one line, already redacted."""


@dataclass
class PreconditionResult:
    step_id: str
    ok: bool
    detail: str


@dataclass
class StepPlan:
    """What the wizard shows before a step runs, kept and handed back to ``execute``.

    Everything here is redacted. ``execute`` re-checks the guard against a fresh preview
    whatever the plan says: a plan is what the operator saw, never a licence.
    """

    step: Step
    index: int
    state: StepState
    what_will_run: str
    demo_note: str = ""  # how the demo performs it, or why it cannot
    preview: Any = None
    preview_text: str = ""
    preview_error: str = ""
    gate: Gate | None = None
    shown: list[tuple[str, str]] = field(default_factory=list)  # confirm.show expressions and values
    preconditions: list[PreconditionResult] = field(default_factory=list)
    blocked: str = ""  # why execute() would refuse right now (read-only, unknown, window), "" if not
    rollback: str = ""
    run_id: str = ""  # the run it was prepared for
    approval: str = ""  # the two-person rule's state for this step ("" when it does not apply)

    def is_for(self, run_id: str, step_id: str) -> bool:
        return self.run_id == run_id and self.step.id == step_id


@dataclass
class StepOutcome:
    step_id: str
    state: StepState
    detail: str
    refused: bool = False
    stopped: bool = False  # the run cannot continue without the operator (abort, refusal, manual)
    exit_code: int | None = None
    http_status: int | None = None
    rows_affected: int | None = None
    duration_ms: int | None = None
    output: str = ""
    captured: Any = None
    dry_run: str = ""
    next_step: str | None = None
    run_status: RunStatus = RunStatus.RUNNING
    waiting_approval: bool = False  # stopped until a second person approves (or rejects)


@dataclass
class ResumeReport:
    run: Run
    unknown_steps: list[str]
    changed_runbook: bool
    next_step: str | None
    notes: list[str] = field(default_factory=list)
