"""An operator's run in the wizard: the engine, the plan on show, what each step last did,
and the day's checklist ticks. No UI here: the wizard paints what this says.

The plan prepared when a step is shown is kept and handed to ``execute`` (which
re-checks the guard against a fresh preview): a guarded step's preview runs when it
is shown and once more when it runs, never a third time in between.
"""

from __future__ import annotations

from typing import Any, Protocol

from cs_console.domain.runbooks.guard import Confirmation
from cs_console.domain.runbooks.run_state import Run, StepState
from cs_console.domain.runbooks.schema import Risk, Step, StepKind
from cs_console.domain.safe_text import safe_text
from cs_console.services.runbooks.engine import RunbookEngine
from cs_console.services.runbooks.plan import StepOutcome, StepPlan

CHECKLIST_TAG = "checklist"


class Checklists(Protocol):
    def ticks(self, checklist_id: str) -> dict[str, Any]: ...
    def set_tick(self, checklist_id: str, item: str, *, note: str = "") -> Any: ...


def needs_operator(step: Step) -> bool:
    """A step the wizard's "run the checks" stops at: above read risk, manual, or a question."""
    return step.risk is not Risk.READ or step.kind is StepKind.MANUAL or (step.kind is StepKind.DECISION and step.ask)


class InteractiveRun:
    def __init__(self, engine: RunbookEngine, *, checklists: Checklists | None = None) -> None:
        self.engine = engine
        self.runbook = engine.runbook
        self.checklists = checklists if CHECKLIST_TAG in engine.runbook.tags else None
        self.plan: StepPlan | None = None
        self.last_outcome: dict[str, StepOutcome] = {}

    @property
    def run(self) -> Run | None:
        return self.engine.run

    async def open(self, *, start: Any = None, resume: Any = None) -> str:
        """Start (a StartRequest) or resume (a ResumeRequest) the run; the notice to show. Raises EngineError."""
        notice = ""
        if start is not None:
            await self.engine.start(start.inputs, dry_run=start.dry_run, incident_ref=start.incident_ref)
        else:
            report = await self.engine.resume(resume.run_id, changed_confirmation=resume.changed_confirmation,
                                              takeover=getattr(resume, "takeover_confirmation", None))
            notes = list(report.notes)
            if report.unknown_steps:
                notes.append(f"outcome unknown for {', '.join(report.unknown_steps)}: v verify, m mark done, n mark not done")
            notice = "resumed run " + report.run.run_id + ("; " + "; ".join(notes) if notes else "")
        for warning in self.engine.warnings:
            notice = (notice + "; " if notice else "") + warning
        return notice

    # ------------------------------------------------------------ plans

    def plan_of(self, step_id: str) -> StepPlan | None:
        """The plan on show for this step (None when it is not prepared yet)."""
        return self.plan if (self.plan is not None and self.plan.step.id == step_id) else None

    async def prepare(self, step_id: str) -> StepPlan:
        self.plan = await self.engine.prepare(step_id)
        return self.plan

    async def plan_shown(self, step_id: str) -> StepPlan:
        """The plan the operator was shown for this step of this run; prepared now only if there is none."""
        run = self.run
        if self.plan is None or run is None or not self.plan.is_for(run.run_id, step_id):
            return await self.prepare(step_id)
        return self.plan

    # ------------------------------------------------------------ what the operator can do now

    def available(self, action: str, *, busy: bool) -> bool | None:
        """Whether a wizard action applies: True (now), None (not now: shown disabled), False (not for this run)."""
        run = self.run
        assert run is not None
        cur = self.engine.next_step_id()
        rec = run.steps.get(cur) if cur else None
        finished = run.status.finished or cur is None
        if action == "run_step":
            return None if (finished or busy or (rec is not None and rec.state is StepState.UNKNOWN)) else True
        if action == "run_reads":
            return None if (finished or busy) else True
        if action == "skip_step":
            return True if (rec is not None and rec.state in (StepState.FAILED, StepState.REFUSED) and not busy) else None
        if action == "confirm_window":
            try:
                return self.engine.window_gate() is not None
            except Exception:
                return False
        if action == "resolve":
            return bool(run.unknown_steps) and not busy
        if action == "cancel_run":
            return None if finished or busy else True
        return True

    def asks_operator(self, step: Step, *, read_only: bool) -> bool:
        """A manual step or a question the operator answers from a list (not when refused or guarded)."""
        if self.run is None or self.run.dry_run:
            return False
        if not (step.kind is StepKind.MANUAL or (step.kind is StepKind.DECISION and step.ask)):
            return False
        return not (read_only and step.risk.mutating) and not step.risk.guarded

    # ------------------------------------------------------------ running

    def guarded_now(self, step: Step, *, read_only: bool) -> bool:
        """Whether running this step now goes through the typed confirmation."""
        return step.risk.guarded and self.run is not None and not self.run.dry_run and not read_only

    async def execute(self, step_id: str, confirmation: Confirmation | None, answer: str | None) -> tuple[StepOutcome, str]:
        """Run the step on the plan shown; (outcome, notice)."""
        run = self.run
        plan = self.plan if (self.plan is not None and run is not None and self.plan.is_for(run.run_id, step_id)) else None
        outcome = await self.engine.execute(step_id, plan=plan, confirmation=confirmation, answer=answer)
        self.last_outcome[step_id] = outcome
        if outcome.refused:
            notice = f"{step_id} refused: {outcome.detail}"
        elif outcome.state is StepState.FAILED:
            notice = f"{step_id} failed: {outcome.detail}"
        elif outcome.waiting_approval:
            notice = f"{step_id}: {outcome.detail}; once approved it runs by itself, on the phrase you typed (while this wizard is open)"
        else:
            notice = ""
        notice = self._tick(step_id, outcome) or notice
        self.plan = None  # the next step gets its own plan
        return outcome, notice

    # ------------------------------------------------------------ the day's checklist

    def ticks(self) -> dict[str, Any]:
        if self.checklists is None:
            return {}
        try:
            return self.checklists.ticks(self.runbook.id)
        except Exception:
            return {}

    def _tick(self, step_id: str, outcome: StepOutcome) -> str:
        """Tick a checklist item whose step succeeded (not in a dry run); a notice if the tick was not saved."""
        if self.checklists is None or self.run is None or self.run.dry_run or outcome.state is not StepState.SUCCEEDED:
            return ""
        try:
            self.checklists.set_tick(self.runbook.id, step_id, note=safe_text(outcome.detail, 200))
        except Exception as exc:
            return f"checklist tick not saved: {exc}"
        return ""
