"""The runbook wizard: one step at a time.

For the step at hand it shows why it exists, exactly what will run (as the
engine renders it, secrets redacted), its risk badge, its preconditions and
preview, then the live output while it runs (a worker: the UI never waits on
a database or a subprocess), the result and the verification. A progress list
shows every step and its state; the header names the linked incident, whose
timeline the engine writes each step to.

The wizard holds no safety rule of its own that the engine does not also
enforce: read-only refusals, typed confirmations and maintenance windows are
the engine's. It only makes them visible (a guarded step opens the typed
confirmation dialog; a refused step shows the engine's reason).
"""

from __future__ import annotations

from typing import Any

from textual import on, work
from textual.worker import get_current_worker
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Footer, OptionList, RichLog, Static

from cs_console.domain.safe_text import safe_text
from cs_console.services.runbooks.interactive import InteractiveRun, needs_operator
from cs_console.tui.screens import runbook_step_view as view
from cs_console.tui.screens.confirm_destructive import ConfirmDestructiveScreen
from cs_console.tui.screens.runbook_start import WizardRequest
from cs_console.tui.screens.runbook_wizard_marks import WizardMarks
from cs_console.tui.screens.runbook_wizard_panels import (
    StepDetail, StepOutputLog, banner_lines, head_line, progress_options,
)


class StepOutput(Message):
    """Output lines arrived (already kept in the wizard's outputs): write the new ones to the log.

    A burst of lines posts a burst of these; they coalesce into one repaint.
    """

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, StepOutput)


class RunChanged(Message):
    """The run's state was saved (a transition): repaint the progress list."""

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, RunChanged)


class RunbookWizardScreen(WizardMarks, Screen[None]):
    """Runbook wizard: r runs the step, g runs the checks, Esc closes (the run stays resumable)."""

    BINDINGS = [
        Binding("r", "run_step", "Run step", id="runbook_wizard.run"),
        Binding("g", "run_reads", "Run checks", id="runbook_wizard.run_reads"),
        Binding("s", "skip_step", "Skip", id="runbook_wizard.skip"),
        Binding("w", "confirm_window", "Window", id="runbook_wizard.window"),
        Binding("v", "resolve('verify')", "Verify", id="runbook_wizard.verify"),
        Binding("m", "resolve('done')", "Mark done", id="runbook_wizard.mark_done"),
        Binding("n", "resolve('not_done')", "Not done", id="runbook_wizard.mark_not_done"),
        Binding("c", "focus_current", "Current", id="runbook_wizard.current"),
        Binding("x", "cancel_run", "Cancel run", id="runbook_wizard.cancel_run"),
        Binding("escape", "close", "Close", id="runbook_wizard.close"),
    ]

    def __init__(self, request: WizardRequest, *, session: Any, environment: Any, engine_factory: Any = None,
                 checklists: Any = None) -> None:
        super().__init__()
        self.request = request
        self.runbook = request.runbook
        self.session = session
        self.environment = environment
        self._engine_factory = engine_factory
        self._checklists = checklists
        self.driver: InteractiveRun | None = None
        self.busy = False
        self.error = ""
        self.notice = ""
        self.viewed_id: str | None = None
        self.outputs: dict[str, list[str]] = {}
        self._prepare_worker: Any = None
        self._preparing: str | None = None  # the step whose plan is being prepared now

    # ------------------------------------------------------------ layout

    def compose(self) -> ComposeResult:
        yield Static(id="rbw-head")
        yield Static(id="rbw-banner")
        with Horizontal(id="rbw-main"):
            yield OptionList(id="rbw-steps")
            with Vertical(id="rbw-right"):
                yield StepDetail()
                yield StepOutputLog()
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#rbw-output", RichLog).border_title = "Output"
        self.query_one("#rbw-choices", OptionList).display = False
        self._paint_head()
        self._paint_banner()
        self._paint_progress()
        self._open_run()

    # ------------------------------------------------------------ engine plumbing

    def _on_output(self, step_id: str, line: str) -> None:
        # Called on the event loop by the engine (a worker of this screen): keep the line, then repaint once per burst.
        self.outputs.setdefault(step_id, []).append(safe_text(line, 2000))
        self.post_message(StepOutput())

    def _on_change(self, _run: Any) -> None:
        self.post_message(RunChanged())

    def _make_engine(self) -> Any:
        if self._engine_factory is not None:
            return self._engine_factory(self.runbook, on_output=self._on_output, on_change=self._on_change)
        from cs_console.wiring.runbooks import open_engine

        return open_engine(self.session, self.runbook, environment=self.environment,
                           on_output=self._on_output, on_change=self._on_change)

    @work(group="runbook-open", exit_on_error=False)
    async def _open_run(self) -> None:
        from cs_console.services.runbooks.plan import EngineError

        self.busy = True
        try:
            driver = InteractiveRun(self._make_engine(), checklists=self._checklists)
            self.notice = await driver.open(start=self.request.start, resume=self.request.resume)
            self.driver = driver
        except EngineError as exc:
            self.error = str(exc)
        except Exception as exc:  # the console stays up, and says what went wrong
            self.error = f"cannot open the run: {type(exc).__name__}: {safe_text(str(exc), 200)}"
        finally:
            self.busy = False
        self._after_change(select_current=True)

    @on(StepOutput)
    def _output_arrived(self) -> None:
        self.query_one(StepOutputLog).follow(self.outputs.get(self.viewed_id or "", []))

    @on(RunChanged)
    def _run_changed(self) -> None:
        self._paint_progress()
        self._paint_head()

    # ------------------------------------------------------------ state

    @property
    def engine(self) -> Any:
        return self.driver.engine if self.driver is not None else None

    @property
    def plan(self) -> Any:
        return self.driver.plan if self.driver is not None else None

    @property
    def run(self) -> Any:
        return self.driver.run if self.driver is not None else None

    @property
    def current_id(self) -> str | None:
        if self.run is None:
            return None
        return self.engine.next_step_id()

    def _record(self, step_id: str) -> Any:
        return self.run.steps.get(step_id) if self.run is not None else None

    def _ticks(self) -> dict[str, Any]:
        return self.driver.ticks() if self.driver is not None else {}

    def _after_change(self, *, select_current: bool = False) -> None:
        self._paint_head()
        self._paint_banner()
        self._paint_progress()
        cur = self.current_id
        if select_current or self.viewed_id is None:
            self.viewed_id = cur or (self.runbook.steps[-1].id if self.runbook.steps else None)
            self._highlight(self.viewed_id)
        self._show_viewed()
        if cur is not None and self.viewed_id == cur and not self.busy:
            self._start_prepare(cur)
        self.refresh_bindings()

    def _highlight(self, step_id: str | None) -> None:
        if step_id is None:
            return
        lst = self.query_one("#rbw-steps", OptionList)
        try:
            index = lst.get_option_index(step_id)
        except Exception:
            return
        lst.highlighted = index

    # ------------------------------------------------------------ painting

    def _paint_head(self) -> None:
        head = head_line(self.environment_label, self.production, self.runbook.title, self.run, bool(self.session.read_only))
        self.query_one("#rbw-head", Static).update(head)

    @property
    def environment_label(self) -> str:
        if self.engine is not None:
            return self.engine.environment_name.upper()
        return self.session.environment_label

    @property
    def production(self) -> bool:
        return bool(self.session.profile.is_production and not self.session.demo)

    def _paint_banner(self) -> None:
        banner = self.query_one("#rbw-banner", Static)
        gate = None
        if self.engine is not None and self.run is not None:
            try:
                gate = self.engine.window_gate()
            except Exception:
                gate = None
        lines = banner_lines(self.error, self.engine.window.message if gate is not None else "",
                             gate.phrase if gate is not None else None, list(self.run.unknown_steps) if self.run else [],
                             self.notice)
        banner.display = bool(lines)
        banner.update(Content("\n").join(lines) if lines else Content(""))

    def _paint_progress(self) -> None:
        lst = self.query_one("#rbw-steps", OptionList)
        highlighted = lst.highlighted
        records = dict(self.run.steps) if self.run is not None else {}
        options = progress_options(self.runbook, records, self.current_id, self._ticks())
        lst.set_options(options)
        if highlighted is not None and highlighted < len(options):
            lst.highlighted = highlighted

    def _show_viewed(self) -> None:
        step_id = self.viewed_id
        if step_id is None:
            return
        step = self.runbook.step(step_id)
        rec = self._record(step_id)
        plan = self.driver.plan_of(step_id) if self.driver is not None else None
        offered = step.id == self.current_id and self.run is not None and not self.run.dry_run
        self.query_one(StepDetail).show(
            step, index=self.runbook.index_of(step_id) + 1, total=len(self.runbook.steps), rec=rec, plan=plan,
            preparing=self._preparing == step_id,
            dry_run=self.run is not None and self.run.dry_run, read_only=bool(self.session.read_only),
            tick=self._ticks().get(step.id), choices=view.answer_choices(step) if offered else [],
        )
        self.query_one(StepOutputLog).show(step_id, self.outputs.get(step_id, []), rec.output_excerpt if rec is not None else "")

    # ------------------------------------------------------------ preparing

    def _start_prepare(self, step_id: str) -> None:
        """Prepare the step on show; "(preparing…)" is shown only while this runs."""
        self._preparing = step_id
        self._prepare_worker = self._prepare(step_id)

    @work(group="runbook-prepare", exclusive=True, exit_on_error=False)
    async def _prepare(self, step_id: str) -> None:
        try:
            if self.driver is None or self.run is None:
                return
            await self.driver.prepare(step_id)
        except Exception as exc:
            self.error = f"cannot prepare {step_id}: {type(exc).__name__}: {safe_text(str(exc), 200)}"
            self._paint_banner()
        finally:
            if self._prepare_worker is None or self._prepare_worker is get_current_worker():
                self._preparing = None  # not when a newer prepare took over
        if self.viewed_id == step_id:
            self._show_viewed()
        self.refresh_bindings()

    # ------------------------------------------------------------ navigation

    @on(OptionList.OptionHighlighted, "#rbw-steps")
    def _step_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        event.stop()
        step_id = event.option.id
        if step_id and step_id != self.viewed_id:
            self.viewed_id = step_id
            self._show_viewed()
            if step_id == self.current_id and (self.plan is None or self.plan.step.id != step_id) and not self.busy:
                self._start_prepare(step_id)
            self.refresh_bindings()

    @on(OptionList.OptionSelected, "#rbw-steps")
    def _step_selected(self, event: OptionList.OptionSelected) -> None:
        # Enter on a step only shows it: running always takes the run key.
        event.stop()

    def action_focus_current(self) -> None:
        cur = self.current_id
        if cur is not None:
            self.viewed_id = cur
            self._highlight(cur)
            self._show_viewed()
        self.query_one("#rbw-steps", OptionList).focus()

    # ------------------------------------------------------------ bindings

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("close", "focus_current"):
            return True
        if self.driver is None or self.run is None:
            return None if action in ("run_step", "run_reads", "skip_step", "cancel_run") else False
        return self.driver.available(action, busy=self.busy)

    # ------------------------------------------------------------ running

    def action_run_step(self) -> None:
        if self.busy or self.engine is None:
            return
        step = self.engine.next_step()
        if step is None:
            self.notice = f"the run is over: {self.run.outcome_text()}" if self.run is not None else "the run is over"
            self._paint_banner()
            return
        if self.viewed_id != step.id:
            # First show the step (what will run, preview); the next press runs it.
            self.viewed_id = step.id
            self._highlight(step.id)
            self._show_viewed()
            if self.plan is None or self.plan.step.id != step.id:
                self._start_prepare(step.id)
            # The banner, not a toast: a toast would cover the confirmation's buttons at 80x24.
            self.notice = f"next: {step.title} (r runs it)"
            self._paint_banner()
            return
        if self.driver.asks_operator(step, read_only=bool(self.session.read_only)):
            self._show_viewed()
            choices = self.query_one("#rbw-choices", OptionList)
            choices.display = True
            choices.focus()
            if choices.highlighted is None and choices.option_count:
                choices.highlighted = 0
            return
        self._run_current(step.id)

    @work(group="runbook-step", exit_on_error=False)
    async def _run_current(self, step_id: str, answer: str | None = None) -> None:
        """Ask for the typed phrase if guarded (on the plan shown), then execute (which re-checks the guard)."""
        if self.busy:
            return
        self.busy = True
        self.refresh_bindings()
        try:
            step = self.runbook.step(step_id)
            confirmation = None
            if self.driver.guarded_now(step, read_only=bool(self.session.read_only)):
                plan = await self._plan_shown(step_id)
                if plan.blocked or plan.gate is None:
                    # The engine refuses it (and audits the refusal): let it say why.
                    await self._execute(step_id, None, answer)
                    return
                request = view.confirm_request(plan, environment=self.environment_label, production=self.production)
                confirmation = await self.app.push_screen_wait(ConfirmDestructiveScreen(request))
                if confirmation is None:
                    self.notice = f"{step_id}: cancelled at the confirmation; nothing ran"
                    self._paint_banner()
                    return
            await self._execute(step_id, confirmation, answer)
        finally:
            self.busy = False
            self._prepare_again()
            self.refresh_bindings()

    def _prepare_again(self) -> None:
        """After a run of the step on show that left it current (refused, failed, waiting): its plan again,
        not a "(preparing…)" that nothing prepares (the plan was used up by the run)."""
        cur = self.current_id
        if cur is not None and self.viewed_id == cur and self.driver is not None and self.driver.plan_of(cur) is None:
            self._start_prepare(cur)

    async def _plan_shown(self, step_id: str) -> Any:
        """The plan the operator is looking at (prepared when the step was shown); prepared now only if
        it is not there yet. Its preview is not re-run here: execute() re-checks it, once."""
        assert self.driver is not None
        worker = self._prepare_worker
        if self.driver.plan_of(step_id) is None and worker is not None and worker.is_running:
            try:
                await worker.wait()  # the plan being prepared for the step on show
            except Exception:
                pass
        shown = self.driver.plan
        plan = await self.driver.plan_shown(step_id)
        if plan is not shown:
            self._show_viewed()
        return plan

    async def _execute(self, step_id: str, confirmation: Any, answer: str | None) -> Any:
        assert self.driver is not None
        self.outputs[step_id] = []
        if self.viewed_id == step_id:
            self.query_one(StepOutputLog).restart()
        self.error = ""
        try:
            outcome, self.notice = await self.driver.execute(step_id, confirmation, answer)
        except Exception as exc:  # an engine bug must not close the console
            self.error = f"{step_id}: {type(exc).__name__}: {safe_text(str(exc), 200)}"
            self._after_change()
            return None
        # Stay on the step just run (its result and output); the next one is marked in the list.
        self._after_change()
        if outcome.waiting_approval:
            self._watch_approval(step_id, confirmation)  # continues by itself once another engineer decides
        return outcome

    @on(OptionList.OptionSelected, "#rbw-choices")
    def _answer_chosen(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        if self.busy or self.engine is None:
            return
        index = int(str(event.option.id).split("-")[-1])
        answer = self.query_one(StepDetail).choice_labels[index]
        cur = self.current_id
        if cur is None:
            return
        self.query_one("#rbw-steps", OptionList).focus()
        self._run_current(cur, answer)

    def action_run_reads(self) -> None:
        if not self.busy and self.engine is not None:
            self._run_reads()

    @work(group="runbook-step", exit_on_error=False)
    async def _run_reads(self) -> None:
        """Run the steps that need nobody: read-only checks and automatic decisions (all steps in a dry run)."""
        self.busy = True
        self.refresh_bindings()
        ran = 0
        try:
            while (step := self.engine.next_step()) is not None:
                if needs_operator(step) and not self.run.dry_run:
                    break
                self.viewed_id = step.id
                self._highlight(step.id)
                outcome = await self._execute(step.id, None, None)
                ran += 1
                if outcome is None or outcome.stopped or outcome.refused:
                    break
        finally:
            self.busy = False
            self.refresh_bindings()
        nxt = self.engine.next_step()
        if nxt is not None:
            # Show the step that waits for the operator (the checks' results stay in the list).
            self.notice = f"ran {ran} step(s); next needs you: {nxt.title}" if ran else "the next step needs you (r runs it)"
            self.viewed_id = nxt.id
            self._highlight(nxt.id)
            self._after_change()

    def quit_warning(self) -> str:
        """Why quitting now needs a second thought ("" when it does not); the app asks."""
        if self.busy:
            return f"a step of {self.runbook.title!r} is running: quitting stops it and leaves it unknown"
        if self.run is not None and not self.run.status.finished:
            return f"the run of {self.runbook.title!r} is not finished (it can be resumed later)"
        return ""

    def action_close(self) -> None:
        self._close()

    @work(group="runbook-close", exit_on_error=False)
    async def _close(self) -> None:
        if self.busy:
            self.notify("a step is running: wait for it (its state is saved as it goes)", severity="warning", timeout=4)
            return
        await self.on_unmount()
        self.dismiss(None)

    async def on_unmount(self) -> None:
        if self.engine is not None:
            try:
                await self.engine.close()
            except Exception:
                pass

