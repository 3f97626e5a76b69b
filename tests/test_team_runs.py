"""Team runs on the real PostgreSQL: run state in the team store (advisory-lock liveness,
fenced saves, NOTIFY), take-over with the unknown step, and the two-person rule in the engine."""

from __future__ import annotations

import asyncio
import secrets
from datetime import timedelta
from pathlib import Path

import asyncpg
import pytest

from cs_console.domain.runbooks.loader import parse_runbook
from cs_console.domain.runbooks.run_state import Run, RunStatus, StepState
from cs_console.services.runbooks.approvals import DecisionRefused, decide
from cs_console.services.runbooks.plan import EngineError
from cs_console.services.runbooks.takeover import takeover_gate
from cs_console.stores.audit_log import LocalAuditLog, PgAuditLog
from cs_console.stores.operator_identity import operator_identity
from cs_console.stores.run_store import RunStoreError
from cs_console.stores.run_store_pg import PgRunStore
from cs_console.wiring.runbooks import build_approval_store, build_audit_trail, open_engine
from tests.runbook_helpers import make_session, write_config

pytestmark = pytest.mark.postgres

BOB = {"user": "bob", "uid": 60001, "ssh_client": "198.51.100.2", "host": "bastion"}

GUARDED = """
schema = "cs-console.runbook/v1"
id = "t-guarded"
title = "A guarded change"
group = "Maintenance"

[[steps]]
id = "look"
kind = "check"
title = "reachable"
sql = "select 1"

[[steps]]
id = "wipe"
kind = "sql"
title = "empty the scratch table"
risk = "destructive"
approval = "second-person"
sql = "delete from rb_scratch"
[steps.confirm]
phrase = "{{environment}}"
"""


def team_db(pg) -> str:
    name = f"team_{secrets.token_hex(4)}"
    pg.psql(f"create database {name}")
    return pg.dsn_for(name)


def team_session(tmp_path: Path, pg, team_dsn: str, *, extra: str = ""):
    cfg = write_config(tmp_path, pg.dsn, extra=f'store = "postgres"\n        team_dsn = "{team_dsn}"\n        {extra}')
    return make_session(cfg)


def a_run(run_id: str, profile: str = "prod") -> Run:
    from datetime import datetime, timezone

    return Run.new(run_id=run_id, runbook_id="t-guarded", runbook_sha256="0" * 64, runbook_version="1", runbook_source="x",
                   step_ids=["look", "wipe"], profile=profile, environment="production", dry_run=False, inputs={},
                   operator={"user": "alice", "ssh_client": "203.0.113.7"}, now=datetime.now(timezone.utc))


async def test_run_state_in_the_team_store_liveness_and_fencing(pg, tmp_path) -> None:
    dsn = team_db(pg)
    a = PgRunStore(dsn, local_root=tmp_path / "a", holder="alice@203.0.113.7")
    b = PgRunStore(dsn, local_root=tmp_path / "b", holder="bob@198.51.100.2")
    run = a_run("20261203T120000Z-aaaaaa")
    heard: list[str | None] = []
    unsubscribe = await b.subscribe(heard.append)
    try:
        with pytest.raises(RunStoreError, match="not held"):
            await a.save(run)  # a save without the claim lands nowhere
        assert await a.claim_async(run.run_id)
        from datetime import datetime, timezone

        run.transition("look", StepState.RUNNING, datetime.now(timezone.utc))
        await a.save(run)
        assert not await b.claim_async(run.run_id), "a live session holds the run"
        assert await b.is_live_elsewhere_async(run.run_id)
        [listed] = await b.team_runs("prod")
        assert (listed.owner, listed.current_step, listed.live, listed.status) == ("alice@203.0.113.7", "look", True, "running")
        loaded = await b.load_async(run.run_id)
        assert loaded.steps["look"].state is StepState.RUNNING and loaded.operator["user"] == "alice"
        for _ in range(100):
            if run.run_id in heard:
                break
            await asyncio.sleep(0.05)
        assert run.run_id in heard, "the save was NOTIFYed"

        # The owner's session dies (its connection is cut): the run is free, and the old owner is fenced off.
        conn = await asyncpg.connect(dsn)
        try:
            await conn.execute("select pg_terminate_backend(pid) from pg_stat_activity where application_name like 'cs-console run alice%'")
        finally:
            await conn.close()
        for _ in range(100):
            if not await b.is_live_elsewhere_async(run.run_id):
                break
            await asyncio.sleep(0.05)
        assert not (await b.team_runs("prod"))[0].live
        assert [r.run_id for r in await b.interrupted_runs(profile="prod")] == [run.run_id]
        assert await b.claim_async(run.run_id)
        with pytest.raises(RunStoreError):
            await a.save(run)
        # A console whose lock is gone but reconnects cannot write over the new owner either.
        a._held.pop(run.run_id)
        assert not await a.claim_async(run.run_id)
        await b.save(loaded)
    finally:
        await unsubscribe()
        await b.close()
        await a.close()


async def test_two_person_rule_in_the_engine(pg, tmp_path, monkeypatch) -> None:
    pg.psql("create table if not exists rb_scratch (id int); delete from rb_scratch; insert into rb_scratch values (1), (2)")
    dsn = team_db(pg)
    session = team_session(tmp_path, pg, dsn)
    rb = parse_runbook(GUARDED, "t.toml")
    engine = open_engine(session, rb, environ={"SSH_CLIENT": "203.0.113.7 5000 22"})
    run = await engine.start({})
    await engine.execute("look")
    plan = await engine.prepare("wipe")
    assert "needs a second person's approval" in plan.approval
    conf = plan.gate.confirm("production")
    out = await engine.execute("wipe", plan=plan, confirmation=conf)
    assert out.waiting_approval and out.stopped and not out.refused, out.detail
    assert pg.psql("select count(*) from rb_scratch") == "2"
    approvals = build_approval_store(session)
    me = operator_identity({"SSH_CLIENT": "203.0.113.7 5000 22"})
    with pytest.raises(DecisionRefused, match="same OS user"):
        await decide(approvals, build_audit_trail(session), run_id=run.run_id, step_id="wipe", approve=True, identity=me,
                     typed="production")
    with pytest.raises(DecisionRefused, match="phrase does not match"):
        await decide(approvals, build_audit_trail(session), run_id=run.run_id, step_id="wipe", approve=True, identity=BOB,
                     typed="prod")
    # Still pending: executing again waits, asks nobody twice.
    again = await engine.execute("wipe", confirmation=conf)
    assert again.waiting_approval
    assert len(await approvals.pending("prod")) == 1
    assert [r.pending_approvals for r in await engine.store.team_runs("prod")] == [("wipe",)]
    await decide(approvals, build_audit_trail(session), run_id=run.run_id, step_id="wipe", approve=True, identity=BOB, typed="production")
    assert "approved by bob@198.51.100.2" in (await engine.prepare("wipe")).approval
    done = await engine.execute("wipe", confirmation=conf)
    assert done.state is StepState.SUCCEEDED, done.detail
    assert pg.psql("select count(*) from rb_scratch") == "0"
    assert (await approvals.latest(run.run_id, "wipe")).status == "used"
    await engine.close()
    team = await PgAuditLog(dsn).read(100)
    outcomes = [(r["phase"], r.get("outcome"), r.get("user")) for r in team if r.get("step_id") == "wipe"]
    assert ("approval", "approval-requested", me["user"]) in outcomes
    assert ("approval", "approval-refused", me["user"]) in outcomes
    assert ("approval", "approved", "bob") in outcomes
    before = next(r for r in team if r["phase"] == "before" and r.get("step_id") == "wipe")
    assert before["user"] == me["user"] and before["approved_by"] == "bob"


async def test_rejected_and_expired_approvals(pg, tmp_path) -> None:
    pg.psql("create table if not exists rb_scratch (id int); delete from rb_scratch; insert into rb_scratch values (1)")
    dsn = team_db(pg)
    session = team_session(tmp_path, pg, dsn)
    engine = open_engine(session, parse_runbook(GUARDED, "t.toml"), environ={"SSH_CLIENT": "203.0.113.7 5000 22"})
    run = await engine.start({})
    await engine.execute("look")
    conf = (await engine.prepare("wipe")).gate.confirm("production")
    assert (await engine.execute("wipe", confirmation=conf)).waiting_approval
    approvals = build_approval_store(session)
    trail = build_audit_trail(session)
    with pytest.raises(DecisionRefused, match="needs a reason"):
        await decide(approvals, trail, run_id=run.run_id, step_id="wipe", approve=False, identity=BOB, reason=" ")
    await decide(approvals, trail, run_id=run.run_id, step_id="wipe", approve=False, identity=BOB, reason="wrong table")
    out = await engine.execute("wipe", confirmation=conf)
    assert out.refused and "rejected by bob@198.51.100.2: wrong table" in out.detail
    # Confirming again asks again; an approval older than the profile's limit is refused and audited.
    assert (await engine.execute("wipe", confirmation=conf)).waiting_approval
    await decide(approvals, trail, run_id=run.run_id, step_id="wipe", approve=True, identity=BOB, typed="production")
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute("update cs_console.runbook_approvals set decided_at = now() - interval '31 minutes' where status = 'approved'")
    finally:
        await conn.close()
    out = await engine.execute("wipe", confirmation=conf)
    assert out.refused and "older than 30 min" in out.detail
    assert pg.psql("select count(*) from rb_scratch") == "1"
    await engine.close()
    team = await PgAuditLog(dsn).read(100)
    assert any(r.get("outcome") == "approval-expired" for r in team)
    assert any(r.get("outcome") == "rejected" and r.get("user") == "bob" and r.get("requested_by") for r in team)


async def test_the_local_store_cannot_satisfy_the_rule_unless_the_profile_waives_it(pg, tmp_path) -> None:
    pg.psql("create table if not exists rb_scratch (id int); delete from rb_scratch; insert into rb_scratch values (1)")
    rb = parse_runbook(GUARDED, "t.toml")
    engine = open_engine(make_session(write_config(tmp_path, pg.dsn)), rb)
    await engine.start({})
    await engine.execute("look")
    out = await engine.execute("wipe", confirmation=(await engine.prepare("wipe")).gate.confirm("production"))
    assert out.refused and "only the team store can hold one" in out.detail and 'second_person_approval = "off"' in out.detail
    await engine.close()
    assert pg.psql("select count(*) from rb_scratch") == "1"

    waived = tmp_path / "waived"
    waived.mkdir()
    engine = open_engine(make_session(write_config(waived, pg.dsn, extra='second_person_approval = "off"')), rb)
    await engine.start({})
    await engine.execute("look")
    out = await engine.execute("wipe", confirmation=(await engine.prepare("wipe")).gate.confirm("production"))
    assert out.state is StepState.SUCCEEDED, out.detail
    await engine.close()
    local = LocalAuditLog.in_state_dir(engine.ctx.state_dir).read()
    assert any(r.get("outcome") == "approval-waived" and r.get("step_id") == "wipe" for r in local)


def test_irreversible_steps_in_production_need_a_second_person_by_default() -> None:
    from cs_console.domain.runbooks.approval import approval_required, same_person
    from cs_console.services.runbooks.catalog import load_catalog

    restore = load_catalog(user_dir=Path("/nonexistent")).get("restore-from-backup").step("restore")
    assert approval_required(restore, "auto", production=True)
    assert not approval_required(restore, "auto", production=False)
    assert approval_required(restore, "irreversible", production=False)
    assert not approval_required(restore, "marked", production=True)
    alice = {"user": "alice", "uid": 1, "ssh_client": "203.0.113.7"}
    assert same_person(alice, {"user": "bob", "uid": 2, "ssh_client": "203.0.113.7"}).startswith("the same SSH client")
    assert same_person(alice, {"user": "alice2", "uid": 1, "ssh_client": "10.0.0.1"}).startswith("the same OS user")
    assert same_person({"user": "a", "uid": 1, "ssh_client": ""}, {"user": "b", "uid": 2, "ssh_client": ""})
    assert same_person(alice, BOB) == ""


async def test_take_over_a_run_whose_owner_is_gone(pg, tmp_path, monkeypatch) -> None:
    dsn = team_db(pg)
    session = team_session(tmp_path, pg, dsn)
    rb = parse_runbook(GUARDED, "t.toml")
    monkeypatch.setenv("LOGNAME", "alice")
    a = open_engine(session, rb)
    run = await a.start({})
    from datetime import datetime, timezone

    await a.execute("look")
    a.run.transition("wipe", StepState.RUNNING, datetime.now(timezone.utc))  # alice's console is in the middle of a step
    await a._save()
    monkeypatch.setenv("LOGNAME", "bob")
    b = open_engine(session, rb)
    with pytest.raises(EngineError, match="still running in another process"):
        await b.resume(run.run_id, takeover=takeover_gate(run.run_id, "production").confirm(run.run_id))
    # Alice's console dies with its sessions (the run lock and the run's advisory lock).
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute("select pg_terminate_backend(pid) from pg_stat_activity where application_name like 'cs-console %alice%'")
    finally:
        await conn.close()
    a.store._held.clear()
    a._lock = None
    await asyncio.sleep(0.2)
    b = open_engine(session, rb)
    with pytest.raises(EngineError, match="belongs to alice.*take it over first"):
        await b.resume(run.run_id)
    b = open_engine(session, rb)
    with pytest.raises(EngineError, match="refused: take-over"):
        await b.resume(run.run_id, takeover=takeover_gate(run.run_id, "production").confirm("yes"))
    b = open_engine(session, rb)
    report = await b.resume(run.run_id, takeover=takeover_gate(run.run_id, "production").confirm(run.run_id))
    assert report.unknown_steps == ["wipe"]
    assert b.run.owner["user"] == "bob" and b.run.operator["user"] == "alice"
    out = await b.execute("wipe")
    assert out.refused and "never re-run" in out.detail
    done = await b.resolve_unknown("wipe", "done", "checked the table by hand")
    assert b.run.steps["wipe"].state is StepState.SUCCEEDED and done.run_status is RunStatus.SUCCEEDED
    await b.close()
    [listed] = await PgRunStore(dsn, local_root=tmp_path).team_runs("prod", open_only=False)
    assert listed.owner_user == "bob" and listed.status == "succeeded"
    team = await PgAuditLog(dsn).read(100)
    took = [r for r in team if r["phase"] == "takeover"]
    assert len(took) == 1 and took[0]["user"] == "bob" and took[0]["previous_owner"] == "alice"
    assert any(r["phase"] == "refused" and r.get("step_id") == "@takeover" for r in team)
    # Alice, back, cannot resume what is now Bob's without taking it over in turn.
    monkeypatch.setenv("LOGNAME", "alice")
    again = open_engine(session, rb)
    with pytest.raises(EngineError, match="already finished"):
        await again.resume(run.run_id)
    assert await PgRunStore(dsn, local_root=tmp_path).team_runs("prod") == []  # finished: no longer in progress



def test_the_schema_says_where_second_person_approval_may_go() -> None:
    from cs_console.domain.runbooks.loader_errors import RunbookError
    from cs_console.domain.runbooks.schema import Approval

    assert parse_runbook(GUARDED, "t.toml").step("wipe").approval is Approval.SECOND_PERSON
    with pytest.raises(RunbookError, match=r"steps\.look\.approval: approval = \"second-person\" only on destructive or irreversible"):
        parse_runbook(GUARDED.replace('title = "reachable"', 'title = "reachable"\napproval = "second-person"'), "t.toml")
    with pytest.raises(RunbookError, match=r"steps\.wipe\.approval: \"second-person\" or \"none\""):
        parse_runbook(GUARDED.replace('approval = "second-person"', 'approval = "two"'), "t.toml")


async def test_the_wizard_shows_the_step_waiting_for_a_second_person(pg, tmp_path, monkeypatch) -> None:
    from cs_console.tui.screens.confirm_destructive import ConfirmDestructiveScreen
    from cs_console.tui.screens.runbook_start import StartRequest, WizardRequest
    from cs_console.tui.screens.runbook_wizard import RunbookWizardScreen
    from tests.screen_text import screen_text
    from tests.test_runbook_wizard_pg import WizardHost, _until

    monkeypatch.setattr("cs_console.tui.screens.runbook_wizard_marks.APPROVAL_POLL_S", 3600.0)
    pg.psql("create table if not exists rb_scratch (id int); delete from rb_scratch; insert into rb_scratch values (1)")
    dsn = team_db(pg)
    session = team_session(tmp_path, pg, dsn)
    wizard = RunbookWizardScreen(WizardRequest(start=StartRequest(parse_runbook(GUARDED, "t.toml"), inputs={})),
                                 session=session, environment=None)
    app = WizardHost(wizard)
    async with app.run_test(size=(120, 40)) as pilot:
        await _until(pilot, lambda: wizard.run is not None and not wizard.busy)
        await pilot.press("r")
        await _until(pilot, lambda: wizard.run.steps["look"].state is StepState.SUCCEEDED and not wizard.busy)
        await pilot.press("r")
        await _until(pilot, lambda: wizard.plan is not None and wizard.plan.step.id == "wipe")
        assert "Second person: needs a second person's approval" in screen_text(app)
        await pilot.press("r")
        await _until(pilot, lambda: isinstance(app.screen, ConfirmDestructiveScreen))
        await pilot.press("f2", *"production", "enter", "enter")
        await _until(pilot, lambda: not isinstance(app.screen, ConfirmDestructiveScreen) and not wizard.busy)
        await _until(pilot, lambda: "waiting for a second person's approval" in screen_text(app))
        # Nothing pressed: the step on show is prepared again (what will run, the request's state), and
        # "(preparing…)" does not stay once its plan is there.
        await _until(pilot, lambda: "Second person: waiting for approval (asked by" in screen_text(app))
        assert "delete from rb_scratch" in screen_text(app) and "(preparing…)" not in screen_text(app)
        assert pg.psql("select count(*) from rb_scratch") == "1"
        await decide(build_approval_store(session), build_audit_trail(session), run_id=wizard.run.run_id, step_id="wipe",
                     approve=True, identity=BOB, typed="production")
        # The approval arrives (the NOTIFY: the watch's poll is an hour here): the step runs by itself, on the
        # phrase typed before, and the wizard says who approved it.
        await _until(pilot, lambda: wizard.run.steps["wipe"].state is StepState.SUCCEEDED and not wizard.busy)
        await _until(pilot, lambda: "wipe: approved by bob@198.51.100.2" in screen_text(app))
        assert not isinstance(app.screen, ConfirmDestructiveScreen)
    assert pg.psql("select count(*) from rb_scratch") == "0"


async def test_an_explicit_hand_over_lets_another_engineer_take_over(pg, tmp_path, monkeypatch) -> None:
    dsn = team_db(pg)
    session = team_session(tmp_path, pg, dsn)
    rb = parse_runbook(GUARDED, "t.toml")
    monkeypatch.setenv("LOGNAME", "alice")
    a = open_engine(session, rb)
    run = await a.start({})
    await a.execute("look")
    await a.hand_over("end of my shift: wipe is next")
    monkeypatch.setenv("LOGNAME", "bob")
    b = open_engine(session, rb)
    report = await b.resume(run.run_id, takeover=takeover_gate(run.run_id, "production").confirm(run.run_id))
    assert report.unknown_steps == [] and report.next_step == "wipe"
    assert any("handed over by alice" in n for n in b.run.notes)
    await b.close()
    await a.close()
    team = await PgAuditLog(dsn).read(100)
    assert [(r["phase"], r["user"]) for r in team if r["phase"] in ("handover", "takeover")] == [("handover", "alice"), ("takeover", "bob")]
    assert next(r for r in team if r["phase"] == "handover")["detail"] == "end of my shift: wipe is next"


BACKUP = """
schema = "cs-console.runbook/v1"
id = "t-backup"
title = "A backup, then a check of it"
group = "Backup & Recovery"

[[steps]]
id = "dump"
kind = "shell"
title = "write the backup"
risk = "write"
argv = ["sh", "-c", "mkdir -p \\"$1\\" && echo data > \\"$1/b.dump\\"", "sh", "{{paths.backups}}"]

[[steps]]
id = "read_back"
kind = "check"
title = "the backup is there"
argv = ["cat", "{{paths.backups}}/b.dump"]
expect = "exit_code == 0 and 'data' in output"
"""


async def test_a_taken_over_run_keeps_the_backups_directory_it_started_with(pg, tmp_path, monkeypatch) -> None:
    """Bob's own backups directory is elsewhere: the run's steps still read what Alice's wrote (paths saved with the run)."""
    dsn = team_db(pg)
    shared, bobs = tmp_path / "shared" / "backups", tmp_path / "bob-backups"
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    alice_session = team_session(tmp_path / "a", pg, dsn, extra=f'backups_dir = "{shared}"')
    bob_session = team_session(tmp_path / "b", pg, dsn, extra=f'backups_dir = "{bobs}"')
    rb = parse_runbook(BACKUP, "t.toml")
    monkeypatch.setenv("LOGNAME", "alice")
    a = open_engine(alice_session, rb)
    run = await a.start({})
    assert run.paths == {"backups": str(shared)}
    assert (await a.execute("dump")).state is StepState.SUCCEEDED
    await a.hand_over("the check is next")
    monkeypatch.setenv("LOGNAME", "bob")
    b = open_engine(bob_session, rb)
    report = await b.resume(run.run_id, takeover=takeover_gate(run.run_id, "production").confirm(run.run_id))
    assert b.context()["paths"]["backups"] == str(shared)
    assert not [n for n in report.notes if "backups directory" in n] and any("taken over from alice" in n for n in report.notes)
    out = await b.execute("read_back")
    assert out.state is StepState.SUCCEEDED, out.detail
    assert not bobs.exists()
    await b.close()
    await a.close()

    # The run's directory is one Bob's account cannot use (here: under a file): the take-over says so.
    (tmp_path / "not-a-dir").write_text("x")
    blocked = tmp_path / "not-a-dir" / "backups"
    monkeypatch.setenv("LOGNAME", "alice")
    a = open_engine(team_session(tmp_path / "a", pg, dsn, extra=f'backups_dir = "{blocked}"'), rb)
    run = await a.start({})
    await a.hand_over()
    monkeypatch.setenv("LOGNAME", "bob")
    b = open_engine(bob_session, rb)
    report = await b.resume(run.run_id, takeover=takeover_gate(run.run_id, "production").confirm(run.run_id))
    [note] = [n for n in report.notes if "backups directory" in n]
    assert f"this run's backups directory {blocked}" in note and "cannot be used from this account" in note
    assert "backups_dir" in note
    out = await b.execute("dump")
    assert out.state is StepState.FAILED and not bobs.exists(), "the step failed where the run keeps its backups, never wrote to Bob's own"
    await b.close()
    await a.close()
