"""The demo's DatabaseInspector: the `inspect db` detail views answered from the simulated database.

Every view of domain.db_inspect.INSPECT_VIEWS, with the columns declared
there, built from the same rows the demo's actions work on (terminate a
leaked backend, VACUUM a table, REINDEX an index: the views change).
"""

from __future__ import annotations

import time
from collections.abc import Callable

from cs_console.backends.demo.model.project import DemoProject
from cs_console.domain.db_inspect import INSPECT_VIEWS, Cell, InspectTable, InspectView, view_by_id

LONG_RUNNING_MIN_S = 5.0
STATIC_NOTES: dict[str, str] = {
    "bloat": "estimate from planner statistics",
    "cache_hit": "cumulative since statistics were reset",
    "outliers": "since pg_stat_statements was reset",
    "calls": "since pg_stat_statements was reset",
    "unused_indexes": "no scans since statistics were reset; constraint indexes left out",
}

Row = dict[str, Cell]


class DemoInspector:
    """DatabaseInspector over a DemoProject (name "demo")."""

    name = "demo"

    def __init__(self, project: DemoProject) -> None:
        self.project = project
        self._builders: dict[str, Callable[[], list[Row]]] = {
            "long_running": self._long_running,
            "blocking": self._blocking,
            "locks": self._locks,
            "outliers": lambda: self._queries("total_time"),
            "calls": lambda: self._queries("calls"),
            "table_sizes": self._table_sizes,
            "index_sizes": self._index_sizes,
            "bloat": self._bloat,
            "vacuum_stats": self._vacuum,
            "index_usage": self._index_usage,
            "unused_indexes": self._unused,
            "seq_scans": self._seq_scans,
            "role_connections": self._roles,
            "cache_hit": self._cache_hit,
            "replication": self._replication,
        }

    def views(self) -> list[InspectView]:
        return [v for v in INSPECT_VIEWS if v.id in self._builders]

    async def run(self, view_id: str) -> InspectTable:
        view = view_by_id(view_id)
        builder = self._builders.get(view_id)
        if builder is None:  # a view added to the catalogue that the demo does not simulate yet
            return InspectTable(view, (), error="not simulated by the demo", at=self.project.now())
        started = time.perf_counter()
        at = self.project.now()
        if self.project.settings().restarting:
            return InspectTable(view, (), error="database unreachable: the database system is starting up (compute resize)", at=at)
        rows = builder()
        cells = tuple(tuple(row.get(col.name) for col in view.columns) for row in rows)
        return InspectTable(view, cells, note=STATIC_NOTES.get(view_id, ""), at=at,
                            elapsed_ms=round((time.perf_counter() - started) * 1000, 2))

    # --- sessions ---------------------------------------------------------------------
    def _long_running(self) -> list[Row]:
        rows = []
        for b in self.project.list_backends():
            if b.state == "idle":
                continue
            age = b.xact_age_s if b.state.startswith("idle in transaction") else b.query_age_s
            if age is None or age < LONG_RUNNING_MIN_S:
                continue
            wait = f"{b.wait_event_type}: {b.wait_event}" if b.wait_event_type else ""
            rows.append({"pid": b.pid, "duration": round(age, 1), "state": b.state, "user": b.user,
                         "application": b.application_name, "client": b.client_addr, "wait": wait, "query": b.query})
        rows.sort(key=lambda r: -float(r["duration"] or 0))
        return rows

    def _blocking(self) -> list[Row]:
        by_pid = {b.pid: b for b in self.project.list_backends()}
        rows = []
        for pair in self.project.blocking():
            blocked, blocker = by_pid.get(pair.blocked_pid), by_pid.get(pair.blocking_pid)
            rows.append({
                "blocked_pid": pair.blocked_pid, "blocked_user": blocked.user if blocked else None,
                "blocked_for": round(pair.blocked_for_s, 1), "blocked_query": pair.blocked_query,
                "blocking_pid": pair.blocking_pid, "blocking_user": blocker.user if blocker else None,
                "blocking_state": pair.blocking_state,
                "blocking_for": round(blocker.xact_age_s, 1) if blocker and blocker.xact_age_s is not None else None,
                "blocking_query": pair.blocking_query,
            })
        return rows

    def _locks(self) -> list[Row]:
        ages = {b.pid: (b.xact_age_s, b.user) for b in self.project.list_backends()}
        rows = []
        for lock in self.project.list_locks():
            if lock.granted and lock.mode == "AccessShareLock":
                continue
            age, user = ages.get(lock.pid, (None, None))
            rows.append({"pid": lock.pid, "relation": lock.relation or lock.locktype, "mode": lock.mode,
                         "granted": lock.granted, "age": round(lock.waiting_s if not lock.granted and lock.waiting_s else age or 0.0, 1),
                         "user": user, "query": lock.query})
        rows.sort(key=lambda r: (bool(r["granted"]), -float(r["age"] or 0)))
        return rows

    def _queries(self, order: str) -> list[Row]:
        stats = self.project.top_queries(order_by=order, limit=10)
        if order == "calls":
            total_calls = sum(q.calls for q in self.project.top_queries(order_by="calls", limit=100)) or 1
            return [{"calls": q.calls, "share": round(100.0 * q.calls / total_calls, 2), "total_ms": q.total_ms,
                     "mean_ms": q.mean_ms, "query": q.query} for q in stats]
        return [{"total_ms": q.total_ms, "share": q.share_pct, "calls": q.calls, "mean_ms": q.mean_ms, "rows": q.rows,
                 "query": q.query} for q in stats]

    def _roles(self) -> list[Row]:
        settings = self.project.settings()
        limit = settings.max_connections - settings.reserved_connections
        counts: dict[str, int] = {}
        for b in self.project.list_backends():
            counts[b.user] = counts.get(b.user, 0) + 1
        return [{"role": role, "connections": n, "limit": limit, "pct": round(100.0 * n / limit, 1)}
                for role, n in sorted(counts.items(), key=lambda kv: -kv[1])]

    # --- tables and indexes -------------------------------------------------------------
    def _table_sizes(self) -> list[Row]:
        tables = sorted(self.project.table_stats(), key=lambda t: -t.total_bytes)
        return [{"table": t.name, "rows": t.rows_estimate, "table_bytes": t.table_bytes, "index_bytes": t.index_bytes,
                 "total_bytes": t.total_bytes, "seq_scans": t.seq_scans} for t in tables]

    def _index_sizes(self) -> list[Row]:
        indexes = sorted(self.project.index_stats(), key=lambda i: -i.bytes)
        return [{"index": i.name, "table": i.table, "size_bytes": i.bytes, "scans": i.scans} for i in indexes]

    def _bloat(self) -> list[Row]:
        rows = []
        for t in self.project.table_stats():
            waste = int(t.table_bytes * t.bloat_pct / 100.0)
            rows.append({"table": t.name, "bloat": t.bloat_pct, "waste_bytes": waste, "table_bytes": t.table_bytes,
                         "dead_pct": t.dead_pct})
        for i in self.project.index_stats():
            if i.bloat_pct >= 20.0:
                rows.append({"table": f"{i.name} (index)", "bloat": i.bloat_pct,
                             "waste_bytes": int(i.bytes * i.bloat_pct / (100.0 + i.bloat_pct)), "table_bytes": i.bytes,
                             "dead_pct": None})
        rows.sort(key=lambda r: -int(r["waste_bytes"] or 0))
        return rows

    def _vacuum(self) -> list[Row]:
        rows = []
        for t in self.project.table_stats():
            vacuums = [v for v in (t.last_vacuum, t.last_autovacuum) if v is not None]
            analyzes = [a for a in (t.last_analyze, t.last_autoanalyze) if a is not None]
            rows.append({"table": t.name, "last_vacuum": max(vacuums) if vacuums else None,
                         "last_analyze": max(analyzes) if analyzes else None, "live_rows": t.rows_estimate,
                         "dead_rows": t.dead_tuples, "dead_pct": t.dead_pct, "vacuum_at": t.autovacuum_threshold,
                         "due": t.dead_tuples > t.autovacuum_threshold})
        rows.sort(key=lambda r: -float(r["dead_pct"] or 0))
        return rows

    def _index_usage(self) -> list[Row]:
        rows = []
        for t in self.project.table_stats():
            scans = t.idx_scans + t.seq_scans
            rows.append({"table": t.name, "index_pct": round(100.0 * t.idx_scans / scans, 1) if scans else None,
                         "index_scans": t.idx_scans, "seq_scans": t.seq_scans, "rows": t.rows_estimate})
        rows.sort(key=lambda r: float(r["index_pct"] if r["index_pct"] is not None else 100.0))
        return rows

    def _unused(self) -> list[Row]:
        return [{"index": i.name, "table": i.table, "size_bytes": i.bytes, "scans": i.scans}
                for i in sorted(self.project.index_stats(), key=lambda i: -i.bytes) if i.unused]

    def _seq_scans(self) -> list[Row]:
        tables = sorted(self.project.table_stats(), key=lambda t: -t.seq_tup_read)
        return [{"table": t.name, "seq_scans": t.seq_scans, "rows_read": t.seq_tup_read,
                 "avg_rows": round(t.seq_tup_read / t.seq_scans, 1) if t.seq_scans else None,
                 "table_bytes": t.table_bytes} for t in tables if t.seq_scans]

    def _cache_hit(self) -> list[Row]:
        snap = self.project.metrics_snapshot()
        hit = snap.value("db.cache_hit_pct") or 99.0
        since = self.project.stats_reset_at()
        elapsed = (self.project.now() - since).total_seconds()
        index_hits = int(52_000 * elapsed)
        table_hits = int(38_000 * elapsed)
        index_pct = min(99.99, hit + 0.3)
        return [
            {"name": "index", "hit_pct": round(index_pct, 2), "hits": index_hits,
             "reads": int(index_hits * (100.0 - index_pct) / index_pct), "since": since},
            {"name": "table", "hit_pct": round(hit, 2), "hits": table_hits,
             "reads": int(table_hits * (100.0 - hit) / hit), "since": since},
        ]

    def _replication(self) -> list[Row]:
        snap = self.project.metrics_snapshot()
        lag = snap.value("db.replication_lag_s") or 0.0
        return [
            {"name": "eu-west-2 read replica", "kind": "standby", "active": True, "state": "streaming",
             "client": "10.1.0.12", "lag_bytes": int(lag * 2_400_000), "lag_s": round(lag, 2)},
            {"name": "supabase_realtime_replication_slot", "kind": "logical slot", "active": True, "state": "streaming",
             "client": "127.0.0.1", "lag_bytes": int(40_000 + lag * 10_000), "lag_s": None},
        ]
