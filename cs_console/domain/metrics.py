"""Metric samples and snapshots: what every metrics source returns.

Keys are stable dotted names (see METRICS); values are per refresh interval
(rates and deltas, never since-start totals). A value of None means the
source cannot see it; `note` says why (e.g. "needs pg_read_all_stats").
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True, slots=True)
class MetricDef:
    key: str
    label: str
    unit: str  # "%", "ms", "s", "bytes", "/s", "/min", "count", "h"
    group: str  # Database, Edge Functions, API, Storage & Backups, Host


# The catalogue of metrics the console knows. Sources fill what they can.
METRICS: tuple[MetricDef, ...] = (
    MetricDef("db.connections.used", "Connections", "count", "Database"),
    MetricDef("db.connections.max", "Connection limit", "count", "Database"),
    MetricDef("db.connections.pct", "Connections used", "%", "Database"),
    MetricDef("db.connections.active", "Active", "count", "Database"),
    MetricDef("db.connections.idle", "Idle", "count", "Database"),
    MetricDef("db.connections.idle_in_tx", "Idle in transaction", "count", "Database"),
    MetricDef("db.idle_in_tx.max_age_s", "Oldest idle-in-tx", "s", "Database"),
    MetricDef("db.response_ms", "DB round trip", "ms", "Database"),
    MetricDef("db.query_avg_ms", "Query avg", "ms", "Database"),
    MetricDef("db.commits_per_s", "Commits", "/s", "Database"),
    MetricDef("db.rollbacks_per_s", "Rollbacks", "/s", "Database"),
    MetricDef("db.error_rate_pct", "DB error rate", "%", "Database"),
    MetricDef("db.cache_hit_pct", "Cache hit", "%", "Database"),
    MetricDef("db.deadlocks", "Deadlocks", "count", "Database"),
    MetricDef("db.size_bytes", "Database size", "bytes", "Database"),
    MetricDef("db.growth_bytes_per_day", "Growth", "bytes/day", "Database"),
    MetricDef("db.longest_query_s", "Longest query", "s", "Database"),
    MetricDef("db.longest_tx_s", "Longest transaction", "s", "Database"),
    MetricDef("db.blocked", "Blocked sessions", "count", "Database"),
    MetricDef("db.locks_waiting", "Lock waits", "count", "Database"),
    MetricDef("db.replication_lag_s", "Replication lag", "s", "Database"),
    MetricDef("fn.invocations_per_min", "Invocations", "/min", "Edge Functions"),
    MetricDef("fn.error_rate_pct", "Function error rate", "%", "Edge Functions"),
    MetricDef("fn.avg_duration_ms", "Function avg duration", "ms", "Edge Functions"),
    MetricDef("api.requests_per_min", "Requests", "/min", "API"),
    MetricDef("api.p95_ms", "API p95", "ms", "API"),
    MetricDef("api.error_rate_pct", "API error rate", "%", "API"),
    MetricDef("api.status_4xx_per_min", "4xx", "/min", "API"),
    MetricDef("api.status_5xx_per_min", "5xx", "/min", "API"),
    MetricDef("auth.signins_per_min", "Sign-ins", "/min", "API"),
    MetricDef("auth.failures_per_min", "Auth failures", "/min", "API"),
    MetricDef("storage.used_bytes", "File storage", "bytes", "Storage & Backups"),
    MetricDef("storage.quota_pct", "Storage quota", "%", "Storage & Backups"),
    MetricDef("backup.age_h", "Last good backup", "h", "Storage & Backups"),
    MetricDef("host.cpu_pct", "CPU", "%", "Host"),
    MetricDef("host.memory_pct", "Memory", "%", "Host"),
    MetricDef("host.disk_pct", "Disk", "%", "Host"),
)

METRIC_BY_KEY: dict[str, MetricDef] = {m.key: m for m in METRICS}
GROUPS: tuple[str, ...] = ("Database", "Edge Functions", "API", "Storage & Backups", "Host")


@dataclass(frozen=True, slots=True)
class MetricSample:
    key: str
    value: float | None
    note: str = ""  # why the value is missing, or a qualifier


@dataclass(frozen=True, slots=True)
class FunctionStats:
    slug: str
    status: str  # ACTIVE / THROTTLED / REMOVED
    invocations_per_min: float
    error_rate_pct: float
    avg_duration_ms: float
    p95_duration_ms: float | None = None
    version: int | None = None


@dataclass(frozen=True, slots=True)
class MetricsSnapshot:
    """One refresh of one source."""

    source: str
    at: datetime
    samples: dict[str, MetricSample] = field(default_factory=dict)
    functions: tuple[FunctionStats, ...] = ()

    def value(self, key: str) -> float | None:
        s = self.samples.get(key)
        return None if s is None else s.value


def merge_snapshots(snapshots: list[MetricsSnapshot], at: datetime) -> MetricsSnapshot:
    """Later sources fill keys earlier ones could not see (value None)."""
    samples: dict[str, MetricSample] = {}
    functions: tuple[FunctionStats, ...] = ()
    for snap in snapshots:
        for key, sample in snap.samples.items():
            if key not in samples or samples[key].value is None:
                samples[key] = sample
        if snap.functions:
            functions = snap.functions
    return MetricsSnapshot(source="+".join(s.source for s in snapshots), at=at, samples=samples, functions=functions)
