"""Two-person approval: which steps need a second person, and whether an approval counts.

A step needs a second person's approval when the runbook marks it
(``approval = "second-person"``) or when the profile's rule
(``second_person_approval``) covers its risk:

- ``auto`` (default): marked steps, and irreversible steps in an environment named production;
- ``irreversible``: marked steps and every irreversible step;
- ``guarded``: marked steps and every destructive or irreversible step;
- ``marked``: only marked steps;
- ``off``: nobody's approval is asked (the engine audits each step it waived).

An approval counts only when it was given by *another person*: a different OS
user (name and uid) connected from a different SSH client than the one who
executes the step, for that run, that step and that target, and not older than
the profile's ``approval_max_age_minutes``. It is used once: the step it
approved consumes it. Pure: no I/O; times come from the caller.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from cs_console.domain.runbooks.schema import Approval, Risk, Step

POLICIES: tuple[str, ...] = ("auto", "irreversible", "guarded", "marked", "off")
PENDING, APPROVED, REJECTED, USED, EXPIRED = "pending", "approved", "rejected", "used", "expired"


def approval_required(step: Step, policy: str, *, production: bool) -> bool:
    """Whether the rule asks a second person for this step (before "off" waives it)."""
    if step.approval is Approval.SECOND_PERSON:
        return True
    if policy in ("auto", "off"):
        return production and step.risk is Risk.IRREVERSIBLE
    if policy == "irreversible":
        return step.risk is Risk.IRREVERSIBLE
    if policy == "guarded":
        return step.risk.guarded
    return False


def who(identity: dict[str, Any] | None) -> str:
    """user@ssh-client, for messages and the audit."""
    if not identity:
        return "nobody"
    user = str(identity.get("user") or "?")
    ssh = str(identity.get("ssh_client") or "")
    return user + (f"@{ssh}" if ssh else " (local login)")


def same_person(a: dict[str, Any], b: dict[str, Any]) -> str:
    """Why `a` and `b` cannot count as two people ("" when they can).

    Both the OS user and the SSH client must differ: one person with two accounts on one
    laptop, or two sessions of one account, is one person. Two local logins (no SSH
    client on either side) share the machine's keyboard, so they do not differ either.
    """
    if str(a.get("user", "")) == str(b.get("user", "")) or (
            a.get("uid") is not None and b.get("uid") is not None and a.get("uid") == b.get("uid")):
        return f"the same OS user ({a.get('user')})"
    if str(a.get("ssh_client", "")) == str(b.get("ssh_client", "")):
        client = a.get("ssh_client") or "no SSH client (local logins)"
        return f"the same SSH client ({client})"
    return ""


@dataclass
class ApprovalRequest:
    """One request for a second person's approval of one step of one run, and its decision."""

    id: int
    run_id: str
    step_id: str
    runbook_id: str
    profile: str
    environment: str
    target: str
    phrase: str  # the step's confirm phrase, which the approver types too
    what: str  # what will run (redacted), as the runner was shown
    requested_by: dict[str, Any]
    requested_at: datetime
    status: str = PENDING
    decided_by: dict[str, Any] = field(default_factory=dict)
    decided_at: datetime | None = None
    reason: str = ""
    reported: bool = False  # the runner's console has shown this rejection (the next confirmation asks again)

    def expired(self, now: datetime, max_age: timedelta) -> bool:
        return self.status == APPROVED and self.decided_at is not None and now - self.decided_at > max_age


def check_approval(req: ApprovalRequest | None, *, run_id: str, step_id: str, target: str,
                   executor: dict[str, Any], now: datetime, max_age: timedelta) -> str:
    """Why the step must not run on this approval ("" when it may)."""
    if req is None:
        return "no second person has approved this step"
    if (req.run_id, req.step_id) != (run_id, step_id):
        return f"the approval is for {req.step_id} of run {req.run_id}"
    if req.status == PENDING:
        return f"waiting for a second person's approval (requested by {who(req.requested_by)})"
    if req.status == REJECTED:
        return f"rejected by {who(req.decided_by)}" + (f": {req.reason}" if req.reason else "")
    if req.status != APPROVED:
        return f"the approval is {req.status}: ask again"
    if req.target != target:
        return f"the approval was for target {req.target!r}, the step now acts on {target!r}: ask again"
    if req.expired(now, max_age):
        return f"the approval by {who(req.decided_by)} is older than {int(max_age.total_seconds() // 60)} min: ask again"
    problem = same_person(req.decided_by, executor)
    if problem:
        return f"approved by {problem} as the one running it: a second person must approve"
    return ""
