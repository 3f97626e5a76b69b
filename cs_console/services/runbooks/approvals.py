"""A second person's decision on an approval request: approve (with their own typed phrase) or reject.

Used by `cs-console runbook approve|reject` and the Runbooks pane. The store refuses a
decision by the engineer who asked (same OS user or same SSH client) and a decision on a
request that is not pending; this adds the typed phrase and the audit: every decision,
and every refused attempt, is audited with both people (``user`` the decider,
``requested_by`` the runner).
"""

from __future__ import annotations

from typing import Any, Protocol

from cs_console.domain.runbooks.approval import ApprovalRequest, who
from cs_console.domain.runbooks.guard import phrase_matches
from cs_console.stores.audit_log import audit_record


class ApprovalDecisions(Protocol):
    async def latest(self, run_id: str, step_id: str) -> ApprovalRequest | None: ...
    async def decide(self, run_id: str, step_id: str, *, approve: bool, by: dict[str, Any], typed: str = "",
                     reason: str = "", phrase_matches: Any = None) -> ApprovalRequest: ...


class DecisionRefused(Exception):
    """str() is one line: why the decision was not recorded."""


async def decide(approvals: ApprovalDecisions, audit: Any, *, run_id: str, step_id: str, approve: bool,
                 identity: dict[str, Any], typed: str = "", reason: str = "", profile: str = "") -> ApprovalRequest:
    """Record the decision (raises DecisionRefused, audited, when it cannot count)."""
    from cs_console.stores.approval_store_pg import ApprovalRefused

    verb = "approve" if approve else "reject"
    if not approve and not reason.strip():
        raise DecisionRefused("a rejection needs a reason (--reason R): the runner reads it")
    req = await approvals.latest(run_id, step_id)
    base = dict(phase="approval", user=identity.get("user"), ssh_client=identity.get("ssh_client"), host=identity.get("host"),
                profile=profile or (req.profile if req else None), environment=req.environment if req else None,
                runbook_id=req.runbook_id if req else None, run_id=run_id, step_id=step_id,
                requested_by=str(req.requested_by.get("user", "")) if req else None,
                requested_by_ssh_client=str(req.requested_by.get("ssh_client", "")) if req else None,
                target=req.target if req else None)
    try:
        done = await approvals.decide(run_id, step_id, approve=approve, by=identity, typed=typed, reason=reason.strip(),
                                      phrase_matches=phrase_matches)
    except ApprovalRefused as exc:
        await audit.append(audit_record(**base, outcome="approval-refused", detail=f"{verb}: {exc}"))
        raise DecisionRefused(f"refused: {exc}") from None
    await audit.append(audit_record(
        **base, outcome="approved" if approve else "rejected",
        detail=(f"{who(identity)} approved the request of {who(done.requested_by)}" if approve
                else f"{who(identity)} rejected the request of {who(done.requested_by)}: {reason.strip()}")))
    return done
