"""Waiting for a second person, on the real PostgreSQL: `runbook run --wait` waits for another
engineer's decision, then runs the step (approved) or exits refused with the reason (rejected),
or exits waiting when nobody decides in time; the wizard continues by itself once the approval
arrives, or shows the rejection and its reason."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from cs_console.domain.runbooks.loader import parse_runbook
from cs_console.services.runbooks.approvals import decide
from cs_console.wiring.runbooks import build_approval_store, build_audit_trail
from tests.runbook_helpers import write_runbook
from tests.test_team_runs import BOB, GUARDED, team_db, team_session

pytestmark = pytest.mark.postgres

ROOT = Path(__file__).resolve().parent.parent
WAIT_GUARDED = GUARDED.replace('id = "t-guarded"', 'id = "t-guarded-wait"')


def alice_cli(config: Path, *args: str) -> subprocess.Popen[str]:
    env = {**os.environ, "SSH_CLIENT": "203.0.113.7 5000 22", "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen([sys.executable, "-m", "cs_console", "runbook", "run", "t-guarded-wait", "--config", str(config),
                             "--confirm", "production", *args], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=env)


async def read_until(proc: subprocess.Popen[str], needle: str, timeout: float = 60) -> str:
    """stdout lines up to the one holding `needle` (read in a thread: the loop stays free)."""
    seen: list[str] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = await asyncio.to_thread(proc.stdout.readline)
        if not line:
            break
        seen.append(line)
        if needle in line:
            return "".join(seen)
    raise AssertionError(f"{needle!r} not printed; stdout so far:\n{''.join(seen)}\nstderr:\n{proc.stderr.read()}")


async def test_run_wait_runs_the_step_once_approved_and_stops_refused_when_rejected(pg, tmp_path) -> None:
    pg.psql("create table if not exists rb_scratch (id int); delete from rb_scratch; insert into rb_scratch values (1), (2)")
    session = team_session(tmp_path, pg, team_db(pg))
    config = tmp_path / "config.toml"  # team_session's file
    write_runbook(WAIT_GUARDED, "t-guarded-wait")
    approvals, audit = build_approval_store(session), build_audit_trail(session)

    # Approved while the CLI waits: it runs the step and exits 0.
    proc = alice_cli(config, "--wait", "60")
    try:
        said = await read_until(proc, "waiting up to")
        assert "for a second person's approval of t-guarded-wait/wipe: another engineer than " in said, said
        assert "@203.0.113.7 (another OS user, from another SSH client)" in said, said
        assert pg.psql("select count(*) from rb_scratch") == "2"
        run_id = next(line.split()[1] for line in said.splitlines() if line.startswith("run "))
        await decide(approvals, audit, run_id=run_id, step_id="wipe", approve=True, identity=BOB, typed="production")
        out, err = await asyncio.to_thread(proc.communicate, timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 0, err
    assert "approved by bob@198.51.100.2: running wipe" in out and "succeeded" in out, out
    assert pg.psql("select count(*) from rb_scratch") == "0"
    assert (await approvals.latest(run_id, "wipe")).status == "used"

    # Rejected while it waits: exit 2, refused with the rejecter's reason; nothing ran.
    pg.psql("insert into rb_scratch values (3)")
    proc = alice_cli(config, "--wait")
    try:
        said = await read_until(proc, "waiting up to 900 s")
        run_id = next(line.split()[1] for line in said.splitlines() if line.startswith("run "))
        await decide(approvals, audit, run_id=run_id, step_id="wipe", approve=False, identity=BOB, reason="not during the sale")
        out, err = await asyncio.to_thread(proc.communicate, timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 2, (out, err)
    assert "rejected by bob@198.51.100.2: not during the sale" in err, err
    assert pg.psql("select count(*) from rb_scratch") == "1"

    # Nobody decides in time: exit 3 (waiting), resumable.
    proc = alice_cli(config, "--wait", "2")
    try:
        out, err = await asyncio.to_thread(proc.communicate, timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 3, (out, err)
    assert "waiting up to 2 s" in out and "no decision within 2 s" in err and "--resume" in err, (out, err)
    assert pg.psql("select count(*) from rb_scratch") == "1"


async def test_the_wizard_shows_a_rejection_and_its_reason_by_itself(pg, tmp_path, monkeypatch) -> None:
    from cs_console.domain.runbooks.run_state import StepState
    from cs_console.tui.screens.confirm_destructive import ConfirmDestructiveScreen
    from cs_console.tui.screens.runbook_start import StartRequest, WizardRequest
    from cs_console.tui.screens.runbook_wizard import RunbookWizardScreen
    from tests.screen_text import screen_text
    from tests.test_runbook_wizard_pg import WizardHost, _until

    monkeypatch.setattr("cs_console.tui.screens.runbook_wizard_marks.APPROVAL_POLL_S", 3600.0)  # the NOTIFY, not the poll
    pg.psql("create table if not exists rb_scratch (id int); delete from rb_scratch; insert into rb_scratch values (1)")
    session = team_session(tmp_path, pg, team_db(pg))
    wizard = RunbookWizardScreen(WizardRequest(start=StartRequest(parse_runbook(GUARDED, "t.toml"), inputs={})),
                                 session=session, environment=None)
    app = WizardHost(wizard)
    async with app.run_test(size=(120, 40)) as pilot:
        await _until(pilot, lambda: wizard.run is not None and not wizard.busy)
        await pilot.press("r")
        await _until(pilot, lambda: wizard.run.steps["look"].state is StepState.SUCCEEDED and not wizard.busy)
        await pilot.press("r")
        await _until(pilot, lambda: wizard.plan is not None and wizard.plan.step.id == "wipe")
        await pilot.press("r")
        await _until(pilot, lambda: isinstance(app.screen, ConfirmDestructiveScreen))
        await pilot.press("f2", *"production", "enter", "enter")
        await _until(pilot, lambda: "once approved it runs by itself" in wizard.notice and not wizard.busy)
        assert "waiting for a second person" in screen_text(app)
        await decide(build_approval_store(session), build_audit_trail(session), run_id=wizard.run.run_id, step_id="wipe",
                     approve=False, identity=BOB, reason="wrong table")
        await _until(pilot, lambda: wizard.run.steps["wipe"].state is StepState.REFUSED and not wizard.busy)
        await _until(pilot, lambda: "rejected by bob@198.51.100.2: wrong table" in screen_text(app))
        assert not isinstance(app.screen, ConfirmDestructiveScreen)
        # Confirming again asks again (the rejection was shown once).
        await _until(pilot, lambda: wizard.plan is not None and "confirming asks the team" in wizard.plan.approval)
        assert "Second person: needs a second person's approval" in screen_text(app)
    assert pg.psql("select count(*) from rb_scratch") == "1"
