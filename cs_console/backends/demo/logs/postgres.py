"""Postgres logs (postgres_logs): connections, checkpoints, autovacuum, cron, errors, and the incidents' lines."""

from __future__ import annotations

from functools import lru_cache

from cs_console.backends.demo.logs.second import Second, SortedRecords, draw_count
from cs_console.backends.demo.model.catalog import (
    BLOCKED_QUERY,
    BULK_READ_QUERY,
    LEAKY_APPLICATION,
    LEAK_QUERY,
    LONG_REPORT_QUERY,
    PROJECT_REF,
    RESERVED_CONNECTIONS,
    TABLES,
    TAKEOVER_IP,
    TableSpec,
)
from cs_console.backends.demo.model.noise import unit
from cs_console.backends.demo.model.performance import Signals, deadlock_in_second
from cs_console.backends.demo.model.project import DemoProject
from cs_console.domain.log_record import Level, LogRecord

_PG_LEVELS = {"LOG": Level.INFO, "WARNING": Level.WARN, "ERROR": Level.ERROR, "FATAL": Level.FATAL, "PANIC": Level.FATAL}


def _pg(out: SortedRecords, sec: Second, frac: float, severity: str, message: str, *, user: str = "", app: str = "",
        detail: str = "", hint: str = "", query: str = "", code: str = "00000", pid: int | None = None, host: str = "") -> None:
    ts, us = sec.ts(frac)
    rec_id = sec.id()
    raw = {
        "id": rec_id, "identifier": PROJECT_REF, "timestamp": us, "event_message": message, "error_severity": severity,
        "user_name": user or None, "application_name": app or None, "detail": detail or None, "hint": hint or None,
        "query": query or None, "sql_state_code": code, "process_id": pid or 10000 + int(sec.rng.random() * 50000),
        "remote_host": host or None,
    }
    out.add(us, LogRecord(ts, _PG_LEVELS[severity], "postgres", message, None, None, None, rec_id, raw))


_SQLSTATE = {
    "terminating connection due to administrator command": "57P01",
    "terminating connection due to idle-in-transaction timeout": "25P03",
    "canceling statement due to user request": "57014",
    "unexpected EOF on client connection with an open transaction": "08P01",
}


@lru_cache(maxsize=64)
def _pg_schedule(seed: int) -> tuple[int, tuple[tuple[TableSpec, float, float, float], ...]]:
    """Checkpoint phase and autovacuum cadence per table (the same as model/pg_tables.table_dead_tuples)."""
    autovacuums = []
    for table in TABLES:
        if table.autovacuum_keeps_up and table.dead_per_s > 0:
            threshold = 50 + 0.02 * table.rows
            period = max(600.0, min(86400.0, threshold / table.dead_per_s))
            autovacuums.append((table, threshold, period, unit(seed, "autovac/" + table.name, 0) * period))
    return int(unit(seed, "checkpoint", 0) * 300), tuple(autovacuums)


def postgres_records(project: DemoProject, s: int, sig: Signals, out: SortedRecords) -> None:
    seed = project.seed
    sec = Second(seed, "postgres", s)
    rng = sec.rng
    load = sig.load
    db = sig.db
    # Pooled clients recycle connections now and then.
    for _ in range(draw_count(rng, 0.05 if not db.restarting else 0.0)):
        port = 30000 + int(rng.random() * 30000)
        frac = rng.random() * 0.99
        _pg(out, sec, frac, "LOG", f"connection received: host=10.0.2.14 port={port}")
        _pg(out, sec, frac + 0.002, "LOG", "connection authorized: user=postgres database=postgres application_name=Supavisor "
            "SSL enabled (protocol=TLSv1.3, cipher=TLS_AES_256_GCM_SHA384, bits=256)", user="postgres", app="Supavisor")
    for _ in range(draw_count(rng, 0.05 if not db.restarting else 0.0)):
        minutes = int(rng.random() * 40)
        _pg(out, sec, rng.random(), "LOG", f"disconnection: session time: 0:{minutes:02d}:{int(rng.random() * 60):02d}.{int(rng.random() * 1000):03d} "
            "user=postgres database=postgres host=10.0.2.14 port=" + str(30000 + int(rng.random() * 30000)), user="postgres", app="Supavisor")
    phase, autovacuums = _pg_schedule(seed)
    if (s - phase) % 300 == 0:
        _pg(out, sec, 0.01, "LOG", "checkpoint starting: time")
    elif (s - phase) % 300 == 270:
        buffers = 900 + int(rng.random() * 2400)
        _pg(out, sec, 0.02, "LOG", f"checkpoint complete: wrote {buffers} buffers ({buffers / 163.84:.1f}%); 0 WAL file(s) added, "
            f"0 removed, {1 + int(rng.random() * 3)} recycled; write=269.{int(rng.random() * 900) + 100} s, sync=0.004 s, "
            f"total=269.{int(rng.random() * 900) + 100} s; sync files={40 + int(rng.random() * 40)}, longest=0.002 s, "
            f"average=0.001 s; distance={15000 + int(rng.random() * 20000)} kB, estimate={24000 + int(rng.random() * 6000)} kB")
    for table, threshold, period, offset in autovacuums:
        if (s - offset) % period < 1:
            dead = int(threshold)
            _pg(out, sec, 0.5, "LOG", f'automatic vacuum of table "postgres.{table.name}": index scans: 1\n'
                f"pages: 0 removed, {table.table_bytes // 8192} remain, {int(rng.random() * 4000)} scanned\n"
                f"tuples: {dead} removed, {table.rows} remain, 0 are dead but not yet removable\n"
                f"avg read rate: {rng.random() * 40:.3f} MB/s, avg write rate: {rng.random() * 20:.3f} MB/s",
                user="supabase_admin")
            _pg(out, sec, 0.6, "LOG", f'automatic analyze of table "postgres.{table.name}"', user="supabase_admin")
    if s % 3600 == 0:
        _pg(out, sec, 0.003, "LOG", "cron job 4 starting: CALL public.purge_expired_signals()", user="postgres", app="pg_cron scheduler")
    elif s % 3600 == 7:
        _pg(out, sec, 0.2, "LOG", "cron job 4 COMMAND completed: CALL 1", user="postgres", app="pg_cron scheduler")
    # everyday application errors
    if rng.random() < 0.0035 * max(0.3, load.traffic):
        ext = 1_790_000_000 + int(rng.random() * 9_999_999)
        _pg(out, sec, rng.random(), "ERROR", 'duplicate key value violates unique constraint "signals_external_id_key"',
            user="postgres", app="Supavisor", detail=f"Key (external_id)=(tw_{ext}) already exists.",
            query="INSERT INTO public.signals (external_id, keyword_id, conversation_id, score, created_at) VALUES ($1, $2, $3, $4, $5)",
            code="23505")
    if rng.random() < 0.0006:
        _pg(out, sec, rng.random(), "ERROR", "permission denied for table integrations", user="authenticated", app="postgrest",
            query='SELECT "public"."integrations".* FROM "public"."integrations"', code="42501")
    slow_rate = 0.01 * max(0.3, load.traffic) * (1.0 + 4.0 * max(0.0, load.util - 0.7)) + (load.bulk_reads_rpm / 60.0) * 0.3
    for _ in range(draw_count(rng, slow_rate)):
        if load.bulk_reads_rpm and rng.random() < 0.7:
            query, user, app = BULK_READ_QUERY, "authenticated", "postgrest"
        else:
            query, user, app = "SELECT count(*) FROM public.conversations WHERE org_id = $1 AND status = $2", "authenticated", "postgrest"
        _pg(out, sec, rng.random(), "LOG", f"duration: {1000 + rng.random() * 2500:.3f} ms  statement: {query}", user=user, app=app)
    if deadlock_in_second(seed, s, load.util):
        a, b = 18000 + int(rng.random() * 9000), 18000 + int(rng.random() * 9000)
        xa, xb = 88_120_000 + int(rng.random() * 9000), 88_120_000 + int(rng.random() * 9000)
        _pg(out, sec, rng.random(), "ERROR", "deadlock detected", user="postgres", app="Supavisor",
            detail=f"Process {a} waits for ShareLock on transaction {xb}; blocked by process {b}.\n"
                   f"Process {b} waits for ShareLock on transaction {xa}; blocked by process {a}.",
            hint="See server log for query details.",
            query="UPDATE public.conversations SET status = $1, updated_at = now() WHERE id = $2", code="40P01", pid=a)
    if load.report_query_since is not None and s % 60 == int(load.report_query_since) % 60:
        _pg(out, sec, 0.3, "LOG", f'temporary file: path "base/pgsql_tmp/pgsql_tmp{24000 + s % 97}.{s % 13}", size {100 + int(rng.random() * 400)}000000',
            user="postgres", app="supabase/dashboard", query=LONG_REPORT_QUERY)

    # connection exhaustion
    if db.at_capacity:
        for _ in range(db.refused):
            r = rng.random()
            user, app, host = ("cs_worker", LEAKY_APPLICATION, "10.0.4.17") if r < 0.55 else (
                ("authenticator", "postgrest", "127.0.0.1") if r < 0.75 else ("postgres", "Supavisor", "10.0.2.14"))
            _pg(out, sec, rng.random(), "FATAL", "remaining connection slots are reserved for non-replication superuser connections",
                user=user, app=app, code="53300", host=host)
        if db.su_extra >= RESERVED_CONNECTIONS and rng.random() < 0.3:
            _pg(out, sec, rng.random(), "FATAL", "sorry, too many clients already", user="supabase_admin", app="realtime_rls",
                code="53300", host="127.0.0.1")
    if db.blocked and db.oldest_leak_born is not None:
        holder = min(project.engine.leaked, key=lambda c: c.born).pid if project.engine.leaked else 40003
        for _ in range(draw_count(rng, db.blocked / 8.0)):
            waiter = 23000 + int(rng.random() * 26) * 120
            xid = 88_100_000 + int(db.oldest_leak_born) % 100_000
            _pg(out, sec, rng.random(), "LOG", f"process {waiter} still waiting for ShareLock on transaction {xid} after 1000.{int(rng.random() * 900) + 50} ms",
                user="postgres", app="Supavisor", detail=f"Process holding the lock: {holder}. Wait queue: {waiter}.",
                query=BLOCKED_QUERY, pid=waiter)
        for _ in range(draw_count(rng, db.blocked / 8.0)):
            _pg(out, sec, rng.random(), "ERROR", "canceling statement due to statement timeout", user="postgres", app="Supavisor",
                query=BLOCKED_QUERY, code="57014")
    if db.restarting:
        for _ in range(db.refused):
            _pg(out, sec, rng.random(), "FATAL", "the database system is starting up", user="authenticator", app="postgrest",
                code="57P03", host="127.0.0.1")
    if load.db_brute_force_rpm > 0:
        for _ in range(draw_count(rng, load.db_brute_force_rpm / 60.0)):
            frac = rng.random() * 0.99
            port = 40000 + int(rng.random() * 20000)
            _pg(out, sec, frac, "LOG", f"connection received: host={TAKEOVER_IP} port={port}", host=TAKEOVER_IP)
            _pg(out, sec, frac + 0.004, "FATAL", 'password authentication failed for user "postgres"', user="postgres",
                detail='Connection matched pg_hba.conf line 89: "hostssl all all 0.0.0.0/0 scram-sha-256"', code="28P01",
                host=TAKEOVER_IP)

    for event in project.pg_events(s):
        code = _SQLSTATE.get(event.message, "00000")
        if event.message.startswith("duration:"):
            code = "00000"
        _pg(out, sec, event.at - s, event.severity, event.message, user=event.user, app=event.application,
            detail=event.detail, query=event.query or (LEAK_QUERY if event.application == LEAKY_APPLICATION else ""),
            code=code, pid=event.pid)
