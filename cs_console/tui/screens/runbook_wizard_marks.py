"""The wizard's operator marks and run-level actions: skip a refused or failed step, decide an
unknown one (verify, done, not done), confirm running outside the maintenance window, cancel the
run; and, for a step waiting for a second person, the watch that continues it once another
engineer decides (``_watch_approval``). A mixin of ``RunbookWizardScreen``: it paints
through the screen's own methods.
"""

from __future__ import annotations

import asyncio
from typing import Any

from textual import work

from cs_console.domain.runbooks.approval import APPROVED, who
from cs_console.domain.safe_text import safe_text
from cs_console.tui.screens.confirm_destructive import ConfirmDestructiveScreen, ConfirmRequest


APPROVAL_POLL_S = 5.0  # the watch re-reads the request this often; a NOTIFY wakes it sooner


class WizardMarks:
    def action_skip_step(self) -> None:
        cur = self.current_id
        if cur is not None and not self.busy:
            self._skip(cur)

    @work(group="runbook-step", exit_on_error=False)
    async def _skip(self, step_id: str) -> None:
        await self._mark(step_id, self.engine.skip(step_id, "skipped in the wizard"), catch=False)

    async def _mark(self, step_id: str, marking: Any, *, catch: bool = True) -> None:
        """An operator's mark (skip, verify, done, not done), then back to the current step."""
        self.busy = True
        try:
            outcome = await marking
            self.notice = f"{step_id}: {outcome.detail}"
        except Exception as exc:
            if not catch:
                raise
            self.error = f"{step_id}: {safe_text(str(exc), 200)}"
        finally:
            self.busy = False
        self.driver.plan = None
        self._after_change(select_current=True)

    def action_resolve(self, how: str) -> None:
        if self.run is None or not self.run.unknown_steps or self.busy:
            return
        self._resolve(self.run.unknown_steps[0], how)

    @work(group="runbook-step", exit_on_error=False)
    async def _resolve(self, step_id: str, how: str) -> None:
        await self._mark(step_id, self.engine.resolve_unknown(step_id, how))

    def action_confirm_window(self) -> None:
        if self.engine is not None and not self.busy:
            self._confirm_window()

    @work(group="runbook-step", exit_on_error=False)
    async def _confirm_window(self) -> None:
        gate = self.engine.window_gate()
        if gate is None:
            return
        request = ConfirmRequest(
            gate=gate, what_will_run=f"Run {self.runbook.id} {self.engine.window.message}.",
            environment=self.environment_label, production=self.production, action_label="Run outside the window",
        )
        confirmation = await self.app.push_screen_wait(ConfirmDestructiveScreen(request))
        if confirmation is None:
            return
        decision = await self.engine.confirm_window(confirmation)
        self.notice = "maintenance window: confirmed" if decision else f"maintenance window: {decision.reason}"
        self._after_change()

    def action_cancel_run(self) -> None:
        if self.engine is not None and not self.busy and self.run is not None and not self.run.status.finished:
            self._cancel_run()

    @work(group="runbook-step", exit_on_error=False)
    async def _cancel_run(self) -> None:
        await self.engine.cancel("cancelled in the wizard")
        self.notice = "run cancelled; nothing further will run"
        self._after_change()

    # ------------------------------------------------------------ waiting for a second person

    def _watch_approval(self, step_id: str, confirmation: Any) -> None:
        """The step waits for another engineer: watch for the decision while the wizard is open."""
        self._approval_watch = self._await_decision(step_id, confirmation)

    @work(group="runbook-approval", exclusive=True, exit_on_error=False)
    async def _await_decision(self, step_id: str, confirmation: Any) -> None:
        """Once decided, the step is executed again with the phrase the runner typed: the engine runs it on
        the approval (re-checking the preview, the phrase and the approval), or refuses it with the
        rejection's reason, which the wizard shows. Nothing to press."""
        while True:
            try:
                req = await self.engine.wait_for_decision(step_id, poll_s=APPROVAL_POLL_S)
                break
            except Exception as exc:  # the team store away for a while: keep watching, and say so
                self.error = f"{step_id}: the approval cannot be checked ({safe_text(str(exc), 160) or type(exc).__name__}); still watching"
                self._paint_banner()
                await asyncio.sleep(APPROVAL_POLL_S)
        while self.busy:  # a step or a dialog of the runner's own: after it
            await asyncio.sleep(0.1)
        rec = self.run.steps.get(step_id) if self.run is not None else None
        if req is None or rec is None or rec.state.done or self.run.status.finished or self.current_id != step_id:
            return
        self.error = ""
        approved = req.status == APPROVED
        if approved and confirmation is None:
            self.notice = f"{step_id}: approved by {who(req.decided_by)}: r runs it"
            self._after_change()
            return
        self.notice = f"{step_id}: approved by {who(req.decided_by)}: running it" if approved else ""
        self._paint_banner()
        self.busy = True
        self.refresh_bindings()
        try:
            outcome = await self._execute(step_id, confirmation, None)
            if approved and outcome is not None and not self.notice:
                self.notice = f"{step_id}: approved by {who(req.decided_by)}; {outcome.state.value}"
                self._paint_banner()
        finally:
            self.busy = False
            self._prepare_again()
            self.refresh_bindings()
