"""Thresholds from the operations manual, and the OK/WARNING/CRITICAL/UNKNOWN states.

Warning levels are the manual's numbers; critical levels are the console's
choice where the manual gives only one number (documented in the README).

Hysteresis: a value that has crossed a level keeps that state until it falls
below the level's clear point (`clear`, by default 90 % of the warning level;
critical clears at the same fraction of its level), so a metric hovering at a
level does not raise and resolve an alert on every refresh.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class MetricState(StrEnum):
    OK = "OK"
    WARNING = "WARNING"
    CRITICAL = "CRITICAL"
    UNKNOWN = "UNKNOWN"

    @property
    def rank(self) -> int:
        return {"OK": 0, "UNKNOWN": 1, "WARNING": 2, "CRITICAL": 3}[self.value]


@dataclass(frozen=True, slots=True)
class Threshold:
    name: str  # config key under [profiles.X.thresholds]
    metric: str  # metric key it applies to
    warning: float
    critical: float
    description: str  # the manual's wording
    clear: float | None = None  # a WARNING clears below this (None: DEFAULT_CLEAR_FRACTION of warning)

    @property
    def clear_fraction(self) -> float:
        """Where a state clears, as a fraction of its level (the same for warning and critical)."""
        if self.clear is None or self.warning <= 0:
            return DEFAULT_CLEAR_FRACTION
        return min(1.0, max(0.0, self.clear / self.warning))

    def state_after(self, value: float | None, previous: MetricState | None) -> MetricState:
        """The state of `value` given the previous one: a level is left only below its clear point."""
        state = self.state(value)
        if value is None or previous is None or state.rank >= previous.rank:
            return state
        fraction = self.clear_fraction
        if previous is MetricState.CRITICAL and value >= self.critical * fraction:
            return MetricState.CRITICAL
        if previous in (MetricState.CRITICAL, MetricState.WARNING) and value >= self.warning * fraction:
            return MetricState.WARNING
        return state

    def state(self, value: float | None) -> MetricState:
        if value is None:
            return MetricState.UNKNOWN
        if value >= self.critical:
            return MetricState.CRITICAL
        if value >= self.warning:
            return MetricState.WARNING
        return MetricState.OK


DEFAULT_CLEAR_FRACTION = 0.9

# name -> default. The manual: connections < 80 % of limit, query avg < 50 ms,
# DB error rate < 0.1 %, function error rate < 1 %, avg duration < 2 s,
# API p95 < 500 ms, API error rate < 0.5 %, DB response < 100 ms,
# CPU > 80 %, memory > 85 % (scaling triggers), backups daily.
DEFAULT_THRESHOLDS: dict[str, Threshold] = {
    t.name: t
    for t in (
        Threshold("connections_pct", "db.connections.pct", 80.0, 90.0, "Connection count < 80% of limit"),
        Threshold("query_avg_ms", "db.query_avg_ms", 50.0, 200.0, "Query performance: average < 50ms"),
        Threshold("db_error_rate_pct", "db.error_rate_pct", 0.1, 1.0, "Database error rate < 0.1%"),
        Threshold("db_response_ms", "db.response_ms", 100.0, 500.0, "Database response time < 100ms"),
        Threshold("function_error_rate_pct", "fn.error_rate_pct", 1.0, 5.0, "Edge Functions error rate < 1%"),
        Threshold("function_avg_duration_ms", "fn.avg_duration_ms", 2000.0, 5000.0, "Edge Functions average duration < 2 seconds"),
        Threshold("api_p95_ms", "api.p95_ms", 500.0, 1000.0, "API response times: 95th percentile < 500ms"),
        Threshold("api_error_rate_pct", "api.error_rate_pct", 0.5, 2.0, "API error rates < 0.5%"),
        Threshold("cpu_pct", "host.cpu_pct", 80.0, 95.0, "CPU usage consistently > 80%: scale up"),
        Threshold("memory_pct", "host.memory_pct", 85.0, 95.0, "Memory usage > 85%: scale up"),
        Threshold("disk_pct", "host.disk_pct", 80.0, 90.0, "Disk usage (storage capacity)"),
        Threshold("storage_quota_pct", "storage.quota_pct", 80.0, 95.0, "File storage: check quota usage"),
        Threshold("backup_age_h", "backup.age_h", 24.0, 48.0, "Verify daily backups completed"),
        Threshold("auth_failures_per_min", "auth.failures_per_min", 20.0, 60.0, "Authentication failures (Critical alert class)"),
    )
}

THRESHOLD_BY_METRIC: dict[str, str] = {t.metric: t.name for t in DEFAULT_THRESHOLDS.values()}
