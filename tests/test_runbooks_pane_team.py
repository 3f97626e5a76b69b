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
from cs_console.tui.screens.runbook_pick import TeamPickScreen
from cs_console.tui.screens.runbook_reject import RejectApprovalScreen
from cs_console.tui.screens.runbook_wizard import RunbookWizardScreen
from tests.screen_text import until
from tests.sessions import session_args

pytestmark = pytest.mark.postgres

ALICE = {"user": "alice", "uid": 60010, "ssh_client": "203.0.113.7", "host": "bastion"}
CAROL = {"user": "carol", "uid": 60011, "ssh_client": "192.0.2.44", "host": "bastion"}


def make_app(tmp_path: Path, team_dsn: str) -> ConsoleApp:
    path = tmp_path / "config.toml"
    path.write_text(f'[profiles.prod]\nenvironment = "production"\nstore = "postgres"\nteam_dsn = "{team_dsn}"\n')
    path.chmod(0o600)
    args = session_args()
    args.config = str(path)
    session = session_from_args(args)
    session.demo = None
    return ConsoleApp(session, Environment(session=session, clock=SystemClock()), poll=False, initial_pane="runbooks")


async def alice_waits(dsn: str, tmp_path: Path, run_id: str, *, who: dict | None = None,
                      target: str = "rb_target") -> tuple[PgRunStore, PgApprovalStore]:
    """Alice's (or `who`'s) console: a restore run at its guarded step, waiting for a second person."""
    who = who or ALICE
    from cs_console.services.runbooks.catalog import load_catalog

    rb = load_catalog(user_dir=Path("/nonexistent")).get("restore-from-backup")
    now = datetime.now(timezone.utc)
    run = Run.new(run_id=run_id, runbook_id=rb.id, runbook_sha256=rb.sha256, runbook_version=rb.version,
                  runbook_source=rb.source, step_ids=[s.id for s in rb.steps], profile="prod", environment="production",
                  dry_run=False, inputs={"backup_file": "/nonexistent/b.dump", "target_database": target}, operator=who, now=now)
    for step in rb.steps[:rb.index_of("restore")]:
        run.transition(step.id, StepState.RUNNING, now)
        run.transition(step.id, StepState.SUCCEEDED, now)
    store = PgRunStore(dsn, local_root=tmp_path / who["user"], holder=f"{who['user']}@{who['ssh_client']}")
    assert await store.claim_async(run_id)
    await store.save(run)
    approvals = PgApprovalStore(dsn)
    await approvals.request(run_id=run_id, step_id="restore", runbook_id="restore-from-backup", profile="prod",
                            environment="production", target=f"production/db {target}", phrase=target,
                            what=f"pg_restore --clean --single-transaction --dbname …/{target} backup.dump", requested_by=who)
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


async def test_with_several_requests_the_engineer_chooses_which_to_review(pg, tmp_path, monkeypatch) -> None:
    """Two runs wait for a second person: a and x open a picker first; the chosen request is the one decided."""
    name = f"team_pick_{secrets.token_hex(3)}"
    pg.psql(f"create database {name}")
    dsn = pg.dsn_for(name)
    monkeypatch.setenv("LOGNAME", "bob")
    monkeypatch.setenv("SSH_CLIENT", "198.51.100.2 50000 22")
    app = make_app(tmp_path, dsn)
    alice_run, carol_run = "20261204T090000Z-a11ce0", "20261204T090500Z-ca7010"
    async with app.run_test(size=(120, 36)) as pilot:
        await until(pilot, lambda: "Team runs in progress: 0" in team_text(app), timeout=20)
        a_store, approvals = await alice_waits(dsn, tmp_path, alice_run, target="orders_db")
        c_store, _ = await alice_waits(dsn, tmp_path, carol_run, who=CAROL, target="billing_db")
        await until(pilot, lambda: "2 waiting for your approval" in team_text(app) and "you choose which" in team_text(app),
                    timeout=20)

        # a: the picker lists both, oldest first, with who, step, target and the call; Esc leaves both pending.
        await pilot.press("a")
        await until(pilot, lambda: isinstance(app.screen, TeamPickScreen))
        listed = app.screen.query_one("#rp-list")
        prompts = [str(listed.get_option_at_index(i).prompt) for i in range(listed.option_count)]
        assert len(prompts) == 2
        assert "alice@203.0.113.7 · restore-from-backup/restore · on production/db orders_db" in prompts[0]
        assert "carol@192.0.2.44" in prompts[1] and "…/billing_db backup.dump" in prompts[1]
        await pilot.press("escape")
        await until(pilot, lambda: not isinstance(app.screen, TeamPickScreen))
        assert not isinstance(app.screen, ConfirmDestructiveScreen)

        # a again, down to Carol's, Enter: her call is the one under review; Bob types her phrase.
        await pilot.press("a")
        await until(pilot, lambda: isinstance(app.screen, TeamPickScreen))
        await pilot.press("down", "enter")
        await until(pilot, lambda: isinstance(app.screen, ConfirmDestructiveScreen))
        assert "billing_db" in str(app.screen.query_one("#cd-what", Static).render())
        app.screen.query_one("#cd-input", Input).value = "billing_db"
        await pilot.pause()
        await pilot.click("#cd-confirm")
        await until(pilot, lambda: "1 waiting for your approval" in team_text(app), timeout=20)
        carol = await approvals.latest(carol_run, "restore")
        alice = await approvals.latest(alice_run, "restore")
        assert carol.status == "approved" and carol.decided_by["user"] == "bob" and alice.status == "pending"

        # One left: x goes straight to the rejection of Alice's (no picker for a single request).
        await pilot.press("x")
        await until(pilot, lambda: isinstance(app.screen, RejectApprovalScreen))
        app.screen.query_one("#rj-reason", Input).value = "orders_db is not the affected database"
        await pilot.pause()
        await pilot.click("#rj-reject")
        await until(pilot, lambda: "waiting for your approval" not in team_text(app), timeout=20)
        assert (await approvals.latest(alice_run, "restore")).status == "rejected"

        # Both consoles go: t asks which run to take over; the chosen one's id is the phrase asked for.
        app.query_one(RunbooksPane)._team_feed.poll_s = 0.3
        await a_store.release_async(alice_run)
        await c_store.release_async(carol_run)
        await until(pilot, lambda: team_text(app).count("owner gone: t takes over") == 2, timeout=20)
        await pilot.press("t")
        await until(pilot, lambda: isinstance(app.screen, TeamPickScreen))
        listed = app.screen.query_one("#rp-list")
        runs = [str(listed.get_option_at_index(i).prompt) for i in range(listed.option_count)]
        assert runs[0].startswith(f"{carol_run} · restore-from-backup · by carol@192.0.2.44 · at restore")  # newest first
        assert runs[1].startswith(alice_run)
        await pilot.press("down")
        await pilot.click("#rp-choose")
        await until(pilot, lambda: isinstance(app.screen, ConfirmDestructiveScreen))
        assert f"Take over run {alice_run} of restore-from-backup from alice@203.0.113.7" in str(
            app.screen.query_one("#cd-what", Static).render())
        await pilot.press("escape")
        await until(pilot, lambda: not isinstance(app.screen, ConfirmDestructiveScreen))
    await a_store.close()
    await c_store.close()
