"""The state of one runbook run: a step state machine, serialisable for resume.

Step states::

    pending ──► running ──► succeeded
       │           ├──────► failed ──► running (retry) / skipped (operator)
       │           ├──────► unknown ─► succeeded (verified / marked done) / pending (marked not done)
       │           └──────► cancelled ─► pending (resume)
       ├──► skipped          (decision jumped over it, dry run, no demo simulation)
       ├──► refused ─► running (confirmed later) / pending (resume)
       └──► cancelled

``unknown`` exists for one reason: the process died while a non-idempotent
step was running, so nobody knows whether it happened. It is never re-run
automatically; the operator verifies it or marks it done / not done.

The store (``stores/run_store.py``) saves the run after every transition.
Pure: no I/O; times come from the caller.
"""

from __future__ import annotations

import secrets
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from enum import StrEnum
from typing import Any


class StepState(StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    SKIPPED = "skipped"
    REFUSED = "refused"
    UNKNOWN = "unknown"
    CANCELLED = "cancelled"

    @property
    def done(self) -> bool:
        """Nothing more will happen to this step without the operator."""
        return self in (StepState.SUCCEEDED, StepState.SKIPPED)


class RunStatus(StrEnum):
    RUNNING = "running"  # the process is working on it (or died doing so)
    WAITING = "waiting"  # stopped at a gate, a manual step or an unknown step
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    REFUSED = "refused"
    CANCELLED = "cancelled"

    @property
    def finished(self) -> bool:
        return self in (RunStatus.SUCCEEDED, RunStatus.FAILED, RunStatus.CANCELLED)


ALLOWED: dict[StepState, frozenset[StepState]] = {
    StepState.PENDING: frozenset({StepState.RUNNING, StepState.SKIPPED, StepState.REFUSED, StepState.CANCELLED, StepState.SUCCEEDED}),
    StepState.RUNNING: frozenset({StepState.SUCCEEDED, StepState.FAILED, StepState.UNKNOWN, StepState.CANCELLED, StepState.PENDING, StepState.SKIPPED}),
    StepState.FAILED: frozenset({StepState.RUNNING, StepState.SKIPPED, StepState.PENDING}),
    StepState.REFUSED: frozenset({StepState.RUNNING, StepState.PENDING, StepState.REFUSED, StepState.CANCELLED, StepState.SKIPPED}),
    StepState.UNKNOWN: frozenset({StepState.SUCCEEDED, StepState.PENDING, StepState.FAILED}),
    StepState.CANCELLED: frozenset({StepState.PENDING}),
    StepState.SUCCEEDED: frozenset(),
    StepState.SKIPPED: frozenset(),
}


class TransitionError(ValueError):
    pass


NOT_SIMULATED = "not_simulated"  # StepRecord.dry_run of a step that nothing ran (demo or dry run)
REHEARSED = "rehearsed (not simulated)"


def outcome_text(status: RunStatus, failed: int, rehearsed: int) -> str:
    """"succeeded" only when every step ran and held; else "completed (with N failed checks)" and the rehearsals.

    A run that reached its end with failed (not waived) checks did not succeed; a step the demo
    only rehearsed was not done, and the outcome counts those too.
    """
    if status is not RunStatus.SUCCEEDED:
        text = status.value
    elif failed:
        text = f"completed with {failed} failed check{'s' if failed != 1 else ''}"
    else:
        text = "completed" if rehearsed else "succeeded"  # succeeded: every step did run
    if rehearsed:
        text += f"; {rehearsed} step{'s' if rehearsed != 1 else ''} {REHEARSED}"
    return text


def new_run_id(now: datetime) -> str:
    """Sortable by time, unique enough for one operator's state dir and the team store."""
    return f"{now.astimezone(timezone.utc):%Y%m%dT%H%M%SZ}-{secrets.token_hex(3)}"


def iso(t: datetime) -> str:
    return t.astimezone(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass
class StepRecord:
    step_id: str
    state: StepState = StepState.PENDING
    attempts: int = 0
    started_at: str | None = None
    ended_at: str | None = None
    duration_ms: int | None = None
    detail: str = ""  # one line: outcome, error, refusal reason (redacted)
    exit_code: int | None = None
    http_status: int | None = None
    rows_affected: int | None = None
    output_excerpt: str = ""  # redacted, capped
    captured: Any = None  # redacted JSON-able value (resume rebuilds the context from it)
    dry_run: str = ""  # would_change / no_change / not_simulated / simulated_ok
    answer: str | None = None  # manual answer or decision choice
    goto: str | None = None  # decision outcome
    verified: bool | None = None
    passed_over: bool = False  # failed, and the run went on (on_failure = continue, or a dry run)
    history: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["state"] = self.state.value
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "StepRecord":
        d = dict(d)
        d["state"] = StepState(d.get("state", "pending"))
        known = {f for f in cls.__dataclass_fields__}
        return cls(**{k: v for k, v in d.items() if k in known})


@dataclass
class Run:
    run_id: str
    runbook_id: str
    runbook_sha256: str
    runbook_version: str
    runbook_source: str
    profile: str
    environment: str
    dry_run: bool
    inputs: dict[str, Any]  # secret inputs hold their env:NAME reference only
    operator: dict[str, Any]
    started_at: str
    status: RunStatus = RunStatus.RUNNING
    updated_at: str = ""
    ended_at: str | None = None
    incident_ref: str | None = None
    steps: dict[str, StepRecord] = field(default_factory=dict)
    window_confirmed: bool = False
    notes: list[str] = field(default_factory=list)
    schema: int = 1
    owner: dict[str, Any] = field(default_factory=dict)  # who runs it now, after a take-over ({} = the operator who started it)
    # {{paths.*}} as they were when the run started: a resume or a take-over uses these, not its
    # own console's, so the run's steps keep reading the files its earlier steps wrote ({} = older runs).
    paths: dict[str, str] = field(default_factory=dict)

    @classmethod
    def new(cls, *, run_id: str, runbook_id: str, runbook_sha256: str, runbook_version: str, runbook_source: str,
            step_ids: list[str], profile: str, environment: str, dry_run: bool, inputs: dict[str, Any],
            operator: dict[str, Any], now: datetime, incident_ref: str | None = None,
            paths: dict[str, str] | None = None) -> "Run":
        return cls(
            run_id=run_id, runbook_id=runbook_id, runbook_sha256=runbook_sha256, runbook_version=runbook_version,
            runbook_source=runbook_source, profile=profile, environment=environment, dry_run=dry_run,
            inputs=dict(inputs), operator=dict(operator), started_at=iso(now), updated_at=iso(now),
            incident_ref=incident_ref, steps={sid: StepRecord(sid) for sid in step_ids}, paths=dict(paths or {}),
        )

    # -------------------------------------------------------- transitions

    def step(self, step_id: str) -> StepRecord:
        try:
            return self.steps[step_id]
        except KeyError:
            raise TransitionError(f"no step {step_id!r} in run {self.run_id}") from None

    def transition(self, step_id: str, to: StepState, now: datetime, note: str = "") -> StepRecord:
        rec = self.step(step_id)
        if to not in ALLOWED[rec.state]:
            raise TransitionError(f"step {step_id}: {rec.state.value} -> {to.value} is not allowed")
        stamp = iso(now)
        rec.history.append({"at": stamp, "from": rec.state.value, "to": to.value, **({"note": note} if note else {})})
        if to is StepState.RUNNING:
            rec.passed_over = False
            rec.attempts += 1
            rec.started_at = stamp
            rec.ended_at = None
            rec.duration_ms = None
        elif rec.state is StepState.RUNNING:
            rec.ended_at = stamp
        rec.state = to
        if note:
            rec.detail = note
        self.updated_at = stamp
        return rec

    def set_status(self, status: RunStatus, now: datetime) -> None:
        self.status = status
        self.updated_at = iso(now)
        if status.finished:
            self.ended_at = iso(now)

    # -------------------------------------------------------- queries

    def first_open_step(self, order: list[str]) -> str | None:
        """The step a (resumed) run continues at: the first not succeeded/skipped."""
        for sid in order:
            rec = self.steps.get(sid)
            if rec is not None and not rec.state.done and not (rec.passed_over and rec.state is StepState.FAILED):
                return sid
        return None

    @property
    def failed_checks(self) -> list[str]:
        """Steps that failed and were not waived (an operator's skip waives one)."""
        return [sid for sid, r in self.steps.items() if r.state is StepState.FAILED]

    @property
    def rehearsed_steps(self) -> list[str]:
        """Steps that nothing ran: the demo or a dry run has no simulation for them."""
        return [sid for sid, r in self.steps.items() if r.state is StepState.SKIPPED and r.dry_run == NOT_SIMULATED]

    def outcome_text(self) -> str:
        """The run's outcome in words that never say more than happened."""
        return outcome_text(self.status, len(self.failed_checks), len(self.rehearsed_steps))

    def states(self) -> dict[str, str]:
        return {sid: r.state.value for sid, r in self.steps.items()}

    @property
    def unknown_steps(self) -> list[str]:
        return [sid for sid, r in self.steps.items() if r.state is StepState.UNKNOWN]

    def mark_interrupted(self, idempotent: dict[str, bool], now: datetime) -> list[str]:
        """After the process died: a running step becomes unknown (or pending when idempotent).

        Returns the ids that became unknown.
        """
        became_unknown = []
        for sid, rec in self.steps.items():
            if rec.state is StepState.RUNNING:
                if idempotent.get(sid, False):
                    self.transition(sid, StepState.PENDING, now, "interrupted; idempotent, will run again")
                else:
                    self.transition(sid, StepState.UNKNOWN, now, "interrupted while running: outcome unknown (verify, or mark done / not done)")
                    became_unknown.append(sid)
        if not self.status.finished:
            self.status = RunStatus.WAITING
            self.updated_at = iso(now)
        self.notes.append(f"{iso(now)} interrupted run recovered")
        return became_unknown

    # -------------------------------------------------------- serialisation

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["status"] = self.status.value
        d["steps"] = [r.to_dict() for r in self.steps.values()]
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "Run":
        d = dict(d)
        steps = [StepRecord.from_dict(s) for s in d.pop("steps", [])]
        d["status"] = RunStatus(d.get("status", "running"))
        known = {f for f in cls.__dataclass_fields__}
        run = cls(**{k: v for k, v in d.items() if k in known})
        run.steps = {s.step_id: s for s in steps}
        return run
