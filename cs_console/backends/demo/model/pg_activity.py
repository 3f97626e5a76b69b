"""pg_stat_activity, pg_locks and blocking pairs of the demo database at one moment.

Built from the load model, the connection engine's slots and leaked sessions.
The metrics count from the same rows (summarize), so the numbers and the
lists always agree.
"""

from __future__ import annotations

from cs_console.backends.demo.model.catalog import (
    BLOCKED_QUERY,
    LEAK_QUERY,
    LEAKY_APPLICATION,
    LONG_REPORT_QUERY,
    POOL_QUERIES,
    POOLS,
    STATEMENT_TIMEOUT_S,
    TABLES,
)
from cs_console.backends.demo.model.clock import as_datetime
from cs_console.backends.demo.model.connections import ConnectionEngine, DbSecond, allocate, pool_pid
from cs_console.backends.demo.model.context import Context
from cs_console.backends.demo.model.demand import Load
from cs_console.backends.demo.model.noise import unit_ints
from cs_console.backends.demo.model.results import Backend, BlockingPair, LockInfo

_ACTIVE_BASE = {
    "auth": 0.1, "storage": 0.05, "realtime": 0.3, "exporter": 0.05,
    "postgrest": 0.1, "supavisor": 0.15, "worker": 0.2, "dashboard": 0.3,
}

# A backend before its timestamps become datetimes (cheap enough for every metrics refresh):
# (pid, user, application, client_addr, state, query, backend_start, xact_start, query_start,
#  state_change, wait_event_type, wait_event, blocked_by, superuser)  -- times as Unix seconds
Row = tuple[int, str, str, "str | None", str, str, float, "float | None", "float | None", "float | None",
            "str | None", "str | None", tuple[int, ...], bool]
_ACT, _QUERY, _QAGE, _ITX, _IDLE, _START = range(6)


def backend_rows(ctx: Context, now: float, load: Load, db: DbSecond, engine: ConnectionEngine, anchor: float) -> list[Row]:
    """pg_stat_activity at `now` (client backends only; the console's own session is left out)."""
    if db.restarting:
        return []
    seed = ctx.seed
    s = int(now)
    rows: list[Row] = []
    alloc = allocate(load.pool_desired, db.usable - db.leaked)
    oldest = min(engine.leaked, key=lambda c: c.born) if engine.leaked else None
    util_boost = 1.0 + 2.0 * max(0.0, load.util - 0.6)
    for index, pool in enumerate(POOLS):
        queries = POOL_QUERIES[pool.key]
        p_active = _ACTIVE_BASE[pool.key] + (0.5 * load.util if pool.key == "postgrest" else 0.0)
        if pool.key == "supavisor":
            p_active += 0.4 * min(1.5, load.fn_util)
        user, app, addr, su = pool.user, pool.application_name, pool.client_addr, pool.superuser
        for slot in range(alloc[pool.key]):
            gen, since = engine.generation(pool.key, slot)
            pid = pool_pid(index, slot, gen)
            key = (index * 64 + slot) * 8
            if since is None:
                since = anchor - 3600.0 * (2.0 + 70.0 * unit_ints(seed, key + _START, 0))
            if pool.key == "supavisor" and slot < db.blocked and oldest is not None:
                age = min(STATEMENT_TIMEOUT_S, now - oldest.born, 0.4 + (now + slot * 1.7) % (STATEMENT_TIMEOUT_S - 0.5))
                start = now - age
                rows.append((pid, user, app, addr, "active", BLOCKED_QUERY, since, start, start, start, "Lock",
                             "transactionid", (oldest.pid,), su))
                continue
            if pool.key == "dashboard" and slot == 0 and load.report_query_since is not None:
                t0 = load.report_query_since
                rows.append((pid, user, app, addr, "active", LONG_REPORT_QUERY, since, t0, t0, t0, "IO", "DataFileRead", (), su))
                continue
            u = unit_ints(seed, key + _ACT, s // 2)
            query = queries[int(unit_ints(seed, key + _QUERY, s // 3) * len(queries))]
            if u < p_active:
                start = now - (0.002 + 0.25 * unit_ints(seed, key + _QAGE, s) * util_boost)
                rows.append((pid, user, app, addr, "active", query, since, start, start, start, None, None, (), su))
            elif pool.key == "supavisor" and u > 0.985:
                age = 0.3 * unit_ints(seed, key + _ITX, s)
                rows.append((pid, user, app, addr, "idle in transaction", query, since, now - age - 0.01, now - age - 0.01,
                             now - age, "Client", "ClientRead", (), su))
            else:
                idle_for = 0.5 + 30.0 * unit_ints(seed, key + _IDLE, s // 5)
                rows.append((pid, user, app, addr, "idle", query, since, None, now - idle_for, now - idle_for + 0.003,
                             "Client", "ClientRead", (), su))
    for conn in engine.leaked:
        b = conn.born
        rows.append((conn.pid, "cs_worker", LEAKY_APPLICATION, "10.0.4.17", "idle in transaction", LEAK_QUERY, b - 0.02,
                     b, b, b + 0.004, "Client", "ClientRead", (), False))
    for i in range(db.su_extra):
        rows.append((48000 + i, "supabase_admin", "realtime_rls", "127.0.0.1", "idle",
                     "select * from realtime.list_changes($1, $2, $3, $4)", now - 20.0 - 6 * i, None, now - 1.0, now - 0.9,
                     "Client", "ClientRead", (), True))
    return rows


def summarize(rows: list[Row], now: float) -> tuple[int, int, int, int, float, float, float]:
    """(used, active, idle, idle in transaction, oldest idle-in-tx age, longest query, longest transaction)."""
    active = idle = itx = 0
    itx_age = longest_q = longest_x = 0.0
    for row in rows:
        state, xact_start, query_start = row[4], row[7], row[8]
        if state == "active":
            active += 1
            if query_start is not None and now - query_start > longest_q:
                longest_q = now - query_start
        elif state == "idle":
            idle += 1
        else:
            itx += 1
            if xact_start is not None and now - xact_start > itx_age:
                itx_age = now - xact_start
        if xact_start is not None and now - xact_start > longest_x:
            longest_x = now - xact_start
    return len(rows), active, idle, itx, itx_age, longest_q, longest_x


def build_backends(ctx: Context, now: float, load: Load, db: DbSecond, engine: ConnectionEngine, anchor: float) -> list[Backend]:
    out: list[Backend] = []
    for (pid, user, app, addr, state, query, started, xact, qstart, changed, wtype, wait, blocked, su) in backend_rows(
        ctx, now, load, db, engine, anchor
    ):
        out.append(Backend(
            pid=pid, user=user, application_name=app, client_addr=addr, state=state, query=query,
            backend_start=as_datetime(started), xact_start=None if xact is None else as_datetime(xact),
            query_start=None if qstart is None else as_datetime(qstart), state_change=None if changed is None else as_datetime(changed),
            wait_event_type=wtype, wait_event=wait, blocked_by=blocked,
            xact_age_s=None if xact is None else now - xact,
            query_age_s=None if qstart is None or state == "idle" else now - qstart,
            superuser=su,
        ))
    return out


def build_locks(backends: list[Backend]) -> list[LockInfo]:
    locks: list[LockInfo] = []
    for b in backends:
        if b.application_name == LEAKY_APPLICATION and b.state == "idle in transaction":
            locks.append(LockInfo(b.pid, "relation", "public.signal_queue", "RowShareLock", True, None, b.application_name, b.query))
            locks.append(LockInfo(b.pid, "transactionid", None, "ExclusiveLock", True, None, b.application_name, b.query))
        elif b.blocked_by:
            locks.append(LockInfo(b.pid, "relation", "public.signal_queue", "RowExclusiveLock", True, None, b.application_name, b.query))
            locks.append(LockInfo(b.pid, "transactionid", None, "ShareLock", False, b.query_age_s, b.application_name, b.query))
        elif b.query == LONG_REPORT_QUERY:
            for rel in ("public.signals", "public.keywords"):
                locks.append(LockInfo(b.pid, "relation", rel, "AccessShareLock", True, None, b.application_name, b.query))
        elif b.state == "active":
            rel = _relation_of(b.query)
            if rel:
                mode = "AccessShareLock" if b.query.lstrip().upper().startswith(("SELECT", "WITH")) else "RowExclusiveLock"
                locks.append(LockInfo(b.pid, "relation", rel, mode, True, None, b.application_name, b.query))
    return locks


def _relation_of(query: str) -> str | None:
    for table in TABLES:
        short = table.name.split(".", 1)[1]
        if f"public.{short}" in query or f'"public"."{short}"' in query:
            return table.name
    if "auth.users" in query:
        return "auth.users"
    if "storage.objects" in query:
        return "storage.objects"
    return None


def build_blocking(backends: list[Backend]) -> list[BlockingPair]:
    by_pid = {b.pid: b for b in backends}
    pairs: list[BlockingPair] = []
    for b in backends:
        for blocker in b.blocked_by:
            other = by_pid.get(blocker)
            if other is not None:
                pairs.append(BlockingPair(b.pid, blocker, b.query, other.query, b.query_age_s or 0.0, other.state))
    return pairs
