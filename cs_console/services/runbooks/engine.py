"""The runbook engine: runs one runbook step by step, and is the guard.

Whatever the caller (wizard, CLI, a test calling this API directly), the
engine itself:

- refuses every step above ``read`` risk when the session is read-only;
- refuses a ``destructive``/``irreversible`` step without a
  :class:`~cs_console.domain.runbooks.guard.Confirmation` matching the gate it
  computes *at execution time* (run id, step id, target, phrase; the phrase is
  rendered after a fresh preview, so "terminate 3" confirms three backends,
  not the four there are now);
- refuses mutating steps of a maintenance runbook outside its window until
  the window confirmation (phrase = runbook id) is given;
- never re-runs a step whose outcome is ``unknown``;
- appends to the audit *before* a step runs (if that write fails the step
  does not run), after it ends, and on every refusal;
- saves the run state after every transition;
- redacts secrets in everything it hands out (what will run, output, errors,
  audit, incident timeline).

It never asks whether it is on the demo: the router it is given says which executor
runs an action, and how to say that nothing does. ``cs_console.wiring.runbooks``
builds it from a session. Driving a run (the wizard does this; the CLI's
``batch.run_all`` is the same loop)::

    engine = open_engine(session, runbook, environment=env, on_output=..., on_change=...)
    run = await engine.start({"idle_minutes": "5"}, incident_ref="INC-2026-0001")
    #   or: report = await engine.resume(run_id)   (report.unknown_steps, report.changed_runbook)
    if engine.window_gate():                      # maintenance runbook outside its window
        await engine.confirm_window(engine.window_gate().confirm(typed))
    while (step := engine.next_step()) is not None:
        plan = await engine.prepare(step.id)      # what will run (redacted), preview, gate, preconditions
        conf = plan.gate.confirm(typed) if plan.gate else None   # Cancel focused; typed phrase
        outcome = await engine.execute(step.id, plan=plan, confirmation=conf, answer=answer_for_manual_or_decision)
        if outcome.refused or outcome.stopped: break  # outcome.detail says why, one line
    await engine.close()

Unknown steps (after a crash): ``await engine.resolve_unknown(step_id, "verify" | "done" | "not_done")``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from cs_console.domain.runbooks import templates
from cs_console.domain.runbooks.capture import short
from cs_console.domain.runbooks.expressions import ExpressionError, evaluate
from cs_console.domain.runbooks.guard import (
    WINDOW_STEP_ID, Confirmation, Gate, GuardDecision, check_confirmation, check_read_only, window_gate, window_status,
)
from cs_console.domain.runbooks.inputs import InputError, resolve_inputs
from cs_console.domain.runbooks.run_state import Run, RunStatus, StepRecord, StepState, new_run_id
from cs_console.domain.runbooks.schema import Risk, Step, StepKind
from cs_console.services.runbooks.core import allowed_from
from cs_console.services.runbooks.dry_run import DryRun
from cs_console.services.runbooks.plan import (
    CHANGED_RUNBOOK_PHRASE, CHANGED_RUNBOOK_STEP_ID, EngineError, ResumeReport, StepOutcome, StepPlan,
)
from cs_console.stores.operator_identity import operator_identity
from cs_console.stores.run_lock import Holder, LockHeld
from cs_console.services.runbooks.approval_rule import ApprovalRule
from cs_console.services.runbooks.takeover import TakeoverRule, who
from cs_console.services.runbooks.team_store_rule import ALLOW_KEY, TeamStoreRule
from cs_console.stores.run_store import RunStoreError


class RunbookEngine(DryRun, TeamStoreRule, ApprovalRule, TakeoverRule):
    """One run of one runbook (the arguments are EngineCore's)."""

    # ================================================================ lifecycle

    async def start(self, inputs: Mapping[str, Any] | None = None, *, dry_run: bool = False,
                    incident_ref: str | None = None) -> Run:
        """Validate inputs, create and save the run, take the run lock for guarded runbooks."""
        try:
            self.ctx.inputs = resolve_inputs(self.runbook.inputs, dict(inputs or {}))
        except InputError as exc:
            raise EngineError(f"runbook {self.runbook.id}: {exc}") from None
        self.ctx.prime_secrets()
        self._operator = operator_identity(self.ctx.environ)
        now = self.clock.now()
        if incident_ref:
            incident_ref = await self._check_incident(incident_ref)
        run = Run.new(
            run_id=new_run_id(now), runbook_id=self.runbook.id, runbook_sha256=self.runbook.sha256,
            runbook_version=self.runbook.version, runbook_source=self.runbook.source,
            step_ids=[s.id for s in self.runbook.steps], profile=self.profile.name,
            environment=self.environment_name, dry_run=dry_run, inputs=self.inputs, operator=self._operator,
            now=now, incident_ref=incident_ref, paths=self.ctx.own_paths(),
        )
        self.run = run
        if not await self._claim_new(run.run_id):
            raise EngineError(f"run {run.run_id} is held by another process")
        self._window = window_status(self.runbook, self.profile.maintenance, now)
        if not dry_run:
            await self._acquire_lock()
        try:
            await self._save()
        except RunStoreError as exc:
            raise EngineError(f"the run state cannot be saved, nothing was run: {exc}") from None
        await self._audit("start", outcome="started", detail=self._window.message if self._window.applies else "")
        return run

    async def resume(self, run_id: str, *, changed_confirmation: Confirmation | None = None,
                     takeover: Confirmation | None = None) -> ResumeReport:
        """Continue a run that was cut off (or stopped at a gate/manual step).

        In team mode a run another engineer started (or took over) continues only as a
        take-over: `takeover` must confirm the gate of :func:`takeover_gate` (phrase: the run id).
        """
        try:
            run = await self.store.load_async(run_id)
        except RunStoreError as exc:
            raise EngineError(str(exc)) from None
        if run.runbook_id != self.runbook.id:
            raise EngineError(f"run {run_id} is a run of {run.runbook_id}, not {self.runbook.id}")
        if run.profile != self.profile.name:
            raise EngineError(f"run {run_id} was started on profile {run.profile!r}, not {self.profile.name!r}")
        if run.status.finished:
            raise EngineError(f"run {run_id} has already finished ({run.status.value}); start a new run")
        try:
            held_elsewhere = await self.store.is_live_elsewhere_async(run_id) or not await self.store.claim_async(run_id)
        except RunStoreError as exc:
            raise EngineError(str(exc)) from None
        if held_elsewhere:
            raise EngineError(f"run {run_id} is still running in another process"
                              + (f" (by {who(run.owner or run.operator)}: ask them to hand it over)" if self.store.kind == "postgres" else ""))
        self.run = run
        self._operator = operator_identity(self.ctx.environ)
        now = self.clock.now()
        notes: list[str] = []
        previous_owner = await self._check_takeover(run, takeover)
        try:
            self.ctx.inputs = resolve_inputs(self.runbook.inputs, {k: v for k, v in run.inputs.items() if v is not None})
        except InputError as exc:
            raise EngineError(f"run {run_id}: stored inputs no longer valid for this runbook ({exc})") from None
        self.ctx.prime_secrets()
        notes += self.ctx.paths_problems(run)
        changed = run.runbook_sha256 != self.runbook.sha256
        if changed:
            notes.append(f"the runbook file changed since this run started (sha256 {run.runbook_sha256[:12]} -> {self.runbook.sha256[:12]})")
            decision = check_confirmation(self.changed_runbook_gate(), changed_confirmation)
            if not decision:
                await self._audit("refused", outcome="refused", detail=f"resume of a changed runbook: {decision.reason}")
                await self.store.release_async(run_id)
                self.run = None
                raise EngineError(f"refused: the runbook file changed since run {run_id} started; "
                                  f"confirm with the phrase {CHANGED_RUNBOOK_PHRASE!r}")
            missing = [sid for sid in run.steps if sid not in {s.id for s in self.runbook.steps}]
            if missing:
                await self.store.release_async(run_id)
                self.run = None
                raise EngineError(f"run {run_id} cannot resume: steps {', '.join(missing)} no longer exist in the runbook")
            for s in self.runbook.steps:
                run.steps.setdefault(s.id, StepRecord(s.id))
        idempotent = {s.id: s.idempotent for s in self.runbook.steps}
        unknown = run.mark_interrupted(idempotent, now)
        for sid, rec in run.steps.items():
            if rec.captured is not None:
                step = self._step_or_none(sid)
                if step is not None and step.capture.save_as:
                    self.captures[step.capture.save_as] = rec.captured
        self._window = window_status(self.runbook, self.profile.maintenance, now)
        if not run.dry_run:
            try:
                await self._acquire_lock()
            except EngineError:
                await self.store.release_async(run_id)
                self.run = None
                raise
        try:
            await self._save()
        except RunStoreError as exc:
            await self._let_go(run_id)
            raise EngineError(f"the run state cannot be saved: {exc}") from None
        if previous_owner is not None:
            await self._audit("takeover", outcome="taken-over", detail=f"{who(self._operator)} took over from {who(previous_owner)}"
                              + (f"; unknown: {', '.join(unknown)}" if unknown else ""),
                              extra={"previous_owner": str(previous_owner.get("user", "")),
                                     "previous_ssh_client": str(previous_owner.get("ssh_client", ""))})
            notes.append(f"taken over from {who(previous_owner)}")
        await self._audit("resume", outcome="resumed", detail=(f"unknown: {', '.join(unknown)}; " if unknown else "") + "; ".join(notes))
        for sid in unknown:
            await self._incident_event(sid, "unknown", "interrupted while running; outcome unknown")
        return ResumeReport(run, unknown, changed, self.next_step_id(), notes)

    async def _claim_new(self, run_id: str) -> bool:
        """Claim a new run; when the team's run store does not answer, keep its state on this machine (said, not silent).

        The team store rule still refuses every step above read (or degrades it, audited) in that case.
        """
        try:
            return await self.store.claim_async(run_id)
        except RunStoreError as exc:
            if self._local_store is None or self.store is self._local_store:
                raise EngineError(str(exc)) from None
            self.warnings.append(f"run state kept on this machine only: {exc}")
            self.store = self._local_store
            self.approvals = None
            return await self.store.claim_async(run_id)

    def changed_runbook_gate(self) -> Gate:
        run = self._require_run()
        return changed_runbook_gate(run.run_id, self.environment_name, self.runbook.id)

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._lock is not None:
            try:
                await self._lock.release()
            except Exception:
                pass
            self._lock = None
        if self.run is not None:
            await self.store.release_async(self.run.run_id)
        await self.router.aclose()

    async def __aenter__(self) -> "RunbookEngine":
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.close()

    async def _acquire_lock(self) -> None:
        """Guarded runbooks: one operator per runbook and profile."""
        if not self.runbook.highest_risk.guarded:
            return
        lock = self._lock_factory()
        run = self._require_run()
        holder = Holder(str(self._operator.get("user", "")), str(self._operator.get("ssh_client", "")),
                        str(self._operator.get("host", "")), run.run_id, run.started_at)
        try:
            await lock.acquire(holder)
        except LockHeld as exc:
            await self._audit("refused", outcome="refused", detail=str(exc))
            raise EngineError(f"refused: {exc}") from None
        except Exception as exc:
            reason = self.redactor.text(str(exc)) or type(exc).__name__
            if not (bool(getattr(self.profile, ALLOW_KEY, False)) and self._local_lock_factory is not None):
                await self._audit("refused", outcome="refused", detail=f"cannot take the run lock: {reason}")
                raise EngineError(f"cannot take the run lock: {reason}"
                                  f" (a profile may allow this machine's lock instead, warned and audited: {ALLOW_KEY} = true)") from None
            lock = self._local_lock_factory()
            try:
                await lock.acquire(holder)
            except LockHeld as held:
                await self._audit("refused", outcome="refused", detail=str(held))
                raise EngineError(f"refused: {held}") from None
            await self._degraded(f"the team run lock cannot be taken ({reason}); only this machine's lock is held ({ALLOW_KEY} = true)")
        self._lock = lock

    async def _check_incident(self, ref: str) -> str:
        svc = await self._incident_service()
        if svc is None:
            raise EngineError(f"incident {ref}: the incident service is not available")
        try:
            inc = await svc.get(ref)
        except Exception as exc:
            raise EngineError(f"incident {ref}: {self.redactor.text(str(exc)) or type(exc).__name__}") from None
        return getattr(inc, "ref", ref)

    # ================================================================ navigation

    def next_step(self) -> Step | None:
        sid = self.next_step_id()
        return self.runbook.step(sid) if sid else None

    def progress(self) -> list[tuple[Step, StepRecord]]:
        """Every step with its record, in order (the wizard's progress list)."""
        run = self._require_run()
        return [(s, run.steps[s.id]) for s in self.runbook.steps]

    # ================================================================ window

    def window_gate(self) -> Gate | None:
        """The extra confirmation a maintenance runbook needs outside its window (None if not needed)."""
        run = self._require_run()
        if run.dry_run or run.window_confirmed or not self.window.applies or self.window.inside:
            return None
        if not any(s.risk.mutating for s in self.runbook.steps):
            return None
        return window_gate(run.run_id, self.runbook, self.environment_name, self.window)

    async def confirm_window(self, confirmation: Confirmation | None) -> GuardDecision:
        gate = self.window_gate()
        if gate is None:
            return GuardDecision(True)
        decision = check_confirmation(gate, confirmation)
        run = self._require_run()
        if decision:
            run.window_confirmed = True
            run.notes.append(f"operator confirmed running {self.window.message}")
            await self._save()
            await self._audit("mark", step_id=WINDOW_STEP_ID, outcome="window-confirmed", detail=self.window.message)
        else:
            await self._audit("refused", step_id=WINDOW_STEP_ID, outcome="refused", detail=decision.reason)
        return decision

    # ================================================================ prepare

    def blocked_reason(self, step: Step) -> str:
        """Why execute() would refuse this step right now ("" when it would not)."""
        run = self._require_run()
        rec = run.steps[step.id]
        if rec.state is StepState.UNKNOWN:
            return "outcome unknown after an interruption: verify it, or mark it done / not done"
        if run.dry_run:
            return ""
        ro = check_read_only(step.risk, self.read_only)
        if not ro:
            return ro.reason
        if step.risk.mutating and self.window_gate() is not None:
            return f"{self.window.message}: confirm with the phrase {self.runbook.id!r} first"
        return ""

    async def prepare(self, step_id: str) -> StepPlan:
        """Everything to show before the gate. Runs only read-only probes (preconditions, preview).

        The caller keeps the plan and hands it to execute(), which re-checks the guard.
        """
        run = self._require_run()
        step = self.runbook.step(step_id)
        preview, preview_text, preview_error = await self._preview(step)
        ctx = self.context(preview=preview)
        r = self.renderer
        try:
            call = r.build_call(step.action, ctx, display=True) if step.action else None
            what = r.describe_call(call, step.action, ctx) if step.action else r.describe_non_action(step)
            if step.action and call is not None and run.dry_run and step.dry_run.sql_wrap:
                what += f"\n(dry run: {step.dry_run.sql_wrap.value})"
        except templates.TemplateError as exc:
            what = f"(cannot render yet: {exc})"
        team_refusal, degradation = await self._team_store_status(step) if not run.dry_run else ("", "")
        if degradation:
            what += f"\n(degraded: {degradation})"
        shown: list[tuple[str, str]] = []
        if step.confirm:
            for expr in step.confirm.show:
                try:
                    shown.append((expr, self.redactor.text(short(evaluate(expr, ctx)))))
                except ExpressionError as exc:
                    shown.append((expr, f"? ({exc})"))
        empty = nothing_to_do(step, preview)
        if empty:
            what += f"\n({NOTHING_TO_DO}: the preview found nothing, so the step will be skipped without a confirmation)"
        return StepPlan(
            step=step, index=self.runbook.index_of(step_id), state=run.steps[step_id].state, what_will_run=what,
            demo_note=self.router.plan_note(step.action) if step.action is not None else "",
            preview=preview, preview_text=preview_text, preview_error=preview_error,
            gate=None if empty else self._gate(step, preview), shown=shown, preconditions=await self._check_preconditions(step),
            blocked=self.blocked_reason(step) or team_refusal, rollback=step.rollback, run_id=run.run_id,
            approval=await self.approval_state(step),
        )

    # ================================================================ execute

    async def execute(self, step_id: str, *, plan: StepPlan | None = None, confirmation: Confirmation | None = None,
                      answer: str | None = None) -> StepOutcome:
        """Run one step, enforcing every rule. Never raises for an operational fault.

        `plan` is what the operator was shown (from prepare()); it is checked to be this
        run's plan of this step, and never replaces the checks: preconditions, the preview
        and the gate are computed again here, and the confirmation must match them.
        """
        run = self._require_run()
        step = self.runbook.step(step_id)
        rec = run.steps[step_id]
        if rec.state.done:
            return self._outcome(step, rec, detail=f"already {rec.state.value}")
        if rec.state is StepState.UNKNOWN:
            return await self._refuse(step, "outcome unknown after an interruption: verify it, or mark it done / not done (never re-run automatically)")
        if rec.state is StepState.RUNNING:
            return await self._refuse(step, "this step is already running")
        if plan is not None and not plan.is_for(run.run_id, step_id):
            return await self._refuse(step, f"the plan shown was for {plan.step.id} of run {plan.run_id}: prepare this step again")

        if run.dry_run:
            return await self._dry_run_step(step, answer)

        ro = check_read_only(step.risk, self.read_only)
        if not ro:
            return await self._refuse(step, ro.reason)
        team = await self._team_store_refusal(step)
        if team:
            return await self._refuse(step, team)
        if step.risk.mutating and self.window_gate() is not None:
            return await self._refuse(step, f"{self.window.message}: confirm with the phrase {self.runbook.id!r} first")

        if step.preconditions:
            pres = await self._check_preconditions(step)
            failed = [p for p in pres if not p.ok]
            if failed:
                return await self._refuse(step, "precondition failed: " + "; ".join(f"{p.step_id}: {p.detail}" for p in failed))

        preview = None
        if step.risk.guarded:
            # The guard's re-check: a fresh preview, the gate rendered from it, the confirmation bound to it.
            preview, _text, perr = await self._preview(step)
            if perr:
                return await self._refuse(step, f"preview failed, nothing was run: {perr}")
            if nothing_to_do(step, preview):
                return await self._nothing_to_do(step)
            gate = self._gate(step, preview)
            assert gate is not None
            decision = check_confirmation(gate, confirmation)
            if not decision:
                return await self._refuse(step, decision.reason, gate=gate)
            waiting = await self._second_person(step, gate, preview)
            if waiting is not None:
                return waiting

        if step.kind is StepKind.MANUAL:
            return await self._manual(step, answer)
        if step.kind is StepKind.DECISION:
            return await self._decision(step, answer)
        return await self._action_step(step, preview)

    async def _nothing_to_do(self, step: Step) -> StepOutcome:
        """A guarded step whose fresh preview is empty: skipped, never confirmed with "0"."""
        run = self._require_run()
        detail = f"{NOTHING_TO_DO}: the preview found nothing for this step to act on"
        await self._transition(step.id, StepState.SKIPPED, detail)
        await self._audit("after", step=step, outcome="nothing-to-do", detail=detail)
        await self._incident_event(step.id, "skipped", detail)
        return await self._advance(step, self._outcome(step, run.steps[step.id], detail=detail))

    # ================================================================ the operator's marks

    async def resolve_unknown(self, step_id: str, action: str, note: str = "") -> StepOutcome:
        """The operator's decision about a step whose outcome is unknown: verify, done, not_done."""
        run = self._require_run()
        step = self.runbook.step(step_id)
        rec = run.steps[step_id]
        if rec.state is not StepState.UNKNOWN:
            return self._outcome(step, rec, detail=f"not unknown (it is {rec.state.value})")
        action = action.replace("-", "_").strip().lower()
        if action == "verify":
            if step.verify is None:
                return StepOutcome(step_id, rec.state, "this step has no verify probe: mark it done or not done", stopped=True,
                                   run_status=run.status, next_step=step_id)
            ok, _v, detail, _ = await self._run_probe(step.verify, self.context(), step_id)
            rec.verified = ok
            if ok:
                await self._transition(step_id, StepState.SUCCEEDED, "verified after interruption")
            else:
                await self._save()
            await self._audit("mark", step=step, outcome="verified" if ok else "verify-failed", detail=self.redactor.text(detail or note))
            await self._incident_event(step_id, "succeeded" if ok else "unknown", "verified after interruption" if ok else f"verification failed: {detail}")
            if not ok:
                return StepOutcome(step_id, rec.state, f"verification failed ({detail}): mark it done or not done",
                                   stopped=True, run_status=run.status, next_step=step_id)
            return await self._advance(step, self._outcome(step, rec, detail="verified after interruption"))
        if action == "done":
            await self._transition(step_id, StepState.SUCCEEDED, "operator marked done" + (f": {note}" if note else ""))
            await self._audit("mark", step=step, outcome="marked-done", detail=self.redactor.text(note))
            await self._incident_event(step_id, "succeeded", "operator marked done")
            return await self._advance(step, self._outcome(step, rec, detail="operator marked done"))
        if action == "not_done":
            await self._transition(step_id, StepState.PENDING, "operator marked not done" + (f": {note}" if note else ""))
            await self._audit("mark", step=step, outcome="marked-not-done", detail=self.redactor.text(note))
            return await self._advance(step, self._outcome(step, rec, detail="operator marked not done: it will run again only through its gate"))
        raise EngineError(f"resolve {step_id}: expected verify, done or not-done (got {action!r})")

    async def skip(self, step_id: str, reason: str) -> StepOutcome:
        """The operator skips a failed or refused step (audited) and goes on."""
        run = self._require_run()
        step = self.runbook.step(step_id)
        rec = run.steps[step_id]
        if StepState.SKIPPED not in allowed_from(rec.state) or rec.state is StepState.RUNNING:
            return self._outcome(step, rec, detail=f"cannot skip a {rec.state.value} step")
        await self._transition(step_id, StepState.SKIPPED, f"operator skipped: {reason}")
        await self._audit("mark", step=step, outcome="skipped", detail=self.redactor.text(reason))
        if run.status is RunStatus.FAILED:
            run.status = RunStatus.RUNNING
        return await self._advance(step, self._outcome(step, rec, detail="skipped by the operator"))

    async def cancel(self, reason: str = "cancelled by the operator") -> None:
        run = self._require_run()
        now = self.clock.now()
        for sid, rec in run.steps.items():
            if rec.state in (StepState.PENDING, StepState.REFUSED):
                run.transition(sid, StepState.CANCELLED, now, reason)
        run.set_status(RunStatus.CANCELLED, now)
        await self._save()
        await self._audit("end", outcome="cancelled", detail=self.redactor.text(reason))


NOTHING_TO_DO = "nothing to do"


def nothing_to_do(step: Step, preview: Any) -> bool:
    """A guarded step whose preview lists what it would act on, and the list is empty."""
    return step.risk.guarded and step.preview is not None and isinstance(preview, (list, tuple)) and not preview


def changed_runbook_gate(run_id: str, environment_name: str, runbook_id: str) -> Gate:
    """The confirmation resuming a run of a changed runbook file needs (the pane and the CLI build it too)."""
    return Gate(run_id, CHANGED_RUNBOOK_STEP_ID, f"{environment_name}/runbook {runbook_id}",
                CHANGED_RUNBOOK_PHRASE, Risk.WRITE, "Resume a changed runbook",
                "resume a run whose runbook file changed since it started")
