"""The two-person rule, in the engine: a step that needs a second person's approval runs only on one.

After the runner's own typed confirmation (the gate), a step the rule covers
(``domain/runbooks/approval.py``) asks the team store:

- no request yet (or the last one was used, expired, or its rejection shown): a request
  is written (run, step, target, the phrase, what will run, who asks), audited
  ``approval-requested``, and the step waits (the run is ``waiting``; nothing ran);
- pending: it still waits;
- rejected: refused once with the rejecter's name and reason (confirming again asks again);
- approved: it runs only if the approval is bound to this run, step and target, is not
  older than ``approval_max_age_minutes``, and comes from another OS user *and* another
  SSH client than the one executing; it is consumed (used once) before the step runs,
  and the step's ``before``/``after`` records name the approver (``approved_by``).
  An expired approval is audited ``approval-expired``.

This machine's store cannot hold approvals: such a step is refused there with a clear
message, unless the profile waives the rule (``second_person_approval = "off"``), and
then every waived step is audited ``approval-waived``. A dry run asks nobody.

``wait_for_decision`` waits for another engineer's decision on a waiting step (the CLI's
``--wait``, the wizard while it shows "waiting for approval"): the caller then executes the
step again with the runner's confirmation, and the engine applies the rules above.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from datetime import timedelta
from typing import Any

from cs_console.domain.runbooks import templates
from cs_console.domain.runbooks.approval import (
    APPROVED, EXPIRED, PENDING, REJECTED, USED, ApprovalRequest, approval_required, check_approval, who,
)
from cs_console.domain.runbooks.guard import Gate
from cs_console.domain.runbooks.run_state import RunStatus
from cs_console.domain.runbooks.schema import Step
from cs_console.services.runbooks.core import EngineCore
from cs_console.services.runbooks.plan import StepOutcome

POLICY_KEY = "second_person_approval"
LOCAL_STORE_REFUSAL = (
    "this step needs a second person's approval, and only the team store can hold one "
    "(store = \"postgres\" with team_dsn): nothing was run "
    f"(a profile may waive the rule, audited: {POLICY_KEY} = \"off\")"
)


class ApprovalRule(EngineCore):
    def _approval_policy(self) -> str:
        return str(getattr(self.profile, POLICY_KEY, "auto"))

    def approval_needed(self, step: Step) -> bool:
        production = self.environment_name.lower() in ("production", "prod")
        return approval_required(step, self._approval_policy(), production=production)

    def _max_age(self) -> timedelta:
        return timedelta(minutes=int(getattr(self.profile, "approval_max_age_minutes", 30)))

    async def approval_state(self, step: Step) -> str:
        """One line for the plan: what the rule asks of this step now ("" when it does not apply)."""
        run = self.run
        if run is None or run.dry_run or not self.approval_needed(step):
            return ""
        if self._approval_policy() == "off":
            return f"two-person rule waived by the profile ({POLICY_KEY} = \"off\"): your phrase alone runs it (audited)"
        if self.approvals is None:
            return LOCAL_STORE_REFUSAL
        try:
            req = await self.approvals.latest(run.run_id, step.id)
        except Exception as exc:
            return f"the approval cannot be checked ({type(exc).__name__})"
        if req is None or req.status in (USED, EXPIRED) or (req.status == REJECTED and req.reported):
            return "needs a second person's approval: confirming asks the team"
        if req.status == PENDING:
            return f"waiting for approval (asked by {who(req.requested_by)})"
        if req.status == REJECTED:
            return f"rejected by {who(req.decided_by)}" + (f": {req.reason}" if req.reason else "")
        return f"approved by {who(req.decided_by)}"

    async def _second_person(self, step: Step, gate: Gate, preview: Any = None) -> StepOutcome | None:
        """None when the step may run now; else the waiting or refused outcome."""
        run = self._require_run()
        if not self.approval_needed(step):
            return None
        if self._approval_policy() == "off":
            await self._audit("approval", step=step, outcome="approval-waived",
                              detail=f"{POLICY_KEY} = \"off\" in profile {self.profile.name}: run on one person's phrase")
            return None
        if self.approvals is None:
            return await self._refuse(step, LOCAL_STORE_REFUSAL, gate=gate)
        try:
            req = await self.approvals.latest(run.run_id, step.id)
            now = self.clock.now()
            if req is not None and req.status == APPROVED and (req.target != gate.target or req.expired(now, self._max_age())):
                reason = check_approval(req, run_id=run.run_id, step_id=step.id, target=gate.target,
                                        executor=self._operator, now=now, max_age=self._max_age())
                await self.approvals.expire(req.id)
                await self._audit("approval", step=step, outcome="approval-expired", detail=reason,
                                  extra={"approver": str(req.decided_by.get("user", ""))})
                return await self._refuse(step, f"{reason} (confirming again asks again)", gate=gate)
            if req is not None and req.status == REJECTED and not req.reported:
                await self.approvals.mark_reported(req.id)
                reason = check_approval(req, run_id=run.run_id, step_id=step.id, target=gate.target,
                                        executor=self._operator, now=now, max_age=self._max_age())
                return await self._refuse(step, f"{reason} (confirming again asks again)", gate=gate)
            if req is None or req.status in (USED, EXPIRED, REJECTED):
                req = await self.approvals.request(
                    run_id=run.run_id, step_id=step.id, runbook_id=self.runbook.id, profile=self.profile.name,
                    environment=self.environment_name, target=gate.target, phrase=gate.phrase,
                    what=self._what_for_approver(step, preview), requested_by=self._operator)
                await self._audit("approval", step=step, outcome="approval-requested",
                                  detail=f"asked the team for a second person's approval (request {req.id})")
                return await self._await_approval(step, req)
            if req.status == PENDING:
                return await self._await_approval(step, req)
            problem = check_approval(req, run_id=run.run_id, step_id=step.id, target=gate.target,
                                     executor=self._operator, now=now, max_age=self._max_age())
            if problem:
                await self._audit("approval", step=step, outcome="approval-refused", detail=problem,
                                  extra={"approver": str(req.decided_by.get("user", ""))})
                return await self._refuse(step, problem, gate=gate)
            if not await self.approvals.consume(req.id):
                return await self._refuse(step, "the approval was used or withdrawn meanwhile: confirm again to ask again", gate=gate)
        except Exception as exc:  # the team store failing: nothing runs, and the console says why
            return await self._refuse(step, f"the approval cannot be checked ({self.redactor.text(str(exc)) or type(exc).__name__}): nothing was run",
                                      gate=gate)
        self._approved_by[step.id] = dict(req.decided_by)
        await self._audit("approval", step=step, outcome="approval-used",
                          detail=f"approved by {who(req.decided_by)}, asked by {who(req.requested_by)}")
        return None

    async def wait_for_decision(self, step_id: str, *, timeout_s: float | None = None,
                                poll_s: float = 5.0) -> ApprovalRequest | None:
        """Wait until this step's approval request is no longer pending: another engineer approved or
        rejected it (or it was used, or expired). Returns that request; None on timeout, or when no
        request waits (nothing to wait for). Woken by the team store's NOTIFY (a decision notifies the
        runs channel), and re-read every poll_s, since a NOTIFY can be missed across a reconnect."""
        run = self._require_run()
        if self.approvals is None:
            return None
        woken = asyncio.Event()

        def note(run_id: str | None) -> None:
            if run_id is None or run_id == run.run_id:
                woken.set()

        unsubscribe = None
        subscribe = getattr(self.store, "subscribe", None)
        if subscribe is not None:
            with contextlib.suppress(Exception):  # no LISTEN: the poll still sees the decision
                unsubscribe = await subscribe(note)
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        try:
            while True:
                woken.clear()
                req = await self.approvals.latest(run.run_id, step_id)
                if req is None:
                    return None
                if req.status != PENDING:
                    return req
                left = poll_s if deadline is None else min(poll_s, deadline - time.monotonic())
                if left <= 0:
                    return None
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(woken.wait(), timeout=left)
        finally:
            if unsubscribe is not None:
                with contextlib.suppress(Exception):
                    await unsubscribe()

    def _what_for_approver(self, step: Step, preview: Any) -> str:
        """What will run, redacted, as the runner's plan shows it: the approver reviews this exact call."""
        try:
            ctx = self.context(preview=preview if preview is not None else [])
            call = self.renderer.build_call(step.action, ctx, display=True) if step.action else None
            text = self.renderer.describe_call(call, step.action, ctx) if step.action else self.renderer.describe_non_action(step)
        except templates.TemplateError as exc:
            text = f"(cannot render: {exc})"
        return self.redactor.text(text)

    async def _await_approval(self, step: Step, req: ApprovalRequest) -> StepOutcome:
        run = self._require_run()
        run.set_status(RunStatus.WAITING, self.clock.now())
        await self._save()
        rec = run.steps[step.id]
        return StepOutcome(
            step.id, rec.state,
            f"waiting for a second person's approval (asked by {who(req.requested_by)}): another engineer runs "
            f"`cs-console runbook approve {run.run_id} {step.id} --confirm PHRASE` or approves it in the Runbooks pane",
            stopped=True, run_status=run.status, next_step=step.id, waiting_approval=True,
        )
