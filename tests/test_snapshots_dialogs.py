"""SVG snapshots of the main dialogs at 80x24 and 120x40, on the demo with a frozen clock.

Each test reaches its dialog by keys, as an operator would, and waits on
conditions (the dialog is the screen, its worker is done), never on a fixed
sleep; tests/snapshot_support.py pins what the machine would otherwise change.
"""

from __future__ import annotations

from typing import Any

import pytest
from textual.command import CommandPalette
from textual.widgets import OptionList

from cs_console.tui.screens.confirm_destructive import ConfirmDestructiveScreen
from cs_console.tui.screens.help import HelpScreen
from cs_console.tui.screens.incident_detail import IncidentDetailScreen
from cs_console.tui.screens.incident_export import IncidentExportScreen
from cs_console.tui.screens.incident_open import IncidentOpenScreen
from cs_console.tui.screens.incident_postmortem import IncidentPostmortemScreen
from cs_console.tui.screens.incident_update import IncidentUpdateScreen
from cs_console.tui.screens.log_detail import LogDetailScreen
from cs_console.tui.screens.log_save import LogSaveScreen
from cs_console.tui.screens.runbook_start import RunbookStartScreen
from cs_console.tui.screens.runbook_wizard import RunbookWizardScreen
from tests.demo_app import demo_app, play
from tests.snapshot_support import SIZES, declare_incidents, incidents_listed, mount_done, pinned_machine, settle, tail_caught_up  # noqa: F401 - a fixture

pytestmark = pytest.mark.usefixtures("pinned_machine")


def on_screen(app: Any, kind: type) -> bool:
    return isinstance(app.screen, kind) and app.screen.is_mounted


@pytest.mark.parametrize("size", SIZES)
def test_help(snap_compare: Any, size: tuple[int, int]) -> None:
    app = demo_app("connection-exhaustion")

    async def run_before(pilot: Any) -> None:
        await settle(pilot, lambda: mount_done(app), what="panes")
        await pilot.press("f1")
        await settle(pilot, lambda: on_screen(app, HelpScreen), what="help")

    assert snap_compare(app, terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES)
def test_command_palette(snap_compare: Any, size: tuple[int, int]) -> None:
    app = demo_app("connection-exhaustion")

    async def run_before(pilot: Any) -> None:
        await settle(pilot, lambda: mount_done(app), what="panes")
        await pilot.press("ctrl+p", *"go to")

        def listed() -> bool:
            if not on_screen(app, CommandPalette):
                return False
            palette = app.screen
            options = palette.query_one("CommandList", OptionList)
            return options.option_count >= 5 and not palette._show_busy

        await settle(pilot, listed, what="palette")

    assert snap_compare(app, terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES)
def test_incident_open_from_an_alert(snap_compare: Any, size: tuple[int, int]) -> None:
    app = demo_app("connection-exhaustion")

    async def run_before(pilot: Any) -> None:
        await play(app, 90, 15)
        await settle(pilot, lambda: mount_done(app), what="panes")
        await pilot.press("a", "i")
        await settle(pilot, lambda: on_screen(app, IncidentOpenScreen), what="incident open")

    assert snap_compare(app, terminal_size=size, run_before=run_before)


async def _incident_key(pilot: Any, app: Any, *keys: str) -> None:
    """On the Incidents pane with the P1 selected (first row), press keys."""
    await settle(pilot, lambda: mount_done(app) and incidents_listed(app, 3), what="incidents")
    await pilot.press(*keys)


@pytest.mark.parametrize("size", SIZES)
def test_incident_detail(snap_compare: Any, size: tuple[int, int]) -> None:
    app = demo_app("connection-exhaustion", initial_pane="incidents")
    declare_incidents(app)

    async def run_before(pilot: Any) -> None:
        await _incident_key(pilot, app, "enter")
        await settle(pilot, lambda: on_screen(app, IncidentDetailScreen), what="incident detail")

    assert snap_compare(app, terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES)
def test_incident_update(snap_compare: Any, size: tuple[int, int]) -> None:
    app = demo_app("connection-exhaustion", initial_pane="incidents")
    declare_incidents(app)

    async def run_before(pilot: Any) -> None:
        await _incident_key(pilot, app, "u")
        await settle(pilot, lambda: on_screen(app, IncidentUpdateScreen), what="incident update")

    assert snap_compare(app, terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES)
def test_incident_postmortem(snap_compare: Any, size: tuple[int, int]) -> None:
    app = demo_app("connection-exhaustion", initial_pane="incidents")
    declare_incidents(app)

    async def run_before(pilot: Any) -> None:
        await _incident_key(pilot, app, "m")
        await settle(pilot, lambda: on_screen(app, IncidentPostmortemScreen), what="post-mortem")

    assert snap_compare(app, terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES)
def test_incident_export(snap_compare: Any, size: tuple[int, int]) -> None:
    app = demo_app("connection-exhaustion", initial_pane="incidents")
    declare_incidents(app)

    async def run_before(pilot: Any) -> None:
        await _incident_key(pilot, app, "e")
        await settle(pilot, lambda: on_screen(app, IncidentExportScreen), what="export")

    assert snap_compare(app, terminal_size=size, run_before=run_before)


async def _logs_key(pilot: Any, app: Any, key: str) -> None:
    """The Logs pane shown after the clock moved (its history is then always the same), then a key."""
    await play(app, 60, 15)
    await pilot.press("3")
    await settle(pilot, lambda: mount_done(app) and app.current_pane.id == "logs" and tail_caught_up(app.query_one("#logs")), what="logs")
    await pilot.press(key)


@pytest.mark.parametrize("size", SIZES)
def test_log_detail(snap_compare: Any, size: tuple[int, int]) -> None:
    app = demo_app("connection-exhaustion")

    async def run_before(pilot: Any) -> None:
        await _logs_key(pilot, app, "enter")
        await settle(pilot, lambda: on_screen(app, LogDetailScreen), what="log detail")

    assert snap_compare(app, terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES)
def test_log_save(snap_compare: Any, size: tuple[int, int]) -> None:
    app = demo_app("connection-exhaustion")

    async def run_before(pilot: Any) -> None:
        await _logs_key(pilot, app, "s")
        await settle(pilot, lambda: on_screen(app, LogSaveScreen), what="log save")

    assert snap_compare(app, terminal_size=size, run_before=run_before)


# The pane's start worker waits on the start dialog, then on the wizard, until they close.
RUNBOOK_OPEN = frozenset({"runbooks-start"})
# ...and the step's worker waits on its typed confirmation.
GATE_OPEN = RUNBOOK_OPEN | {"runbook-step"}


async def _runbook_start(pilot: Any, app: Any) -> None:
    """The connection-issues runbook's start dialog, after 15 simulated minutes of the outage."""
    await play(app, 900, 300)
    await settle(pilot, lambda: mount_done(app) and app.query_one("#rb-list", OptionList).option_count > 0, what="runbooks")
    await pilot.press("slash", *"connection issues", "enter", "r")
    await settle(pilot, lambda: on_screen(app, RunbookStartScreen), what="runbook start", waiting=RUNBOOK_OPEN)


async def _wizard(pilot: Any, app: Any) -> RunbookWizardScreen:
    await _runbook_start(pilot, app)
    await pilot.press("f2")

    def ready() -> bool:
        screen = app.screen
        return on_screen(app, RunbookWizardScreen) and screen.run is not None and not screen.busy

    await settle(pilot, ready, what="wizard", waiting=RUNBOOK_OPEN)
    return app.screen


@pytest.mark.parametrize("size", SIZES)
def test_runbook_start(snap_compare: Any, size: tuple[int, int]) -> None:
    app = demo_app("connection-exhaustion", initial_pane="runbooks")

    async def run_before(pilot: Any) -> None:
        await _runbook_start(pilot, app)

    assert snap_compare(app, terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES)
def test_runbook_wizard(snap_compare: Any, size: tuple[int, int]) -> None:
    app = demo_app("connection-exhaustion", initial_pane="runbooks")

    async def run_before(pilot: Any) -> None:
        wizard = await _wizard(pilot, app)
        await pilot.press("g")  # the read-only checks run up to the first decision
        await settle(pilot, lambda: wizard.current_id == "route_idle" and not wizard.busy, what="wizard checks", waiting=RUNBOOK_OPEN)

    assert snap_compare(app, terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES)
def test_confirm_destructive(snap_compare: Any, size: tuple[int, int]) -> None:
    app = demo_app("connection-exhaustion", initial_pane="runbooks")

    async def run_before(pilot: Any) -> None:
        wizard = await _wizard(pilot, app)
        await pilot.press("g")
        await settle(pilot, lambda: wizard.current_id == "route_idle" and not wizard.busy, what="wizard checks", waiting=RUNBOOK_OPEN)
        await pilot.press("r")  # to the decision's choices
        await settle(pilot, lambda: app.focused is not None and app.focused.id == "rbw-choices", what="choices", waiting=RUNBOOK_OPEN)
        await pilot.press("enter")  # terminate the idle-in-transaction backends
        await settle(pilot, lambda: wizard.current_id == "terminate_idle" and not wizard.busy, what="terminate step", waiting=RUNBOOK_OPEN)
        # r shows the guarded step's preview, then r again asks for its typed confirmation.
        for _ in range(3):
            await pilot.press("r")
            await settle(pilot, lambda: on_screen(app, ConfirmDestructiveScreen) or not wizard.busy, what="preview", waiting=GATE_OPEN)
            if on_screen(app, ConfirmDestructiveScreen):
                break
        await settle(pilot, lambda: on_screen(app, ConfirmDestructiveScreen), what="confirmation", waiting=GATE_OPEN)

    assert snap_compare(app, terminal_size=size, run_before=run_before)
