"""The Runbooks pane in team mode, on the real PostgreSQL: the team's runs appear live (NOTIFY),
another engineer's approval request raises a notice, and the pane approves it with the typed
phrase (the store records this console's engineer as the second person) or rejects it."""

from __future__ import annotations

import secrets
from datetime import datetime, timezone
from pathlib import Path

import pytest
from textual.widgets import Button, Input, Static

from cs_console.domain.runbooks.run_state import Run, StepState
from cs_console.domain.clock import SystemClock
from cs_console.services.environment import Environment
from cs_console.services.session import session_from_args
from cs_console.stores.approval_store_pg import PgApprovalStore
from cs_console.stores.run_store_pg import PgRunStore
from cs_console.tui.app import ConsoleApp
from cs_console.tui.panes.runbooks import RunbooksPane
from cs_console.tui.screens.confirm_destructive import ConfirmDestructiveScreen
from cs_console.tui.screens.runbook_reject import RejectApprovalScreen
from cs_console.tui.screens.runbook_wizard import RunbookWizardScreen
from tests.screen_text import until
from tests.sessions import session_args

pytestmark = pytest.mark.postgres

ALICE = {"user": "alice", "uid": 60010, "ssh_client": "203.0.113.7", "host": "bastion"}


def make_app(tmp_path: Path, team_dsn: str) -> ConsoleApp:
    path = tmp_path / "config.toml"
    path.write_text(f'[profiles.prod]\nenvironment = "production"\nstore = "postgres"\nteam_dsn = "{team_dsn}"\n')
    path.chmod(0o600)
    args = session_args()
    args.config = str(path)
    session = session_from_args(args)
    session.demo = None
    return ConsoleApp(session, Environment(session=session, clock=SystemClock()), poll=False, initial_pane="runbooks")


async def alice_waits(dsn: str, tmp_path: Path, run_id: str) -> tuple[PgRunStore, PgApprovalStore]:
    """Alice's console: a restore run at its guarded step, waiting for a second person."""
    from cs_console.services.runbooks.catalog import load_catalog

    rb = load_catalog(user_dir=Path("/nonexistent")).get("restore-from-backup")
    now = datetime.now(timezone.utc)
    run = Run.new(run_id=run_id, runbook_id=rb.id, runbook_sha256=rb.sha256, runbook_version=rb.version,
                  runbook_source=rb.source, step_ids=[s.id for s in rb.steps], profile="prod", environment="production",
                  dry_run=False, inputs={"backup_file": "/nonexistent/b.dump", "target_database": "rb_target"}, operator=ALICE, now=now)
    for step in rb.steps[:rb.index_of("restore")]:
        run.transition(step.id, StepState.RUNNING, now)
        run.transition(step.id, StepState.SUCCEEDED, now)
    store = PgRunStore(dsn, local_root=tmp_path / "alice", holder="alice@203.0.113.7")
    assert await store.claim_async(run_id)
    await store.save(run)
    approvals = PgApprovalStore(dsn)
    await approvals.request(run_id=run_id, step_id="restore", runbook_id="restore-from-backup", profile="prod",
                            environment="production", target="production/db rb_target", phrase="rb_target",
                            what="pg_restore --clean --single-transaction --dbname …/rb_target backup.dump", requested_by=ALICE)
    return store, approvals


def team_text(app: ConsoleApp) -> str:
    return str(app.query_one("#rb-team", Static).render())


async def test_the_pane_lists_team_runs_live_and_approves_with_the_typed_phrase(pg, tmp_path, monkeypatch) -> None:
    name = f"team_pane_{secrets.token_hex(3)}"
    pg.psql(f"create database {name}")
    dsn = pg.dsn_for(name)
    monkeypatch.setenv("LOGNAME", "bob")
    monkeypatch.setenv("SSH_CLIENT", "198.51.100.2 50000 22")
    app = make_app(tmp_path, dsn)
    async with app.run_test(size=(120, 36)) as pilot:
        await until(pilot, lambda: "Team runs in progress: 0" in team_text(app), timeout=20)
        store, approvals = await alice_waits(dsn, tmp_path, "20261203T140000Z-abcdef")
        # Live: the NOTIFY of Alice's save and request reaches the pane, with a notice for the request.
        await until(pilot, lambda: "waiting for approval: restore" in team_text(app), timeout=20)
        text = team_text(app)
        assert "by alice@203.0.113.7" in text and "at restore" in text and "live" in text
        await until(pilot, lambda: any("asks for a second person's approval" in n.message for n in app._notifications))
        await pilot.press("a")
        await until(pilot, lambda: isinstance(app.screen, ConfirmDestructiveScreen))
        assert "pg_restore --clean" in str(app.screen.query_one("#cd-what", Static).render())
        confirm = app.screen.query_one("#cd-confirm", Button)
        app.screen.query_one("#cd-input", Input).value = "rb_targe"
        await pilot.pause()
        assert confirm.disabled
        app.screen.query_one("#cd-input", Input).value = "rb_target"
        await pilot.pause()
        assert not confirm.disabled
        await pilot.click("#cd-confirm")
        await until(pilot, lambda: (app.screen is not None and not isinstance(app.screen, ConfirmDestructiveScreen)))
        await until(pilot, lambda: "waiting for approval" not in team_text(app), timeout=20)
        req = await approvals.latest("20261203T140000Z-abcdef", "restore")
        assert req.status == "approved" and req.decided_by["user"] == "bob" and req.decided_by["ssh_client"] == "198.51.100.2"

        # Alice asks again for another step; Bob rejects it with a reason from the pane.
        await approvals.request(run_id="20261203T140000Z-abcdef", step_id="backup_readable", runbook_id="restore-from-backup",
                                profile="prod", environment="production", target="production/db rb_target", phrase="rb_target",
                                what="pg_restore --list backup.dump", requested_by=ALICE)
        await until(pilot, lambda: "waiting for approval: backup_readable" in team_text(app), timeout=20)
        await pilot.press("x")
        await until(pilot, lambda: isinstance(app.screen, RejectApprovalScreen))
        app.screen.query_one("#rj-reason", Input).value = "wrong backup file"
        await pilot.pause()
        await pilot.click("#rj-reject")
        await until(pilot, lambda: "waiting for approval" not in team_text(app), timeout=20)
        rejected = await approvals.latest("20261203T140000Z-abcdef", "backup_readable")
        assert rejected.status == "rejected" and rejected.reason == "wrong backup file"

        # Alice's console goes (nothing is NOTIFYed by a dead console): the feed's poll sees it.
        app.query_one(RunbooksPane)._team_feed.poll_s = 0.3
        await store.release_async("20261203T140000Z-abcdef")
        await until(pilot, lambda: "owner gone: t takes over" in team_text(app), timeout=20)
        # Bob takes it over from the pane: the run id typed, then the wizard on the resumed run, now his.
        await pilot.press("t")
        await until(pilot, lambda: isinstance(app.screen, ConfirmDestructiveScreen))
        assert "from alice@203.0.113.7 (console gone)" in str(app.screen.query_one("#cd-what", Static).render())
        app.screen.query_one("#cd-input", Input).value = "20261203T140000Z-abcdef"
        await pilot.pause()
        await pilot.click("#cd-confirm")
        await until(pilot, lambda: isinstance(app.screen, RunbookWizardScreen) and app.screen.run is not None, timeout=20)
        assert app.screen.run.owner["user"] == "bob"
        await until(pilot, lambda: "by bob@198.51.100.2" in team_text(app) and "live" in team_text(app), timeout=20)
        loaded = await store.load_async("20261203T140000Z-abcdef")
        assert loaded.owner["user"] == "bob" and loaded.operator["user"] == "alice"
    await store.close()
