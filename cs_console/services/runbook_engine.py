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

Driving a run (the wizard does this; the CLI's ``run_all`` is the same loop)::

    engine = await RunbookEngine.open(session, runbook, environment=env,
                                      on_output=lambda step_id, line: ...,
                                      on_change=lambda run: ...)
    run = await engine.start({"idle_minutes": "5"}, incident_ref="INC-2026-0001")
    #   or: report = await engine.resume(run_id)   (report.unknown_steps, report.changed_runbook)
    if engine.window_gate():                      # maintenance runbook outside its window
        await engine.confirm_window(engine.window_gate().confirm(typed))
    while (step := engine.next_step()) is not None:
        plan = await engine.prepare(step.id)      # what will run (redacted), preview, gate, preconditions
        conf = plan.gate.confirm(typed) if plan.gate else None   # Cancel focused; typed phrase
        outcome = await engine.execute(step.id, confirmation=conf, answer=answer_for_manual_or_decision)
        if outcome.refused or outcome.stopped: break  # outcome.detail says why, one line
    await engine.close()

Unknown steps (after a crash): ``await engine.resolve_unknown(step_id, "verify" | "done" | "not_done")``.
"""

from __future__ import annotations

import asyncio
import os
import shlex
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from cs_console.domain.clock import Clock, SystemClock
from cs_console.domain.runbooks import templates
from cs_console.domain.runbooks.calls import (
    Call, ConsoleCall, DemoCall, ExecResult, HttpCall, ShellCall, SqlCall, StepExecutor,
)
from cs_console.domain.runbooks.capture import CaptureError, parse_value, result_context, short
from cs_console.domain.runbooks.expressions import ExpressionError, evaluate, evaluate_bool
from cs_console.domain.runbooks.guard import (
    WINDOW_STEP_ID, Confirmation, Gate, GuardDecision, WindowStatus, check_confirmation, check_read_only,
    window_gate, window_status,
)
from cs_console.domain.runbooks.inputs import InputError, resolve_inputs, resolve_secret, secret_env_name
from cs_console.domain.runbooks.redaction import Redactor
from cs_console.domain.runbooks.run_state import Run, RunStatus, StepRecord, StepState, TransitionError, new_run_id
from cs_console.domain.runbooks.schema import (
    END, Action, OnFailure, Parse, Probe, Risk, Runbook, Step, StepKind, SqlWrap,
)

if TYPE_CHECKING:
    from cs_console.services.environment import Environment
    from cs_console.services.session import Session

CHANGED_RUNBOOK_STEP_ID = "@changed-runbook"
CHANGED_RUNBOOK_PHRASE = "resume changed runbook"
OUTPUT_EXCERPT_CHARS = 4000

OutputHandler = Callable[[str, str], None]  # (step_id, redacted line)
ChangeHandler = Callable[[Run], None]


class EngineError(Exception):
    """A problem starting or resuming a run; str() is one line, already redacted."""


@dataclass
class PreconditionResult:
    step_id: str
    ok: bool
    detail: str


@dataclass
class StepPlan:
    """What the wizard shows before a step runs. Everything here is redacted."""

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


@dataclass
class ResumeReport:
    run: Run
    unknown_steps: list[str]
    changed_runbook: bool
    next_step: str | None
    notes: list[str] = field(default_factory=list)


@dataclass
class Executors:
    sql: StepExecutor | None = None
    shell: StepExecutor | None = None
    http: StepExecutor | None = None
    demo: Any = None  # DemoExecutor (has .supports(call))

    async def aclose(self) -> None:
        for ex in (self.sql, self.shell, self.http, self.demo):
            if ex is not None:
                try:
                    await ex.aclose()
                except Exception:
                    pass


def build_executors(session: "Session", environment: "Environment | None") -> Executors:
    """The executors this session may use: the demo's simulation, or the real systems."""
    if environment is not None and environment.demo is not None:
        from cs_console.backends.executors.demo import DemoExecutor
        from cs_console.services.demo_runbook_calls import DemoRunbookCalls

        # The facade answers the built-ins' filtered questions (idle-in-transaction
        # backends, bloated indexes...) from the simulation, in the live SQL's row shape.
        return Executors(demo=DemoExecutor(DemoRunbookCalls(environment.demo)))
    if session.demo is not None:
        return Executors()  # a demo session never touches real systems, even without its simulation
    from cs_console.backends.executors.http import HttpExecutor
    from cs_console.backends.executors.shell import ShellExecutor

    ex = Executors(shell=ShellExecutor(), http=HttpExecutor())
    dsn = session.profile.values.get("db_dsn") or ""
    if dsn:
        from cs_console.backends.executors.sql import SqlExecutor

        ex.sql = SqlExecutor(dsn, password=session.profile.secret("db_password_env"))
    return ex


def _db_name(dsn: str) -> str:
    if not dsn:
        return ""
    path = urlsplit(dsn).path.lstrip("/")
    return path or "postgres"


class RunbookEngine:
    def __init__(
        self,
        session: "Session",
        runbook: Runbook,
        *,
        environment: "Environment | None" = None,
        executors: Executors | None = None,
        audit: Any = None,
        run_store: Any = None,
        clock: Clock | None = None,
        on_output: OutputHandler | None = None,
        on_change: ChangeHandler | None = None,
        incidents: Any = None,
        environ: Mapping[str, str] | None = None,
        run_lock_factory: Callable[[], Any] | None = None,
    ) -> None:
        from cs_console.stores.audit_log import AuditTrail, LocalAuditLog
        from cs_console.stores.run_store import RunStore

        self.session = session
        self.runbook = runbook
        self.environment = environment
        self.executors = executors if executors is not None else build_executors(session, environment)
        self.audit = audit if audit is not None else AuditTrail(LocalAuditLog.in_state_dir(session.state_dir))
        self.store = run_store if run_store is not None else RunStore.in_state_dir(session.state_dir)
        self.clock = clock or (environment.clock if environment is not None else SystemClock())
        self.on_output = on_output
        self.on_change = on_change
        self.incidents = incidents
        self.environ = dict(environ if environ is not None else os.environ)
        self._lock_factory = run_lock_factory
        self._lock: Any = None
        self.run: Run | None = None
        self.inputs: dict[str, Any] = {}
        self.captures: dict[str, Any] = {}
        self.warnings: list[str] = []
        self.redactor = Redactor()
        self._secret_inputs = {i.name for i in runbook.inputs if i.secret}
        self._operator: dict[str, Any] = {}
        self._window: WindowStatus | None = None
        self._changed_confirmed = True
        self._closed = False

    # ================================================================ lifecycle

    @classmethod
    async def open(cls, session: "Session", runbook: Runbook, **kwargs: Any) -> "RunbookEngine":
        """An engine with the team audit store when the profile says so."""
        if "audit" not in kwargs:
            kwargs["audit"] = build_audit_trail(session)
        return cls(session, runbook, **kwargs)

    @property
    def is_demo(self) -> bool:
        return self.session.demo is not None or (self.environment is not None and self.environment.demo is not None)

    @property
    def environment_name(self) -> str:
        return "demo" if self.is_demo else self.session.profile.environment_name

    @property
    def read_only(self) -> bool:
        return bool(self.session.read_only)

    def _require_run(self) -> Run:
        if self.run is None:
            raise EngineError("no run started (call start() or resume())")
        return self.run

    def _prime_secrets(self) -> None:
        """Teach the redactor every secret this run could touch, before anything is shown."""
        prof = self.session.profile
        for fname in ("access_token_env", "service_role_key_env", "db_password_env", "webhook_url_env", "team_password_env"):
            try:
                self.redactor.add_secret(prof.secret(fname))
            except Exception:
                pass
        for spec in self.runbook.inputs:
            if spec.secret:
                ref = self.inputs.get(spec.name)
                if ref:
                    self.redactor.add_secret(resolve_secret(ref, self.environ))

    async def start(self, inputs: Mapping[str, Any] | None = None, *, dry_run: bool = False,
                    incident_ref: str | None = None) -> Run:
        """Validate inputs, create and save the run, take the run lock for guarded runbooks."""
        from cs_console.stores.audit_log import operator_identity

        try:
            self.inputs = resolve_inputs(self.runbook.inputs, dict(inputs or {}))
        except InputError as exc:
            raise EngineError(f"runbook {self.runbook.id}: {exc}") from None
        self._prime_secrets()
        self._operator = operator_identity(self.environ)
        now = self.clock.now()
        if incident_ref:
            incident_ref = await self._check_incident(incident_ref)
        run = Run.new(
            run_id=new_run_id(now), runbook_id=self.runbook.id, runbook_sha256=self.runbook.sha256,
            runbook_version=self.runbook.version, runbook_source=self.runbook.source,
            step_ids=[s.id for s in self.runbook.steps], profile=self.session.profile.name,
            environment=self.environment_name, dry_run=dry_run, inputs=self.inputs, operator=self._operator,
            now=now, incident_ref=incident_ref,
        )
        self.run = run
        if not self.store.claim(run.run_id):
            raise EngineError(f"run {run.run_id} is held by another process")
        self._window = window_status(self.runbook, self.session.profile.maintenance, now)
        if not dry_run:
            await self._acquire_lock()
        self._save()
        await self._audit("start", outcome="started", detail=self._window.message if self._window.applies else "")
        return run

    async def resume(self, run_id: str, *, changed_confirmation: Confirmation | None = None) -> ResumeReport:
        """Continue a run that was cut off (or stopped at a gate/manual step)."""
        from cs_console.stores.audit_log import operator_identity
        from cs_console.stores.run_store import RunStoreError

        try:
            run = self.store.load(run_id)
        except RunStoreError as exc:
            raise EngineError(str(exc)) from None
        if run.runbook_id != self.runbook.id:
            raise EngineError(f"run {run_id} is a run of {run.runbook_id}, not {self.runbook.id}")
        if run.profile != self.session.profile.name:
            raise EngineError(f"run {run_id} was started on profile {run.profile!r}, not {self.session.profile.name!r}")
        if run.status.finished:
            raise EngineError(f"run {run_id} has already finished ({run.status.value}); start a new run")
        if self.store.is_live_elsewhere(run_id) or not self.store.claim(run_id):
            raise EngineError(f"run {run_id} is still running in another process")
        self.run = run
        self._operator = operator_identity(self.environ)
        now = self.clock.now()
        notes: list[str] = []
        try:
            self.inputs = resolve_inputs(self.runbook.inputs, {k: v for k, v in run.inputs.items() if v is not None})
        except InputError as exc:
            raise EngineError(f"run {run_id}: stored inputs no longer valid for this runbook ({exc})") from None
        self._prime_secrets()
        changed = run.runbook_sha256 != self.runbook.sha256
        if changed:
            notes.append(f"the runbook file changed since this run started (sha256 {run.runbook_sha256[:12]} -> {self.runbook.sha256[:12]})")
            gate = self.changed_runbook_gate()
            decision = check_confirmation(gate, changed_confirmation)
            if not decision:
                await self._audit("refused", outcome="refused", detail=f"resume of a changed runbook: {decision.reason}")
                self.store.release(run_id)
                self.run = None
                raise EngineError(f"refused: the runbook file changed since run {run_id} started; "
                                  f"confirm with the phrase {CHANGED_RUNBOOK_PHRASE!r}")
            missing = [sid for sid in run.steps if sid not in {s.id for s in self.runbook.steps}]
            if missing:
                self.store.release(run_id)
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
        self._window = window_status(self.runbook, self.session.profile.maintenance, now)
        if not run.dry_run:
            try:
                await self._acquire_lock()
            except EngineError:
                self.store.release(run_id)
                self.run = None
                raise
        self._save()
        await self._audit("resume", outcome="resumed", detail=(f"unknown: {', '.join(unknown)}; " if unknown else "") + "; ".join(notes))
        for sid in unknown:
            await self._incident_event(sid, "unknown", "interrupted while running; outcome unknown")
        return ResumeReport(run, unknown, changed, self.next_step_id(), notes)

    def changed_runbook_gate(self) -> Gate:
        run = self._require_run()
        return Gate(run.run_id, CHANGED_RUNBOOK_STEP_ID, f"{self.environment_name}/runbook {self.runbook.id}",
                    CHANGED_RUNBOOK_PHRASE, Risk.WRITE, "Resume a changed runbook",
                    "resume a run whose runbook file changed since it started")

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
            self.store.release(self.run.run_id)
        await self.executors.aclose()

    async def __aenter__(self) -> "RunbookEngine":
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.close()

    async def _acquire_lock(self) -> None:
        """Guarded runbooks: one operator per runbook and profile."""
        if not self.runbook.highest_risk.guarded:
            return
        from cs_console.stores.run_lock import Holder, LockHeld

        lock = self._lock_factory() if self._lock_factory else build_run_lock(self.session, self.runbook.id)
        run = self._require_run()
        holder = Holder(str(self._operator.get("user", "")), str(self._operator.get("ssh_client", "")),
                        str(self._operator.get("host", "")), run.run_id, run.started_at)
        try:
            await lock.acquire(holder)
        except LockHeld as exc:
            await self._audit("refused", outcome="refused", detail=str(exc))
            raise EngineError(f"refused: {exc}") from None
        except Exception as exc:
            raise EngineError(f"cannot take the run lock: {self.redactor.text(str(exc)) or type(exc).__name__}") from None
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

    async def _incident_service(self) -> Any:
        if self.incidents is None:
            try:
                from cs_console.services.incidents import open_incident_service

                self.incidents = await open_incident_service(self.session)
            except Exception as exc:
                self.warnings.append(f"incident timeline unavailable: {type(exc).__name__}")
                return None
        return self.incidents

    # ================================================================ navigation

    def _step_or_none(self, step_id: str) -> Step | None:
        try:
            return self.runbook.step(step_id)
        except KeyError:
            return None

    def next_step_id(self) -> str | None:
        run = self._require_run()
        return run.first_open_step([s.id for s in self.runbook.steps])

    def next_step(self) -> Step | None:
        sid = self.next_step_id()
        return self.runbook.step(sid) if sid else None

    def progress(self) -> list[tuple[Step, StepRecord]]:
        """Every step with its record, in order (the wizard's progress list)."""
        run = self._require_run()
        return [(s, run.steps[s.id]) for s in self.runbook.steps]

    # ================================================================ context and rendering

    def _profile_ctx(self) -> dict[str, Any]:
        v = self.session.profile.values
        return {
            "name": self.session.profile.name, "project_ref": v.get("project_ref", ""),
            "project_url": self.session.profile.resolved_project_url, "management_api_url": v.get("management_api_url", ""),
            "db_dsn": v.get("db_dsn", ""), "db_name": _db_name(v.get("db_dsn", "")),
            "environment": self.environment_name,
        }

    def context(self, *, preview: Any = None, extra: Mapping[str, Any] | None = None, real_secrets: bool = True) -> dict[str, Any]:
        run = self._require_run()
        now = self.clock.now()
        prof = self.session.profile
        secret = {
            "access_token": prof.secret("access_token_env") if real_secrets else templates.REDACTED,
            "service_role_key": prof.secret("service_role_key_env") if real_secrets else templates.REDACTED,
            "db_password": prof.secret("db_password_env") if real_secrets else templates.REDACTED,
        }
        ctx: dict[str, Any] = {}
        for name, value in self.inputs.items():
            if name in self._secret_inputs:
                ctx[name] = resolve_secret(value, self.environ) if (real_secrets and value) else templates.REDACTED
            else:
                ctx[name] = value
        ctx.update(self.captures)
        ctx.update({
            "environment": self.environment_name,
            "profile": self._profile_ctx(),
            "secret": secret,
            "run": {"id": run.run_id, "dir": str(self.store.artifacts_dir(run.run_id)), "operator": run.operator.get("user", "")},
            "paths": {"backups": str(self.session.state_dir / "backups")},
            "now": {"date": f"{now:%Y%m%d}", "stamp": f"{now:%Y%m%dT%H%M%SZ}", "iso": now.isoformat()},
            "preview": preview if preview is not None else [],
        })
        if extra:
            ctx.update(extra)
        return ctx

    def _is_secret(self, path: str) -> bool:
        root = path.split(".", 1)[0]
        return root == "secret" or root in self._secret_inputs

    def _missing_secrets(self, texts: list[str], ctx: Mapping[str, Any]) -> list[str]:
        """Secret placeholders whose env var is unset: name the variable, never a value."""
        if self.is_demo:
            return []  # the demo acts on its simulation: rehearsals need no production secrets
        missing = []
        for text in texts:
            for p in templates.placeholders(text):
                if not self._is_secret(p.path):
                    continue
                try:
                    value = templates.lookup(p.path, ctx)
                except templates.TemplateError:
                    value = None
                if value in (None, ""):
                    if p.root == "secret":
                        field_name = {"access_token": "access_token_env", "service_role_key": "service_role_key_env",
                                      "db_password": "db_password_env"}.get(p.path.split(".", 1)[-1], "")
                        env_name = self.session.profile.values.get(field_name, "") or "(not configured)"
                        missing.append(f"{p.path} (env var {env_name})")
                    else:
                        missing.append(f"{p.root} (env var {secret_env_name(self.inputs.get(p.root) or 'env:UNSET')})")
        return missing

    def _render(self, text: str, ctx: Mapping[str, Any], *, display: bool) -> str:
        return templates.render(text, ctx, is_secret=self._is_secret, for_display=display)

    def _render_value(self, value: Any, ctx: Mapping[str, Any], *, display: bool) -> Any:
        return templates.render_value(value, ctx, is_secret=self._is_secret, for_display=display)

    def _route(self, action: Action) -> str:
        """Which executor runs this action here: sql, shell, http, console, demo or none."""
        if self.is_demo:
            if action.demo is not None and self.executors.demo is not None and self.executors.demo.supports(action.demo.call):
                return "demo"
            if action.console is not None:
                return "console"
            return "none"
        kind = action.payload_kind
        return kind if kind in ("sql", "shell", "http", "console") else "none"

    def build_call(self, action: Action, ctx: Mapping[str, Any], *, display: bool, wrap: SqlWrap | None = None) -> Call | None:
        route = self._route(action)
        r = lambda t: self._render(t, ctx, display=display)  # noqa: E731
        if route == "demo":
            assert action.demo is not None
            return DemoCall(action.demo.call, {k: self._render_value(v, ctx, display=display) for k, v in action.demo.args})
        if route == "console":
            assert action.console is not None
            return ConsoleCall(action.console.call, {k: self._render_value(v, ctx, display=display) for k, v in action.console.args})
        if route == "sql":
            s = action.sql
            assert s is not None
            params = tuple(self._render_value(p, ctx, display=display) for p in s.params)
            return SqlCall(r(s.query), params, r(s.database) if s.database else None, s.transaction,
                           s.statement_timeout_ms, s.lock_timeout_ms, wrap)
        if route == "shell":
            sh = action.shell
            assert sh is not None
            if sh.is_script:
                # Values pasted into a script are shell-quoted unless the author chose a filter.
                script = templates.render(sh.command or "", ctx, is_secret=self._is_secret, for_display=display, default_filter="shell")
                return ShellCall((), script, tuple((k, r(v)) for k, v in sh.env), r(sh.cwd) if sh.cwd else None)
            return ShellCall(tuple(r(a) for a in sh.argv), None, tuple((k, r(v)) for k, v in sh.env), r(sh.cwd) if sh.cwd else None)
        if route == "http":
            h = action.http
            assert h is not None
            return HttpCall(h.method, r(h.url), tuple((k, r(v)) for k, v in h.headers),
                            self._render_value(h.json, ctx, display=display) if h.json is not None else None,
                            r(h.body) if h.body is not None else None, h.expect_status)
        return None

    def _action_texts(self, action: Action) -> list[str]:
        texts: list[str] = []
        if action.sql:
            texts += [action.sql.query, *action.sql.params, *( [action.sql.database] if action.sql.database else [])]
        if action.shell:
            texts += [*action.shell.argv, *([action.shell.command] if action.shell.command else []), *(v for _, v in action.shell.env)]
        if action.http:
            texts += [action.http.url, *(v for _, v in action.http.headers), *(_strings(action.http.json)), *([action.http.body] if action.http.body else [])]
        if action.demo:
            texts += _strings(dict(action.demo.args))
        return texts

    def describe_call(self, call: Call | None, action: Action | None = None) -> str:
        """Human text of a (display-rendered) call, redacted."""
        if call is None:
            if action is not None and self.is_demo:
                live = self.build_call_live_display(action)
                return self.redactor.text((live + "\n" if live else "") + "(demo: no simulation for this step; it will be skipped)")
            return "(nothing to run)"
        if isinstance(call, SqlCall):
            db = call.database or _db_name(self.session.profile.values.get("db_dsn", ""))
            head = f"SQL on database {db}" + (" (outside a transaction)" if call.transaction.value == "none" else " (one transaction)")
            if call.wrap:
                head += f" [dry run: {call.wrap.value}]"
            text = head + ":\n" + call.query.strip()
            if call.params:
                text += "\nparams: " + ", ".join(f"${i + 1}={p!r}" for i, p in enumerate(call.params))
        elif isinstance(call, ShellCall):
            text = ("$ " + shlex.join(call.argv)) if call.script is None else "$ /bin/sh -eu -c <<'SCRIPT'\n" + call.script.rstrip() + "\nSCRIPT"
            if call.env:
                text += "\nenv: " + " ".join(f"{k}={v}" for k, v in call.env)
            if call.cwd:
                text += f"\ncwd: {call.cwd}"
        elif isinstance(call, HttpCall):
            text = f"{call.method} {call.url}"
            for k, v in call.headers:
                text += f"\n{k}: {v}"
            if call.json is not None:
                import json as _json

                text += "\n\n" + _json.dumps(call.json, indent=2, ensure_ascii=False)
            elif call.body:
                text += "\n\n" + call.body
        elif isinstance(call, ConsoleCall):
            text = f"console: {call.call}" + (f" {call.args}" if call.args else "")
        else:
            text = f"demo: {call.call}(" + ", ".join(f"{k}={v!r}" for k, v in call.args.items()) + ")"
        return self.redactor.text(text)

    def build_call_live_display(self, action: Action) -> str:
        """The live payload as text (shown on the demo beside the simulation note)."""
        if action.sql:
            return "SQL: " + action.sql.query.strip()
        if action.shell:
            return "$ " + (shlex.join(action.shell.argv) if action.shell.argv else (action.shell.command or ""))
        if action.http:
            return f"{action.http.method} {action.http.url}"
        return ""

    def _target(self, step: Step, call: Call | None) -> str:
        if isinstance(call, SqlCall):
            obj = f"db {call.database or _db_name(self.session.profile.values.get('db_dsn', ''))}"
        elif isinstance(call, HttpCall):
            parts = urlsplit(call.url)
            obj = f"{call.method} {parts.netloc}{parts.path}"
        elif isinstance(call, ShellCall):
            obj = f"exec {Path(call.argv[0]).name}" if call.argv else "script"
        elif isinstance(call, DemoCall):
            obj = f"demo {call.call}"
        else:
            obj = f"{step.kind.value} {step.id}"
        return self.redactor.text(f"{self.environment_name}/{obj}")

    # ================================================================ window

    @property
    def window(self) -> WindowStatus:
        if self._window is None:
            self._window = window_status(self.runbook, self.session.profile.maintenance, self.clock.now())
        return self._window

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
            self._save()
            await self._audit("mark", step_id=WINDOW_STEP_ID, outcome="window-confirmed", detail=self.window.message)
        else:
            await self._audit("refused", step_id=WINDOW_STEP_ID, outcome="refused", detail=decision.reason)
        return decision

    # ================================================================ prepare

    async def _run_probe(self, probe: Probe, ctx: Mapping[str, Any], step_id: str, *, stream: bool = False) -> tuple[bool, Any, str, ExecResult | None]:
        """(ok, value, detail, result) of a read-only probe; never raises."""
        call = self.build_call(probe.action, ctx, display=False)
        if call is None:
            return False, None, "no simulation for this check on the demo" if self.is_demo else "nothing to run", None
        missing = self._missing_secrets(self._action_texts(probe.action), ctx)
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
        if not step.risk.guarded:
            return None
        run = self._require_run()
        ctx = self.context(preview=preview if preview is not None else [])
        call = self.build_call(step.action, ctx, display=True) if step.action else None
        try:
            phrase = self._render(step.confirm.phrase, ctx, display=True) if step.confirm else ""
        except templates.TemplateError:
            phrase = ""  # an empty phrase refuses outright (check_confirmation)
        return Gate(run.run_id, step.id, self._target(step, call), phrase, step.risk, step.title,
                    f"{step.risk.value} step: {step.title}")

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
        """Everything to show before the gate. Runs only read-only probes (preconditions, preview)."""
        run = self._require_run()
        step = self.runbook.step(step_id)
        preview, preview_text, preview_error = await self._preview(step)
        ctx = self.context(preview=preview)
        try:
            call = self.build_call(step.action, ctx, display=True) if step.action else None
            what = self.describe_call(call, step.action) if step.action else self._describe_non_action(step)
            if step.action and call is not None and run.dry_run and step.dry_run.sql_wrap:
                what += f"\n(dry run: {step.dry_run.sql_wrap.value})"
        except templates.TemplateError as exc:
            what = f"(cannot render yet: {exc})"
        demo_note = ""
        if self.is_demo and step.action is not None:
            route = self._route(step.action)
            demo_note = {"demo": f"on the demo: {step.action.demo.call if step.action.demo else ''}",
                         "console": "on the demo: the demo's own sources",
                         "none": "no simulation on the demo: the step will be skipped"}.get(route, "")
        shown: list[tuple[str, str]] = []
        if step.confirm:
            for expr in step.confirm.show:
                try:
                    shown.append((expr, self.redactor.text(short(evaluate(expr, ctx)))))
                except ExpressionError as exc:
                    shown.append((expr, f"? ({exc})"))
        return StepPlan(
            step=step, index=self.runbook.index_of(step_id), state=run.steps[step_id].state, what_will_run=what,
            demo_note=demo_note, preview=preview, preview_text=preview_text, preview_error=preview_error,
            gate=self._gate(step, preview), shown=shown, preconditions=await self._check_preconditions(step),
            blocked=self.blocked_reason(step), rollback=step.rollback,
        )

    def _describe_non_action(self, step: Step) -> str:
        if step.kind is StepKind.MANUAL:
            text = "manual: " + step.instructions.strip()
            if step.answer is not None:
                text += "\nanswer: " + (", ".join(step.answer.choices) if step.answer.choices else step.answer.type.value)
            return self.redactor.text(text)
        if step.kind is StepKind.DECISION:
            if step.ask:
                return "decision (operator chooses): " + " | ".join(f"{c.label} -> {c.goto}" for c in step.choices)
            lines = [f"if {c.when} -> {c.goto}" + (f" ({c.label})" if c.label else "") for c in step.choices]
            return "decision:\n" + "\n".join(lines) + f"\notherwise -> {step.default}"
        return ""

    # ================================================================ execute

    async def execute(self, step_id: str, *, confirmation: Confirmation | None = None, answer: str | None = None) -> StepOutcome:
        """Run one step, enforcing every rule. Never raises for an operational fault."""
        run = self._require_run()
        step = self.runbook.step(step_id)
        rec = run.steps[step_id]
        if rec.state.done:
            return self._outcome(step, rec, detail=f"already {rec.state.value}")
        if rec.state is StepState.UNKNOWN:
            return await self._refuse(step, "outcome unknown after an interruption: verify it, or mark it done / not done (never re-run automatically)")
        if rec.state is StepState.RUNNING:
            return await self._refuse(step, "this step is already running")

        if run.dry_run:
            return await self._dry_run_step(step, answer)

        ro = check_read_only(step.risk, self.read_only)
        if not ro:
            return await self._refuse(step, ro.reason)
        if step.risk.mutating and self.window_gate() is not None:
            return await self._refuse(step, f"{self.window.message}: confirm with the phrase {self.runbook.id!r} first")

        if step.preconditions:
            pres = await self._check_preconditions(step)
            failed = [p for p in pres if not p.ok]
            if failed:
                return await self._refuse(step, "precondition failed: " + "; ".join(f"{p.step_id}: {p.detail}" for p in failed))

        preview = None
        if step.risk.guarded:
            preview, _text, perr = await self._preview(step)
            if perr:
                return await self._refuse(step, f"preview failed, nothing was run: {perr}")
            gate = self._gate(step, preview)
            assert gate is not None
            decision = check_confirmation(gate, confirmation)
            if not decision:
                return await self._refuse(step, decision.reason, gate=gate)

        if step.kind is StepKind.MANUAL:
            return await self._manual(step, answer)
        if step.kind is StepKind.DECISION:
            return await self._decision(step, answer)
        return await self._action_step(step, preview)

    async def _action_step(self, step: Step, preview: Any) -> StepOutcome:
        run = self._require_run()
        assert step.action is not None
        ctx = self.context(preview=preview)
        try:
            call = self.build_call(step.action, ctx, display=False)
            display_call = self.build_call(step.action, self.context(preview=preview, real_secrets=False), display=True)
        except templates.TemplateError as exc:
            return await self._fail_before_run(step, f"cannot render: {exc}")
        what = self.describe_call(display_call, step.action)
        if call is None:
            # The demo has no simulation for this step: say so, never pretend.
            self._transition(step.id, StepState.SKIPPED, "demo: no simulation for this step")
            await self._incident_event(step.id, "skipped", "demo: no simulation")
            return await self._advance(step, self._outcome(step, run.steps[step.id], detail="demo: no simulation for this step (skipped)"))
        missing = self._missing_secrets(self._action_texts(step.action), ctx)
        if missing:
            return await self._fail_before_run(step, "secret not set: " + ", ".join(missing))

        try:
            await self._audit("before", step=step, what=what, outcome="running")
        except OSError as exc:
            return await self._refuse(step, f"the audit log cannot be written, nothing was run ({exc})", audit=False)
        self._transition(step.id, StepState.RUNNING, "")

        attempts = 1 + (step.on_failure.retries if step.on_failure.action is OnFailure.RETRY else 0)
        result: ExecResult | None = None
        value: Any = None
        ok = False
        detail = ""
        for attempt in range(attempts):
            if attempt:
                run.steps[step.id].attempts += 1
                run.steps[step.id].history.append({"at": self._now_iso(), "note": f"retry {attempt} of {attempts - 1}"})
                self._save()
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
        detail = self.redactor.text(detail or (self._result_summary(result) if result else ""))
        if not ok and step.rollback:
            detail += f" | rollback: {step.rollback}"
        self._transition(step.id, state, detail)
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
            self._save()
            return StepOutcome(step.id, run.steps[step.id].state, f"waiting for the operator: {step.title}{expected}",
                               stopped=True, run_status=run.status, next_step=step.id)
        value: Any = str(answer).strip()
        if step.answer is not None:
            try:
                from cs_console.domain.runbooks.inputs import convert

                value = convert(step.answer, value)
            except InputError as exc:
                return StepOutcome(step.id, run.steps[step.id].state, f"answer: {exc.expected}", stopped=True,
                                   run_status=run.status, next_step=step.id)
        shown_answer = self.redactor.text(str(value))
        await self._audit("before", step=step, what=f"manual: {step.title}", outcome="answering")
        self._transition(step.id, StepState.RUNNING, "")
        rec = run.steps[step.id]
        rec.answer = shown_answer
        rec.captured = value
        if step.capture.save_as:
            self.captures[step.capture.save_as] = value
        self._transition(step.id, StepState.SUCCEEDED, f"operator: {shown_answer}")
        await self._audit("after", step=step, what=f"manual: {step.title}", outcome="succeeded", detail=f"answer: {shown_answer}")
        await self._incident_event(step.id, "succeeded", f"operator: {shown_answer}")
        return await self._advance(step, self._outcome(step, rec, detail=f"operator: {shown_answer}"))

    async def _decision(self, step: Step, answer: str | None) -> StepOutcome:
        run = self._require_run()
        target: str | None = None
        label = ""
        if step.ask:
            if answer is None or not str(answer).strip():
                run.set_status(RunStatus.WAITING, self.clock.now())
                self._save()
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
        self._transition(step.id, StepState.RUNNING, "")
        rec = run.steps[step.id]
        rec.goto = target
        rec.answer = label
        self._transition(step.id, StepState.SUCCEEDED, f"-> {target} ({label})")
        await self._audit("after", step=step, what="decision", outcome="succeeded", detail=f"-> {target} ({label})")
        self._skip_until(step, target)
        return await self._advance(step, self._outcome(step, rec, detail=f"-> {target} ({label})"))

    def _skip_until(self, step: Step, target: str) -> None:
        run = self._require_run()
        start = self.runbook.index_of(step.id) + 1
        stop = len(self.runbook.steps) if target == END else self.runbook.index_of(target)
        for s in self.runbook.steps[start:stop]:
            rec = run.steps[s.id]
            if rec.state in (StepState.PENDING, StepState.REFUSED, StepState.FAILED):
                self._transition(s.id, StepState.SKIPPED, f"skipped by decision {step.id}")

    async def _dry_run_step(self, step: Step, answer: str | None) -> StepOutcome:
        """Honest dry run: read steps run for real; others are simulated or say they are not."""
        run = self._require_run()
        if step.kind in (StepKind.CHECK, StepKind.WAIT_UNTIL):
            if step.kind is StepKind.WAIT_UNTIL:
                # One poll, no waiting.
                ok, value, detail, result = await self._run_probe(Probe(step.action, step.until, step.capture.parse), self.context(), step.id, stream=True)  # type: ignore[arg-type]
            else:
                ok, value, detail, result = await self._run_probe(Probe(step.action, step.expect, step.capture.parse), self.context(), step.id, stream=True)  # type: ignore[arg-type]
            if value is not None and step.capture.save_as:
                self.captures[step.capture.save_as] = value
            self._transition(step.id, StepState.RUNNING, "")
            rec = run.steps[step.id]
            rec.captured = self.redactor.value(value)
            rec.dry_run = "ran (read-only)"
            rec.passed_over = not ok
            self._transition(step.id, StepState.SUCCEEDED if ok else StepState.FAILED, detail or "holds")
            await self._audit("after", step=step, what="dry run: read-only check", outcome=rec.state.value, detail=rec.detail, result=result)
            return await self._advance(step, self._outcome(step, rec, detail=rec.detail, result=result))
        if step.kind is StepKind.DECISION:
            if step.ask:
                self._transition(step.id, StepState.SKIPPED, "dry run: the operator would choose: " + " | ".join(c.label for c in step.choices))
                return await self._advance(step, self._outcome(step, run.steps[step.id], detail=run.steps[step.id].detail))
            return await self._decision(step, answer)
        if step.kind is StepKind.MANUAL:
            rec = run.steps[step.id]
            rec.dry_run = "not_simulated"
            self._transition(step.id, StepState.SKIPPED, f"dry run: would ask the operator: {step.title}")
            return await self._advance(step, self._outcome(step, rec, detail=rec.detail))
        assert step.action is not None
        preview, preview_text, perr = await self._preview(step) if step.preview else (None, "", "")
        gate = self._gate(step, preview)
        need = f"; would need the confirmation {gate.phrase!r}" if gate else ""
        if gate and perr:
            need = f"; its confirmation phrase comes from the preview, which failed ({perr})"
        rec = run.steps[step.id]
        result: ExecResult | None = None
        wrap = step.dry_run.sql_wrap
        if wrap is SqlWrap.ROLLBACK and self.read_only:
            wrap = None  # a rolled-back write still writes for a moment: not in a read-only session
        ctx = self.context(preview=preview)
        if wrap is not None and self._route(step.action) == "sql":
            call = self.build_call(step.action, ctx, display=False, wrap=wrap)
            what = self.describe_call(self.build_call(step.action, self.context(preview=preview, real_secrets=False), display=True, wrap=wrap))
            await self._audit("before", step=step, what=what, outcome="dry-run")
            result = await self._execute_call(call, timeout_s=step.timeout_s, max_bytes=step.capture.max_bytes, step_id=step.id)  # type: ignore[arg-type]
            if result.ok:
                n = result.rows_affected
                rec.dry_run = "would_change" if (n or 0) > 0 else "no_change"
                detail = f"dry run ({wrap.value}): {'estimated ' if wrap is SqlWrap.EXPLAIN else ''}{n} row(s){need}"
            else:
                rec.dry_run = "not_simulated"
                detail = f"dry run failed: {self.redactor.text(result.error)}{need}"
            await self._audit("after", step=step, what=what, outcome=rec.dry_run, detail=detail, result=result)
        elif step.dry_run.argv and self._route(step.action) == "shell" and step.action.shell is not None:
            argv = tuple(self._render(a, ctx, display=False) for a in step.dry_run.argv)
            call = ShellCall(argv, None, tuple((k, self._render(v, ctx, display=False)) for k, v in step.action.shell.env))
            what = self.describe_call(ShellCall(tuple(self._render(a, ctx, display=True) for a in step.dry_run.argv)))
            await self._audit("before", step=step, what=what, outcome="dry-run")
            result = await self._execute_call(call, timeout_s=step.timeout_s, max_bytes=step.capture.max_bytes, step_id=step.id)
            rec.dry_run = "simulated_ok" if result.ok else "not_simulated"
            detail = f"dry run command {'succeeded' if result.ok else 'failed: ' + self.redactor.text(result.error)}{need}"
            await self._audit("after", step=step, what=what, outcome=rec.dry_run, detail=detail, result=result)
        else:
            rec.dry_run = "not_simulated"
            detail = f"dry run: not simulated (would run it){need}"
            if preview is not None:
                detail += f"; preview: {self.redactor.text(short(preview, 120))}"
        if result is not None:
            rec.rows_affected, rec.exit_code, rec.duration_ms = result.rows_affected, result.exit_code, result.duration_ms
            rec.output_excerpt = self.redactor.text(result.output)[-OUTPUT_EXCERPT_CHARS:]
        self._transition(step.id, StepState.SKIPPED, detail)
        return await self._advance(step, self._outcome(step, rec, detail=detail, result=result))

    async def _fail_before_run(self, step: Step, detail: str) -> StepOutcome:
        run = self._require_run()
        detail = self.redactor.text(detail)
        self._transition(step.id, StepState.RUNNING, "")
        self._transition(step.id, StepState.FAILED, detail)
        await self._audit("after", step=step, outcome="failed", detail=detail)
        await self._incident_event(step.id, "failed", detail)
        return await self._after_failure(step, self._outcome(step, run.steps[step.id], detail=detail))

    async def _refuse(self, step: Step, reason: str, *, gate: Gate | None = None, audit: bool = True) -> StepOutcome:
        run = self._require_run()
        reason = self.redactor.text(reason)
        rec = run.steps[step.id]
        if rec.state is not StepState.UNKNOWN and StepState.REFUSED in _allowed(rec.state):
            self._transition(step.id, StepState.REFUSED, reason)
        run.set_status(RunStatus.REFUSED, self.clock.now())
        self._save()
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
        self._save()
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
        self._save()
        outcome.next_step = nxt
        outcome.run_status = run.status
        if nxt is None:
            try:
                await self._audit("end", outcome=run.status.value)
            except OSError:
                self.warnings.append("the end of the run could not be audited")
        return outcome

    # ================================================================ unknown steps

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
                self._transition(step_id, StepState.SUCCEEDED, "verified after interruption")
            else:
                self._save()
            await self._audit("mark", step=step, outcome="verified" if ok else "verify-failed", detail=self.redactor.text(detail or note))
            await self._incident_event(step_id, "succeeded" if ok else "unknown", "verified after interruption" if ok else f"verification failed: {detail}")
            if not ok:
                return StepOutcome(step_id, rec.state, f"verification failed ({detail}): mark it done or not done",
                                   stopped=True, run_status=run.status, next_step=step_id)
            return await self._advance(step, self._outcome(step, rec, detail="verified after interruption"))
        if action == "done":
            self._transition(step_id, StepState.SUCCEEDED, "operator marked done" + (f": {note}" if note else ""))
            await self._audit("mark", step=step, outcome="marked-done", detail=self.redactor.text(note))
            await self._incident_event(step_id, "succeeded", "operator marked done")
            return await self._advance(step, self._outcome(step, rec, detail="operator marked done"))
        if action == "not_done":
            self._transition(step_id, StepState.PENDING, "operator marked not done" + (f": {note}" if note else ""))
            await self._audit("mark", step=step, outcome="marked-not-done", detail=self.redactor.text(note))
            return await self._advance(step, self._outcome(step, rec, detail="operator marked not done: it will run again only through its gate"))
        raise EngineError(f"resolve {step_id}: expected verify, done or not-done (got {action!r})")

    async def skip(self, step_id: str, reason: str) -> StepOutcome:
        """The operator skips a failed or refused step (audited) and goes on."""
        run = self._require_run()
        step = self.runbook.step(step_id)
        rec = run.steps[step_id]
        if StepState.SKIPPED not in _allowed(rec.state) or rec.state is StepState.RUNNING:
            return self._outcome(step, rec, detail=f"cannot skip a {rec.state.value} step")
        self._transition(step_id, StepState.SKIPPED, f"operator skipped: {reason}")
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
        self._save()
        await self._audit("end", outcome="cancelled", detail=self.redactor.text(reason))

    # ================================================================ plumbing

    async def _execute_call(self, call: Call, *, timeout_s: float, max_bytes: int, step_id: str | None) -> ExecResult:
        def emit(line: str) -> None:
            if self.on_output and step_id:
                try:
                    self.on_output(step_id, self.redactor.text(line))
                except Exception:
                    pass

        try:
            if isinstance(call, ConsoleCall):
                if self.environment is None:
                    return ExecResult(False, error="console calls need the environment (health, metrics, logs sources)")
                from cs_console.services.runbook_console_calls import run_console_call

                return await run_console_call(self.environment, call, timeout_s=timeout_s, on_output=emit)
            executor = {SqlCall: self.executors.sql, ShellCall: self.executors.shell, HttpCall: self.executors.http,
                        DemoCall: self.executors.demo}.get(type(call))
            if executor is None:
                what = {SqlCall: "SQL (set db_dsn in the profile)", ShellCall: "shell", HttpCall: "HTTP", DemoCall: "demo"}[type(call)]
                return ExecResult(False, error=f"no executor for {what} in this session")
            result = await executor.execute(call, timeout_s=timeout_s, max_bytes=max_bytes, on_output=emit)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # an executor bug must not take the console down, nor leak a secret
            return ExecResult(False, error=self.redactor.text(f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"))
        result.error = self.redactor.text(result.error)
        return result

    def _result_summary(self, result: ExecResult) -> str:
        bits = []
        if result.rows_affected is not None:
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
        from cs_console.domain.runbooks.run_state import iso

        return iso(self.clock.now())

    def _transition(self, step_id: str, to: StepState, note: str) -> None:
        run = self._require_run()
        try:
            run.transition(step_id, to, self.clock.now(), self.redactor.text(note))
        except TransitionError:
            raise
        if to is StepState.RUNNING and run.status is not RunStatus.RUNNING:
            run.status = RunStatus.RUNNING
        self._save()

    def _save(self) -> None:
        run = self._require_run()
        self.store.save(run)
        if self.on_change:
            try:
                self.on_change(run)
            except Exception:
                pass

    async def _audit(self, phase: str, *, step: Step | None = None, step_id: str | None = None, what: str | None = None,
                     outcome: str | None = None, detail: str | None = None, result: ExecResult | None = None,
                     extra: dict[str, Any] | None = None) -> None:
        from cs_console.stores.audit_log import audit_record

        run = self.run
        rec = audit_record(
            phase=phase, user=self._operator.get("user"), ssh_client=self._operator.get("ssh_client"),
            host=self._operator.get("host"), profile=self.session.profile.name, environment=self.environment_name,
            runbook_id=self.runbook.id, runbook_sha256=self.runbook.sha256, run_id=run.run_id if run else None,
            step_id=step.id if step else step_id, risk=step.risk.value if step else None, what=what, outcome=outcome,
            detail=detail or None, exit_code=result.exit_code if result else None,
            http_status=result.http_status if result else None, rows_affected=result.rows_affected if result else None,
            duration_ms=result.duration_ms if result else None, incident_ref=run.incident_ref if run else None,
            dry_run=True if (run and run.dry_run) else None, read_only=True if self.read_only else None,
            **(extra or {}),
        )
        await self.audit.append(self.redactor.value(rec))

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

    # ================================================================ the CLI loop

    async def run_all(self, phrases: list[str], answers: Mapping[str, str], *, marks: Mapping[str, str] | None = None,
                      report: Callable[[str], None] | None = None) -> StepOutcome | None:
        """Non-interactive driver: each guarded step consumes one matching --confirm phrase.

        Returns the last outcome (None when nothing was left to do).
        """
        from cs_console.domain.runbooks.guard import phrase_matches

        say = report or (lambda _line: None)
        pool = list(phrases)

        def take(phrase: str) -> str | None:
            for i, typed in enumerate(pool):
                if phrase_matches(phrase, typed):
                    return pool.pop(i)
            return None

        for sid, action in (marks or {}).items():
            out = await self.resolve_unknown(sid, action)
            say(f"{sid}: {out.detail}")
            if out.stopped:
                return out
        last: StepOutcome | None = None
        seen: set[tuple[str, int]] = set()
        while (step := self.next_step()) is not None:
            key = (step.id, self._require_run().steps[step.id].attempts)
            if key in seen:  # no progress: never spin
                return StepOutcome(step.id, self._require_run().steps[step.id].state, "no progress on this step",
                                   stopped=True, run_status=self._require_run().status, next_step=step.id)
            seen.add(key)
            if self._require_run().steps[step.id].state is StepState.UNKNOWN:
                return StepOutcome(step.id, StepState.UNKNOWN,
                                   "outcome unknown after an interruption: never re-run automatically; verify it or mark it done / not done",
                                   stopped=True, run_status=self._require_run().status, next_step=step.id)
            conf: Confirmation | None = None
            if step.risk.mutating and not self._require_run().dry_run:
                gate = self.window_gate()
                if gate is not None:
                    typed = take(gate.phrase)
                    decision = await self.confirm_window(gate.confirm(typed) if typed is not None else None)
                    if not decision:
                        return StepOutcome(step.id, self._require_run().steps[step.id].state,
                                           f"{self.window.message}: re-run with --confirm {shlex.quote(gate.phrase)} to run anyway",
                                           refused=True, stopped=True, run_status=self._require_run().status, next_step=step.id)
            if step.risk.guarded and not self._require_run().dry_run and not self.read_only:
                plan = await self.prepare(step.id)
                if plan.gate is not None:
                    typed = take(plan.gate.phrase)
                    if typed is None and pool:
                        typed = pool.pop(0)  # a wrong phrase is refused as a mismatch, not as "missing"
                    if typed is not None:
                        conf = plan.gate.confirm(typed)
            say(f"[{self.runbook.index_of(step.id) + 1}/{len(self.runbook.steps)}] {step.id} ({step.kind.value}, {step.risk.value}): {step.title}")
            last = await self.execute(step.id, confirmation=conf, answer=answers.get(step.id))
            say(f"    -> {last.state.value}: {last.detail}")
            if last.stopped:
                return last
        return last


def _allowed(state: StepState) -> frozenset[StepState]:
    from cs_console.domain.runbooks.run_state import ALLOWED

    return ALLOWED[state]


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, (list, tuple)):
        return [s for v in value for s in _strings(v)]
    return []


def build_audit_trail(session: "Session") -> Any:
    """Local audit always; the team table too when the profile's store is postgres (not on the demo)."""
    from cs_console.stores.audit_log import AuditTrail, LocalAuditLog, PgAuditLog

    local = LocalAuditLog.in_state_dir(session.state_dir)
    target = session.team_store
    team = PgAuditLog(target.dsn, target.password) if target is not None and target.dsn else None
    return AuditTrail(local, team)


def build_run_lock(session: "Session", runbook_id: str) -> Any:
    from cs_console.stores.run_lock import LocalRunLock, PgRunLock

    target = session.team_store
    if target is not None and target.dsn:
        return PgRunLock(target.dsn, runbook_id, session.profile.name, target.password)
    return LocalRunLock(session.state_dir / "locks", runbook_id, session.profile.name)


def load_runbook_or_error(runbook_id: str) -> tuple[Runbook | None, str]:
    """For commands and the TUI: the runbook, or a one-line error."""
    from cs_console.services.runbook_catalog import load_catalog

    catalog = load_catalog()
    rb = catalog.get(runbook_id)
    if rb is not None:
        return rb, ""
    broken = [e for e in catalog.errors if runbook_id in str(e)]
    if broken:
        return None, str(broken[0])
    known = ", ".join(sorted(catalog.runbooks)) or "none"
    return None, f"runbook error: unknown runbook {runbook_id!r} (known: {known})"


async def run_with_engine(engine: RunbookEngine, fn: Callable[[RunbookEngine], Awaitable[Any]]) -> Any:
    try:
        return await fn(engine)
    finally:
        await engine.close()
