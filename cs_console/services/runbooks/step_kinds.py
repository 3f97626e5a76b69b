"""How each kind of step runs for real: actions (sql, shell, http, console, demo, with
retries, capture and verify), wait-until polls, manual answers and decisions."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

from cs_console.domain.runbooks import templates
from cs_console.domain.runbooks.calls import Call, ExecResult
from cs_console.domain.runbooks.capture import CaptureError, parse_value, result_context, short
from cs_console.domain.runbooks.expressions import ExpressionError, evaluate_bool
from cs_console.domain.runbooks.inputs import InputError, convert
from cs_console.domain.runbooks.run_state import NOT_SIMULATED, RunStatus, StepState
from cs_console.domain.runbooks.schema import END, OnFailure, Step, StepKind
from cs_console.services.runbooks.core import EngineCore
from cs_console.services.runbooks.plan import OUTPUT_EXCERPT_CHARS, StepOutcome


class StepKinds(EngineCore):
    async def _action_step(self, step: Step, preview: Any) -> StepOutcome:
        run = self._require_run()
        assert step.action is not None
        ctx = self.context(preview=preview)
        try:
            call = self.renderer.build_call(step.action, ctx, display=False)
            display_call = self.renderer.build_call(step.action, self.context(preview=preview, real_secrets=False), display=True)
        except templates.TemplateError as exc:
            return await self._fail_before_run(step, f"cannot render: {exc}")
        what = self.renderer.describe_call(display_call, step.action)
        if call is None:
            # Nothing runs this step here (the demo has no simulation for it): say so, never pretend.
            note, timeline, detail = self.router.no_step
            run.steps[step.id].dry_run = NOT_SIMULATED  # counted in the run's outcome as rehearsed, not done
            await self._transition(step.id, StepState.SKIPPED, note)
            await self._incident_event(step.id, "skipped", timeline)
            return await self._advance(step, self._outcome(step, run.steps[step.id], detail=detail))
        missing = self._missing_secrets(step.action, ctx)
        if missing:
            return await self._fail_before_run(step, "secret not set: " + ", ".join(missing))

        try:
            await self._audit("before", step=step, what=what, outcome="running")
        except OSError as exc:
            return await self._refuse(step, f"the audit log cannot be written, nothing was run ({exc})", audit=False)
        await self._transition(step.id, StepState.RUNNING, "")

        attempts = 1 + (step.on_failure.retries if step.on_failure.action is OnFailure.RETRY else 0)
        result: ExecResult | None = None
        value: Any = None
        ok = False
        detail = ""
        for attempt in range(attempts):
            if attempt:
                run.steps[step.id].attempts += 1
                run.steps[step.id].history.append({"at": self._now_iso(), "note": f"retry {attempt} of {attempts - 1}"})
                await self._save()
                await asyncio.sleep(step.on_failure.retry_delay_s)
            if step.kind is StepKind.WAIT_UNTIL:
                ok, value, detail, result = await self._wait_until(step, call)
            else:
                result = await self._execute_call(call, timeout_s=step.timeout_s, max_bytes=step.capture.max_bytes, step_id=step.id)
                ok, value, detail = self._judge(step, result, ctx)
            if ok:
                break

        rec = run.steps[step.id]
        if result is not None:
            rec.exit_code, rec.http_status, rec.rows_affected = result.exit_code, result.http_status, result.rows_affected
            rec.duration_ms = result.duration_ms
            redactor = self.redactor.with_patterns(step.capture.redact)
            rec.output_excerpt = redactor.text(result.output)[-OUTPUT_EXCERPT_CHARS:]
        if ok and value is not None:
            rec.captured = self.redactor.with_patterns(step.capture.redact).value(value)
            if step.capture.save_as:
                self.captures[step.capture.save_as] = value
        if ok and step.verify is not None:
            vok, _vval, vdetail, _ = await self._run_probe(step.verify, self.context(), step.id)
            rec.verified = vok
            if not vok:
                ok, detail = False, f"failed verification: {vdetail}"
        state = StepState.SUCCEEDED if ok else StepState.FAILED
        detail = self.redactor.text(detail or (self._result_summary(result, step) if result else ""))
        if not ok and step.rollback:
            detail += f" | rollback: {step.rollback}"
        await self._transition(step.id, state, detail)
        await self._audit("after", step=step, what=what, outcome=state.value, detail=detail, result=result)
        await self._incident_event(step.id, state.value, detail)
        outcome = self._outcome(step, rec, detail=detail, result=result)
        if not ok:
            return await self._after_failure(step, outcome)
        return await self._advance(step, outcome)

    def _judge(self, step: Step, result: ExecResult, ctx: Mapping[str, Any]) -> tuple[bool, Any, str]:
        if not result.ok:
            return False, None, self.redactor.text(result.error) or "failed"
        try:
            value = parse_value(result.value, result.output, step.capture.parse)
        except CaptureError as exc:
            return False, None, str(exc)
        if step.kind is StepKind.CHECK and step.expect:
            ectx = {**ctx, **result_context(value, result.value, output=result.output, rows_affected=result.rows_affected,
                                            exit_code=result.exit_code, status=result.http_status)}
            try:
                holds = evaluate_bool(step.expect, ectx)
            except ExpressionError as exc:
                return False, value, f"cannot evaluate {step.expect!r}: {exc}"
            if not holds:
                return False, value, f"check failed: expected {step.expect} (got {self.redactor.text(short(value))})"
            return True, value, f"check holds: {step.expect}"
        return True, value, ""

    async def _wait_until(self, step: Step, call: Call) -> tuple[bool, Any, str, ExecResult | None]:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + step.timeout_s
        polls = 0
        last: ExecResult | None = None
        last_detail = ""
        while True:
            polls += 1
            remaining = max(0.1, deadline - loop.time())
            last = await self._execute_call(call, timeout_s=min(60.0, remaining), max_bytes=step.capture.max_bytes, step_id=step.id)
            if last.ok:
                try:
                    value = parse_value(last.value, last.output, step.capture.parse)
                    ectx = {**self.context(), **result_context(value, last.value, output=last.output, rows_affected=last.rows_affected,
                                                               exit_code=last.exit_code, status=last.http_status)}
                    assert step.until is not None
                    if evaluate_bool(step.until, ectx):
                        return True, value, f"{step.until} after {polls} poll(s)", last
                    last_detail = f"not yet: {step.until} (got {self.redactor.text(short(value))})"
                except (CaptureError, ExpressionError) as exc:
                    last_detail = str(exc)
            else:
                last_detail = self.redactor.text(last.error)
            if loop.time() + step.interval_s > deadline:
                return False, None, f"timed out after {step.timeout_s:g}s waiting for {step.until} ({last_detail})", last
            if self.on_output:
                self.on_output(step.id, self.redactor.text(last_detail))
            await asyncio.sleep(step.interval_s)

    async def _manual(self, step: Step, answer: str | None) -> StepOutcome:
        run = self._require_run()
        if answer is None or not str(answer).strip():
            expected = (" (one of: " + ", ".join(step.answer.choices) + ")") if step.answer and step.answer.choices else ""
            run.set_status(RunStatus.WAITING, self.clock.now())
            await self._save()
            return StepOutcome(step.id, run.steps[step.id].state, f"waiting for the operator: {step.title}{expected}",
                               stopped=True, run_status=run.status, next_step=step.id)
        value: Any = str(answer).strip()
        if step.answer is not None:
            try:
                value = convert(step.answer, value)
            except InputError as exc:
                return StepOutcome(step.id, run.steps[step.id].state, f"answer: {exc.expected}", stopped=True,
                                   run_status=run.status, next_step=step.id)
        shown_answer = self.redactor.text(str(value))
        await self._audit("before", step=step, what=f"manual: {step.title}", outcome="answering")
        await self._transition(step.id, StepState.RUNNING, "")
        rec = run.steps[step.id]
        rec.answer = shown_answer
        rec.captured = value
        if step.capture.save_as:
            self.captures[step.capture.save_as] = value
        holds, detail = self._answer_holds(step, value, shown_answer)
        state = StepState.SUCCEEDED if holds else StepState.FAILED
        await self._transition(step.id, state, detail)
        await self._audit("after", step=step, what=f"manual: {step.title}", outcome=state.value, detail=f"answer: {shown_answer}")
        await self._incident_event(step.id, state.value, detail)
        outcome = self._outcome(step, rec, detail=detail)
        if not holds:
            # The operator's answer says the check did not hold: recorded as such, never ticked.
            return await self._after_failure(step, outcome)
        return await self._advance(step, outcome)

    def _answer_holds(self, step: Step, value: Any, shown: str) -> tuple[bool, str]:
        """Whether a manual step's answer meets its `expect` (no expect: any answer does)."""
        if not step.expect:
            return True, f"operator: {shown}"
        try:
            holds = evaluate_bool(step.expect, {**self.context(), "value": value})
        except ExpressionError as exc:
            return False, f"operator: {shown} (cannot evaluate {step.expect!r}: {exc})"
        return holds, f"operator: {shown}" if holds else f"check failed: operator answered {shown!r}"

    async def _decision(self, step: Step, answer: str | None) -> StepOutcome:
        run = self._require_run()
        target: str | None = None
        label = ""
        if step.ask:
            if answer is None or not str(answer).strip():
                run.set_status(RunStatus.WAITING, self.clock.now())
                await self._save()
                return StepOutcome(step.id, run.steps[step.id].state,
                                   "waiting for the operator to choose: " + " | ".join(c.label for c in step.choices),
                                   stopped=True, run_status=run.status, next_step=step.id)
            a = str(answer).strip()
            chosen = next((c for c in step.choices if a in (c.label, c.goto)), None)
            if chosen is None:
                return StepOutcome(step.id, run.steps[step.id].state, "choose one of: " + ", ".join(c.label for c in step.choices),
                                   stopped=True, run_status=run.status, next_step=step.id)
            target, label = chosen.goto, chosen.label
        else:
            ctx = self.context()
            for c in step.choices:
                try:
                    if evaluate_bool(c.when or "False", ctx):
                        target, label = c.goto, c.label or (c.when or "")
                        break
                except ExpressionError as exc:
                    # A value missing because an earlier check failed: fall through to the default, and say so.
                    label = f"({c.when} not evaluable: {exc})"
            if target is None:
                target = step.default
                label = (label + " " if label else "") + "default"
        assert target is not None
        await self._transition(step.id, StepState.RUNNING, "")
        rec = run.steps[step.id]
        rec.goto = target
        rec.answer = label
        await self._transition(step.id, StepState.SUCCEEDED, f"-> {target} ({label})")
        await self._audit("after", step=step, what="decision", outcome="succeeded", detail=f"-> {target} ({label})")
        await self._skip_until(step, target)
        return await self._advance(step, self._outcome(step, rec, detail=f"-> {target} ({label})"))

    async def _skip_until(self, step: Step, target: str) -> None:
        run = self._require_run()
        start = self.runbook.index_of(step.id) + 1
        stop = len(self.runbook.steps) if target == END else self.runbook.index_of(target)
        for s in self.runbook.steps[start:stop]:
            rec = run.steps[s.id]
            if rec.state in (StepState.PENDING, StepState.REFUSED, StepState.FAILED):
                await self._transition(s.id, StepState.SKIPPED, f"skipped by decision {step.id}")
