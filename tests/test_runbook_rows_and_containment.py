"""Step outputs that are rows read as one table (SQL, demo calls, console calls), and the
containment runbook finds the attacking addresses and the account before it bans anything."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

from cs_console.backends.demo.model.catalog import COMPROMISED_USER, TAKEOVER_IP
from cs_console.backends.demo.model.project import DemoProject
from cs_console.backends.demo.runbook_calls import DemoRunbookCalls
from cs_console.backends.executors.demo import DemoExecutor
from cs_console.domain.clock import SystemClock
from cs_console.domain.row_table import format_rows
from cs_console.domain.runbooks.calls import ConsoleCall, DemoCall
from cs_console.services.environment import Environment
from cs_console.services.runbooks.catalog import load_catalog
from cs_console.services.runbooks.console_calls import run_console_call
from cs_console.services.session import session_from_args
from cs_console.wiring.local_logs import open_local_log
from cs_console.wiring.runbooks import open_engine
from tests.sessions import session_args


async def test_demo_rows_are_a_table_as_the_sql_executor_shows_them() -> None:
    executor = DemoExecutor(DemoRunbookCalls(DemoProject("security-breach", 7, one_shot=True, real_time=False)))
    result = await executor.execute(DemoCall("auth_failures_by_ip", {"window_s": 3600}), timeout_s=10)
    assert result.ok and isinstance(result.value, list) and result.value
    lines = result.output.splitlines()
    assert lines == format_rows(result.value)  # the SQL executor's table, not JSON
    assert lines[0].split(" | ")[0].strip() == "ip" and set(lines[1]) <= {"-", "+"}
    assert not result.output.lstrip().startswith(("[", "{"))
    one = await executor.execute(DemoCall("find_user", {"user": COMPROMISED_USER}), timeout_s=10)
    assert one.output.lstrip().startswith("{")  # one object stays as it is


async def test_log_groups_counts_a_live_source_per_address(tmp_path: Path) -> None:
    now = datetime.now(timezone.utc)
    path = tmp_path / "auth.jsonl"
    with open(path, "w", encoding="utf-8") as fh:
        for i in range(30):
            ip = "203.0.113.77" if i % 3 else "198.51.100.23"
            fh.write(json.dumps({"timestamp": (now - timedelta(minutes=30 - i)).isoformat(), "level": "warning",
                                 "msg": f"Invalid login credentials (remote_addr {ip})", "status": 400}) + "\n")
    session = session_from_args(session_args())
    session.demo = None
    env = Environment(session=session, clock=SystemClock(), local_log_opener=open_local_log)
    result = await run_console_call(env, ConsoleCall("log_groups", {"source": f"file:{path}", "since_minutes": 60, "by": "ip"}),
                                    timeout_s=10, on_output=None)
    assert result.ok, result.error
    assert [(r["ip"], r["records"]) for r in result.value] == [("203.0.113.77", 20), ("198.51.100.23", 10)]
    assert result.output.splitlines() == format_rows(result.value)
    bad = await run_console_call(env, ConsoleCall("log_groups", {"source": f"file:{path}", "by": "colour"}), timeout_s=10, on_output=None)
    assert not bad.ok and "by: one of" in bad.error


async def test_containment_finds_the_attackers_and_the_account_before_the_ban() -> None:
    from cs_console.wiring.environment import build_environment

    rb = load_catalog(user_dir=Path("/nonexistent")).get("security-incident-containment")
    order = [s.id for s in rb.steps]
    assert order.index("attackers") < order.index("find_user") < order.index("ban_user")  # per-IP breakdown first
    session = session_from_args(session_args(demo=True, scenario="security-breach", seed=7), force_demo=True)
    engine = open_engine(session, rb, environment=build_environment(session, one_shot=True))
    try:
        await engine.start({"key_name": "backend-jobs"})  # no e-mail given: the runbook finds the account
        attackers = await engine.execute("attackers")
        found = await engine.execute("find_user")
        assert found.state.value == "succeeded", found.detail
        rec = engine.run.steps["attackers"]
        assert rec.output_excerpt.splitlines()[0].startswith("ip ")  # a table, the worst address first
        assert rec.output_excerpt.splitlines()[2].startswith(TAKEOVER_IP), attackers.detail
        user = engine.run.steps["find_user"].captured
        assert user["email"] == COMPROMISED_USER and user["signed_in_from"] == TAKEOVER_IP
        await engine.execute("recent_activity")
        plan = await engine.prepare("ban_user")
        assert plan.gate is not None and plan.gate.phrase == COMPROMISED_USER  # typed: the account found
    finally:
        await engine.close()


async def test_find_user_sql_names_the_account_signed_in_from_a_new_address(pg, tmp_path) -> None:
    """The live find_user SQL on a real server: left without an e-mail, it names the account whose
    last-hour login came from an address it had not used before; the old address of another is no sign."""
    from tests.runbook_helpers import make_session, write_config
    from tests.test_runbook_builtins import AUTH_STUB

    pg.psql("drop database if exists rb_find")
    pg.psql("create database rb_find")
    pg.psql(AUTH_STUB, db="rb_find")
    victim, regular = "3d6f0e1a-1111-4aaa-8bbb-000000000001", "3d6f0e1a-2222-4aaa-8bbb-000000000002"
    pg.psql(f"insert into auth.users (id, email, last_sign_in_at) values ('{victim}', 'victim@example.org', now() - interval '5 minutes'),"
            f" ('{regular}', 'regular@example.org', now() - interval '10 minutes')", db="rb_find")
    entries = [
        (victim, "login", "192.0.2.10", "20 days"), (victim, "login", "203.0.113.77", "5 minutes"),
        (regular, "login", "198.51.100.5", "30 days"), (regular, "login", "198.51.100.5", "10 minutes"),
    ]
    values = ", ".join(f"(gen_random_uuid(), json_build_object('actor_id', '{uid}', 'action', '{action}'), now() - interval '{ago}', '{ip}')"
                       for uid, action, ip, ago in entries)
    pg.psql(f"insert into auth.audit_log_entries (id, payload, created_at, ip_address) values {values}", db="rb_find")
    session = make_session(write_config(tmp_path, pg.dsn_for("rb_find"), environment="staging"))
    engine = open_engine(session, load_catalog(user_dir=Path("/nonexistent")).get("security-incident-containment"), environment=None)
    try:
        await engine.start({"key_name": "backend-jobs"})
        out = await engine.execute("find_user")
        assert out.state.value == "succeeded", out.detail
        user = engine.run.steps["find_user"].captured
        assert (user["email"], user["signed_in_from"]) == ("victim@example.org", "203.0.113.77")
    finally:
        await engine.close()
    engine = open_engine(session, load_catalog(user_dir=Path("/nonexistent")).get("security-incident-containment"), environment=None)
    try:
        await engine.start({"user_email": "regular@example.org", "key_name": "backend-jobs"})
        await engine.execute("find_user")
        assert engine.run.steps["find_user"].captured["id"] == regular  # named: that account, whatever it did
    finally:
        await engine.close()


async def test_connections_by_state_on_the_demo_has_the_live_sqls_columns() -> None:
    """The demo answer for the connection runbook's by_state step: the live SQL's rows, as a table."""
    project = DemoProject("connection-exhaustion", 7, one_shot=True, real_time=False)
    executor = DemoExecutor(DemoRunbookCalls(project))
    result = await executor.execute(DemoCall("connections_by_state", {}), timeout_s=10)
    assert result.ok and result.value and list(result.value[0]) == ["application_name", "state", "sessions"]
    counts = [r["sessions"] for r in result.value]
    assert counts == sorted(counts, reverse=True) and sum(counts) <= len(project.list_backends())
    assert result.output.splitlines()[0].split()[:3] == ["application_name", "|", "state"]
