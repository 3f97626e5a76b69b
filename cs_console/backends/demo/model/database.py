"""The database facet of the demo project: sessions, locks, settings, maintenance and statistics.

Reads mirror pg_stat_activity, pg_locks, pg_stat_user_tables and
pg_stat_statements; actions (terminate, cancel, VACUUM, REINDEX, the worker's
restart, idle_in_transaction_session_timeout) go on the timeline and change
what every source shows from that second on.
"""

from __future__ import annotations

from datetime import datetime, timezone

from cs_console.backends.demo.model.catalog import (
    INDEX_BY_NAME,
    LEAKY_APPLICATION,
    LONG_REPORT_QUERY,
    POOLS,
    RESERVED_CONNECTIONS,
    STATEMENT_TIMEOUT_S,
    STATS_RESET_DAYS_AGO,
    TABLE_BY_NAME,
)
from cs_console.backends.demo.model.connections import PgEvent, pool_pid
from cs_console.backends.demo.model.core import ProjectCore
from cs_console.backends.demo.model.pg_activity import backend_rows, build_backends, build_blocking, build_locks
from cs_console.backends.demo.model.pg_statements import build_top_queries
from cs_console.backends.demo.model.pg_tables import build_index_stats, build_table_stats, database_bytes
from cs_console.backends.demo.model.results import (
    ActionResult,
    Backend,
    BlockingPair,
    DatabaseSettings,
    DemoActionError,
    IndexStats,
    Intervention,
    LockInfo,
    QueryStats,
    TableStats,
)


class DatabaseFacet(ProjectCore):
    """PostgreSQL as the operator sees it: pg_stat_activity and friends, and the actions on them."""

    # --- sessions ---------------------------------------------------------------------
    def list_backends(self) -> list[Backend]:
        """pg_stat_activity: every client backend (pid, user, application_name, client_addr, state, query,
        backend/xact/query start, wait event, blocked_by). The console's own session is not listed."""
        with self._lock:
            t = self._now()
            s = int(t)
            return build_backends(self.ctx, t, self.load_at(s), self.engine.state_at(s), self.engine, self._anchor)

    def backend_rows(self) -> list[tuple]:
        """list_backends() as plain tuples with Unix-second times (pg_activity.Row): cheap, for counting."""
        with self._lock:
            t = self._now()
            s = int(t)
            return backend_rows(self.ctx, t, self.load_at(s), self.engine.state_at(s), self.engine, self._anchor)

    def list_locks(self) -> list[LockInfo]:
        """pg_locks joined with pg_stat_activity (granted and waiting)."""
        return build_locks(self.list_backends())

    def blocking(self) -> list[BlockingPair]:
        """Blocked/blocking pairs, as `inspect db blocking` shows them."""
        return build_blocking(self.list_backends())

    def _find_backend(self, pid: int) -> Backend:
        for b in self.list_backends():
            if b.pid == pid:
                return b
        raise DemoActionError(f"no backend with pid {pid}")

    def terminate_backend(self, pid: int) -> bool:
        """pg_terminate_backend(pid). True when a session was ended; False for an unknown pid (as PostgreSQL).

        Ending a leaked signal-worker session frees its slot and its row locks; pooled
        sessions (PostgREST, Supavisor...) reconnect at once with a new pid.
        """
        with self._lock:
            t = self._now()
            s = int(t)
            backends = {b.pid: b for b in self.list_backends()}
            b = backends.get(pid)
            if b is None:
                return False
            if b.application_name == LEAKY_APPLICATION and b.state.startswith("idle in transaction") and self.engine.terminate_leaked(pid, t):
                pass
            else:
                if b.query == LONG_REPORT_QUERY:
                    self.timeline.add(Intervention(t, "stop_report_query", str(pid)))
                pool_index, slot = self._pool_slot(pid)
                if pool_index is None:  # a superuser session in a reserved slot: it simply goes
                    self.engine.emit(t, PgEvent(t, "FATAL", "terminating connection due to administrator command",
                                                user=b.user, application=b.application_name, pid=pid))
                else:
                    pool = POOLS[pool_index]
                    self.engine.reconnect_pool_member(pool.key, slot, t, pid, b.user, b.application_name)
            self.timeline.add(Intervention(t, "terminate_backend", str(pid)))
            self._invalidate_from(s)
            self.engine.rerecord(s)
            return True

    def terminate_backends(self, pids: list[int]) -> int:
        """Terminate several backends; returns how many were ended."""
        return sum(1 for pid in pids if self.terminate_backend(pid))

    def _pool_slot(self, pid: int) -> tuple[int | None, int]:
        for index, pool in enumerate(POOLS):
            for slot in range(pool.max_size):
                gen, _ = self.engine.generation(pool.key, slot)
                if pool_pid(index, slot, gen) == pid:
                    return index, slot
        return None, 0

    def cancel_backend(self, pid: int) -> bool:
        """pg_cancel_backend(pid): cancels the running statement. True if the pid exists (as PostgreSQL),
        even when nothing was running: an idle-in-transaction session keeps its transaction and locks."""
        with self._lock:
            t = self._now()
            try:
                b = self._find_backend(pid)
            except DemoActionError:
                return False
            if b.state == "active":
                self.engine.emit(t, PgEvent(t, "ERROR", "canceling statement due to user request", user=b.user,
                                            application=b.application_name, pid=pid, query=b.query))
                if b.query == LONG_REPORT_QUERY:
                    self._record("stop_report_query", str(pid))
            self.timeline.add(Intervention(t, "cancel_backend", str(pid)))
            return True

    def restart_worker(self, application_name: str = LEAKY_APPLICATION) -> ActionResult:
        """Restart the signal-worker with the fixed release: its leaked sessions end (transactions roll back)
        and it stops leaking. This resolves connection-exhaustion."""
        with self._lock:
            if application_name != LEAKY_APPLICATION:
                raise DemoActionError(f"no worker named {application_name!r} (the demo runs {LEAKY_APPLICATION!r})")
            t = self._now()
            closed = self.engine.restart_worker(t)
            self.timeline.add(Intervention(t, "restart_worker", application_name))
            self._invalidate_from(int(t))
            self.engine.rerecord(int(t))
            return self._result("restart_worker", application_name,
                                f"{application_name} restarted; {closed} idle-in-transaction sessions closed", t, closed=closed)

    def set_idle_in_transaction_timeout(self, seconds: float | None) -> ActionResult:
        """ALTER ROLE/DATABASE ... SET idle_in_transaction_session_timeout. None or 0 disables it.
        Sessions idle in a transaction longer than this are ended by the server."""
        with self._lock:
            value = None if not seconds else float(seconds)
            if value is not None and value < 1:
                raise DemoActionError("idle_in_transaction_session_timeout must be at least 1 s (or 0 to disable)")
            t = self._record("idle_in_transaction_timeout", "postgres", value)
            self.engine.idle_tx_timeout_s = value
            shown = f"{value:g}s" if value else "0 (disabled)"
            return self._result("set_idle_in_transaction_timeout", "postgres",
                                f"idle_in_transaction_session_timeout = {shown}", t, seconds=value)

    def settings(self) -> DatabaseSettings:
        """max_connections, reserved slots, timeouts and the compute tier."""
        with self._lock:
            t = self._now()
            load = self.load_at(int(t))
            return DatabaseSettings(load.tier.max_connections, RESERVED_CONNECTIONS, self.engine.idle_tx_timeout_s,
                                    STATEMENT_TIMEOUT_S, load.tier.name, load.restarting_since is not None)

    # --- maintenance and statistics ---------------------------------------------------
    def table_stats(self) -> list[TableStats]:
        """Sizes, live/dead tuples, bloat, seq/index scans and last (auto)vacuum/analyze per table."""
        with self._lock:
            return build_table_stats(self.seed, self._anchor, self._now(), self.timeline)

    def index_stats(self) -> list[IndexStats]:
        """Size, scans, estimated bloat and definition per index (unused: no scans and not unique)."""
        with self._lock:
            return build_index_stats(self.seed, self._anchor, self._now(), self.timeline)

    def top_queries(self, order_by: str = "total_time", limit: int = 10) -> list[QueryStats]:
        """pg_stat_statements since the last reset; order_by total_time | calls | mean."""
        with self._lock:
            t = self._now()
            s = int(t)
            return build_top_queries(self.ctx, self._anchor, t, self.load_at(s), self.engine.state_at(s), order_by, limit)

    def vacuum_analyze(self, table: str | None = None) -> ActionResult:
        """VACUUM (ANALYZE) one table (schema-qualified or bare name) or, with None, the whole database."""
        with self._lock:
            name = "*" if table is None else self._table_name(table)
            before = {ts.name: ts for ts in self.table_stats()}
            t = self._record("vacuum", name)
            self.timeline.add(Intervention(t, "analyze", name))
            targets = list(before) if name == "*" else [name]
            removed = sum(before[n].dead_tuples for n in targets)
            size = sum(before[n].table_bytes for n in targets)
            duration = 0.4 + size / (220 * 1024 * 1024)  # ~220 MB/s
            statement = "VACUUM (ANALYZE)" + ("" if name == "*" else f" {name}")
            self.engine.emit(t + 0.01, PgEvent(t + 0.01, "LOG", f"duration: {duration * 1000:.3f} ms  statement: {statement}",
                                               user="postgres", application="cs-console"))
            return self._result("vacuum_analyze", name, f"{statement}: {removed:,} dead tuples removed in {duration:.1f} s",
                                t, dead_tuples_removed=removed, duration_s=round(duration, 2))

    def analyze(self, table: str | None = None) -> ActionResult:
        """ANALYZE one table or the whole database (refreshes planner statistics only)."""
        with self._lock:
            name = "*" if table is None else self._table_name(table)
            t = self._record("analyze", name)
            return self._result("analyze", name, "ANALYZE" + ("" if name == "*" else f" {name}"), t)

    def reindex(self, index: str, concurrently: bool = True) -> ActionResult:
        """REINDEX INDEX [CONCURRENTLY] name: the index is rebuilt without its bloat."""
        with self._lock:
            name = self._index_name(index)
            before = next(i for i in self.index_stats() if i.name == name)
            t = self._record("reindex", name)
            after = next(i for i in self.index_stats() if i.name == name)
            duration = 0.5 + before.bytes / (60 * 1024 * 1024)
            statement = f"REINDEX INDEX {'CONCURRENTLY ' if concurrently else ''}{name}"
            self.engine.emit(t + 0.01, PgEvent(t + 0.01, "LOG", f"duration: {duration * 1000:.3f} ms  statement: {statement}",
                                               user="postgres", application="cs-console"))
            return self._result("reindex", name, f"{statement}: {before.bytes / 1048576:.0f} MB → {after.bytes / 1048576:.0f} MB",
                                t, bytes_before=before.bytes, bytes_after=after.bytes, duration_s=round(duration, 2))

    @staticmethod
    def _table_name(table: str) -> str:
        name = table if "." in table else f"public.{table}"
        if name not in TABLE_BY_NAME:
            raise DemoActionError(f"no table {table!r} (tables: {', '.join(t.split('.', 1)[1] for t in TABLE_BY_NAME)})")
        return name

    @staticmethod
    def _index_name(index: str) -> str:
        name = index if "." in index else f"public.{index}"
        if name not in INDEX_BY_NAME:
            raise DemoActionError(f"no index {index!r}")
        return name

    def stats_reset_at(self) -> datetime:
        """When pg_stat_statements and the cumulative statistics were last reset."""
        return datetime.fromtimestamp(self._anchor - STATS_RESET_DAYS_AGO * 86400.0, tz=timezone.utc)

    def database_size(self) -> int:
        with self._lock:
            return database_bytes(self._anchor, self._now(), self.timeline)
