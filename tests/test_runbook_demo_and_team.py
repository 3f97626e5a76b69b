"""The engine on the demo (the simulation reacts; unmapped steps are skipped honestly) and team mode
(PostgreSQL audit table, append-only; advisory lock that names its holder)."""

from __future__ import annotations

import asyncpg
import pytest

from cs_console.domain.runbooks.loader import parse_runbook
from cs_console.domain.runbooks.run_state import StepState
from cs_console.wiring.environment import build_environment
from cs_console.stores.audit_log import AuditTrail, LocalAuditLog, PgAuditLog, audit_record
from cs_console.stores.run_lock import Holder, LocalRunLock, LockHeld, PgRunLock
from cs_console.wiring.runbooks import open_engine
from tests.runbook_helpers import make_session, write_config

DEMO_RUNBOOK = """
schema = "cs-console.runbook/v1"
id = "t-demo"
title = "Demo termination"
group = "Incident"

[[inputs]]
name = "pid"
type = "int"

[[steps]]
id = "idle"
kind = "check"
title = "idle in transaction"
sql = "select pid from pg_stat_activity where state like 'idle in transaction%'"
expect = "True"
demo = { call = "list_backends" }
[steps.capture]
save_as = "backends"
parse = "rows"

[[steps]]
id = "terminate"
kind = "sql"
title = "terminate one idle-in-transaction backend"
risk = "destructive"
sql = "select pg_terminate_backend($1)"
params = ["{{pid}}"]
demo = { call = "terminate_backend", args = { pid = "{{pid}}" } }
[steps.confirm]
phrase = "{{environment}}"

[[steps]]
id = "dump"
kind = "shell"
title = "a real pg_dump: no simulation"
risk = "write"
argv = ["pg_dump", "--version"]
"""


def _idle_in_tx(project) -> int:
    return sum(1 for b in project.list_backends() if b.state.startswith("idle in transaction"))


async def test_demo_steps_drive_the_simulation(tmp_path) -> None:
    session = make_session(write_config(tmp_path, ""), demo=True)
    object.__setattr__(session, "demo", type(session.demo)(scenario="connection-exhaustion", seed=7, speed=1.0))
    env = build_environment(session, one_shot=True)
    assert env.demo is not None
    before = _idle_in_tx(env.demo)
    assert before > 0, "the connection-exhaustion scenario has idle-in-transaction sessions"
    engine = open_engine(session, parse_runbook(DEMO_RUNBOOK, "d.toml"), environment=env)
    pid = next(b.pid for b in env.demo.list_backends() if b.state.startswith("idle in transaction"))
    await engine.start({"pid": str(pid)})
    assert (await engine.execute("idle")).state is StepState.SUCCEEDED
    assert isinstance(engine.captures["backends"], list) and engine.captures["backends"]
    refused = await engine.execute("terminate")
    assert refused.refused and _idle_in_tx(env.demo) == before
    gate = (await engine.prepare("terminate")).gate
    assert gate.phrase == "demo"
    done = await engine.execute("terminate", confirmation=gate.confirm("demo"))
    assert done.state is StepState.SUCCEEDED, done.detail
    assert done.captured == [{"value": True}]
    assert pid not in {b.pid for b in env.demo.list_backends() if b.state.startswith("idle in transaction")}
    skipped = await engine.execute("dump")
    assert skipped.state is StepState.SKIPPED and "no simulation" in skipped.detail
    await engine.close()
    await env.aclose()


async def test_run_state_and_audit_are_written_off_the_event_loop(tmp_path, monkeypatch) -> None:
    import os
    import threading

    session = make_session(write_config(tmp_path, ""), demo=True)
    env = build_environment(session, one_shot=True)
    loop_thread = threading.get_ident()
    fsyncs: list[int] = []
    real_fsync = os.fsync

    def spy(fd: int) -> None:
        fsyncs.append(threading.get_ident())
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", spy)
    engine = open_engine(session, parse_runbook(DEMO_RUNBOOK, "d.toml"), environment=env)
    pid = next(b.pid for b in env.demo.list_backends())
    await engine.start({"pid": str(pid)})
    await engine.execute("idle")
    await engine.close()
    await env.aclose()
    assert fsyncs, "the run state and the audit were fsync'd"
    assert loop_thread not in fsyncs, "an fsync ran on the event loop"
    records = LocalAuditLog.in_state_dir(session.state_dir).read()
    assert [r["phase"] for r in records][-3:] == ["start", "before", "after"]


@pytest.mark.postgres
async def test_team_audit_table_is_append_only(pg, tmp_path) -> None:
    team = PgAuditLog(pg.dsn)
    trail = AuditTrail(LocalAuditLog(tmp_path / "audit.jsonl"), team)
    await trail.append(audit_record(phase="before", user="alice", runbook_id="rb", step_id="s", outcome="running"))
    await trail.append(audit_record(phase="after", user="alice", runbook_id="rb", step_id="s", outcome="succeeded"))
    rows = await trail.read(10)
    assert [r["phase"] for r in rows][-2:] == ["before", "after"]
    assert len(trail.local.read()) == 2
    conn = await asyncpg.connect(pg.dsn)
    try:
        with pytest.raises(asyncpg.RaiseError):
            await conn.execute("delete from cs_console.runbook_audit")
        assert await conn.fetchval("select version from cs_console.schema_version where component = 'runbooks'") == 1
    finally:
        await conn.close()


@pytest.mark.postgres
async def test_team_advisory_lock_names_its_holder(pg) -> None:
    a = PgRunLock(pg.dsn, "db-connection-issues", "production")
    b = PgRunLock(pg.dsn, "db-connection-issues", "production")
    other = PgRunLock(pg.dsn, "db-connection-issues", "staging")
    await a.acquire(Holder("alice", "203.0.113.7", "bastion", "run-a", "now"))
    with pytest.raises(LockHeld) as info:
        await b.acquire(Holder("bob", "198.51.100.2", "bastion", "run-b", "now"))
    assert "alice@203.0.113.7" in str(info.value) and "run-a" in str(info.value)
    await other.acquire(Holder("carol", "", "bastion", "run-c", "now"))  # another profile: independent
    await a.release()
    await b.acquire(Holder("bob", "198.51.100.2", "bastion", "run-b", "now"))
    await b.release()
    await other.release()


async def test_local_lock_names_its_holder(tmp_path) -> None:
    a = LocalRunLock(tmp_path, "rb", "prod")
    b = LocalRunLock(tmp_path, "rb", "prod")
    await a.acquire(Holder("alice", "203.0.113.7", "bastion", "run-a", "now"))
    with pytest.raises(LockHeld) as info:
        await b.acquire(Holder("bob", "", "bastion", "run-b", "now"))
    assert "alice@203.0.113.7" in str(info.value)
    await a.release()
    await b.acquire(Holder("bob", "", "bastion", "run-b", "now"))
    await b.release()
