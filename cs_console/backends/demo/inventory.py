"""What the demo database looks like from the inside at one moment.

pg_stat_activity rows, locks, blocking pairs, table and index statistics and
pg_stat_statements, built from the load model, the connection engine and the
maintenance the operator did (VACUUM, REINDEX). Metrics count from the same
rows, so the numbers and the lists always agree.
"""

from __future__ import annotations

from datetime import datetime, timezone

from cs_console.backends.demo import scenarios as sc
from cs_console.backends.demo.catalog import (
    BLOCKED_QUERY,
    BULK_READ_QUERY,
    INDEXES,
    LEAK_QUERY,
    LEAKY_APPLICATION,
    LONG_REPORT_QUERY,
    POOL_QUERIES,
    POOLS,
    QUERIES,
    STATEMENT_TIMEOUT_S,
    STATS_RESET_DAYS_AGO,
    SYSTEM_BYTES,
    TABLES,
    IndexSpec,
    TableSpec,
)
from cs_console.backends.demo.connections import ConnectionEngine, allocate, pool_pid
from cs_console.backends.demo.noise import unit, unit_ints
from cs_console.backends.demo.rows import Backend, BlockingPair, IndexStats, LockInfo, QueryStats, TableStats
from cs_console.backends.demo.signals import Context, DbSecond, Load
from cs_console.backends.demo.timeline import Timeline

_ACTIVE_BASE = {
    "auth": 0.1, "storage": 0.05, "realtime": 0.3, "exporter": 0.05,
    "postgrest": 0.1, "supavisor": 0.15, "worker": 0.2, "dashboard": 0.3,
}
DAY = 86400.0


def _dt(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, tz=timezone.utc)


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
            backend_start=_dt(started), xact_start=None if xact is None else _dt(xact),
            query_start=None if qstart is None else _dt(qstart), state_change=None if changed is None else _dt(changed),
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


# --- tables and indexes -------------------------------------------------------
def _last_manual(timeline: Timeline, kind: str, name: str, now: float) -> float | None:
    item = timeline.last(kind, now, target=name)
    whole = timeline.last(kind, now, target="*")
    times = [i.at for i in (item, whole) if i is not None]
    return max(times) if times else None


def table_dead_tuples(table: TableSpec, seed: int, anchor: float, now: float, timeline: Timeline) -> tuple[int, float | None, float | None]:
    """(dead tuples, last manual vacuum, last autovacuum) at now."""
    manual = _last_manual(timeline, "vacuum", table.name, now)
    auto: float | None = None
    if table.autovacuum_keeps_up and table.dead_per_s > 0:
        threshold = 50 + 0.02 * table.rows  # autovacuum_vacuum_scale_factor tuned to 0.02
        period = max(600.0, min(DAY, threshold / table.dead_per_s))
        phase = unit(seed, "autovac/" + table.name, 0) * period
        auto = now - ((now - phase) % period)
        since = auto if manual is None or manual < auto else manual
    else:
        since = anchor - table.last_vacuum_days_ago * DAY
        if manual is not None and manual > since:
            since = manual
    dead = int(table.dead_per_s * max(0.0, now - since))
    return min(dead, table.rows * 3), manual, auto


def table_bloat_factor(name: str, seed: int, anchor: float, now: float, timeline: Timeline) -> float:
    """Dead share of a table (0..1), used by the load model's query times."""
    from cs_console.backends.demo.catalog import TABLE_BY_NAME

    table = TABLE_BY_NAME[name]
    dead, _, _ = table_dead_tuples(table, seed, anchor, now, timeline)
    return dead / (dead + table.rows)


def index_bloat_pct(index: IndexSpec, anchor: float, now: float, timeline: Timeline) -> float:
    rebuilt = _last_manual(timeline, "reindex", index.name, now)
    if rebuilt is not None:
        return index.bloat_pct_per_day * (now - rebuilt) / DAY
    return max(0.0, index.bloat_pct + index.bloat_pct_per_day * (now - anchor) / DAY)


def index_bytes(index: IndexSpec, anchor: float, now: float, timeline: Timeline) -> int:
    return int(index.ideal_bytes * (1.0 + index_bloat_pct(index, anchor, now, timeline) / 100.0))


def build_index_stats(seed: int, anchor: float, now: float, timeline: Timeline) -> list[IndexStats]:
    elapsed = (STATS_RESET_DAYS_AGO * DAY) + (now - anchor)
    out = []
    for index in INDEXES:
        scans = int(index.scans_per_s * 0.72 * elapsed * (1.0 + 0.05 * unit(seed, "iscan/" + index.name, 0)))
        out.append(IndexStats(index.name, index.table, index_bytes(index, anchor, now, timeline), scans,
                              round(index_bloat_pct(index, anchor, now, timeline), 1), index.unique, index.primary,
                              index.definition))
    return out


def table_bytes(table: TableSpec, anchor: float, now: float) -> int:
    return int(table.table_bytes + table.growth_bytes_per_day * (now - anchor) / DAY)


def build_table_stats(seed: int, anchor: float, now: float, timeline: Timeline) -> list[TableStats]:
    elapsed = (STATS_RESET_DAYS_AGO * DAY) + (now - anchor)
    out = []
    for table in TABLES:
        dead, manual, auto = table_dead_tuples(table, seed, anchor, now, timeline)
        idx = sum(index_bytes(i, anchor, now, timeline) for i in INDEXES if i.table == table.name)
        tbytes = table_bytes(table, anchor, now)
        rows = int(table.rows + table.growth_bytes_per_day * (now - anchor) / DAY / max(1.0, table.table_bytes / table.rows))
        dead_pct = 100.0 * dead / (dead + rows) if rows + dead else 0.0
        analyzed_manual = _last_manual(timeline, "analyze", table.name, now)
        candidates = [t for t in (manual, analyzed_manual) if t is not None]
        last_analyze = max(candidates) if candidates else None
        seq = int(table.seq_scans_per_s * 0.72 * elapsed)
        out.append(TableStats(
            name=table.name,
            rows_estimate=rows,
            table_bytes=tbytes,
            index_bytes=idx,
            total_bytes=tbytes + idx,
            dead_tuples=dead,
            dead_pct=round(dead_pct, 1),
            bloat_pct=round(min(95.0, dead_pct * 0.9 + 4.0), 1),
            seq_scans=seq,
            seq_tup_read=seq * table.seq_rows_per_scan,
            idx_scans=int(table.idx_scans_per_s * 0.72 * elapsed),
            last_vacuum=_dt(manual) if manual else None,
            last_autovacuum=_dt(auto) if auto else (_dt(anchor - table.last_vacuum_days_ago * DAY) if not table.autovacuum_keeps_up else None),
            last_analyze=_dt(last_analyze) if last_analyze else None,
            last_autoanalyze=_dt((auto or anchor - table.last_vacuum_days_ago * DAY) + 2.0),
            autovacuum_threshold=int(50 + 0.02 * table.rows),
        ))
    return out


def database_bytes(anchor: float, now: float, timeline: Timeline) -> int:
    tables = sum(table_bytes(t, anchor, now) for t in TABLES)
    indexes = sum(index_bytes(i, anchor, now, timeline) for i in INDEXES)
    return SYSTEM_BYTES + tables + indexes


# --- pg_stat_statements -----------------------------------------------------------
def build_top_queries(ctx: Context, anchor: float, now: float, load: Load, db: DbSecond, order_by: str, limit: int) -> list[QueryStats]:
    elapsed = (STATS_RESET_DAYS_AGO * DAY) + (now - anchor)
    load_factor = 1.0 + 1.6 * load.util**2
    stats: list[tuple[str, str, float, float, float]] = []  # query, role, calls, mean, rows/call
    tau = ctx.tau(now)
    recent = min(tau, 3600.0) if tau is not None else 0.0  # the incident's share of the statistics
    for q in QUERIES:
        rate = q.calls_per_s * (0.72 if q.follows_traffic else 1.0)
        calls = rate * elapsed
        total = calls * q.mean_ms * (1.0 + 0.3 * (load_factor - 1.0))
        if recent and load_factor > 1.2:
            total += rate * recent * q.mean_ms * (load_factor - 1.0)
        if q.key == "queue_claim" and db.blocked:
            total += rate * recent * 0.5 * STATEMENT_TIMEOUT_S * 1000.0  # waits on the leaked row locks
        if q.key == "queue_fetch" and ctx.scenario == "connection-exhaustion" and tau is not None:
            extra = sc.LEAK_SURGE_PER_S * min(tau, sc.LEAK_SURGE_S) + sc.LEAK_SLOW_PER_S * max(0.0, tau - sc.LEAK_SURGE_S)
            calls += extra
            total += extra * q.mean_ms
        if q.key == "open_count":
            total *= 1.0 + 0.5 * unit(ctx.seed, "opencount", 0)
        stats.append((q.query, q.role, calls, total / calls if calls else 0.0, q.rows_per_call))
    if ctx.scenario == "security-breach" and tau is not None and tau > sc.BULK_READS_AT_S:
        stats.append((BULK_READ_QUERY, "authenticated", sc.BULK_READS_RPM / 60.0 * (tau - sc.BULK_READS_AT_S), 180.0, 1000))
    if load.report_query_since is not None:
        stats.append((LONG_REPORT_QUERY, "postgres", 3.0, 61_000.0, 48_000))
    total_time = sum(c * m for _, _, c, m, _ in stats) or 1.0
    rows = [
        QueryStats(query, role, int(calls), round(calls * mean, 1), round(mean, 3), int(calls * per),
                   round(100.0 * calls * mean / total_time, 2), round(99.2 + 0.7 * unit(ctx.seed, "qhit/" + query[:40], 0), 2))
        for query, role, calls, mean, per in stats
    ]
    keys = {"total_time": lambda r: r.total_ms, "calls": lambda r: r.calls, "mean": lambda r: r.mean_ms}
    if order_by not in keys:
        raise ValueError(f"order_by must be one of {', '.join(keys)}")
    rows.sort(key=keys[order_by], reverse=True)
    return rows[:limit]
