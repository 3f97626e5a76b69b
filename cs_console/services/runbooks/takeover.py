"""Taking over a team run whose owner is gone, and handing one over.

In team mode a run belongs to the engineer who started it (or last took it over).
Another engineer continues it only as a *take-over*:

- the owner's console must be gone: nobody holds the run's advisory lock (its
  session died with the process, or the owner handed the run over, which lets go
  of the lock); the store refuses a claim while a live session holds it;
- it is confirmed by typing the run id (:func:`takeover_gate`), audited with both
  names (``takeover`` record: ``user`` the new owner, ``previous_owner`` the old);
- the step that was running when the owner vanished becomes ``unknown``, like
  every resumed run's, and is never re-run without the new owner's decision.

The engine calls this from ``resume``; the CLI (`runbook takeover`) and the
Runbooks pane build the confirmation.
"""

from __future__ import annotations

from typing import Any

from cs_console.domain.runbooks.approval import who
from cs_console.domain.runbooks.guard import Confirmation, Gate, check_confirmation
from cs_console.domain.runbooks.run_state import Run, RunStatus, iso
from cs_console.domain.runbooks.schema import Risk
from cs_console.services.runbooks.core import EngineCore
from cs_console.services.runbooks.plan import EngineError

TAKEOVER_STEP_ID = "@takeover"
OWNER_KEYS = ("user", "uid", "ssh_client", "host")

__all__ = ["TAKEOVER_STEP_ID", "TakeoverRule", "takeover_gate", "who"]


def takeover_gate(run_id: str, environment_name: str) -> Gate:
    """The confirmation a take-over needs: the run id, typed."""
    return Gate(run_id, TAKEOVER_STEP_ID, f"{environment_name}/run {run_id}", run_id, Risk.WRITE,
                "Take over a run", "take over a run whose owner is gone")


def owns(owner: dict[str, Any], me: dict[str, Any]) -> bool:
    """The same engineer (from any SSH client: a reconnect from a new address is still them)."""
    return str(owner.get("user", "")) == str(me.get("user", ""))


class TakeoverRule(EngineCore):
    async def _check_takeover(self, run: Run, takeover: Confirmation | None) -> dict[str, Any] | None:
        """Called by resume with the run claimed: the previous owner when this is a take-over, else None."""
        owner = dict(run.owner or run.operator)
        if self.store.kind != "postgres" or owns(owner, self._operator):
            return None
        if takeover is None:
            await self._let_go(run.run_id)
            raise EngineError(f"run {run.run_id} belongs to {who(owner)}, whose console is gone: "
                              f"take it over first (cs-console runbook takeover {run.run_id})")
        decision = check_confirmation(takeover_gate(run.run_id, self.environment_name), takeover)
        if not decision:
            self.run = run
            await self._audit("refused", step_id=TAKEOVER_STEP_ID, outcome="refused", detail=f"take-over: {decision.reason}",
                              extra={"previous_owner": str(owner.get("user", ""))})
            await self._let_go(run.run_id)
            raise EngineError(f"refused: take-over of run {run.run_id}: {decision.reason}")
        run.owner = {k: self._operator.get(k) for k in OWNER_KEYS}
        run.notes.append(f"{iso(self.clock.now())} taken over by {who(self._operator)} from {who(owner)}")
        return owner

    async def _let_go(self, run_id: str) -> None:
        await self.store.release_async(run_id)
        self.run = None

    async def hand_over(self, note: str = "") -> None:
        """The owner lets go of the run (audited): another engineer may take it over now."""
        run = self._require_run()
        if run.status.finished:
            raise EngineError(f"run {run.run_id} has finished ({run.status.value}): nothing to hand over")
        if run.status is RunStatus.RUNNING:
            run.set_status(RunStatus.WAITING, self.clock.now())
        run.notes.append(f"{iso(self.clock.now())} handed over by {who(self._operator)}" + (f": {note}" if note else ""))
        await self._save()
        await self._audit("handover", outcome="handed-over", detail=self.redactor.text(note) or None)
        if self._lock is not None:
            try:
                await self._lock.release()
            except Exception:
                pass
            self._lock = None
        await self.store.release_async(run.run_id)
