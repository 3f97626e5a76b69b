"""Runbooks: every procedure of the manual as a guided, guarded wizard.

The list is grouped as the manual is (Daily, Incident, Maintenance, Backup &
Recovery, Security, Scaling) and searchable by title, tag, id and manual
section. The panel beside it says what a runbook does, its highest risk, its
steps, its inputs, the maintenance window it needs, and for the daily
checklist what is already ticked today. Runs cut off by a dropped link are
offered for resumption when the pane opens. In team mode a section above the list shows
the team's runs in progress, live, and the approvals they wait for (``runbooks_team.py``).
"""

from __future__ import annotations

from typing import Any

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.content import Content
from textual.widgets import Input, OptionList, Static
from textual.widgets.option_list import Option

from cs_console.domain.runbooks.guard import window_status
from cs_console.domain.runbooks.schema import GROUPS, Risk, Runbook
from cs_console.domain.safe_text import safe_text
from cs_console.services.runbooks.input_suggestions import suggest_inputs
from cs_console.tui.pane import Pane
from cs_console.tui.panes import runbooks_team as team
from cs_console.tui.panes.runbooks_team_actions import TeamActions

RISK_STYLE = {
    Risk.READ: "$success",
    Risk.WRITE: "$primary",
    Risk.DESTRUCTIVE: "$warning bold",
    Risk.IRREVERSIBLE: "$error bold",
}
CHECKLIST_TAG = "checklist"


class RunbooksPane(TeamActions, Pane):
    PANE_ID = "runbooks"
    TITLE = "Runbooks"
    KEY = "5"
    HELP = (
        "Every procedure of the operations manual as a wizard: grouped as the manual is, searchable. "
        "Enter or r starts the highlighted runbook (its inputs, the incident to link), d starts it as a dry run, "
        "u resumes an interrupted run. In the wizard, r runs the step at hand, g runs the checks, Esc closes "
        "(the run stays resumable). Destructive steps ask for a typed phrase; read-only sessions refuse them. "
        "Team mode lists the team's runs live: a approves / x rejects another engineer's step waiting for a "
        "second person, t takes over a run whose owner's console is gone (with several, you choose which first)."
    )

    BINDINGS = [
        Binding("r", "start", "Run", id="runbooks.run"),
        Binding("d", "start(True)", "Dry run", id="runbooks.dry_run"),
        Binding("u", "resume", "Resume", id="runbooks.resume"),
        Binding("a", "approve", "Approve", id="runbooks.approve"),
        Binding("x", "reject", "Reject", show=False, id="runbooks.reject"),
        Binding("t", "takeover", "Take over", show=False, id="runbooks.takeover"),
        Binding("slash", "search", "Search", id="runbooks.search"),
        Binding("escape", "clear_search", "Clear search", show=False, id="runbooks.clear_search"),
    ]

    def __init__(self, *, options: dict | None = None, **kwargs: Any) -> None:
        super().__init__(options=options, **kwargs)
        self.catalog: Any = None
        self.shown: list[Runbook] = []
        self.load_error = ""
        self.interrupted: list[Any] = []
        self._offered = False
        self._checklists: Any = None
        self.team: Any = None  # the team feed's last snapshot (team mode)
        self._team_feed: Any = None
        self._announced: set[int] = set()

    # ------------------------------------------------------------ layout

    def compose(self) -> ComposeResult:
        yield Input(placeholder="/ search: title, tag, id, manual section", id="rb-search")
        yield Static(id="rb-status")
        yield Static(id="rb-team")
        with Horizontal(id="rb-body"):
            yield OptionList(id="rb-list")
            with VerticalScroll(id="rb-detail", can_focus=True):
                yield Static(id="rb-info")

    def on_mount(self) -> None:
        self.query_one("#rb-team", Static).display = False
        self._load()
        self._watch_team()

    async def on_unmount(self) -> None:
        feed, self._team_feed = self._team_feed, None
        if feed is not None:
            await feed.stop()

    def focus_default(self) -> None:
        # Focus now, not later (Widget.focus defers): a late focus on the list would take
        # the keys typed right after `/` away from the search.
        self.screen.set_focus(self.query_one("#rb-list", OptionList))

    def _claim_focus(self) -> None:
        """Focus the list when this pane is on screen and nothing has the focus (a pane shown
        while it was still mounting gets no focus from the shell)."""
        if self.is_visible_pane and self.screen is self.app.screen and self.app.focused is None:
            self.focus_default()

    def on_show(self) -> None:
        self.call_after_refresh(self._claim_focus)

    def refresh_live(self) -> None:
        # Shown (again): the offer of interrupted runs comes with the pane.
        if self.catalog is not None and not self._offered:
            self._offer_resume()

    # ------------------------------------------------------------ loading

    @work(thread=True, group="runbooks-load", exit_on_error=False)
    def _load(self) -> None:
        from cs_console.wiring.runbooks import build_checklist_store
        from cs_console.services.runbooks.catalog import load_catalog

        try:
            catalog = load_catalog()
            error = ""
        except Exception as exc:  # a broken user dir must not take the pane down
            catalog, error = None, f"cannot load runbooks: {type(exc).__name__}: {exc}"
        interrupted = self._interrupted_runs(catalog)
        clock = getattr(self.console.env, "clock", None)
        self._checklists = build_checklist_store(clock)
        self.app.call_from_thread(self._loaded, catalog, error, interrupted)

    def _interrupted_runs(self, catalog: Any) -> list[Any]:
        from cs_console.services.runbooks.runs import interrupted_runs
        from cs_console.wiring.runbooks import build_run_store

        session = self.console.session
        try:
            store = build_run_store(session)
            if store.kind != "local":
                return team.my_gone_runs(self.team, catalog)  # the team feed lists them
            return interrupted_runs(store, session.profile.name, catalog)
        except Exception:  # unreadable run files must not take the pane down
            return []

    def _loaded(self, catalog: Any, error: str, interrupted: list[Any]) -> None:
        self.catalog = catalog
        self.load_error = error
        self.interrupted = interrupted
        self._fill(self.query_one("#rb-search", Input).value)
        self._paint_status()
        self._claim_focus()
        if self.is_visible_pane and not self._offered:
            self._offer_resume()

    @property
    def is_visible_pane(self) -> bool:
        try:
            return self.console.current_pane is self
        except Exception:
            return False

    # ------------------------------------------------------------ list and details

    def _fill(self, query: str) -> None:
        lst = self.query_one("#rb-list", OptionList)
        if self.catalog is None:
            lst.set_options([])
            self.shown = []
            return
        self.shown = self.catalog.search(query) if query.strip() else self.catalog.ordered()
        options: list[Option] = []
        for group in GROUPS:
            members = [rb for rb in self.shown if rb.group == group]
            if not members:
                continue
            options.append(Option(Content.assemble((group, "bold $primary"), f"  ({len(members)})"), disabled=True, id=f"group-{group}"))
            for rb in members:
                risk = rb.highest_risk
                mark = "!" if risk.guarded else " "
                options.append(Option(Content.assemble("  ", (mark, RISK_STYLE[risk]), " ", safe_text(rb.title, None)), id=rb.id))
        lst.set_options(options)
        first = next((i for i, o in enumerate(options) if not o.disabled), None)
        if first is not None:
            lst.highlighted = first
        self._show_details(self.selected)
        self._paint_status()

    @property
    def selected(self) -> Runbook | None:
        lst = self.query_one("#rb-list", OptionList)
        if lst.highlighted is None or self.catalog is None:
            return None
        option = lst.get_option_at_index(lst.highlighted)
        return self.catalog.get(option.id) if option.id else None

    def _paint_status(self) -> None:
        status = self.query_one("#rb-status", Static)
        bits: list[Any] = []
        if self.load_error:
            bits.append((safe_text(self.load_error, 200), "$error"))
        elif self.catalog is not None:
            total = len(self.catalog.runbooks)
            bits.append(f"{len(self.shown)} of {total} runbooks")
            if self.catalog.errors:
                bits += ["  ", (f"{len(self.catalog.errors)} broken: {safe_text(str(self.catalog.errors[0]), 160)}", "$warning")]
        else:
            bits.append("loading runbooks…")
        if self.interrupted:
            bits += ["  ", (f"{len(self.interrupted)} interrupted run(s): u resumes", "$warning bold")]
        if self.console.session.read_only:
            bits += ["  ", ("READ-ONLY: destructive steps are refused", "$warning")]
        status.update(Content.assemble(*bits))

    def _show_details(self, rb: Runbook | None) -> None:
        info = self.query_one("#rb-info", Static)
        if rb is None:
            info.update(Content("No runbook matches." if self.catalog is not None else ""))
            return
        risk = rb.highest_risk
        parts: list[Any] = [
            (safe_text(rb.title, 120), "bold"), "\n",
            f"{rb.group} · {rb.id} · highest risk ", (f" {risk.value.upper()} ", "reverse " + RISK_STYLE[risk]),
            " · built-in" if rb.builtin else f" · {safe_text(rb.source, 80)}", "\n",
        ]
        if rb.manual_ref:
            parts += [("Manual: ", "$text-muted"), safe_text(rb.manual_ref, 200), "\n"]
        if rb.summary:
            parts += ["\n", safe_text(" ".join(rb.summary.split()), 1200), "\n"]
        if rb.is_maintenance:
            session = self.console.session
            ws = window_status(rb, session.profile.maintenance, self._now())
            style = "$success" if ws.inside else "$warning"
            parts += ["\n", ("Window: ", "$text-muted"), (safe_text(ws.message, 240), style), "\n"]
        ticks = self._today_ticks(rb)
        if ticks is not None:
            parts += ["\n", ("Today: ", "$text-muted"), f"{len(ticks)} of {len(rb.steps)} items ticked", "\n"]
        if rb.inputs:
            parts += ["\n", ("Inputs", "bold"), "\n"]
            for spec in rb.inputs:
                default = f" (default {spec.default})" if spec.default not in (None, "") else ""
                parts += [f"  {spec.name}: ", safe_text(spec.prompt or spec.type.value, 100), (default, "$text-muted"), "\n"]
        parts += ["\n", ("Steps", "bold"), "\n"]
        for i, step in enumerate(rb.steps, start=1):
            tick = "✓ " if ticks is not None and step.id in ticks else ""
            parts += [f"  {i:>2}. ", tick, safe_text(step.title, 100), " ", (step.risk.value if step.risk is not Risk.READ else "", RISK_STYLE[step.risk]), "\n"]
        mine = [r for r in self.interrupted if r.runbook_id == rb.id]
        if mine:
            parts += ["\n", (f"Interrupted: {len(mine)} run(s), u resumes", "$warning bold"), "\n"]
        if rb.tags:
            parts += ["\n", ("Tags: ", "$text-muted"), safe_text(", ".join(rb.tags), 300)]
        info.update(Content.assemble(*parts))

    def _today_ticks(self, rb: Runbook) -> dict[str, Any] | None:
        if CHECKLIST_TAG not in rb.tags or self._checklists is None:
            return None
        try:
            return self._checklists.ticks(rb.id)
        except Exception:
            return {}

    def _now(self) -> Any:
        clock = getattr(self.console.env, "clock", None)
        if clock is not None:
            return clock.now()
        from datetime import datetime, timezone

        return datetime.now(timezone.utc)

    @on(OptionList.OptionHighlighted, "#rb-list")
    def _highlighted(self, event: OptionList.OptionHighlighted) -> None:
        event.stop()
        self._show_details(self.selected)

    @on(OptionList.OptionSelected, "#rb-list")
    def _selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.action_start()

    # ------------------------------------------------------------ search

    @on(Input.Changed, "#rb-search")
    def _search_changed(self, event: Input.Changed) -> None:
        event.stop()
        self._fill(event.value)

    @on(Input.Submitted, "#rb-search")
    def _search_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.query_one("#rb-list", OptionList).focus()

    def action_search(self) -> None:
        self.screen.set_focus(self.query_one("#rb-search", Input))

    def action_clear_search(self) -> None:
        search = self.query_one("#rb-search", Input)
        if search.value:
            search.value = ""
        elif not search.has_focus:
            self.app.action_back()  # nothing to clear: after a drill-down, back where it started
        self.query_one("#rb-list", OptionList).focus()

    # ------------------------------------------------------------ start and resume

    def action_start(self, dry_run: bool = False) -> None:
        rb = self.selected
        if rb is None:
            self.app.bell()
            return
        self._start(rb, dry_run)

    def start_runbook(self, runbook_id: str, values: dict[str, str], tries: int = 100) -> None:
        """A drill-down from another pane: this runbook's start form, its inputs pre-filled."""
        self._offered = True  # the resume offer must not cover the form asked for
        if self.catalog is None and not self.load_error and tries > 0:
            self.set_timer(0.1, lambda: self.start_runbook(runbook_id, values, tries - 1))  # still loading
            return
        rb = self.catalog.get(runbook_id) if self.catalog is not None else None
        if rb is None:
            self.notify(f"runbook {runbook_id!r} is not available", severity="warning")
            return
        self._start(rb, False, values)

    @work(group="runbooks-start", exclusive=True, exit_on_error=False)
    async def _start(self, rb: Runbook, dry_run: bool, values: dict[str, str] | None = None) -> None:
        from cs_console.tui.screens.runbook_start import RunbookStartScreen
        from cs_console.tui.screens.runbook_start import WizardRequest

        incidents, preselect = await self._open_incidents()
        suggestions = await suggest_inputs(rb, self.console.env) if any(spec.suggest for spec in rb.inputs) else {}
        ws = window_status(rb, self.console.session.profile.maintenance, self._now())
        message = f"Outside the maintenance window: {ws.message}. Mutating steps need the extra phrase {rb.id!r}." \
            if ws.applies and not ws.inside and not dry_run else ""
        request = await self.app.push_screen_wait(
            RunbookStartScreen(rb, dry_run=dry_run, incidents=incidents, incident_ref=preselect, window_message=message, values=values,
                               suggestions=suggestions)
        )
        if request is None:
            return
        await self.app.push_screen_wait(self._wizard(WizardRequest(start=request)))
        self._after_wizard()

    def _wizard(self, request: Any) -> Any:
        from cs_console.tui.screens.runbook_wizard import RunbookWizardScreen

        return RunbookWizardScreen(request, session=self.console.session, environment=self.console.env,
                                   checklists=self._checklists)

    async def _open_incidents(self) -> tuple[list[tuple[str, str]], str | None]:
        """Open incidents to link a run to: (ref, title), most urgent first; the first is preselected."""
        try:
            from cs_console.wiring.incidents import open_incident_service

            from cs_console.tui.env_clock import EnvClock

            service = await open_incident_service(self.console.session, clock=EnvClock(self.console))
            try:
                incidents = await service.list()
            finally:
                await service.close()
        except Exception as exc:
            self.notify(f"incidents unavailable: {safe_text(str(exc), 120)}", severity="warning", timeout=4)
            return [], None
        pairs = [(inc.ref, inc.title) for inc in incidents]
        return pairs, (pairs[0][0] if pairs else None)

    def _after_wizard(self) -> None:
        """Back from a wizard: the interrupted runs and today's ticks may have changed."""
        catalog = self.catalog
        self.interrupted = self._interrupted_runs(catalog)
        self._paint_status()
        self._show_details(self.selected)

    def action_resume(self) -> None:
        if not self.interrupted:
            self.notify("no interrupted runs", timeout=2)
            return
        self._offered = False
        self._offer_resume()

    def _offer_resume(self) -> None:
        if not self.interrupted or self._offered:
            return
        self._offered = True
        self._resume_flow()

    @work(group="runbooks-start", exclusive=True, exit_on_error=False)
    async def _resume_flow(self) -> None:
        from cs_console.tui.screens.runbook_start import ResumeOfferScreen

        run_id = await self.app.push_screen_wait(ResumeOfferScreen(list(self.interrupted)))
        if run_id is None:
            return
        await self._resume(run_id)

    async def _resume(self, run_id: str) -> None:
        from cs_console.services.runbooks.engine import changed_runbook_gate
        from cs_console.wiring.runbooks import environment_name
        from cs_console.tui.screens.confirm_destructive import ConfirmDestructiveScreen, ConfirmRequest
        from cs_console.tui.screens.runbook_start import ResumeRequest
        from cs_console.tui.screens.runbook_start import WizardRequest

        entry = next((r for r in self.interrupted if r.run_id == run_id), None)
        rb = self.catalog.get(entry.runbook_id) if (entry is not None and self.catalog is not None) else None
        if rb is None:
            self.notify(f"run {run_id}: its runbook is no longer available", severity="error")
            return
        confirmation = None
        if entry.changed:
            session = self.console.session
            env_name = environment_name(session, self.console.env)
            gate = changed_runbook_gate(run_id, env_name, rb.id)
            request = ConfirmRequest(
                gate=gate, environment=env_name, production=bool(session.profile.is_production and not session.demo),
                what_will_run=f"Resume run {run_id} of {rb.id}: the runbook file changed since the run started; "
                              "the remaining steps are the new file's.",
                action_label="Resume",
            )
            confirmation = await self.app.push_screen_wait(ConfirmDestructiveScreen(request))
            if confirmation is None:
                return
        await self.app.push_screen_wait(self._wizard(WizardRequest(resume=ResumeRequest(rb, run_id, confirmation))))
        self._after_wizard()

    def palette_commands(self) -> list[tuple[str, str, object]]:
        commands: list[tuple[str, str, object]] = []
        if self.catalog is None:
            return commands
        for rb in self.catalog.ordered():
            commands.append((f"Runbook: {rb.title}", f"{rb.group} · {rb.id}", lambda rb=rb: self._start(rb, False)))
        return commands
