"""PostgreSQL metrics source against a real PostgreSQL 15: known workloads, known numbers."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import pytest

from cs_console.backends.postgres.connector import PgConnector
from cs_console.backends.postgres.health_probe import PostgresHealthProbe
from cs_console.backends.postgres.metrics_source import PostgresMetricsSource
from cs_console.domain.health import HealthStatus
from cs_console.domain.sources import SourceState
from tests.pg_server import PgServer, until_true


@pytest.fixture
def appdb(pg: PgServer) -> Iterator[str]:
    """A fresh database (own pg_stat_database counters) with pg_stat_statements."""
    name = f"cs_m_{uuid.uuid4().hex[:10]}"
    pg.psql(f"create database {name}")
    pg.psql("create extension if not exists pg_stat_statements", db=name)
    yield pg.dsn_for(name)
    pg.psql(f"drop database if exists {name} with (force)")


async def _wait_gone(pg: PgServer, application_name: str) -> None:
    """Backends flush their statistics when they exit: wait until they have."""
    conn = await asyncpg.connect(pg.dsn)  # the postgres database: its stats do not count
    try:
        deadline = time.monotonic() + 10
        while await conn.fetchval("select count(*) from pg_stat_activity where application_name = $1", application_name):
            assert time.monotonic() < deadline, "workload backends did not exit"
            await asyncio.sleep(0.02)
    finally:
        await conn.close()


async def test_known_workload_gives_known_deltas(pg: PgServer, appdb: str, tmp_path: Path) -> None:
    source = PostgresMetricsSource(PgConnector(appdb), state_dir=tmp_path)
    try:
        first = await source.collect()
        assert source.status().state is SourceState.UP
        assert first.value("db.commits_per_s") is None and "first sample" in first.samples["db.commits_per_s"].note
        assert first.value("db.size_bytes") and first.value("db.size_bytes") > 1_000_000
        assert first.value("db.response_ms") is not None and first.value("db.response_ms") < 100

        work = await asyncpg.connect(appdb, server_settings={"application_name": "cs-test-work"})
        for _ in range(20):
            await work.execute("select pg_sleep(0.02)")  # 20 statements of about 20 ms, 20 commits
        for _ in range(20):
            await work.fetchval("select 1")  # 20 fast statements, 20 commits
        for _ in range(8):
            with pytest.raises(asyncpg.DivisionByZeroError):
                await work.fetchval("select 1/0")  # 8 rollbacks (failed statements are not in pg_stat_statements)
        await work.close()
        await _wait_gone(pg, "cs-test-work")

        # What one refresh costs (server time, statements) is measured by tests/benchmarks/pg_refresh.py.
        second = await source.collect()
    finally:
        await source.close()
    deltas = source.last_deltas
    assert deltas is not None and not deltas.reset
    # The console's own transactions reach the counters late; allow for the few in flight.
    assert 40 - 4 <= deltas.commits <= 40 + 4, deltas
    assert deltas.rollbacks == 8, deltas
    assert second.value("db.commits_per_s") == pytest.approx(deltas.commits / deltas.seconds)
    assert second.value("db.rollbacks_per_s") == pytest.approx(8 / deltas.seconds)
    error_rate = second.value("db.error_rate_pct")
    assert error_rate is not None and 12.0 <= error_rate <= 22.0  # 8 of 48
    avg = second.value("db.query_avg_ms")
    note = second.samples["db.query_avg_ms"].note
    assert avg is not None, note
    assert note.startswith("40 statements"), note  # our own pings and metrics statements left out
    assert 9.0 <= avg <= 16.0  # (20 x 20 ms + 20 x ~0 ms) / 40
    assert second.value("db.deadlocks") == 0
    hit = second.value("db.cache_hit_pct")
    assert hit is None or 0.0 <= hit <= 100.0


async def test_sessions_locks_and_blocking(pg: PgServer, appdb: str) -> None:
    setup = await asyncpg.connect(appdb)
    await setup.execute("create table accounts(id int primary key, balance int); insert into accounts values (1, 10), (2, 20)")
    await setup.close()
    holder = await asyncpg.connect(appdb, server_settings={"application_name": "cs-test-holder"})
    waiter = await asyncpg.connect(appdb, server_settings={"application_name": "cs-test-waiter"})
    idle = await asyncpg.connect(appdb, server_settings={"application_name": "cs-test-idle"})
    source = PostgresMetricsSource(PgConnector(appdb))
    blocked_task: asyncio.Task | None = None
    try:
        tx = holder.transaction()
        await tx.start()
        await holder.execute("update accounts set balance = balance + 1 where id = 1")
        blocked_task = asyncio.create_task(waiter.execute("update accounts set balance = 0 where id = 1"))
        # The waiter blocked, and the holder's transaction older than the 0.5 s asserted below
        # (by the server's clock, as the metrics measure it).
        await until_true(pg.dsn, "select exists (select 1 from pg_locks where pid = $1 and not granted)", waiter.get_server_pid())
        await until_true(pg.dsn, "select now() - query_start >= interval '0.6 s' from pg_stat_activity where pid = $1", waiter.get_server_pid())
        snap = await source.collect()
        # holder: idle in transaction; waiter: active, blocked; idle: idle. The console's own backend is not counted.
        assert snap.value("db.connections.used") == 3
        assert snap.value("db.connections.idle_in_tx") == 1
        assert snap.value("db.connections.active") == 1
        assert snap.value("db.connections.idle") == 1
        assert snap.value("db.blocked") == 1 and snap.samples["db.blocked"].note == "blocked by 1 session"
        assert (snap.value("db.locks_waiting") or 0) >= 1
        assert (snap.value("db.idle_in_tx.max_age_s") or 0) >= 0.5
        assert (snap.value("db.longest_tx_s") or 0) >= 0.5
        assert (snap.value("db.longest_query_s") or 0) >= 0.5
        assert snap.value("db.connections.max") == pg.max_connections - 3
        assert snap.value("db.connections.pct") == pytest.approx(3 / (pg.max_connections - 3) * 100)
        # The probe sees the same database as healthy (3 of 37 connections is far from 80 %).
        health = await PostgresHealthProbe(source.connector).check()
        assert health[0].status is HealthStatus.HEALTHY and health[0].latency_ms is not None
        await tx.rollback()
        await asyncio.wait_for(blocked_task, 5)
    finally:
        if blocked_task and not blocked_task.done():
            blocked_task.cancel()
        for conn in (holder, waiter, idle):
            await conn.close()
        await source.close()


async def test_deadlock_is_counted_in_its_interval(pg: PgServer, appdb: str) -> None:
    a = await asyncpg.connect(appdb, server_settings={"application_name": "cs-test-dl", "deadlock_timeout": "100ms"})
    b = await asyncpg.connect(appdb, server_settings={"application_name": "cs-test-dl", "deadlock_timeout": "100ms"})
    await a.execute("create table pair(id int primary key, v int); insert into pair values (1, 0), (2, 0)")
    source = PostgresMetricsSource(PgConnector(appdb))
    try:
        await source.collect()
        await a.execute("begin; update pair set v = 1 where id = 1")
        await b.execute("begin; update pair set v = 1 where id = 2")
        t1 = asyncio.create_task(a.execute("update pair set v = 2 where id = 2"))
        await until_true(pg.dsn, "select exists (select 1 from pg_locks where pid = $1 and not granted)", a.get_server_pid())  # a waits for b
        t2 = asyncio.create_task(b.execute("update pair set v = 2 where id = 1"))
        results = await asyncio.gather(t1, t2, return_exceptions=True)
        assert any(isinstance(r, asyncpg.DeadlockDetectedError) for r in results)
        for conn in (a, b):
            await conn.execute("rollback")
        await a.close()
        await b.close()
        await _wait_gone(pg, "cs-test-dl")
        snap = await source.collect()
        assert snap.value("db.deadlocks") == 1
        assert (snap.value("db.rollbacks_per_s") or 0) > 0
    finally:
        await source.close()


async def test_console_session_is_small_named_and_read_only(pg: PgServer, appdb: str) -> None:
    connector = PgConnector(appdb)
    source = PostgresMetricsSource(connector)
    try:
        for _ in range(3):
            await source.collect()
        probe = PostgresHealthProbe(connector)
        await asyncio.gather(source.collect(), probe.check(), source.inspector.run("cache_hit"), source.collect())
        # A second pooled connection for the detail view does not break the series of rates.
        assert (await source.collect()).value("db.commits_per_s") is not None
        watcher = await asyncpg.connect(pg.dsn)
        try:
            names = await watcher.fetch("select pid from pg_stat_activity where application_name = 'cs-console'")
        finally:
            await watcher.close()
        assert 1 <= len(names) <= 2  # the pool never grows past two connections
        assert connector.connections_opened <= 2
        async with connector.session() as db:
            assert await db.conn.fetchval("show default_transaction_read_only") == "on"
            assert await db.conn.fetchval("show statement_timeout") == "2s"
            with pytest.raises(asyncpg.ReadOnlySQLTransactionError):
                await db.conn.execute("create table must_not_exist(x int)")
    finally:
        await source.close()


async def test_the_applications_own_rollbacks_are_not_errors(pg: PgServer, appdb: str) -> None:
    work = await asyncpg.connect(appdb, server_settings={"application_name": "cs-test-rb"}, statement_cache_size=0)
    source = PostgresMetricsSource(PgConnector(appdb), statements_every_s=0)
    try:
        await work.execute("create table rb_t (a int)")
        for word in ("begin", "insert into rb_t values (1)", "rollback"):  # one explicit ROLLBACK before we look
            await work.execute(word)
        # A backend flushes pg_stat_database at most once a second (and when it exits), while
        # pg_stat_statements counts at once: close it so both sides of the first read agree.
        await work.close()
        await _wait_gone(pg, "cs-test-rb")
        await source.collect()  # finds the ROLLBACK statement's query id, reads its calls
        work = await asyncpg.connect(appdb, server_settings={"application_name": "cs-test-rb"}, statement_cache_size=0)
        for i in range(20):  # 16 commits, 4 explicit ROLLBACKs (a 20 % mix), then 2 real errors
            await work.execute("begin")
            await work.execute("insert into rb_t values (1)")
            await work.execute("rollback" if i % 5 == 0 else "commit")
        for _ in range(2):
            with pytest.raises(asyncpg.DivisionByZeroError):
                await work.fetchval("select 1/0")
        await work.close()
        await _wait_gone(pg, "cs-test-rb")
        snap = await source.collect()
    finally:
        await source.close()
    deltas = source.last_deltas
    assert deltas is not None and deltas.rollbacks == 6, deltas
    rate = snap.value("db.error_rate_pct")
    note = snap.samples["db.error_rate_pct"].note
    # 2 unasked rollbacks of about 22 transactions (+ the console's few): ~9 %, not the raw 27 %.
    assert rate is not None and 6.0 <= rate <= 11.0, (rate, note, deltas)
    assert "67 % of rollbacks were explicit" in note, note


async def test_without_track_utility_the_error_rate_says_what_it_counts(pg: PgServer, appdb: str) -> None:
    pg.psql("alter system set pg_stat_statements.track_utility = off")  # not allowed in a transaction block
    pg.psql("select pg_reload_conf()")
    try:
        await asyncio.sleep(0.2)
        source = PostgresMetricsSource(PgConnector(appdb), statements_every_s=0)
        try:
            await source.collect()
            work = await asyncpg.connect(appdb)
            await work.execute("begin")
            await work.execute("rollback")
            await work.close()
            snap = await source.collect()
        finally:
            await source.close()
        note = snap.samples["db.error_rate_pct"].note
        assert "errors and explicit ROLLBACK alike" in note and "track_utility" in note, note
    finally:
        pg.psql("alter system reset pg_stat_statements.track_utility")
        pg.psql("select pg_reload_conf()")
