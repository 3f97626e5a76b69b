"""Runbooks pane, wizard and typed confirmation, driven by keys (Textual pilot) on the demo.

The destructive step is unreachable without the typed phrase: Enter on the dialog cancels, the
Confirm button stays disabled until the phrase matches, a wrong phrase never executes, and the
only thing that runs it is the phrase followed by a press on Confirm. "Nothing ran" is checked
where it counts: the demo simulation's record of actions and the audit log.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from textual.app import App
from textual.widgets import Button, Input, OptionList

from cs_console.domain.runbooks.guard import Confirmation, Gate, check_confirmation
from cs_console.domain.runbooks.run_state import StepState
from cs_console.domain.runbooks.schema import Risk
from cs_console.backends.demo.runbook_calls import DemoRunbookCalls
from cs_console.stores.audit_log import LocalAuditLog
from cs_console.tui.screens.confirm_destructive import ConfirmDestructiveScreen, ConfirmRequest
from cs_console.tui.screens.runbook_start import ResumeOfferScreen, RunbookStartScreen
from cs_console.tui.screens.runbook_wizard import RunbookWizardScreen
from tests.demo_app import demo_app, play
from tests.screen_text import screen_text

SIZE = (80, 24)
STYLES = Path(__file__).resolve().parent.parent / "cs_console" / "tui" / "styles"


# ---------------------------------------------------------------- helpers


async def wait_for(pilot: Any, predicate: Any, *, timeout: float = 10.0, step: float = 0.05) -> None:
    waited = 0.0
    while not predicate():
        if waited >= timeout:
            raise AssertionError(f"timed out waiting; screen:\n{screen_text(pilot.app)}")
        await pilot.pause(step)
        waited += step


def idle_in_tx(app: Any) -> int:
    return DemoRunbookCalls(app.env.demo).count_idle_in_transaction(idle_minutes=5)


def pct(app: Any) -> float:
    return app.env.demo.metrics_snapshot().value("db.connections.pct")


def terminations(app: Any) -> list[Any]:
    return [a for a in app.env.demo.actions() if a.kind == "terminate_backend"]


def audit(app: Any) -> list[dict[str, Any]]:
    return LocalAuditLog.in_state_dir(app.session.state_dir).read()


def ran(app: Any, step_id: str) -> list[dict[str, Any]]:
    """Audit records saying the step was about to run or ran (refusals are not runs)."""
    return [r for r in audit(app) if r.get("step_id") == step_id and r.get("phase") in ("before", "after")]


async def open_connection_wizard(pilot: Any) -> RunbookWizardScreen:
    """From the Runbooks pane: find the runbook, start it (defaults), return the wizard."""
    app = pilot.app
    await wait_for(pilot, lambda: app.query_one("#rb-list", OptionList).option_count > 0)
    await pilot.press("slash", *"connection issues", "enter")
    await pilot.press("r")
    await wait_for(pilot, lambda: isinstance(app.screen, RunbookStartScreen))
    await pilot.press("f2")
    await wait_for(pilot, lambda: isinstance(app.screen, RunbookWizardScreen) and app.screen.run is not None)
    wizard = app.screen
    assert wizard.runbook.id == "db-connection-issues"
    return wizard


async def reach_terminate_gate(pilot: Any, wizard: RunbookWizardScreen) -> ConfirmDestructiveScreen:
    """Run the checks, choose to terminate, and press r until the typed confirmation is up."""
    app = pilot.app
    await pilot.press("g")
    await wait_for(pilot, lambda: wizard.current_id == "route_idle" and not wizard.busy)
    await pilot.press("r")  # the decision's choices
    await wait_for(pilot, lambda: app.focused is not None and app.focused.id == "rbw-choices")
    await pilot.press("enter")  # first choice: terminate
    await wait_for(pilot, lambda: wizard.current_id == "terminate_idle" and not wizard.busy)
    return await open_gate(pilot, wizard)


async def open_gate(pilot: Any, wizard: RunbookWizardScreen) -> ConfirmDestructiveScreen:
    """Press r (the run key) until the typed confirmation of the current step is up."""
    app = pilot.app
    for _ in range(3):
        if isinstance(app.screen, ConfirmDestructiveScreen):
            break
        await wait_for(pilot, lambda: not wizard.busy, step=0.01)
        await pilot.press("r")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmDestructiveScreen) or not wizard.busy, step=0.01)
    await wait_for(pilot, lambda: isinstance(app.screen, ConfirmDestructiveScreen), step=0.01)
    return app.screen


def _key_event(pilot: Any, key: str) -> Any:
    from textual import events

    char = key if len(key) == 1 else {"space": " ", "enter": "\r", "tab": "\t"}.get(key)
    event = events.Key(key, char)
    event.set_sender(pilot.app)
    return event


async def quick_press(pilot: Any, key: str) -> None:
    """One key through the driver, then until the screen has handled it: a pilot press without
    the idle-detection sleeps (which make thousands of keys take minutes on a busy machine)."""
    pilot.app._driver.send_message(_key_event(pilot, key))
    # A press travels as messages (it bubbles from the button to the screen, one queue at a
    # time): let every hop happen before the next key, as a typing human would.
    for _ in range(6 if key in ("enter", "space", "escape") else 2):
        await asyncio.sleep(0)
        await pilot._wait_for_screen()


async def burst(pilot: Any, keys: list[str]) -> None:
    """Keys as fast as the terminal can send them (a key-repeat or a paste), then let them settle."""
    for key in keys:
        pilot.app._driver.send_message(_key_event(pilot, key))
    for _ in range(8):
        await asyncio.sleep(0)
        await pilot._wait_for_screen()


def shown(wizard: RunbookWizardScreen, selector: str) -> str:
    """The text of one of the wizard's panels, scrolled into view or not."""
    from textual.widgets import Static

    return str(wizard.query_one(selector, Static).render())


# ---------------------------------------------------------------- the pane


async def test_pane_lists_every_group_and_searches_at_80x24() -> None:
    app = demo_app("calm", initial_pane="runbooks")
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.query_one("#rb-list", OptionList).option_count > 0)
        pane = app.query_one("#runbooks")
        text = screen_text(app)
        assert "21 of 21 runbooks" in text
        assert "Daily" in text and "Incident" in text
        groups = [o.id for o in pane.query_one("#rb-list", OptionList).options if o.disabled]
        assert groups == ["group-Daily", "group-Incident", "group-Maintenance", "group-Backup & Recovery",
                          "group-Security", "group-Scaling"]
        await pilot.press("slash", *"backup")
        await wait_for(pilot, lambda: app.query_one("#rb-search", Input).value == "backup")
        shown = {rb.id for rb in pane.shown}
        assert {"manual-backup", "restore-from-backup", "pre-maintenance-checklist"} <= shown
        assert "scaling-review" not in shown
        await pilot.press("escape")
        await wait_for(pilot, lambda: len(pane.shown) == 21)
        # Details of the highlighted runbook: what the manual section is and its highest risk.
        assert "Manual:" in screen_text(app)
        assert all(len(line) <= SIZE[0] for line in screen_text(app).splitlines())


# ---------------------------------------------------------------- the dialog on its own

class DialogApp(App[None]):
    CSS_PATH = [STYLES / "app.tcss", STYLES / "runbooks.tcss"]

    def __init__(self, request: ConfirmRequest) -> None:
        super().__init__()
        self.request = request
        self.results: list[Confirmation | None] = []

    def on_mount(self) -> None:
        self.push_screen(ConfirmDestructiveScreen(self.request), self.results.append)


def _request(phrase: str = "3", production: bool = True) -> ConfirmRequest:
    gate = Gate("run-1", "terminate", "production/db postgres", phrase, Risk.DESTRUCTIVE, "Terminate backends", "")
    return ConfirmRequest(
        gate=gate, what_will_run="SQL on database postgres (one transaction):\nselect pg_terminate_backend(pid) ...\n"
                                 "env: PGPASSWORD=***",
        environment="production", production=production, facts=[("len(preview)", "3")],
        preview="3 row(s)\npid  user\n101  cs_worker\n102  cs_worker\n103  cs_worker", rollback="Clients reconnect.",
        action_label="Terminate",
    )


async def test_dialog_opens_on_cancel_and_enter_cancels() -> None:
    app = DialogApp(_request())
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert app.focused is not None and app.focused.id == "cd-cancel"
        assert app.screen.query_one("#cd-confirm", Button).disabled
        text = screen_text(app)
        assert "PRODUCTION" in text and "production/db postgres" in text
        assert "pg_terminate_backend" in text and "PGPASSWORD=***" in text
        assert "To confirm, type 3" in text
        await pilot.press("enter")
        await pilot.pause()
    assert app.results == [None]


async def test_confirm_is_disabled_until_the_phrase_matches() -> None:
    app = DialogApp(_request("17"))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        screen = app.screen
        confirm = screen.query_one("#cd-confirm", Button)
        await pilot.press("tab")  # Cancel -> Confirm is disabled, so the focus goes round to the input
        focus_ids = []
        for _ in range(4):
            focus_ids.append(app.focused.id if app.focused else None)
            await pilot.press("tab")
        assert "cd-confirm" not in focus_ids  # a disabled button cannot even be focused
        screen.query_one("#cd-input", Input).focus()
        for typed in ("1", "18", "17 ", " 17x", "177", "Seventeen"):
            screen.query_one("#cd-input", Input).value = ""
            screen.query_one("#cd-input", Input).focus()
            await pilot.pause()
            await pilot.press(*typed)
            await pilot.press("enter")  # Enter in the input never confirms
            await pilot.pause()
            assert screen.matches() == (typed.strip() == "17")
            assert confirm.disabled == (typed.strip() != "17")
        assert app.results == []
        screen.query_one("#cd-input", Input).value = ""
        screen.query_one("#cd-input", Input).focus()
        await pilot.pause()
        await pilot.press("1", "7")
        assert not confirm.disabled
        await pilot.press("enter")  # moves to the button
        await pilot.pause()
        assert app.focused is confirm and app.results == []
        await pilot.press("enter")
        await pilot.pause()
    (conf,) = app.results
    assert isinstance(conf, Confirmation) and conf.typed == "17"
    assert check_confirmation(_request("17").gate, conf).allowed


async def test_dialog_renders_untrusted_text_literally() -> None:
    request = _request()
    request = ConfirmRequest(**{**request.__dict__, "preview": "pid  query\n101  [bold red]drop[/] \x1b[31mred\x1b[0m"})
    app = DialogApp(request)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        text = screen_text(app)
        assert "[bold red]drop[/]" in text  # markup shown as text, not applied
        assert "\x1b" not in text and "␛[31mred" in text


# ---------------------------------------------------------------- the wizard end to end on the demo


async def test_wizard_terminates_idle_in_transaction_backends_only_with_the_phrase() -> None:
    app = demo_app("connection-exhaustion", initial_pane="runbooks")
    async with app.run_test(size=SIZE) as pilot:
        await play(app, 900, step=300)
        before = idle_in_tx(app)
        pct_before = pct(app)
        assert before > 0 and pct_before >= 80
        wizard = await open_connection_wizard(pilot)
        dialog = await reach_terminate_gate(pilot, wizard)
        phrase = dialog.request.gate.phrase
        assert phrase == str(before)  # the number of backends, as previewed
        # Everything needed to decide, and to cancel, is on an 80x24 screen.
        for selector in ("#cd-env", "#cd-target", "#cd-prompt", "#cd-input", "#cd-cancel", "#cd-confirm"):
            region = dialog.query_one(selector).region
            assert region.height > 0 and region.right <= SIZE[0] and region.bottom <= SIZE[1], selector
        for selector in ("#rbw-head", "#rbw-steps", "#rbw-detail", "#rbw-output"):
            region = wizard.query_one(selector).region
            assert region.width > 0 and region.height > 0 and region.right <= SIZE[0] and region.bottom <= SIZE[1], selector
        assert "REFUSED" not in screen_text(app)
        assert app.focused.id == "cd-cancel"

        # 1. Enter alone cancels: nothing ran.
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, RunbookWizardScreen))
        assert terminations(app) == [] and ran(app, "terminate_idle") == [] and idle_in_tx(app) == before

        # 2. A wrong phrase: Confirm stays disabled; Enter in the input does not confirm; Esc cancels.
        dialog = await open_gate(pilot, wizard)
        await pilot.press("f2", *str(before + 1), "enter", "tab", "tab", "enter")
        await pilot.pause()
        assert dialog.query_one("#cd-confirm", Button).disabled
        if isinstance(app.screen, ConfirmDestructiveScreen):
            await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, RunbookWizardScreen))
        assert terminations(app) == [] and ran(app, "terminate_idle") == [] and idle_in_tx(app) == before

        # 3. The phrase, then a press on Confirm: the backends go, and the audit says so.
        dialog = await open_gate(pilot, wizard)
        await pilot.press("f2", *dialog.request.gate.phrase, "enter")
        assert app.focused.id == "cd-confirm"
        await pilot.press("enter")
        await wait_for(pilot, lambda: wizard.run.steps["terminate_idle"].state is StepState.SUCCEEDED and not wizard.busy)
        assert len(terminations(app)) == before
        assert idle_in_tx(app) == 0
        phases = [(r["phase"], r.get("outcome")) for r in ran(app, "terminate_idle")]
        assert phases == [("before", "running"), ("after", "succeeded")]
        assert wizard.run.steps["terminate_idle"].verified  # (was: this or a text that the 80x24 view does not show)

        # The demo's connections drop: the runbook's own usage re-check shows it.
        assert pct(app) < pct_before
        await pilot.press("r")  # shows the next step: route_long and its choices
        await wait_for(pilot, lambda: wizard.viewed_id == "route_long")
        await pilot.press("r")  # to the choices
        await wait_for(pilot, lambda: app.focused is not None and app.focused.id == "rbw-choices")
        await pilot.press("down", "enter")  # leave the long-running queries
        await wait_for(pilot, lambda: wizard.current_id == "recheck" and not wizard.busy)
        await pilot.press("r", "r")
        await wait_for(pilot, lambda: wizard.run.steps["recheck"].state is not StepState.PENDING and not wizard.busy)
        assert wizard.run.steps["recheck"].state is StepState.SUCCEEDED, wizard.run.steps["recheck"].detail
        assert wizard.run.steps["usage"].state is StepState.FAILED  # it was over 80 % before


STORM_KEYS = ["enter"] * 3 + ["tab"] * 3 + ["shift+tab", "space", "escape", "y", "Y", "n", "f2"] + \
    list("abcdefghijklmnopqrstuvwxyz") + list("0123456789") * 2


async def test_key_storm_on_the_dialog_alone_never_confirms() -> None:
    """Thousands of random keys, in bursts, on a fresh dialog each time it closes: never a Confirmation."""
    import random

    rng = random.Random(7)

    class StormApp(DialogApp):
        typed = 0

        def on_mount(self) -> None:
            self.push_screen(ConfirmDestructiveScreen(self.request), self.reopen)

        def reopen(self, result: Confirmation | None) -> None:
            self.results.append(result)
            self.push_screen(ConfirmDestructiveScreen(self.request), self.reopen)

        def on_input_changed(self, _event: Input.Changed) -> None:
            self.typed += 1

    app = StormApp(_request("35"))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        for _ in range(170):
            await burst(pilot, [rng.choice(STORM_KEYS) for _ in range(12)])
        await pilot.pause()
    assert len(app.results) > 50 and app.typed > 300  # opened and closed many times, much typed
    assert all(r is None for r in app.results)


async def test_key_storm_on_the_dialog_never_executes_the_step() -> None:
    """The same storm on the real gate in the wizard: the simulation and the audit show nothing ran."""
    import random

    rng = random.Random(20261127)
    app = demo_app("connection-exhaustion", initial_pane="runbooks")
    async with app.run_test(size=SIZE) as pilot:
        await play(app, 900, step=300)
        before = idle_in_tx(app)
        wizard = await open_connection_wizard(pilot)
        await reach_terminate_gate(pilot, wizard)
        opened = 1
        typed_into_input = 0
        for _ in range(400):
            if not isinstance(app.screen, ConfirmDestructiveScreen):
                await open_gate(pilot, wizard)
                opened += 1
            key = rng.choice(STORM_KEYS)
            if app.focused is not None and app.focused.id == "cd-input" and len(key) == 1:
                typed_into_input += 1
            await quick_press(pilot, key)
        if isinstance(app.screen, ConfirmDestructiveScreen):
            await pilot.press("escape")
        await wait_for(pilot, lambda: not wizard.busy)
        assert opened > 10 and typed_into_input > 50  # the storm really hit the dialog, many times
        assert terminations(app) == []
        assert idle_in_tx(app) == before
        assert ran(app, "terminate_idle") == []
        assert wizard.run.steps["terminate_idle"].state is not StepState.SUCCEEDED


async def test_read_only_session_shows_the_destructive_step_refused() -> None:
    app = demo_app("connection-exhaustion", initial_pane="runbooks", read_only=True)
    async with app.run_test(size=SIZE) as pilot:
        await play(app, 900, step=300)
        wizard = await open_connection_wizard(pilot)
        await pilot.press("g")
        await wait_for(pilot, lambda: wizard.current_id == "route_idle" and not wizard.busy)
        await pilot.press("r")
        await wait_for(pilot, lambda: app.focused is not None and app.focused.id == "rbw-choices")
        await pilot.press("enter")
        await wait_for(pilot, lambda: wizard.current_id == "terminate_idle" and not wizard.busy)
        await pilot.press("r")  # show it
        await wait_for(pilot, lambda: wizard.viewed_id == "terminate_idle" and "REFUSED" in shown(wizard, "#rbw-blocked"))
        assert "read-only session" in shown(wizard, "#rbw-blocked")
        await pilot.press("r")  # try anyway: the engine refuses, no dialog opens
        # The refusal is saved, then audited (the audit is written off the event loop): wait for both.
        refusals_of = lambda: [r for r in audit(app) if r.get("step_id") == "terminate_idle" and r.get("phase") == "refused"]  # noqa: E731
        await wait_for(pilot, lambda: wizard.run.steps["terminate_idle"].state is StepState.REFUSED and refusals_of() and not wizard.busy)
        assert not isinstance(app.screen, ConfirmDestructiveScreen)
        refusals = refusals_of()
        assert refusals and "read-only" in refusals[-1]["detail"]
        assert terminations(app) == [] and ran(app, "terminate_idle") == []


async def test_interrupted_run_is_offered_when_the_pane_opens() -> None:
    from cs_console.services.runbooks.catalog import load_catalog
    from cs_console.wiring.runbooks import open_engine

    first = demo_app("connection-exhaustion", initial_pane="overview")
    rb = load_catalog().get("db-connection-issues")
    engine = open_engine(first.session, rb, environment=first.env)
    run = await engine.start({})
    await engine.execute("usage")
    await engine.close()  # the console went away mid-run

    app = demo_app("connection-exhaustion", initial_pane="runbooks")
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, ResumeOfferScreen))
        await pilot.pause()
        assert "Database connection issues" in screen_text(app) and "by_state" in screen_text(app)
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, RunbookWizardScreen) and app.screen.run is not None)
        wizard = app.screen
        assert wizard.run.run_id == run.run_id
        assert wizard.current_id == "by_state"
        assert wizard.run.steps["usage"].state is StepState.SUCCEEDED  # the seeded demo's check passed before the console went away


async def test_daily_checklist_ticks_are_kept_for_the_day() -> None:
    from cs_console.stores.checklists import ChecklistStore

    app = demo_app("calm", initial_pane="runbooks")
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.query_one("#rb-list", OptionList).option_count > 0)
        await pilot.press("slash", *"daily tasks", "enter", "r")
        await wait_for(pilot, lambda: isinstance(app.screen, RunbookStartScreen))
        await pilot.press("f2")
        await wait_for(pilot, lambda: isinstance(app.screen, RunbookWizardScreen) and app.screen.run is not None)
        wizard = app.screen
        await pilot.press("g")
        await wait_for(pilot, lambda: wizard.current_id == "review_alerts" and not wizard.busy)
        await pilot.press("r", "r")
        await wait_for(pilot, lambda: app.focused is not None and app.focused.id == "rbw-choices")
        await pilot.press("enter")
        await wait_for(pilot, lambda: wizard.run.steps["review_alerts"].state is StepState.SUCCEEDED)
        ticks = ChecklistStore(clock=app.env.clock).ticks("daily-tasks-checklist")
        succeeded = {sid for sid, rec in wizard.run.steps.items() if rec.state is StepState.SUCCEEDED}
        assert "review_alerts" in ticks and set(ticks) == succeeded
        assert ticks["review_alerts"].note == "operator: reviewed"


async def test_wizard_links_the_open_incident_and_writes_its_timeline() -> None:
    from cs_console.domain.incidents.model import Severity
    from cs_console.wiring.incidents import open_incident_service

    app = demo_app("connection-exhaustion", initial_pane="runbooks")
    service = await open_incident_service(app.session)
    incident = await service.open(title="Connection pool exhausted", severity=Severity.P1)
    await service.close()
    async with app.run_test(size=SIZE) as pilot:
        await play(app, 300, step=300)
        wizard = await open_connection_wizard(pilot)
        assert wizard.run.incident_ref == incident.ref
        assert incident.ref in screen_text(app)
        await pilot.press("r")
        await wait_for(pilot, lambda: wizard.run.steps["usage"].state is not StepState.PENDING and not wizard.busy)
    service = await open_incident_service(app.session)
    try:
        events = (await service.get(incident.ref)).events
    finally:
        await service.close()
    steps = [e.data for e in events if e.type.value == "runbook_step"]
    assert any(d["runbook_id"] == "db-connection-issues" and d["step_id"] == "usage" for d in steps), steps




async def test_maintenance_runbook_outside_its_window_needs_the_extra_phrase() -> None:
    """The demo's clock (a Friday) is outside the weekly window: mutating steps wait for `w` and the runbook id."""
    app = demo_app("calm", initial_pane="runbooks")
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.query_one("#rb-list", OptionList).option_count > 0)
        await pilot.press("slash", *"weekly maintenance", "enter", "r")
        await wait_for(pilot, lambda: isinstance(app.screen, RunbookStartScreen))
        assert "Outside the maintenance window" in screen_text(app)
        await pilot.press("f2")
        await wait_for(pilot, lambda: isinstance(app.screen, RunbookWizardScreen) and app.screen.run is not None)
        wizard = app.screen
        assert "outside the maintenance window" in shown(wizard, "#rbw-banner")
        await pilot.press("g")  # the read-only check runs; the VACUUM waits
        await wait_for(pilot, lambda: wizard.current_id == "vacuum_analyze" and not wizard.busy)
        assert "REFUSED" in shown(wizard, "#rbw-blocked")
        await pilot.press("w")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmDestructiveScreen))
        assert app.screen.request.gate.phrase == "weekly-maintenance"
        await pilot.press("f2", *"weekly-maintenance", "enter", "enter")
        await wait_for(pilot, lambda: isinstance(app.screen, RunbookWizardScreen) and wizard.run.window_confirmed)
        await wait_for(pilot, lambda: not wizard.busy)
        await pilot.press("r")
        await wait_for(pilot, lambda: wizard.run.steps["vacuum_analyze"].state is StepState.SUCCEEDED)
        assert [a.kind for a in app.env.demo.actions()][:1] == ["vacuum"]
        assert any(r.get("step_id") == "@maintenance-window" and r.get("outcome") == "window-confirmed" for r in audit(app))
