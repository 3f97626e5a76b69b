"""The Runbooks pane's team keys (team mode): approve, reject, take over.

``a`` / ``x`` act on another engineer's approval request, ``t`` on a run whose owner's
console is gone. With one candidate its dialog opens at once; with several a picker
(:class:`~cs_console.tui.screens.runbook_pick.TeamPickScreen`) lists them first (who,
which step, on what, since when, the call) so the engineer chooses which one to review.
The decision itself is always the next dialog (typed phrase, reason, typed run id).
"""

from __future__ import annotations

from typing import Any

from textual import work
from textual.widgets import Static

from cs_console.domain.runbooks.schema import Risk
from cs_console.domain.safe_text import safe_text
from cs_console.tui.panes import runbooks_team as team


class TeamActions:
    """Mixed into RunbooksPane (which provides console, catalog, _wizard, _after_wizard, _paint_status)."""

    # The pane's (declared here for the reader; the pane sets them).
    team: Any
    _team_feed: Any
    _announced: set[int]
    catalog: Any
    interrupted: list[Any]

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # The team's keys exist only in team mode (hidden from the footer elsewhere).
        if action in ("approve", "reject", "takeover"):
            return self._team_feed is not None
        return True

    @work(group="runbooks-team", exclusive=True, exit_on_error=False)
    async def _watch_team(self) -> None:
        from cs_console.wiring.runbooks import open_team_feed

        feed = open_team_feed(self.console.session)
        if feed is None:
            return
        self._team_feed = feed
        self.query_one("#rb-team", Static).display = True
        self.refresh_bindings()
        await feed.start(self._team_changed)

    def _team_changed(self, snapshot: Any) -> None:
        self.team = snapshot
        if not self.is_mounted:
            return
        self.query_one("#rb-team", Static).update(team.team_lines(snapshot))
        for req in team.new_requests(snapshot, self._announced):
            self.app.notify(team.request_notice(req), title="Approval requested", severity="warning",
                            timeout=10, markup=False)
        if self.catalog is not None:
            self.interrupted = team.my_gone_runs(snapshot, self.catalog)
            self._paint_status()

    async def _pick(self, items: list[Any], options: list[tuple[str, Any]], key: Any, *, title: str, intro: str,
                    action_label: str) -> Any:
        """The one item, or the one chosen in the picker (None: cancelled or gone meanwhile)."""
        from cs_console.tui.screens.runbook_pick import TeamPickScreen

        if len(items) == 1:
            return items[0]
        chosen = await self.app.push_screen_wait(TeamPickScreen(title, intro, options, action_label=action_label))
        return next((i for i in items if str(key(i)) == chosen), None) if chosen is not None else None

    def action_approve(self) -> None:
        self._decide(True)

    def action_reject(self) -> None:
        self._decide(False)

    @work(group="runbooks-start", exclusive=True, exit_on_error=False)
    async def _decide(self, approve: bool) -> None:
        from cs_console.domain.runbooks.approval import who
        from cs_console.domain.runbooks.guard import Gate
        from cs_console.services.runbooks.approvals import DecisionRefused
        from cs_console.tui.screens.confirm_destructive import ConfirmDestructiveScreen, ConfirmRequest
        from cs_console.tui.screens.runbook_reject import RejectApprovalScreen

        pending = self.team.to_decide if self.team is not None else []
        if not pending or self._team_feed is None:
            self.notify("no approval requests from other engineers", timeout=3)
            return
        verb = "approve" if approve else "reject"
        req = await self._pick(pending, [team.request_option(r) for r in pending], lambda r: r.id,
                               title=f"{len(pending)} requests wait for a second person",
                               intro=f"Choose the request to review; you {verb} it in the next dialog "
                                     "(its exact call is shown there).", action_label="Review")
        if req is None:
            return
        rb = self.catalog.get(req.runbook_id) if self.catalog is not None else None
        step = next((s for s in rb.steps if s.id == req.step_id), None) if rb is not None else None
        try:
            if approve:
                gate = Gate(req.run_id, req.step_id, req.target, req.phrase, step.risk if step else Risk.IRREVERSIBLE,
                            f"Approve {who(req.requested_by)}'s step", f"approve {req.runbook_id}/{req.step_id} as the second person")
                conf = await self.app.push_screen_wait(ConfirmDestructiveScreen(ConfirmRequest(
                    gate=gate, what_will_run=req.what, environment=req.environment,
                    production=req.environment.lower() in ("production", "prod"), action_label="Approve",
                    rollback=step.rollback if step else "")))
                if conf is None:
                    return
                await self._team_feed.approve(req, conf.typed)
                self.notify(f"approved {req.runbook_id}/{req.step_id} for {who(req.requested_by)}", timeout=4, markup=False)
            else:
                reason = await self.app.push_screen_wait(RejectApprovalScreen(req))
                if reason is None:
                    return
                await self._team_feed.reject(req, reason)
                self.notify(f"rejected {req.runbook_id}/{req.step_id} of {who(req.requested_by)}", timeout=4, markup=False)
        except DecisionRefused as exc:
            self.notify(safe_text(str(exc), 300), severity="error", timeout=8, markup=False)
        except Exception as exc:  # the team store failing must not take the pane down
            self.notify(f"the decision was not recorded: {safe_text(str(exc), 200) or type(exc).__name__}",
                        severity="error", markup=False)

    @work(group="runbooks-start", exclusive=True, exit_on_error=False)
    async def action_takeover(self) -> None:
        from cs_console.services.runbooks.takeover import takeover_gate
        from cs_console.tui.screens.confirm_destructive import ConfirmDestructiveScreen, ConfirmRequest
        from cs_console.tui.screens.runbook_start import ResumeRequest, WizardRequest
        from cs_console.wiring.runbooks import environment_name

        catalog = self.catalog
        gone = [r for r in team.others_gone_runs(self.team) if catalog is not None and catalog.get(r.runbook_id) is not None]
        if not gone:
            self.notify("no team run whose owner's console is gone", timeout=3)
            return
        run = await self._pick(gone, [team.gone_option(r) for r in gone], lambda r: r.run_id,
                               title=f"{len(gone)} runs whose owner's console is gone",
                               intro="Choose the run to take over; you type its run id in the next dialog.",
                               action_label="Take over…")
        if run is None:
            return
        rb = catalog.get(run.runbook_id)
        session = self.console.session
        env_name = environment_name(session, self.console.env)
        conf = await self.app.push_screen_wait(ConfirmDestructiveScreen(ConfirmRequest(
            gate=takeover_gate(run.run_id, env_name), environment=env_name,
            production=bool(session.profile.is_production), action_label="Take over",
            what_will_run=f"Take over run {run.run_id} of {rb.id} from {run.owner} (console gone), at step "
                          f"{run.current_step or '-'}. A step that was running becomes unknown: you decide it "
                          "(verify, done, not done); it never runs again by itself.")))
        if conf is None:
            return
        await self.app.push_screen_wait(self._wizard(WizardRequest(resume=ResumeRequest(rb, run.run_id, takeover_confirmation=conf))))
        self._after_wizard()
