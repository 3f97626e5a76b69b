"""The wizard on a real PostgreSQL: a guarded step's preview runs twice, not three times.

Once when the step is shown (the plan the operator reads, kept and handed to execute),
once in the engine's re-check at execution (the guard: the phrase must match what is there
now). The preview is a PL/pgSQL function that counts its own calls on the server.
"""

from __future__ import annotations

from pathlib import Path

import asyncpg
import pytest
from textual.app import App

from cs_console.domain.runbooks.loader import parse_runbook
from cs_console.domain.runbooks.run_state import StepState
from cs_console.tui.screens.confirm_destructive import ConfirmDestructiveScreen
from cs_console.tui.screens.runbook_start import StartRequest, WizardRequest
from cs_console.tui.screens.runbook_wizard import RunbookWizardScreen
from tests.runbook_helpers import TERMINATE_RUNBOOK, make_session, write_config

pytestmark = pytest.mark.postgres

APP = "rb-wizard-victim"
STYLES = Path(__file__).resolve().parent.parent / "cs_console" / "tui" / "styles" / "runbooks.tcss"

COUNTED_PREVIEW = TERMINATE_RUNBOOK.replace(
    'sql = "select pid, usename from pg_stat_activity where application_name = $1 and pid <> pg_backend_pid()"',
    'sql = "select * from rb_counted_preview($1)"',
)

SETUP = """
create table if not exists rb_preview_calls (n int not null);
delete from rb_preview_calls;
insert into rb_preview_calls values (0);
create or replace function rb_counted_preview(app text) returns table (pid int, usename name) language plpgsql as $$
begin
    update rb_preview_calls set n = n + 1;
    return query select a.pid, a.usename from pg_stat_activity a where a.application_name = app and a.pid <> pg_backend_pid();
end $$;
"""


class WizardHost(App[None]):
    CSS_PATH = str(STYLES)

    def __init__(self, wizard: RunbookWizardScreen) -> None:
        super().__init__()
        self.wizard = wizard

    def on_mount(self) -> None:
        self.push_screen(self.wizard)


async def _until(pilot, predicate, timeout: float = 20.0) -> None:
    waited = 0.0
    while not predicate():
        assert waited < timeout, "timed out"
        await pilot.pause(0.05)
        waited += 0.05


async def test_guarded_step_previews_twice_shown_then_rechecked(tmp_path: Path, pg) -> None:
    assert COUNTED_PREVIEW != TERMINATE_RUNBOOK
    conn = await asyncpg.connect(pg.dsn)
    await conn.execute(SETUP)
    victims = [await asyncpg.connect(pg.dsn, server_settings={"application_name": APP}) for _ in range(3)]
    try:
        session = make_session(write_config(tmp_path, pg.dsn))
        rb = parse_runbook(COUNTED_PREVIEW, "t.toml")
        wizard = RunbookWizardScreen(WizardRequest(start=StartRequest(rb, inputs={"app": APP})), session=session,
                                     environment=None)
        app = WizardHost(wizard)
        async with app.run_test(size=(120, 40)) as pilot:
            await _until(pilot, lambda: wizard.run is not None and not wizard.busy)
            await pilot.press("r")  # the check
            await _until(pilot, lambda: wizard.run.steps["count"].state is StepState.SUCCEEDED and not wizard.busy)
            assert await conn.fetchval("select n from rb_preview_calls") == 0
            await pilot.press("r")  # shows the guarded step: its plan, with the preview
            await _until(pilot, lambda: wizard.plan is not None and wizard.plan.step.id == "terminate")
            assert await conn.fetchval("select n from rb_preview_calls") == 1
            await pilot.press("r")  # the typed confirmation, on the plan shown: no new preview
            await _until(pilot, lambda: isinstance(app.screen, ConfirmDestructiveScreen))
            assert app.screen.request.gate.phrase == "3"
            assert await conn.fetchval("select n from rb_preview_calls") == 1
            await pilot.press("f2", "3", "enter", "enter")
            await _until(pilot, lambda: wizard.run.steps["terminate"].state is not StepState.PENDING and not wizard.busy)
            assert wizard.run.steps["terminate"].state is StepState.SUCCEEDED, wizard.run.steps["terminate"].detail
        # Shown once, re-checked once by the engine before it ran.
        assert await conn.fetchval("select n from rb_preview_calls") == 2
    finally:
        for c in victims:
            if not c.is_closed():
                await c.close()
        await conn.close()
