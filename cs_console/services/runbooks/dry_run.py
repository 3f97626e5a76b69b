"""The honest dry run: read steps run for real; the others are simulated (a rolled-back or
explained SQL, a dry-run command) or say that they are not, with the phrase they would need."""

from __future__ import annotations

from typing import Any

from cs_console.domain.runbooks.calls import ExecResult, ShellCall
from cs_console.domain.runbooks.capture import short
from cs_console.domain.runbooks.run_state import NOT_SIMULATED, REHEARSED, StepState
from cs_console.domain.runbooks.schema import Probe, SqlWrap, Step, StepKind
from cs_console.services.runbooks.plan import OUTPUT_EXCERPT_CHARS, StepOutcome
from cs_console.services.runbooks.step_kinds import StepKinds


class DryRun(StepKinds):
    async def _dry_run_step(self, step: Step, answer: str | None) -> StepOutcome:
        run = self._require_run()
        if step.kind in (StepKind.CHECK, StepKind.WAIT_UNTIL):
            # A wait-until polls once, without waiting.
            expect = step.until if step.kind is StepKind.WAIT_UNTIL else step.expect
            if self.router.route(step.action) == "none":  # type: ignore[arg-type]
                # Nothing runs this check here (a demo without its simulation): rehearsed, not failed.
                rec = run.steps[step.id]
                rec.dry_run = NOT_SIMULATED
                await self._transition(step.id, StepState.SKIPPED, f"dry run: {REHEARSED} ({self.router.no_probe})")
                return await self._advance(step, self._outcome(step, rec, detail=rec.detail))
            ok, value, detail, result = await self._run_probe(Probe(step.action, expect, step.capture.parse), self.context(), step.id, stream=True)  # type: ignore[arg-type]
            if value is not None and step.capture.save_as:
                self.captures[step.capture.save_as] = value
            await self._transition(step.id, StepState.RUNNING, "")
            rec = run.steps[step.id]
            rec.captured = self.redactor.value(value)
            rec.dry_run = "ran (read-only)"
            rec.passed_over = not ok
            await self._transition(step.id, StepState.SUCCEEDED if ok else StepState.FAILED, detail or "holds")
            await self._audit("after", step=step, what="dry run: read-only check", outcome=rec.state.value, detail=rec.detail, result=result)
            return await self._advance(step, self._outcome(step, rec, detail=rec.detail, result=result))
        if step.kind is StepKind.DECISION:
            if step.ask:
                await self._transition(step.id, StepState.SKIPPED, "dry run: the operator would choose: " + " | ".join(c.label for c in step.choices))
                return await self._advance(step, self._outcome(step, run.steps[step.id], detail=run.steps[step.id].detail))
            return await self._decision(step, answer)
        if step.kind is StepKind.MANUAL:
            rec = run.steps[step.id]
            rec.dry_run = NOT_SIMULATED
            await self._transition(step.id, StepState.SKIPPED, f"dry run: would ask the operator: {step.title}")
            return await self._advance(step, self._outcome(step, rec, detail=rec.detail))
        return await self._dry_run_action(step)

    async def _dry_run_action(self, step: Step) -> StepOutcome:
        run = self._require_run()
        assert step.action is not None
        preview: Any
        preview, _preview_text, perr = await self._preview(step) if step.preview else (None, "", "")
        gate = self._gate(step, preview)
        need = f"; would need the confirmation {gate.phrase!r}" if gate else ""
        if gate and perr:
            need = f"; its confirmation phrase comes from the preview, which failed ({perr})"
        elif gate and step.preview is not None and isinstance(preview, (list, tuple)) and not preview:
            need = "; nothing to do now (the preview is empty): it would be skipped without a confirmation"
        rec = run.steps[step.id]
        result: ExecResult | None = None
        wrap = step.dry_run.sql_wrap
        if wrap is SqlWrap.ROLLBACK and self.read_only:
            wrap = None  # a rolled-back write still writes for a moment: not in a read-only session
        ctx = self.context(preview=preview)
        r = self.renderer
        route = self.router.route(step.action)
        if wrap is not None and route == "sql":
            call = r.build_call(step.action, ctx, display=False, wrap=wrap)
            what = r.describe_call(r.build_call(step.action, self.context(preview=preview, real_secrets=False), display=True, wrap=wrap))
            await self._audit("before", step=step, what=what, outcome="dry-run")
            result = await self._execute_call(call, timeout_s=step.timeout_s, max_bytes=step.capture.max_bytes, step_id=step.id)  # type: ignore[arg-type]
            if result.ok:
                n = result.rows_affected
                rec.dry_run = "would_change" if (n or 0) > 0 else "no_change"
                detail = f"dry run ({wrap.value}): {'estimated ' if wrap is SqlWrap.EXPLAIN else ''}{n} row(s){need}"
            else:
                rec.dry_run = NOT_SIMULATED
                detail = f"dry run failed: {self.redactor.text(result.error)}{need}"
            await self._audit("after", step=step, what=what, outcome=rec.dry_run, detail=detail, result=result)
        elif step.dry_run.argv and route == "shell" and step.action.shell is not None:
            argv = tuple(r.render(a, ctx, display=False) for a in step.dry_run.argv)
            shell_call = ShellCall(argv, None, tuple((k, r.render(v, ctx, display=False)) for k, v in step.action.shell.env))
            what = r.describe_call(ShellCall(tuple(r.render(a, ctx, display=True) for a in step.dry_run.argv)))
            await self._audit("before", step=step, what=what, outcome="dry-run")
            result = await self._execute_call(shell_call, timeout_s=step.timeout_s, max_bytes=step.capture.max_bytes, step_id=step.id)
            rec.dry_run = "simulated_ok" if result.ok else "not_simulated"
            detail = f"dry run command {'succeeded' if result.ok else 'failed: ' + self.redactor.text(result.error)}{need}"
            await self._audit("after", step=step, what=what, outcome=rec.dry_run, detail=detail, result=result)
        else:
            rec.dry_run = NOT_SIMULATED
            detail = f"dry run: not simulated (would run it){need}"
            if preview is not None:
                detail += f"; preview: {self.redactor.text(short(preview, 120))}"
        if result is not None:
            rec.rows_affected, rec.exit_code, rec.duration_ms = result.rows_affected, result.exit_code, result.duration_ms
            rec.output_excerpt = self.redactor.text(result.output)[-OUTPUT_EXCERPT_CHARS:]
        await self._transition(step.id, StepState.SKIPPED, detail)
        return await self._advance(step, self._outcome(step, rec, detail=detail, result=result))
