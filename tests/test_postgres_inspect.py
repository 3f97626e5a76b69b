"""The database detail views against a real PostgreSQL with known tables, indexes and sessions."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from datetime import datetime

import asyncpg
import pytest

from cs_console.backends.postgres.connector import PgConnector
from cs_console.backends.postgres.inspector import PostgresInspector
from cs_console.domain.db_inspect import INSPECT_VIEWS, ColumnKind, DatabaseInspector, InspectTable, UnknownInspectView
from tests.pg_server import PgServer, until_true

KIND_TYPES: dict[ColumnKind, tuple[type, ...]] = {
    ColumnKind.TEXT: (str,),
    ColumnKind.INT: (int,),
    ColumnKind.FLOAT: (float, int),
    ColumnKind.BYTES: (int,),
    ColumnKind.SECONDS: (float, int),
    ColumnKind.PCT: (float, int),
    ColumnKind.TIMESTAMP: (datetime,),
    ColumnKind.BOOL: (bool,),
}


def assert_typed(table: InspectTable) -> None:
    for row in table.rows:
        assert len(row) == len(table.columns)
        for value, col in zip(row, table.columns):
            if value is not None:
                assert isinstance(value, KIND_TYPES[col.kind]), (table.view.id, col.name, value)
                if col.kind is ColumnKind.INT:
                    assert not isinstance(value, bool)


@pytest.fixture
def shopdb(pg: PgServer) -> Iterator[str]:
    name = f"cs_i_{uuid.uuid4().hex[:10]}"
    pg.psql(f"create database {name}")
    pg.psql(
        "create extension pg_stat_statements;"
        "create table orders(id int primary key, customer int, note text, created timestamptz default now());"
        "create index orders_customer_idx on orders(customer);"
        "create index orders_note_idx on orders(note);"  # never used below
        "insert into orders select g, g % 100, repeat('x', 80) from generate_series(1, 20000) g;"
        "create table tiny(id int);"
        "analyze orders;",
        db=name,
    )
    yield pg.dsn_for(name)
    pg.psql(f"drop database if exists {name} with (force)")


async def test_every_view_runs_and_matches_its_columns(pg: PgServer, shopdb: str) -> None:
    work = await asyncpg.connect(shopdb, server_settings={"application_name": "cs-test-shop"})
    for _ in range(5):
        await work.fetch("select count(*) from orders where note like '%y%'")  # sequential scans
    for i in range(30):
        await work.fetch("select * from orders where customer = $1", i)  # index scans (or bitmap)
    await work.execute("delete from orders where id % 10 <> 0")  # 90 % dead rows
    await work.execute("analyze orders")
    await work.close()
    # A backend reports its statistics when it exits: wait until it has.
    await until_true(pg.dsn, "select count(*) = 0 from pg_stat_activity where application_name = 'cs-test-shop'")

    connector = PgConnector(shopdb)
    inspector = PostgresInspector(connector, long_running_min_s=0.2)
    assert isinstance(inspector, DatabaseInspector)
    try:
        tables = {v.id: await inspector.run(v.id) for v in inspector.views()}
    finally:
        await connector.close()
    assert [v.id for v in inspector.views()] == [v.id for v in INSPECT_VIEWS]
    for view_id, table in tables.items():
        assert table.ok, (view_id, table.error)
        assert_typed(table)

    sizes = {r["table"]: r for r in tables["table_sizes"].as_dicts()}
    assert "public.orders" in sizes and sizes["public.orders"]["total_bytes"] > sizes["public.orders"]["table_bytes"] > 1_000_000
    assert (sizes["public.orders"]["seq_scans"] or 0) >= 5
    assert {r["index"] for r in tables["index_sizes"].as_dicts()} >= {"public.orders_pkey", "public.orders_customer_idx", "public.orders_note_idx"}
    unused = {r["index"] for r in tables["unused_indexes"].as_dicts()}
    assert "public.orders_note_idx" in unused and "public.orders_pkey" not in unused  # primary keys are needed
    bloat = {r["table"]: r for r in tables["bloat"].as_dicts()}
    assert bloat["public.orders"]["bloat"] > 70  # 90 % of the rows deleted, pages still there
    assert "estimate" in tables["bloat"].note
    vacuum = {r["table"]: r for r in tables["vacuum_stats"].as_dicts()}
    assert vacuum["public.orders"]["dead_rows"] >= 17000 and vacuum["public.orders"]["due"] is True
    assert vacuum["public.orders"]["last_analyze"] is not None
    seq = {r["table"]: r for r in tables["seq_scans"].as_dicts()}
    assert seq["public.orders"]["seq_scans"] >= 5 and seq["public.orders"]["rows_read"] >= 100_000
    usage = {r["table"]: r for r in tables["index_usage"].as_dicts()}
    assert usage["public.orders"]["index_scans"] >= 30
    roles = {r["role"]: r for r in tables["role_connections"].as_dicts()}
    assert roles["postgres"]["limit"] == pg.max_connections - 3
    hit = {r["name"]: r for r in tables["cache_hit"].as_dicts()}
    assert set(hit) == {"tables", "indexes", "whole database"}
    assert 0 <= (hit["whole database"]["hit_pct"] or 0) <= 100
    calls = tables["calls"].as_dicts()
    assert any("from orders where customer" in r["query"] for r in calls)
    everything = " ".join(r["query"] for r in calls + tables["outliers"].as_dicts())
    assert "_cs_qid" not in everything and "cs-console" not in everything  # the console's own statements are left out
    shares = [r["share"] for r in tables["outliers"].as_dicts()]
    assert shares and shares == sorted(shares, reverse=True) and sum(shares) <= 100.01


async def test_live_sessions_views_show_blocking(pg: PgServer, shopdb: str) -> None:
    holder = await asyncpg.connect(shopdb, server_settings={"application_name": "cs-test-holder"})
    waiter = await asyncpg.connect(shopdb, server_settings={"application_name": "cs-test-waiter"})
    holder_pid = holder.get_server_pid()
    waiter_pid = waiter.get_server_pid()
    connector = PgConnector(shopdb)
    inspector = PostgresInspector(connector, long_running_min_s=0.2)
    tx = holder.transaction()
    await tx.start()
    await holder.execute("lock table orders in access exclusive mode")
    blocked = asyncio.create_task(waiter.fetchval("select count(*) from orders"))
    try:
        # The waiter queued behind the lock, and the holder's query older than the views' 0.2 s
        # (by the server's clock; the duration asserted below is >= 0.4 s).
        await until_true(pg.dsn, "select exists (select 1 from pg_locks where pid = $1 and not granted)", waiter_pid)
        await until_true(pg.dsn, "select now() - query_start >= interval '0.5 s' from pg_stat_activity where pid = $1", holder_pid)
        blocking = (await inspector.run("blocking")).as_dicts()
        assert [(r["blocked_pid"], r["blocking_pid"]) for r in blocking] == [(waiter_pid, holder_pid)]
        assert blocking[0]["blocking_state"] == "idle in transaction"
        assert "select count(*) from orders" in blocking[0]["blocked_query"]
        locks = (await inspector.run("locks")).as_dicts()
        assert any(r["pid"] == holder_pid and r["mode"] == "AccessExclusiveLock" and r["granted"] and r["relation"] == "orders" for r in locks)
        assert any(r["pid"] == waiter_pid and not r["granted"] for r in locks)
        console_pid = await _console_pids(pg)
        assert console_pid > 0 and all(r["pid"] != console_pid for r in locks)
        running = {r["pid"]: r for r in (await inspector.run("long_running")).as_dicts()}
        assert set(running) == {holder_pid, waiter_pid}
        assert running[waiter_pid]["state"] == "active" and running[waiter_pid]["wait"] == "Lock:relation"
        assert running[holder_pid]["duration"] >= 0.4
        roles = {r["role"]: r for r in (await inspector.run("role_connections")).as_dicts()}
        assert roles["postgres"]["connections"] >= 2
    finally:
        await tx.rollback()
        await asyncio.wait_for(blocked, 5)
        await holder.close()
        await waiter.close()
        await connector.close()


async def _console_pids(pg: PgServer) -> int:
    conn = await asyncpg.connect(pg.dsn)
    try:
        return int(await conn.fetchval("select coalesce(min(pid), -1) from pg_stat_activity where application_name = 'cs-console'"))
    finally:
        await conn.close()


async def test_replication_slot_listed_and_faults_inside_the_table(pg: PgServer, shopdb: str) -> None:
    slot = f"cs_slot_{uuid.uuid4().hex[:8]}"
    pg.psql(f"select pg_create_physical_replication_slot('{slot}', true)")
    connector = PgConnector(shopdb, connect_timeout=1.0, backoff_initial_s=0.1)
    inspector = PostgresInspector(connector)
    try:
        rows = {r["name"]: r for r in (await inspector.run("replication")).as_dicts()}
        assert rows[slot]["kind"] == "physical" and rows[slot]["active"] is False
        assert rows[slot]["lag_bytes"] is not None and rows[slot]["lag_bytes"] >= 0
        with pytest.raises(UnknownInspectView):
            await inspector.run("no_such_view")
    finally:
        await connector.close()
        pg.psql(f"select pg_drop_replication_slot('{slot}')")
    # A database that is not there: the view says so instead of raising.
    gone = PostgresInspector(PgConnector("postgresql://postgres@127.0.0.1:1/nowhere", connect_timeout=0.5))
    table = await gone.run("locks")
    assert not table.ok and "unreachable" in table.error and table.rows == ()
    await gone.connector.close()
