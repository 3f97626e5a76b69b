"""Server cost of one PostgreSQL metrics refresh: server time, statements and connections.

    python -m tests.benchmarks.pg_refresh [--refreshes 60] [--interval 0.25] [--clients 4] [--idle 20]

Starts a throw-away PostgreSQL 15 (tests/pg_server.py), a background workload
(busy clients, idle pooled sessions, a few hundred distinct statements in
pg_stat_statements), and runs the console's PostgresMetricsSource as its own
login role (member of pg_read_all_stats, not a superuser). Server time is read
from pg_stat_statements for that role only, with track_planning on, so it is
execution plus planning of every statement the console sent during the window.

Goal (issue 3): <= 5 ms of server time and one connection per metrics refresh.
Runs: without the pg_stat_statements read, with it on every refresh, with the
adaptive schedule the console ships, and with the database size on every refresh;
the figure at the console's 2 s refresh combines them.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import time
from typing import Any

import asyncpg

from cs_console.backends.postgres.connector import PgConnector
from cs_console.backends.postgres.metrics_source import PostgresMetricsSource
from cs_console.backends.postgres.metrics_compute import StatementsSchedule
from tests.pg_server import PgServer

ROLE = "cs_console_bench"

SNAPSHOT_SQL = """select p.queryid, left(p.query, 40) as query, p.calls, p.total_exec_time, p.total_plan_time
  from pg_stat_statements p where p.userid = (select oid from pg_roles where rolname = $1)"""


async def workload(dsn: str, stop: asyncio.Event, seed: int) -> None:
    rng = random.Random(seed)
    conn = await asyncpg.connect(dsn, server_settings={"application_name": "bench-app"})
    try:
        while not stop.is_set():
            kind = rng.random()
            if kind < 0.6:
                await conn.fetch("select * from orders where customer = $1 limit 20", rng.randrange(500))
            elif kind < 0.9:
                await conn.execute("insert into orders(customer, note) values ($1, $2)", rng.randrange(500), "x" * 40)
            else:
                try:
                    await conn.execute("insert into orders(id, customer) values (1, 1)")  # duplicate key: a rollback
                except asyncpg.UniqueViolationError:
                    pass
            await asyncio.sleep(0.002)
    finally:
        await conn.close()


async def snapshot(admin: asyncpg.Connection) -> dict[int, dict[str, Any]]:
    return {r["queryid"]: dict(r) for r in await admin.fetch(SNAPSHOT_SQL, ROLE)}


def diff(before: dict[int, dict[str, Any]], after: dict[int, dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for qid, row in after.items():
        b = before.get(qid, {"calls": 0, "total_exec_time": 0.0, "total_plan_time": 0.0})
        calls = row["calls"] - b["calls"]
        if calls:
            out.append({
                "query": row["query"].replace("\n", " "),
                "calls": calls,
                "exec_ms": row["total_exec_time"] - b["total_exec_time"],
                "plan_ms": row["total_plan_time"] - b["total_plan_time"],
            })
    return sorted(out, key=lambda r: -(r["exec_ms"] + r["plan_ms"]))


async def measure(source: PostgresMetricsSource, admin: asyncpg.Connection, refreshes: int, interval: float) -> dict[str, Any]:
    opened_before = source.connector.connections_opened
    before = await snapshot(admin)
    walls: list[float] = []
    pids: set[int] = set()
    for _ in range(refreshes):
        t0 = time.perf_counter()
        snap = await source.collect()
        walls.append((time.perf_counter() - t0) * 1000)
        assert snap.value("db.response_ms") is not None, source.status()
        pids |= {r["pid"] for r in await admin.fetch("select pid from pg_stat_activity where usename = $1", ROLE)}
        await asyncio.sleep(interval)
    await asyncio.sleep(0.1)
    after = await snapshot(admin)
    rows = diff(before, after)
    total_calls = sum(r["calls"] for r in rows)
    total_ms = sum(r["exec_ms"] + r["plan_ms"] for r in rows)
    return {
        "rows": rows,
        "statements_per_refresh": total_calls / refreshes,
        "server_ms_per_refresh": total_ms / refreshes,
        "wall_median_ms": statistics.median(walls),
        "wall_p95_ms": sorted(walls)[int(len(walls) * 0.95) - 1],
        "backends_seen": len(pids),
        "new_connections": source.connector.connections_opened - opened_before,
        "last": snap,
    }


async def run(args: argparse.Namespace) -> None:
    print("starting PostgreSQL…", flush=True)
    server = PgServer(max_connections=max(60, args.idle + args.clients + 10))
    try:
        server.psql("alter system set pg_stat_statements.track_planning = on; ")
        server.psql("select pg_reload_conf()")
        server.psql("create database app")
        server.psql(
            "create extension pg_stat_statements;"
            "create table orders(id bigserial primary key, customer int, note text, created timestamptz default now());"
            "create index on orders(customer);"
            "insert into orders(customer, note) select g % 500, repeat('y', 40) from generate_series(1, 50000) g;"
            "analyze orders;",
            db="app",
        )
        server.psql(f"create role {ROLE} login in role pg_read_all_stats")
        app_dsn = server.dsn_for("app")
        admin = await asyncpg.connect(app_dsn)
        # A few hundred distinct statements, as a real application leaves in pg_stat_statements.
        for k in range(1, args.statements + 1):
            # An IN list of k constants: k different query ids (PostgreSQL 15 does not merge lists).
            await admin.fetchval(f"select 0 in ({', '.join(['1'] * k)})")
        idle = [await asyncpg.connect(app_dsn, server_settings={"application_name": "bench-idle"}) for _ in range(args.idle)]
        stop = asyncio.Event()
        workers = [asyncio.create_task(workload(app_dsn, stop, seed)) for seed in range(args.clients)]

        connector = PgConnector(server.dsn_for("app", user=ROLE))
        source = PostgresMetricsSource(connector, size_every_s=60.0)
        for _ in range(3):  # warm up: connect, prepare, learn the console's own statement ids
            await source.collect()
            await asyncio.sleep(args.interval)
        n = args.refreshes
        runs: dict[str, dict[str, Any]] = {}
        # Fixed schedules first, to know what each part costs; then the schedule as shipped.
        source.statements = StatementsSchedule(fixed_every_s=float("inf"))
        runs["never"] = await measure(source, admin, n, args.interval)
        source.statements = StatementsSchedule(fixed_every_s=0.0)
        runs["always"] = await measure(source, admin, n, args.interval)
        source.statements = StatementsSchedule()
        runs["adaptive"] = await measure(source, admin, n, args.interval)
        adaptive = source.statements
        source.size_every_s = 0.0  # pg_database_size every refresh (normally once a minute)
        runs["size"] = await measure(source, admin, max(10, n // 3), args.interval)
        stop.set()
        await asyncio.gather(*workers)
        entries = await admin.fetchval("select count(*) from pg_stat_statements")
        version = await admin.fetchval("show server_version")
        for conn in idle:
            await conn.close()
        await admin.close()
        await source.close()
    finally:
        server.destroy()

    base = runs["never"]["server_ms_per_refresh"]
    pgss_cost = max(0.0, runs["always"]["server_ms_per_refresh"] - base)
    size_cost = max(0.0, runs["size"]["server_ms_per_refresh"] - runs["adaptive"]["server_ms_per_refresh"])
    every = adaptive.every_s
    # At the console's 2 s refresh: the statement totals every max(2, every) s, the size every 60 s.
    at_2s = base + pgss_cost * min(1.0, 2.0 / max(every, 2.0)) + size_cost * 2.0 / 60.0
    snap = runs["adaptive"]["last"]
    print()
    print(f"PostgreSQL {version}; background: {args.clients} busy clients, {args.idle} idle sessions, "
          f"{entries} entries in pg_stat_statements; refresh every {args.interval:g} s")
    avg = snap.value("db.query_avg_ms")
    print(f"last refresh saw: {snap.value('db.connections.used'):.0f} connections, "
          f"query avg {'n/a' if avg is None else f'{avg:.3f} ms'} ({snap.samples['db.query_avg_ms'].note})")
    print()
    width = 58
    figures = [
        ("refreshes per run", f"{n}"),
        ("statements per refresh", f"{runs['adaptive']['statements_per_refresh']:.2f}  (select 1 + the metrics statement)"),
        ("server time per refresh, exec + plan:", ""),
        ("  without the statement totals", f"{base:.3f} ms"),
        ("  reading pg_stat_statements every refresh", f"{runs['always']['server_ms_per_refresh']:.3f} ms"),
        ("  adaptive, as shipped (measured at this interval)", f"{runs['adaptive']['server_ms_per_refresh']:.3f} ms"),
        ("  database size read every refresh (normally 1/min)", f"+{size_cost:.3f} ms"),
        ("statement totals: estimated cost / read every", f"{adaptive.cost_ms or 0:.2f} ms / {every:.1f} s"),
        ("server time per refresh at the console's 2 s refresh", f"{at_2s:.3f} ms  (goal <= 5 ms)"),
        ("connections used by the console", f"{runs['adaptive']['backends_seen']}  (goal 1)"),
        ("connections opened during the runs", f"{sum(r['new_connections'] for r in runs.values())}"),
        ("client wall time per refresh, median / p95 (adaptive)", f"{runs['adaptive']['wall_median_ms']:.2f} / {runs['adaptive']['wall_p95_ms']:.2f} ms"),
    ]
    for key, value in figures:
        print(f"{key:<{width}} {value}")
    print()
    print("per statement (adaptive run):")
    for r in runs["adaptive"]["rows"]:
        per = (r["exec_ms"] + r["plan_ms"]) / r["calls"]
        print(f"  {r['calls']:>5} calls  {per:7.3f} ms/call (plan {r['plan_ms'] / r['calls']:.3f})  {r['query']}")
    ok = at_2s <= 5.0 and runs["adaptive"]["backends_seen"] == 1
    print()
    print("RESULT:", "goal met" if ok else "goal NOT met")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--refreshes", type=int, default=60)
    parser.add_argument("--interval", type=float, default=0.25, help="seconds between refreshes (the console uses 2)")
    parser.add_argument("--clients", type=int, default=4, help="busy workload clients")
    parser.add_argument("--idle", type=int, default=20, help="idle pooled sessions")
    parser.add_argument("--statements", type=int, default=300, help="distinct statements put in pg_stat_statements")
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
