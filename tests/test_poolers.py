"""The console through a real PgBouncer (stock configuration) in session and transaction mode.

What a pooler breaks, each checked here through the real thing: startup parameters a
stock PgBouncer refuses, session settings that silently do not hold (or leak to the
application's connections), prepared statements lost between transactions, pooler
errors reported as "Database down". Health, metrics, the database views and a guarded
runbook step all run through it.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import pytest

from cs_console.backends.executors.sql import SqlExecutor
from cs_console.backends.postgres.connector import PgConnector
from cs_console.backends.postgres.health_probe import PostgresHealthProbe
from cs_console.backends.postgres.metrics_source import PostgresMetricsSource
from cs_console.backends.postgres.pooler import PoolMode
from cs_console.domain.health import HealthStatus
from cs_console.domain.runbooks.calls import SqlCall
from cs_console.domain.runbooks.guard import Confirmation
from cs_console.domain.runbooks.loader import parse_runbook
from cs_console.domain.runbooks.run_state import StepState
from cs_console.domain.runbooks.schema import SqlWrap, Transaction
from cs_console.domain.sources import SourceState
from cs_console.wiring.runbooks import open_engine
from tests.pg_server import PgServer
from tests.pgbouncer_server import PgBouncerServer
from tests.runbook_helpers import make_session, write_config

pytestmark = pytest.mark.postgres

ROOT = Path(__file__).resolve().parent.parent
MODES = ("session", "transaction")


@pytest.fixture(scope="module")
def bouncers(pg: PgServer) -> Iterator[dict[str, PgBouncerServer]]:
    pg.psql("create extension if not exists pg_stat_statements")
    started = {mode: PgBouncerServer(pg, mode) for mode in MODES}
    yield started
    for b in started.values():
        b.stop()


@pytest.fixture(params=MODES)
def bouncer(request, bouncers: dict[str, PgBouncerServer]) -> PgBouncerServer:
    return bouncers[request.param]


async def _app_load(dsn: str, stop: asyncio.Event, clients: int = 4) -> int:
    """The application's own traffic through the same pooler (transactions that commit)."""
    done = 0

    async def client() -> None:
        nonlocal done
        conn = await asyncpg.connect(dsn, statement_cache_size=0)
        try:
            while not stop.is_set():
                async with conn.transaction():
                    await conn.fetchval("select pg_backend_pid()")
                done += 1
                await asyncio.sleep(0.002)
        finally:
            await conn.close()

    await asyncio.gather(*(client() for _ in range(clients)))
    return done


async def test_stock_pgbouncer_accepts_the_console_and_the_route_is_named(bouncer: PgBouncerServer, pg: PgServer) -> None:
    connector = PgConnector(bouncer.dsn)
    try:
        async with connector.session() as db:
            await db.ping()
        assert connector.route is not None
        assert connector.route.pooler == "PgBouncer" and connector.route.mode is PoolMode(bouncer.pool_mode)
        assert connector.route.label == f"via PgBouncer, {bouncer.pool_mode} mode"
        assert connector.settings_problems == []
    finally:
        await connector.close()
    direct = PgConnector(pg.dsn)
    try:
        async with direct.session() as db:
            await db.ping()
        assert direct.route is not None and not direct.route.pooled and direct.route.label == "direct"
    finally:
        await direct.close()
    assert "unsupported startup parameter" not in bouncer.log()


async def test_safety_settings_hold_in_every_statement_and_never_leak(bouncer: PgBouncerServer) -> None:
    connector = PgConnector(bouncer.dsn, statement_timeout_ms=2000)
    stop = asyncio.Event()
    load = asyncio.create_task(_app_load(bouncer.dsn, stop))
    try:
        for _ in range(10):  # across server connections the pooler hands out
            async with connector.session() as db:
                rows = await db.fetch_readonly(
                    "select current_setting('statement_timeout') as st, current_setting('lock_timeout') as lt,"
                    " current_setting('transaction_read_only') as ro, current_setting('jit') as jit")
                assert (rows[0]["st"], rows[0]["lt"], rows[0]["ro"], rows[0]["jit"]) == ("2s", "1s", "on", "off")
                row = await db.fetchrow("select current_setting('transaction_read_only') as ro, current_setting('statement_timeout') as st")
                assert row is not None and (row["ro"], row["st"]) == ("on", "2s")
                with pytest.raises(asyncpg.ReadOnlySQLTransactionError):
                    await db.fetchrow("create table must_not_exist (a int)")
    finally:
        stop.set()
        await load
        await connector.close()
    # The application's connections through the same pooler see none of the console's settings.
    app = await asyncpg.connect(bouncer.dsn, statement_cache_size=0)
    try:
        for _ in range(5):
            seen = await app.fetchrow("select current_setting('default_transaction_read_only') as ro,"
                                      " current_setting('statement_timeout') as st, current_setting('jit') as jit")
            assert (seen["ro"], seen["st"]) == ("off", "0"), dict(seen)
    finally:
        await app.close()


async def test_metrics_and_database_views_through_the_pooler_under_load(bouncer: PgBouncerServer) -> None:
    source = PostgresMetricsSource(PgConnector(bouncer.dsn))
    stop = asyncio.Event()
    load = asyncio.create_task(_app_load(bouncer.dsn, stop))
    try:
        snaps = []
        for _ in range(6):
            snaps.append(await source.collect())
            assert source.status().state is SourceState.UP, source.status().detail
            await asyncio.sleep(0.5)  # busy backends flush pg_stat_database about once a second
        assert f"via PgBouncer, {bouncer.pool_mode} mode" in source.status().detail
        last = snaps[-1]
        for key in ("db.connections.used", "db.connections.pct", "db.commits_per_s", "db.response_ms", "db.blocked"):
            assert last.value(key) is not None, (key, last.samples[key].note)
        # the application's transactions, seen through the pooler (in the windows that got a flush)
        assert max(snap.value("db.commits_per_s") or 0 for snap in snaps) > 10
        assert (last.value("db.longest_query_s") or 0) >= 0
        for view in ("long_running", "blocking"):
            table = await source.inspector.run(view)
            assert table.error == "", (view, table.error)
    finally:
        stop.set()
        await load
        await source.close()


def _health(dsn: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "cs_console", "health", "--dsn", dsn, "--json"],
                          capture_output=True, text=True, timeout=60, cwd=ROOT, env=dict(os.environ))


async def test_ten_one_shot_health_runs_agree_through_transaction_mode(bouncers: dict[str, PgBouncerServer]) -> None:
    bouncer = bouncers["transaction"]
    stop = asyncio.Event()
    load = asyncio.create_task(_app_load(bouncer.dsn, stop))
    try:
        answers = []
        for _ in range(10):
            proc = await asyncio.to_thread(_health, bouncer.dsn)
            data = json.loads(proc.stdout)
            db = next(c for c in data["components"] if c["name"] == "Database")
            answers.append((proc.returncode, db["status"], data["status"]))
            assert "via PgBouncer, transaction mode" in db["detail"], db["detail"]
    finally:
        stop.set()
        await load
    assert answers == [(0, "HEALTHY", "OK")] * 10, answers


async def test_a_busy_transaction_pool_is_never_taken_for_session_mode(pg: PgServer) -> None:
    # Two server connections for six busy application clients: the console's second test
    # client waits for a server, as the first one did under pgbench. Before, that read "session mode".
    bouncer = PgBouncerServer(pg, "transaction", default_pool_size=2)
    stop = asyncio.Event()
    load = asyncio.create_task(_app_load(bouncer.dsn, stop, clients=6))
    try:
        await asyncio.sleep(0.3)
        seen = []
        for _ in range(5):
            connector = PgConnector(bouncer.dsn)
            try:
                async with connector.session() as db:
                    await db.ping()
                assert connector.route is not None
                seen.append(connector.route.mode)
            finally:
                await connector.close()
    finally:
        stop.set()
        await load
        bouncer.stop()
    assert PoolMode.SESSION not in seen, seen
    assert all(mode in (PoolMode.TRANSACTION, PoolMode.UNKNOWN) for mode in seen), seen


async def test_a_pooler_error_is_never_database_down(pg: PgServer) -> None:
    # PgBouncer at its client limit answers with its own refusal; the database behind it is fine.
    full = PgBouncerServer(pg, "transaction", extra="max_client_conn = 2\n")
    held = [await asyncpg.connect(full.dsn, statement_cache_size=0) for _ in range(2)]
    try:
        probe = PostgresHealthProbe(PgConnector(full.dsn, connect_timeout=2.0))
        try:
            (comp,) = await probe.check()
        finally:
            await probe.connector.close()
        assert comp.status is HealthStatus.DEGRADED, comp
        assert "no more connections allowed" in comp.detail and "not reached" in comp.detail
        source = PostgresMetricsSource(PgConnector(full.dsn, connect_timeout=2.0))
        try:
            await source.collect()
            assert source.status().state is SourceState.DEGRADED, source.status()
        finally:
            await source.close()
    finally:
        for conn in held:
            await conn.close()
        full.stop()


async def test_runbook_sql_steps_through_the_pooler_keep_their_timeouts(bouncer: PgBouncerServer) -> None:
    executor = SqlExecutor(bouncer.dsn)
    single = SqlCall(query="select current_setting('statement_timeout') as st, current_setting('lock_timeout') as lt",
                     params=(), transaction=Transaction.SINGLE, statement_timeout_ms=7000, lock_timeout_ms=3000)
    result = await executor.execute(single, timeout_s=10)
    assert result.ok, result.error
    assert result.value == [{"st": "7s", "lt": "3s"}]
    script = SqlCall(query="create temp table if not exists t_script (a int); drop table t_script", params=(),
                     transaction=Transaction.SINGLE)
    assert (await executor.execute(script, timeout_s=10)).ok
    vacuum = SqlCall(query="vacuum pg_class", params=(), transaction=Transaction.NONE)
    out = await executor.execute(vacuum, timeout_s=10)
    assert out.ok, out.error
    explain = SqlCall(query="select * from pg_class where relname = $1", params=("pg_proc",), wrap=SqlWrap.EXPLAIN)
    assert (await executor.execute(explain, timeout_s=10)).ok


POOLER_RUNBOOK = """\
schema = "cs-console.runbook/v1"
id = "t-pooler"
title = "Close finished jobs"
group = "Incident"

[[steps]]
id = "count"
kind = "check"
title = "Open jobs"
sql = "select count(*)::int as n from pooler_jobs where not done"
expect = "value.n >= 0"
[steps.capture]
parse = "row"

[[steps]]
id = "close"
kind = "sql"
title = "Close the open jobs"
risk = "destructive"
preconditions = ["count"]
sql = "update pooler_jobs set done = true where not done"
rollback = "update pooler_jobs set done = false"
[steps.preview]
sql = "select id from pooler_jobs where not done"
[steps.confirm]
phrase = "{{preview.count}}"
[steps.verify]
sql = "select count(*)::int from pooler_jobs where not done"
parse = "value"
expect = "value == 0"
"""


async def test_a_guarded_runbook_step_through_the_pooler(bouncer: PgBouncerServer, pg: PgServer, tmp_path: Path) -> None:
    pg.psql("drop table if exists pooler_jobs; create table pooler_jobs (id int, done bool default false);"
            " insert into pooler_jobs (id) select generate_series(1, 4)")
    session = make_session(write_config(tmp_path, bouncer.dsn))
    engine = open_engine(session, parse_runbook(POOLER_RUNBOOK, "t.toml"))
    try:
        await engine.start({})
        assert (await engine.execute("count")).state is StepState.SUCCEEDED
        assert (await engine.execute("close")).refused  # no confirmation: the engine refuses
        plan = await engine.prepare("close")
        assert plan.gate is not None and plan.gate.phrase == "4"
        wrong = Confirmation(engine.run.run_id, "close", plan.gate.target, "3")
        assert (await engine.execute("close", confirmation=wrong)).refused
        assert pg.psql("select count(*) from pooler_jobs where not done") == "4"
        done = await engine.execute("close", confirmation=plan.gate.confirm("4"))
        assert done.state is StepState.SUCCEEDED, done.detail
        assert pg.psql("select count(*) from pooler_jobs where not done") == "0"
    finally:
        await engine.close()
