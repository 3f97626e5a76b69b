"""pg_stat_statements of the demo database: calls and time per query since the last statistics reset.

The incident's share grows with the time since its onset, so the top queries
point at what the scenario stresses.
"""

from __future__ import annotations

from cs_console.backends.demo.model import scenarios as sc
from cs_console.backends.demo.model.catalog import BULK_READ_QUERY, LONG_REPORT_QUERY, QUERIES, STATEMENT_TIMEOUT_S, STATS_RESET_DAYS_AGO
from cs_console.backends.demo.model.clock import DAY
from cs_console.backends.demo.model.connections import DbSecond
from cs_console.backends.demo.model.context import Context
from cs_console.backends.demo.model.demand import Load
from cs_console.backends.demo.model.noise import unit
from cs_console.backends.demo.model.results import QueryStats

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
