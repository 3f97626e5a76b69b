"""The engine against a real PostgreSQL: the guard holds whatever the caller, SQL steps, VACUUM,
backend termination, audit before/after/refusal, secrets never leave the process."""

from __future__ import annotations

import json
import os
from pathlib import Path

import asyncpg
import pytest

from cs_console.config import state_dir
from cs_console.domain.runbooks.guard import Confirmation
from cs_console.domain.runbooks.loader import parse_runbook
from cs_console.domain.runbooks.run_state import RunStatus, StepState
from cs_console.services.runbooks.engine import RunbookEngine
from cs_console.wiring.runbooks import open_engine
from tests.runbook_helpers import TERMINATE_RUNBOOK, make_session, write_config

pytestmark = pytest.mark.postgres

VICTIM_APP = "rb-test-victim"


async def _victims(pg, n: int = 3, app: str = VICTIM_APP) -> list[asyncpg.Connection]:
    return [await asyncpg.connect(pg.dsn, server_settings={"application_name": app}) for _ in range(n)]


def _count(pg, app: str = VICTIM_APP) -> int:
    return int(pg.psql(f"select count(*) from pg_stat_activity where application_name = '{app}'"))


def _audit() -> list[dict]:
    path = state_dir() / "audit.jsonl"
    return [json.loads(l) for l in path.read_text().splitlines()] if path.exists() else []


async def _engine(tmp_path: Path, pg, text: str = TERMINATE_RUNBOOK, *, read_only: bool = False, outputs: list | None = None) -> RunbookEngine:
    session = make_session(write_config(tmp_path, pg.dsn), read_only=read_only)
    rb = parse_runbook(text, "t.toml")
    return open_engine(session, rb, on_output=(lambda sid, line: outputs.append((sid, line))) if outputs is not None else None)


async def test_destructive_step_refused_without_confirmation_whatever_the_caller(tmp_path: Path, pg) -> None:
    victims = await _victims(pg)
    try:
        engine = await _engine(tmp_path, pg)
        await engine.start({"app": VICTIM_APP})
        assert (await engine.execute("count")).state is StepState.SUCCEEDED
        # No confirmation at all: the engine API itself refuses.
        out = await engine.execute("terminate")
        assert out.refused and out.state is StepState.REFUSED and "needs a typed confirmation: '3'" in out.detail
        # A confirmation for another step, another run, a wrong phrase: refused too.
        plan = await engine.prepare("terminate")
        assert plan.gate is not None and plan.gate.phrase == "3" and plan.preview and len(plan.preview) == 3
        for conf in (Confirmation(engine.run.run_id, "count", plan.gate.target, "3"),
                     Confirmation("another-run", "terminate", plan.gate.target, "3"),
                     plan.gate.confirm("4"), plan.gate.confirm("")):
            assert (await engine.execute("terminate", confirmation=conf)).refused
        assert _count(pg) == 3, "nothing may have been terminated"
        refusals = [r for r in _audit() if r["phase"] == "refused" and r.get("step_id") == "terminate"]
        assert len(refusals) == 5 and all(r["risk"] == "destructive" for r in refusals)
        assert not any(r["phase"] == "before" and r.get("step_id") == "terminate" for r in _audit())
        await engine.close()
    finally:
        for c in victims:
            await c.close()


async def test_read_only_refuses_even_with_the_right_confirmation(tmp_path: Path, pg) -> None:
    victims = await _victims(pg, 2)
    try:
        engine = await _engine(tmp_path, pg, read_only=True)
        await engine.start({"app": VICTIM_APP})
        await engine.execute("count")
        plan = await engine.prepare("terminate")
        assert plan.blocked.startswith("read-only")
        out = await engine.execute("terminate", confirmation=plan.gate.confirm("2"))
        assert out.refused and "read-only" in out.detail
        assert _count(pg) == 2
        assert any(r["phase"] == "refused" and "read-only" in r["detail"] for r in _audit())
        await engine.close()
    finally:
        for c in victims:
            await c.close()


async def test_backend_termination_with_the_count_as_phrase(tmp_path: Path, pg) -> None:
    victims = await _victims(pg, 3)
    outputs: list = []
    try:
        engine = await _engine(tmp_path, pg, outputs=outputs)
        run = await engine.start({"app": VICTIM_APP})
        await engine.execute("count")
        plan = await engine.prepare("terminate")
        assert plan.shown == [("len(preview)", "3")]
        assert "pg_terminate_backend" in plan.what_will_run and "$1='rb-test-victim'" in plan.what_will_run
        out = await engine.execute("terminate", confirmation=plan.gate.confirm(" 3 "))
        assert out.state is StepState.SUCCEEDED, out.detail
        assert out.rows_affected == 3
        assert _count(pg) == 0
        assert run.status is RunStatus.SUCCEEDED
        assert any(sid == "terminate" and "3 rows" in line for sid, line in outputs)
        phases = [(r["phase"], r.get("step_id")) for r in _audit()]
        assert phases.index(("before", "terminate")) < phases.index(("after", "terminate"))
        after = next(r for r in _audit() if r["phase"] == "after" and r.get("step_id") == "terminate")
        assert after["outcome"] == "succeeded" and after["rows_affected"] == 3 and after["runbook_sha256"]
        assert after["user"] and "duration_ms" in after and "pg_terminate_backend" in after["what"]
        # Run state on disk after every transition, final one included.
        saved = json.loads((state_dir() / "runs" / f"{run.run_id}.json").read_text())
        assert saved["status"] == "succeeded"
        assert [s["state"] for s in saved["steps"]] == ["succeeded", "succeeded"]
        await engine.close()
    finally:
        for c in victims:
            await c.close()


async def test_count_changed_since_preview_is_refused(tmp_path: Path, pg) -> None:
    victims = await _victims(pg, 2)
    try:
        engine = await _engine(tmp_path, pg)
        await engine.start({"app": VICTIM_APP})
        await engine.execute("count")
        plan = await engine.prepare("terminate")
        victims += await _victims(pg, 1)  # a third backend appears after the operator read "2"
        out = await engine.execute("terminate", confirmation=plan.gate.confirm("2"))
        assert out.refused and "'3'" in out.detail
        assert _count(pg) == 3
        await engine.close()
    finally:
        for c in victims:
            await c.close()


SQL_RUNBOOK = """
schema = "cs-console.runbook/v1"
id = "t-sql"
title = "SQL steps"
group = "Maintenance"

[[steps]]
id = "create"
kind = "sql"
title = "create"
risk = "write"
sql = "create table if not exists rb_items (id int primary key, note text); insert into rb_items select g, 'n' from generate_series(1, 50) g on conflict do nothing"

[[steps]]
id = "count"
kind = "check"
title = "count"
sql = "select count(*)::int from rb_items"
expect = "value == 50"
[steps.capture]
save_as = "n"
parse = "int"

[[steps]]
id = "trim"
kind = "sql"
title = "delete half"
risk = "destructive"
sql = "delete from rb_items where id > $1"
params = ["{{keep}}"]
[steps.confirm]
phrase = "{{profile.db_name}}"
[steps.dry_run]
sql_wrap = "rollback"
[steps.verify]
sql = "select count(*)::int from rb_items"
parse = "value"
expect = "value == keep"

[[steps]]
id = "vacuum"
kind = "sql"
title = "vacuum"
risk = "write"
sql = "VACUUM (ANALYZE) rb_items"

[[inputs]]
name = "keep"
type = "int"
default = 20
"""


async def test_sql_steps_dry_run_then_live_and_vacuum_outside_a_transaction(tmp_path: Path, pg) -> None:
    pg.psql("drop table if exists rb_items")
    pg.psql("create table rb_items (id int primary key, note text)")
    pg.psql("insert into rb_items select g, 'n' from generate_series(1, 50) g")
    # Dry run: checks run, the delete runs inside BEGIN ... ROLLBACK (real row count, nothing kept).
    dry = await _engine(tmp_path, pg, SQL_RUNBOOK)
    await dry.start({}, dry_run=True)
    outs = [await dry.execute(s.id) for s in dry.runbook.steps]
    assert outs[0].state is StepState.SKIPPED and outs[0].dry_run == "not_simulated"
    assert outs[2].dry_run == "would_change" and "30 row(s)" in outs[2].detail and "'postgres'" in outs[2].detail
    assert pg.psql("select count(*) from rb_items") == "50"
    await dry.close()

    engine = await _engine(tmp_path, pg, SQL_RUNBOOK)
    await engine.start({})
    assert (await engine.execute("create")).state is StepState.SUCCEEDED
    assert (await engine.execute("count")).state is StepState.SUCCEEDED
    assert engine.captures["n"] == 50
    gate = (await engine.prepare("trim")).gate
    assert gate.phrase == "postgres"
    out = await engine.execute("trim", confirmation=gate.confirm("postgres"))
    assert out.state is StepState.SUCCEEDED and out.rows_affected == 30, out.detail
    before_vac = pg.psql("select coalesce(vacuum_count, 0) from pg_stat_user_tables where relname = 'rb_items'")
    vac = await engine.execute("vacuum")
    assert vac.state is StepState.SUCCEEDED, vac.detail  # VACUUM fails inside a transaction block
    pg.psql("select pg_stat_force_next_flush()")
    assert int(pg.psql("select vacuum_count from pg_stat_user_tables where relname = 'rb_items'")) >= int(before_vac or 0)
    assert pg.psql("select last_vacuum is not null from pg_stat_user_tables where relname = 'rb_items'") == "t"
    assert engine.run.status is RunStatus.SUCCEEDED
    await engine.close()


FAILING = """
schema = "cs-console.runbook/v1"
id = "t-fail"
title = "failing"
group = "Incident"

[[steps]]
id = "bad"
kind = "sql"
title = "bad sql"
risk = "write"
sql = "select * from no_such_table_xyz"
rollback = "nothing to undo"

[[steps]]
id = "after"
kind = "check"
title = "never reached"
sql = "select 1"
"""


async def test_failure_aborts_with_a_one_line_error(tmp_path: Path, pg) -> None:
    engine = await _engine(tmp_path, pg, FAILING)
    await engine.start({})
    out = await engine.execute("bad")
    assert out.state is StepState.FAILED and out.stopped and engine.run.status is RunStatus.FAILED
    assert "no_such_table_xyz" in out.detail and "\n" not in out.detail and "rollback: nothing to undo" in out.detail
    assert engine.run.steps["after"].state is StepState.PENDING
    await engine.close()


SECRET_RUNBOOK = """
schema = "cs-console.runbook/v1"
id = "t-secret"
title = "secret handling"
group = "Security"

[[inputs]]
name = "token"
type = "secret"
default = "env:RB_TEST_TOKEN"

[[steps]]
id = "echo"
kind = "shell"
title = "a tool that prints its token"
risk = "write"
argv = ["sh", "-c", "echo token is $T; echo $T >&2; exit 3"]
on_failure = "continue"
[steps.env]
T = "{{token}}"

[[steps]]
id = "call"
kind = "http"
title = "an API call with the token"
risk = "write"
url = "http://127.0.0.1:9/admin?key={{token}}"
method = "POST"
timeout_s = 3
headers = { apikey = "{{token}}", Authorization = "Bearer {{token}}" }
json = { note = "{{token}}" }
"""

PLANTED = "planted-S3CRET-value-9f8e7d"


async def test_secrets_never_reach_output_audit_state_or_errors(tmp_path: Path, pg, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RB_TEST_TOKEN", PLANTED)
    outputs: list = []
    engine = await _engine(tmp_path, pg, SECRET_RUNBOOK, outputs=outputs)
    await engine.start({})
    plan = await engine.prepare("call")
    assert "***" in plan.what_will_run and PLANTED not in plan.what_will_run
    first = await engine.execute("echo")
    assert first.state is StepState.FAILED and first.exit_code == 3
    second = await engine.execute("call")
    assert second.state is StepState.FAILED
    seen = [first.detail, first.output, second.detail, second.output, plan.what_will_run, *[l for _, l in outputs]]
    assert any("token is ***" in s for s in seen)
    for text in seen:
        assert PLANTED not in text
    await engine.close()
    for path in state_dir().rglob("*"):
        if path.is_file():
            assert PLANTED.encode() not in path.read_bytes(), path
    assert _audit(), "the steps were audited"
    assert os.environ["RB_TEST_TOKEN"] == PLANTED


async def test_missing_secret_env_var_fails_naming_the_variable(tmp_path: Path, pg, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RB_TEST_TOKEN", raising=False)
    engine = await _engine(tmp_path, pg, SECRET_RUNBOOK)
    await engine.start({})
    out = await engine.execute("echo")
    assert out.state is StepState.FAILED and "RB_TEST_TOKEN" in out.detail
    await engine.close()


async def test_execute_refuses_the_plan_of_another_step(tmp_path: Path, pg) -> None:
    victims = await _victims(pg, 2)
    try:
        engine = await _engine(tmp_path, pg)
        await engine.start({"app": VICTIM_APP})
        count_plan = await engine.prepare("count")
        await engine.execute("count", plan=count_plan)
        plan = await engine.prepare("terminate")
        out = await engine.execute("terminate", plan=count_plan, confirmation=plan.gate.confirm("2"))
        assert out.refused and "prepare this step again" in out.detail
        assert _count(pg) == 2
        done = await engine.execute("terminate", plan=plan, confirmation=plan.gate.confirm("2"))
        assert done.state is StepState.SUCCEEDED, done.detail
        await engine.close()
    finally:
        for c in victims:
            await c.close()


WRITE_RUNBOOK = """
schema = "cs-console.runbook/v1"
id = "t-audit-first"
title = "audit before the step"
group = "Maintenance"

[[steps]]
id = "create"
kind = "sql"
title = "create a table"
risk = "write"
sql = "create table rb_audit_first (id int)"
"""


async def test_a_step_whose_audit_cannot_be_written_does_not_run(tmp_path: Path, pg) -> None:
    pg.psql("drop table if exists rb_audit_first")
    engine = await _engine(tmp_path, pg, WRITE_RUNBOOK)
    await engine.start({})
    audit = state_dir() / "audit.jsonl"
    audit.unlink()
    audit.mkdir()  # the audit log cannot be appended to any more
    out = await engine.execute("create")
    assert out.refused and "the audit log cannot be written, nothing was run" in out.detail
    assert pg.psql("select to_regclass('rb_audit_first') is null") == "t"
    await engine.close()
