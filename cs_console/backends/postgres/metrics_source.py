"""PostgreSQL as a MetricsSource: one connection and two statements per refresh.

A refresh is `select 1` (the round trip) and the metrics statement
(metrics_sql.py). `collect()` never raises for expected faults and never hangs:
while the database is unreachable the snapshot has every Database metric at None
with the reason, and `status()` is DOWN with that reason until a reconnect
(capped exponential backoff, in the connector) succeeds.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

import asyncpg

from cs_console.backends.postgres.connector import Capabilities, DatabaseUnavailable, PgConnector, quote_ident
from cs_console.backends.postgres.failure import FailureKind
from cs_console.backends.postgres.metrics_compute import (
    Counters,
    Deltas,
    DeltaTracker,
    ExplicitRollbacks,
    StatementAverages,
    StatementsSchedule,
    StatementTotals,
    build_samples,
)
from cs_console.backends.postgres.metrics_sql import metrics_sql
from cs_console.backends.postgres.size_history import SizeHistory
from cs_console.domain.clock import Clock, SystemClock
from cs_console.domain.metrics import METRICS, MetricSample, MetricsSnapshot
from cs_console.domain.sources import SourceState, SourceStatus
from cs_console.domain.safe_text import safe_text

log = logging.getLogger(__name__)

# How often the query ids of the application's ROLLBACK statements are looked up again.
# The lookup reads pg_stat_statements' query texts (a file that can be megabytes).
ROLLBACK_IDS_EVERY_S = 120.0
_ROLLBACK_TEXT = r"^\s*(rollback|abort)(\s+(work|transaction))?\s*;?\s*$"  # not ROLLBACK TO / PREPARED

DB_KEYS: tuple[str, ...] = tuple(m.key for m in METRICS if m.key.startswith("db."))


class PostgresMetricsSource:
    name = "db"

    def __init__(
        self,
        connector: PgConnector,
        *,
        clock: Clock | None = None,
        state_dir: Path | None = None,
        size_every_s: float = 60.0,
        growth_min_span_s: float = 3600.0,
        statements_every_s: float | None = None,
    ) -> None:
        """statements_every_s: None adapts how often pg_stat_statements is read to
        what a read costs (see StatementsSchedule); a number fixes the interval."""
        self.connector = connector
        self.clock = clock or SystemClock()
        self.size_every_s = size_every_s
        path = state_dir / f"pg-size-{connector.target.key}.json" if state_dir is not None else None
        self.sizes = SizeHistory(path, min_span_s=growth_min_span_s)
        self._tracker = DeltaTracker()
        self._averages = StatementAverages()
        self._explicit = ExplicitRollbacks()
        self._rollback_ids: list[int] = []
        self._rollback_ids_at = float("-inf")
        self.statements = StatementsSchedule(fixed_every_s=statements_every_s)
        self._sql_for: Capabilities | None = None
        self._sql = ""
        self._uses_qids = False
        self._last_size: int | None = None
        self._last_size_at = float("-inf")
        self._status = SourceStatus(self.name, SourceState.UNKNOWN, "not polled yet")
        self._reported: set[str] = set()
        self._recoveries_seen = 0
        self._inspector = None
        self.last_deltas: Deltas | None = None  # the raw interval behind the last rates (tests, benchmark)
        self.last_server_ms: float | None = None  # server time of the last metrics statement

    # ------------------------------------------------------------ protocol

    def status(self) -> SourceStatus:
        st = self._status
        if st.state is not SourceState.UP and self.connector.failure is not None:
            retry = self.connector.retry_in()
            detail = self.connector.failure.reason + (f"; retrying in {retry:.0f} s" if retry >= 1 else "; retrying")
            return SourceStatus(st.name, st.state, detail, st.since)
        return st

    async def close(self) -> None:
        await self.connector.close()

    @property
    def inspector(self):  # -> PostgresInspector (import kept lazy: the pane may never ask)
        if self._inspector is None:
            from cs_console.backends.postgres.inspector import PostgresInspector

            self._inspector = PostgresInspector(self.connector, clock=self.clock)
        return self._inspector

    async def collect(self) -> MetricsSnapshot:
        now = self.clock.now()
        response_ms: float | None = None
        try:
            async with self.connector.session() as db:
                if self.connector.recoveries != self._recoveries_seen:
                    # Back after an outage: rates over the gap would mean nothing; start a new series.
                    self._recoveries_seen = self.connector.recoveries
                    self._tracker.reset()
                    self._averages.reset()
                    self._explicit.reset()
                response_ms = await db.ping()
                caps = db.capabilities
                if caps is not self._sql_for:
                    self._sql, self._uses_qids = metrics_sql(caps)
                    self._sql_for = caps
                mono = time.monotonic()
                want_size = mono - self._last_size_at >= self.size_every_s
                args: list[object] = [want_size, self.connector.own_pids]
                want_statements = False
                if self._uses_qids:
                    have_average = self._averages.last is not None and self._averages.last.value is not None
                    want_statements = self.statements.due(mono, have_average)
                    if caps.counts_rollback_calls and want_statements and mono - self._rollback_ids_at >= ROLLBACK_IDS_EVERY_S:
                        await self._find_rollback_ids(db, caps)
                        self._rollback_ids_at = mono
                # Read after the look-up, which registers its own statement id.
                own_qids = sorted(self.connector.own_query_ids)
                if self._uses_qids:
                    args += [own_qids, want_statements]
                    if caps.counts_rollback_calls:
                        args.append(self._rollback_ids)
                row = await db.fetchrow(self._sql, *args, timeout=self.connector.statement_timeout_ms / 1000 + 1.0)
        except DatabaseUnavailable as exc:
            return self._unavailable(now, exc)
        except asyncpg.PostgresError as exc:
            # The server answers but the statement failed (timeout under load, privilege).
            reason = safe_text(self.connector.scrub(str(exc).splitlines()[0] if str(exc) else type(exc).__name__), 200)
            self._set_status(SourceState.DEGRADED, f"metrics query failed: {reason}", now)
            return self._empty(now, f"n/a: metrics query failed ({reason})", response_ms)
        assert row is not None
        self.last_server_ms = float(row["server_ms"])
        if self._uses_qids and not want_size:  # the size read would blur what the totals cost
            self.statements.observe(want_statements, self.last_server_ms, mono)
        if want_size and row["size_bytes"] is not None:
            self._last_size = int(row["size_bytes"])
            self._last_size_at = mono
            self.sizes.add(now.timestamp(), self._last_size)
        counters = Counters.from_row(row, mono, self.connector.own_commits, self.connector.own_rollbacks)
        deltas = self._tracker.update(counters)
        self.last_deltas = deltas
        explicit: ExplicitRollbacks | None = None
        if caps.counts_rollback_calls:
            explicit = self._explicit
            if deltas is not None and not deltas.reset:
                explicit.add_interval(deltas.rollbacks)
            elif deltas is not None:
                explicit.rebase()
            if want_statements and row["pgss_rollback_calls"] is not None:
                explicit.observe(float(row["pgss_rollback_calls"]), mono)
        query_avg = None
        if self._uses_qids:
            if want_statements and row["pgss_calls"] is not None:
                totals = StatementTotals(mono, float(row["pgss_calls"]), float(row["pgss_exec_ms"]), self.connector.own_pings, len(own_qids))
                query_avg = self._averages.update(totals)
            else:
                query_avg = self._averages.current(mono)
        growth = self.sizes.growth(now.timestamp())
        samples = build_samples(
            row, caps, deltas, response_ms=response_ms, size_bytes=self._last_size,
            size_note=f"sampled every {self.size_every_s:.0f} s", growth=(growth.bytes_per_day, growth.note),
            query_avg=query_avg, explicit_rollbacks=explicit,
        )
        missing = caps.missing
        if self.connector.settings_problems:
            missing = [*missing, "safety settings not in force: " + ", ".join(self.connector.settings_problems)]
        route = self.connector.route
        via = f" · {route.label}" if route is not None and route.pooled else ""
        if missing:
            detail = "; ".join(missing)
            if detail not in self._reported:
                self._reported.add(detail)
                log.warning("database metrics limited: %s", detail)
            self._set_status(SourceState.DEGRADED, detail, now)
        else:
            self._set_status(SourceState.UP, f"{self.connector.label}{via} · {response_ms:.1f} ms", now)
        return MetricsSnapshot(source=self.name, at=now, samples=samples)

    # ------------------------------------------------------------ helpers

    async def _find_rollback_ids(self, db, caps: Capabilities) -> None:
        schema = quote_ident(caps.pgss_schema or "public")
        try:
            rows = await db.fetch_readonly(
                "select coalesce(array_agg(distinct p.queryid), '{}'::bigint[]) as ids"
                f" from {schema}.pg_stat_statements(true) p"
                " where p.dbid = (select oid from pg_database where datname = current_database())"
                " and p.queryid is not null and p.query ~* $1", _ROLLBACK_TEXT)
        except asyncpg.PostgresError as exc:  # keep the last ids; the error rate says what it counts
            log.warning("cannot look up ROLLBACK statements: %s", safe_text(self.connector.scrub(str(exc)), 200))
            return
        ids = sorted(int(i) for i in rows[0]["ids"]) if rows else []
        if ids != self._rollback_ids:
            self._rollback_ids = ids
            self._explicit.rebase()

    def _set_status(self, state: SourceState, detail: str, now) -> None:
        since = self._status.since if self._status.state is state and self._status.since else now
        self._status = SourceStatus(self.name, state, detail, since)

    def _empty(self, now, note: str, response_ms: float | None = None) -> MetricsSnapshot:
        samples = {k: MetricSample(k, None, note) for k in DB_KEYS}
        if response_ms is not None:
            samples["db.response_ms"] = MetricSample("db.response_ms", response_ms, "round trip of select 1")
        return MetricsSnapshot(source=self.name, at=now, samples=samples)

    def _unavailable(self, now, exc: DatabaseUnavailable) -> MetricsSnapshot:
        # The pooler refusing is not the database down: it was not heard from.
        self._set_status(SourceState.DEGRADED if exc.kind is FailureKind.POOLER else SourceState.DOWN, exc.reason, now)
        snap = self._empty(now, f"n/a: database unreachable ({exc.reason})")
        if exc.kind is FailureKind.SATURATED:
            # The server itself says every slot is taken: that IS the connection figure.
            samples = dict(snap.samples)
            samples["db.connections.pct"] = MetricSample("db.connections.pct", 100.0, "server refuses new connections: every slot is taken")
            snap = MetricsSnapshot(source=self.name, at=now, samples=samples)
        return snap
