"""The metrics facet of the demo project: every metric of domain.metrics.METRICS at the clock's time.

Values are per refresh (rates, not totals) as the real sources give them;
counts over a window say so in their note. Cheap: one cached second of the
model plus the pg_stat_activity rows the counts come from (pg_activity.py), so
the figures and the lists always agree.
"""

from __future__ import annotations

from datetime import datetime, timezone

from cs_console.backends.demo.model.catalog import FUNCTIONS, RESERVED_CONNECTIONS, TABLES
from cs_console.backends.demo.model.noise import wobble
from cs_console.backends.demo.model.performance import deadlock_in_second
from cs_console.backends.demo.model.pg_activity import summarize
from cs_console.backends.demo.model.platform import PlatformFacet
from cs_console.domain.metrics import FunctionStats, MetricSample, MetricsSnapshot

DEADLOCK_WINDOW_S = 60


class MetricsFacet(PlatformFacet):
    """What a metrics source reads from the project (backends/demo/metrics_source.py, the runbooks)."""

    def metrics_snapshot(self) -> MetricsSnapshot:
        """Every metric of domain.metrics.METRICS plus per-function stats, at the clock's time."""
        with self._lock:
            return _snapshot(self)


def _snapshot(project: PlatformFacet) -> MetricsSnapshot:
    t = project.sync()
    s = int(t)
    sig = project.signals_at(s)
    db = sig.db
    at = datetime.fromtimestamp(t, tz=timezone.utc)
    samples: dict[str, MetricSample] = {}

    def put(key: str, value: float | None, note: str = "") -> None:
        samples[key] = MetricSample(key, None if value is None else round(float(value), 3), note)

    used, active, idle, idle_tx, idle_tx_age, longest_q, longest_x = summarize(project.backend_rows(), t)
    usable = db.usable
    put("db.connections.used", used, "new connections refused" if db.at_capacity else "")
    put("db.connections.max", usable, f"max_connections {db.max_connections} − {RESERVED_CONNECTIONS} reserved")
    put("db.connections.pct", 100.0 * used / usable if usable else None)
    put("db.connections.active", active)
    put("db.connections.idle", idle)
    put("db.connections.idle_in_tx", idle_tx)
    put("db.idle_in_tx.max_age_s", idle_tx_age)
    if db.restarting:
        down = "database restarting (compute resize)"
        for key in ("db.response_ms", "db.query_avg_ms", "db.cache_hit_pct", "db.replication_lag_s"):
            put(key, None, down)
    else:
        put("db.response_ms", sig.db_response_ms, "existing session; new connections refused" if db.at_capacity else "select 1")
        put("db.query_avg_ms", sig.db_query_avg_ms)
        put("db.cache_hit_pct", sig.db_cache_hit_pct)
        put("db.replication_lag_s", sig.db_replication_lag_s, "cross-region replica")
    put("db.commits_per_s", sig.db_commits_per_s)
    put("db.rollbacks_per_s", sig.db_rollbacks_per_s)
    xacts = sig.db_commits_per_s + sig.db_rollbacks_per_s
    put("db.error_rate_pct", min(100.0, 100.0 * sig.db_errors_per_s / xacts) if xacts > 0 else None,
        "" if xacts > 0 else "no transactions")
    deadlocks = sum(1 for k in range(s - DEADLOCK_WINDOW_S + 1, s + 1)
                    if deadlock_in_second(project.seed, k, project.load_at(k).util))
    put("db.deadlocks", deadlocks, f"last {DEADLOCK_WINDOW_S} s")
    put("db.size_bytes", project.database_size())
    growth = sum(tb.growth_bytes_per_day for tb in TABLES) * (1.0 + 0.08 * wobble(project.seed, "growth", t / 10.0))
    put("db.growth_bytes_per_day", growth, "7-day average")
    put("db.longest_query_s", longest_q)
    put("db.longest_tx_s", longest_x)
    put("db.blocked", db.blocked)
    put("db.locks_waiting", db.blocked)

    functions = tuple(
        FunctionStats(f.slug, f.status, round(f.rpm, 1), round(f.error_pct, 2), round(f.avg_ms, 1), round(f.p95_ms, 1), f.version)
        for f in (sig.fns[spec.slug] for spec in FUNCTIONS)
    )
    total = sum(f.invocations_per_min for f in functions)
    put("fn.invocations_per_min", total)
    put("fn.error_rate_pct", sum(f.invocations_per_min * f.error_rate_pct for f in functions) / total if total else None)
    put("fn.avg_duration_ms", sum(f.invocations_per_min * f.avg_duration_ms for f in functions) / total if total else None)

    put("api.requests_per_min", sig.api_rpm)
    put("api.p95_ms", sig.api_p95_ms)
    put("api.error_rate_pct", 100.0 * sig.api_5xx_rpm / sig.api_rpm if sig.api_rpm else None, "5xx share")
    put("api.status_4xx_per_min", sig.api_4xx_rpm, f"{sig.api_429_rpm:.0f}/min are 429" if sig.api_429_rpm >= 1 else "")
    put("api.status_5xx_per_min", sig.api_5xx_rpm)
    put("auth.signins_per_min", sig.auth_signins_rpm)
    put("auth.failures_per_min", sig.auth_failures_rpm)

    storage = project.storage_usage()
    put("storage.used_bytes", storage.total_bytes)
    put("storage.quota_pct", storage.used_pct, f"of {storage.quota_bytes / 1024**3:.0f} GB")
    latest = project.list_backups().latest_completed()
    if latest is None:
        put("backup.age_h", None, "no completed backup")
    else:
        put("backup.age_h", (t - latest.inserted_at.timestamp()) / 3600.0, f"backup {latest.id}")
    put("host.cpu_pct", sig.cpu_pct)
    put("host.memory_pct", sig.memory_pct)
    disk_used, disk_size = project.disk_usage()
    put("host.disk_pct", 100.0 * disk_used / disk_size)
    return MetricsSnapshot(source="demo", at=at, samples=samples, functions=functions)
