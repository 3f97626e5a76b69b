"""The team's runs in progress and the approvals they wait for, live, for the Runbooks pane.

A snapshot is read from the team store when the feed starts and again after every
NOTIFY on the runs channel (coalesced: a burst of saves is one read), and every
POLL_S seconds, since an owner's console that dies notifies nobody. The pane gets
plain data; it never touches the store. Decisions (approve, reject) go through
``services/runbooks/approvals.decide``, like the CLI's.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from cs_console.domain.runbooks.approval import ApprovalRequest, same_person
from cs_console.services.runbooks.approvals import decide

POLL_S = 10.0  # how soon a vanished owner shows as gone without any NOTIFY


@dataclass(frozen=True)
class TeamSnapshot:
    runs: tuple[Any, ...] = ()  # stores.run_store_pg.TeamRun
    pending: tuple[ApprovalRequest, ...] = ()
    problem: str = ""  # why the team store did not answer ("" when it did)
    live: bool = True  # live updates work
    me: dict[str, Any] = field(default_factory=dict)

    def mine(self, req: ApprovalRequest) -> bool:
        """The request is this engineer's own (they cannot approve it)."""
        return bool(same_person(req.requested_by, self.me))

    @property
    def to_decide(self) -> list[ApprovalRequest]:
        """Requests another engineer made, which this one may approve or reject."""
        return [r for r in self.pending if not self.mine(r)]

    def gone(self) -> list[Any]:
        """Runs whose owner's console is gone: another engineer may take them over."""
        return [r for r in self.runs if not r.live]


class TeamRunsFeed:
    def __init__(self, runs: Any, approvals: Any, audit: Any, *, profile: str, me: dict[str, Any]) -> None:
        self.runs = runs
        self.approvals = approvals
        self.audit = audit
        self.profile = profile
        self.me = me
        self._problem = ""
        self._unsubscribe: Callable[[], Awaitable[None]] | None = None
        self._dirty = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.poll_s = POLL_S

    async def snapshot(self) -> TeamSnapshot:
        try:
            runs = await self.runs.team_runs(self.profile)
            pending = await self.approvals.pending(self.profile)
        except Exception as exc:  # the pane says the team store is unreachable, and keeps going
            return TeamSnapshot(problem=str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__, me=self.me)
        return TeamSnapshot(tuple(runs), tuple(pending), live=not self._problem, me=self.me)

    async def start(self, on_snapshot: Callable[[TeamSnapshot], None]) -> None:
        """Deliver a snapshot now and after every change, until stop()."""

        def problem(text: str) -> None:
            self._problem = text
            self._dirty.set()

        on_snapshot(await self.snapshot())
        try:
            self._unsubscribe = await self.runs.subscribe(lambda _run_id: self._dirty.set(), on_problem=problem)
        except Exception as exc:
            self._problem = f"live updates unavailable ({type(exc).__name__})"

        async def pump() -> None:
            while True:
                # A console that dies NOTIFYs nobody: liveness is re-read every poll_s too.
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(self._dirty.wait(), timeout=self.poll_s)
                await asyncio.sleep(0.1)  # coalesce a burst of saves
                self._dirty.clear()
                on_snapshot(await self.snapshot())

        self._task = asyncio.get_running_loop().create_task(pump(), name="team-runs-feed")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
            self._task = None
        if self._unsubscribe is not None:
            with contextlib.suppress(Exception):
                await self._unsubscribe()
            self._unsubscribe = None

    async def approve(self, req: ApprovalRequest, typed: str) -> ApprovalRequest:
        """Raises DecisionRefused (one line) when the approval cannot count."""
        return await decide(self.approvals, self.audit, run_id=req.run_id, step_id=req.step_id, approve=True,
                            identity=self.me, typed=typed, profile=self.profile)

    async def reject(self, req: ApprovalRequest, reason: str) -> ApprovalRequest:
        return await decide(self.approvals, self.audit, run_id=req.run_id, step_id=req.step_id, approve=False,
                            identity=self.me, reason=reason, profile=self.profile)
