"""The engine's core: the run it holds and the plumbing every step kind uses.

Transitions are saved (off the event loop, by the run store) and audited; executor
calls go through the router and come back redacted; probes (preconditions, preview,
verify) are read-only calls judged against their ``expect``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import Any, Protocol

from cs_console.config import Profile
from cs_console.domain.clock import Clock
from cs_console.domain.runbooks import templates
from cs_console.domain.runbooks.calls import Call, ExecResult
from cs_console.domain.runbooks.capture import CaptureError, parse_value, result_context, short
from cs_console.domain.runbooks.expressions import ExpressionError, evaluate_bool
from cs_console.domain.runbooks.guard import Gate, WindowStatus, window_status
from cs_console.domain.runbooks.run_state import ALLOWED, Run, RunStatus, StepRecord, StepState, iso
from cs_console.domain.runbooks.schema import Action, OnFailure, Probe, Runbook, Step
from cs_console.services.runbooks.context import RunContext
from cs_console.services.runbooks.plan import OUTPUT_EXCERPT_CHARS, EngineError, PreconditionResult, StepOutcome
from cs_console.services.runbooks.render import CallRenderer, action_texts
from cs_console.services.runbooks.router import LiveRouter
from cs_console.stores.audit_log import audit_record

OutputHandler = Callable[[str, str], None]  # (step_id, redacted line)
ChangeHandler = Callable[[Run], None]


class AuditSink(Protocol):
    async def append(self, record: dict[str, Any]) -> None: ...


class RunStateStore(Protocol):
    """stores/run_store.py (this machine) or stores/run_store_pg.py (the team's)."""

    kind: str
    async def claim_async(self, run_id: str) -> bool: ...
    async def release_async(self, run_id: str) -> None: ...
    async def is_live_elsewhere_async(self, run_id: str) -> bool: ...
    def artifacts_dir(self, run_id: str) -> Path: ...
    async def save(self, run: Run) -> None: ...
    async def load_async(self, run_id: str) -> Run: ...


class RunLock(Protocol):
    async def acquire(self, holder: Any) -> None: ...
    async def release(self) -> None: ...


class IncidentTimeline(Protocol):
    async def get(self, ref: str) -> Any: ...
    async def record_runbook_step(self, ref: str, runbook_id: str, step_id: str, outcome: str, detail: str, *,
                                  run_id: str) -> Any: ...


def allowed_from(state: StepState) -> frozenset[StepState]:
    return ALLOWED[state]


class EngineCore:
    """State and plumbing; the step kinds, the dry run and the lifecycle build on it."""

    def __init__(self, profile: Profile, runbook: Runbook, *, router: LiveRouter, audit: AuditSink,
                 run_store: RunStateStore, run_lock: Callable[[], RunLock], clock: Clock, environment_name: str, read_only: bool, state_dir: Path,
                 environ: Mapping[str, str], on_output: OutputHandler | None = None,
                 on_change: ChangeHandler | None = None, incidents: IncidentTimeline | None = None,
                 open_incidents: Callable[[], Awaitable[IncidentTimeline]] | None = None,
                 local_run_lock: Callable[[], RunLock] | None = None, approvals: Any = None,
                 local_run_store: RunStateStore | None = None) -> None:
        self.profile = profile
        self.runbook = runbook
        self.router = router
        self.audit = audit
        self.store = run_store
        self.clock = clock
        self.environment_name = environment_name
        self.read_only = read_only
        self.on_output = on_output
        self.on_change = on_change
        self.incidents = incidents
        self._open_incidents = open_incidents
        self.ctx = RunContext(profile, runbook, environment_name=environment_name, state_dir=state_dir, environ=environ)
        self.renderer = CallRenderer(self.ctx, router)
        self.run: Run | None = None
        self.warnings: list[str] = []
        self._operator: dict[str, Any] = {}
        self._window: WindowStatus | None = None
        self._lock_factory = run_lock  # builds the lock a guarded runbook takes (one operator at a time)
        self._local_lock_factory = local_run_lock  # this machine's lock, when the team's cannot be taken and the profile allows it
        self._lock: RunLock | None = None
        self._closed = False
        self._local_store = local_run_store  # where a new run's state goes when the team's store does not answer
        self.approvals = approvals  # the team's approval store (None: this machine's store cannot hold approvals)
        self._approved_by: dict[str, dict[str, Any]] = {}  # step id -> the second person whose approval it consumed

    # ------------------------------------------------------------ views

    @property
    def inputs(self) -> dict[str, Any]:
        return self.ctx.inputs

    @property
    def captures(self) -> dict[str, Any]:
        return self.ctx.captures

    @property
    def redactor(self) -> Any:
        return self.ctx.redactor

    @property
    def operator(self) -> dict[str, Any]:
        """Who runs the steps here (OS user, uid, SSH client, host)."""
        return dict(self._operator)

    @property
    def window(self) -> WindowStatus:
        if self._window is None:
            self._window = window_status(self.runbook, self.profile.maintenance, self.clock.now())
        return self._window

    def _require_run(self) -> Run:
        if self.run is None:
            raise EngineError("no run started (call start() or resume())")
        return self.run

    def _step_or_none(self, step_id: str) -> Step | None:
        try:
            return self.runbook.step(step_id)
        except KeyError:
            return None

    def next_step_id(self) -> str | None:
        run = self._require_run()
        return run.first_open_step([s.id for s in self.runbook.steps])

    def context(self, *, preview: Any = None, extra: Mapping[str, Any] | None = None, real_secrets: bool = True) -> dict[str, Any]:
        run = self._require_run()
        return self.ctx.values(run, artifacts_dir=self.store.artifacts_dir(run.run_id), now=self.clock.now(),
                               preview=preview, extra=extra, real_secrets=real_secrets)

    def _missing_secrets(self, action: Action, ctx: Mapping[str, Any]) -> list[str]:
        if not self.router.requires_secrets:
            return []  # the demo acts on its simulation: rehearsals need no production secrets
        return self.ctx.missing_secrets(action_texts(action), ctx)

    # ------------------------------------------------------------ calls and probes

    async def _execute_call(self, call: Call, *, timeout_s: float, max_bytes: int, step_id: str | None) -> ExecResult:
        def emit(line: str) -> None:
            if self.on_output and step_id:
                try:
                    self.on_output(step_id, self.redactor.text(line))
                except Exception:
                    pass

        try:
            executor = self.router.executor_for(call)
            if executor is None:
                return ExecResult(False, error=self.router.missing_executor(call))
            result = await executor.execute(call, timeout_s=timeout_s, max_bytes=max_bytes, on_output=emit)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # an executor bug must not take the console down, nor leak a secret
            return ExecResult(False, error=self.redactor.text(f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"))
        result.error = self.redactor.text(result.error)
        return result

    async def _run_probe(self, probe: Probe, ctx: Mapping[str, Any], step_id: str, *, stream: bool = False) -> tuple[bool, Any, str, ExecResult | None]:
        """(ok, value, detail, result) of a read-only probe; never raises."""
        call = self.renderer.build_call(probe.action, ctx, display=False)
        if call is None:
            return False, None, self.router.no_probe, None
        missing = self._missing_secrets(probe.action, ctx)
        if missing:
            return False, None, "secret not set: " + ", ".join(missing), None
        result = await self._execute_call(call, timeout_s=60.0, max_bytes=65536, step_id=step_id if stream else None)
        if not result.ok:
            return False, None, self.redactor.text(result.error) or "failed", result
        try:
            value = parse_value(result.value, result.output, probe.parse)
        except CaptureError as exc:
            return False, None, str(exc), result
        if probe.expect:
            ectx = {**ctx, **result_context(value, result.value, output=result.output, rows_affected=result.rows_affected,
                                            exit_code=result.exit_code, status=result.http_status)}
            try:
                ok = evaluate_bool(probe.expect, ectx)
            except ExpressionError as exc:
                return False, value, f"cannot evaluate {probe.expect!r}: {exc}", result
            return ok, value, ("" if ok else f"expected {probe.expect} (got {self.redactor.text(short(value))})"), result
        return True, value, "", result

    async def _check_preconditions(self, step: Step) -> list[PreconditionResult]:
        results = []
        for pre_id in step.preconditions:
            pre = self.runbook.step(pre_id)
            assert pre.action is not None
            probe = Probe(pre.action, pre.expect, pre.capture.parse)
            ok, _value, detail, _ = await self._run_probe(probe, self.context(), step.id)
            results.append(PreconditionResult(pre_id, ok, detail or ("holds" if ok else "failed")))
        return results

    async def _preview(self, step: Step) -> tuple[Any, str, str]:
        """(value, text, error) of the step's preview, redacted."""
        if step.preview is None:
            return None, "", ""
        ok, value, detail, result = await self._run_probe(step.preview, self.context(), step.id)
        if not ok:
            return None, "", detail or "preview failed"
        text = self.redactor.text(result.output if result else "")
        return self.redactor.value(value), text, ""

    def _gate(self, step: Step, preview: Any) -> Gate | None:
        """The confirmation a guarded step needs, its phrase rendered from this preview."""
        if not step.risk.guarded:
            return None
        run = self._require_run()
        ctx = self.context(preview=preview if preview is not None else [])
        call = self.renderer.build_call(step.action, ctx, display=True) if step.action else None
        try:
            phrase = self.renderer.render(step.confirm.phrase, ctx, display=True) if step.confirm else ""
        except templates.TemplateError:
            phrase = ""  # an empty phrase refuses outright (check_confirmation)
        return Gate(run.run_id, step.id, self.renderer.target(step, call), phrase, step.risk, step.title,
                    f"{step.risk.value} step: {step.title}")

    # ------------------------------------------------------------ state, audit, timeline

    def _result_summary(self, result: ExecResult, step: Step | None = None) -> str:
        bits = []
        scalar = isinstance(result.value, (int, float)) and not isinstance(result.value, bool)
        if scalar and (step is None or not step.risk.mutating):
            # A read that answers with a number (a database size) returned a value, not rows.
            bits.append(f"value {self.redactor.text(short(result.value))}")
        elif result.rows_affected is not None:
            bits.append(f"{result.rows_affected} row(s)")
        if result.exit_code is not None:
            bits.append(f"exit {result.exit_code}")
        if result.http_status is not None:
            bits.append(f"HTTP {result.http_status}")
        bits.append(f"{result.duration_ms} ms")
        return ", ".join(bits)

    def _outcome(self, step: Step, rec: StepRecord, *, detail: str, result: ExecResult | None = None) -> StepOutcome:
        run = self._require_run()
        return StepOutcome(
            step.id, rec.state, detail, exit_code=rec.exit_code, http_status=rec.http_status, rows_affected=rec.rows_affected,
            duration_ms=rec.duration_ms, output=self.redactor.text(result.output)[-OUTPUT_EXCERPT_CHARS:] if result else rec.output_excerpt,
            captured=rec.captured, dry_run=rec.dry_run, run_status=run.status,
        )

    def _now_iso(self) -> str:
        return iso(self.clock.now())

    async def _transition(self, step_id: str, to: StepState, note: str) -> None:
        run = self._require_run()
        run.transition(step_id, to, self.clock.now(), self.redactor.text(note))
        if to is StepState.RUNNING and run.status is not RunStatus.RUNNING:
            run.status = RunStatus.RUNNING
        await self._save()

    async def _save(self) -> None:
        run = self._require_run()
        await self.store.save(run)
        if self.on_change:
            try:
                self.on_change(run)
            except Exception:
                pass

    async def _audit(self, phase: str, *, step: Step | None = None, step_id: str | None = None, what: str | None = None,
                     outcome: str | None = None, detail: str | None = None, result: ExecResult | None = None,
                     extra: dict[str, Any] | None = None) -> None:
        run = self.run
        rec = audit_record(
            phase=phase, user=self._operator.get("user"), ssh_client=self._operator.get("ssh_client"),
            host=self._operator.get("host"), profile=self.profile.name, environment=self.environment_name,
            runbook_id=self.runbook.id, runbook_sha256=self.runbook.sha256, run_id=run.run_id if run else None,
            step_id=step.id if step else step_id, risk=step.risk.value if step else None, what=what, outcome=outcome,
            detail=detail or None, exit_code=result.exit_code if result else None,
            http_status=result.http_status if result else None, rows_affected=result.rows_affected if result else None,
            duration_ms=result.duration_ms if result else None, incident_ref=run.incident_ref if run else None,
            dry_run=True if (run and run.dry_run) else None, read_only=True if self.read_only else None,
            **self._approval_fields(step.id if step else step_id), **(extra or {}),
        )
        await self.audit.append(self.redactor.value(rec))

    def _approval_fields(self, step_id: str | None) -> dict[str, Any]:
        """The second person on every record of a step their approval let run."""
        by = self._approved_by.get(step_id or "")
        return {"approved_by": by.get("user"), "approved_by_ssh_client": by.get("ssh_client")} if by else {}

    async def _incident_service(self) -> IncidentTimeline | None:
        """The incident service, opened on first use (a run without an incident never opens it)."""
        if self.incidents is None and self._open_incidents is not None:
            try:
                self.incidents = await self._open_incidents()
            except Exception as exc:
                self.warnings.append(f"incident timeline unavailable: {type(exc).__name__}")
                return None
        return self.incidents

    async def _incident_event(self, step_id: str, outcome: str, detail: str) -> None:
        run = self.run
        if run is None or not run.incident_ref or run.dry_run:
            return
        svc = await self._incident_service()
        if svc is None:
            return
        try:
            await svc.record_runbook_step(run.incident_ref, self.runbook.id, step_id, outcome, self.redactor.text(detail), run_id=run.run_id)
        except Exception as exc:  # the timeline is a record, not a gate
            self.warnings.append(f"incident {run.incident_ref}: timeline not updated ({type(exc).__name__})")

    # ------------------------------------------------------------ endings of a step

    async def _fail_before_run(self, step: Step, detail: str) -> StepOutcome:
        run = self._require_run()
        detail = self.redactor.text(detail)
        await self._transition(step.id, StepState.RUNNING, "")
        await self._transition(step.id, StepState.FAILED, detail)
        await self._audit("after", step=step, outcome="failed", detail=detail)
        await self._incident_event(step.id, "failed", detail)
        return await self._after_failure(step, self._outcome(step, run.steps[step.id], detail=detail))

    async def _refuse(self, step: Step, reason: str, *, gate: Gate | None = None, audit: bool = True) -> StepOutcome:
        run = self._require_run()
        reason = self.redactor.text(reason)
        rec = run.steps[step.id]
        if rec.state is not StepState.UNKNOWN and StepState.REFUSED in allowed_from(rec.state):
            await self._transition(step.id, StepState.REFUSED, reason)
        run.set_status(RunStatus.REFUSED, self.clock.now())
        await self._save()
        if audit:
            try:
                await self._audit("refused", step=step, outcome="refused", detail=reason,
                                  extra={"target": gate.target} if gate else None)
            except OSError as exc:
                reason += f" (and the audit log cannot be written: {exc})"
        await self._incident_event(step.id, "refused", reason)
        return StepOutcome(step.id, rec.state, reason, refused=True, stopped=True, run_status=run.status, next_step=step.id)

    async def _after_failure(self, step: Step, outcome: StepOutcome) -> StepOutcome:
        run = self._require_run()
        if step.on_failure.action is OnFailure.CONTINUE or run.dry_run:
            run.steps[step.id].passed_over = True
            return await self._advance(step, outcome)
        run.set_status(RunStatus.FAILED, self.clock.now())
        await self._save()
        outcome.stopped = True
        outcome.run_status = run.status
        return outcome

    async def _advance(self, step: Step, outcome: StepOutcome) -> StepOutcome:
        run = self._require_run()
        nxt = self.next_step_id()
        if nxt is None:
            run.set_status(RunStatus.SUCCEEDED, self.clock.now())
        elif run.status in (RunStatus.REFUSED, RunStatus.WAITING):
            run.status = RunStatus.RUNNING
        await self._save()
        outcome.next_step = nxt
        outcome.run_status = run.status
        if nxt is None:
            try:
                await self._audit("end", outcome=run.status.value, detail=run.outcome_text())
            except OSError:
                self.warnings.append("the end of the run could not be audited")
        return outcome
