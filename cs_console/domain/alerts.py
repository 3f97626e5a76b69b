"""Alert rules in the manual's three classes, evaluated on every refresh. Pure.

Critical: database down, authentication failures.
Warning: high response times, elevated error rates (and connection pool pressure).
Info: unusual traffic patterns, resource usage trends.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum

from cs_console.domain.health import HealthReport, HealthStatus
from cs_console.domain.metric_format import format_value
from cs_console.domain.metric_history import MetricHistory, StateEntry, is_spike
from cs_console.domain.metrics import METRIC_BY_KEY, MetricsSnapshot
from cs_console.domain.thresholds import MetricState


class AlertClass(StrEnum):
    CRITICAL = "critical"
    WARNING = "warning"
    INFO = "info"

    @property
    def rank(self) -> int:
        return {"critical": 2, "warning": 1, "info": 0}[self.value]


@dataclass(frozen=True, slots=True)
class Alert:
    id: str  # rule:subject, stable while the condition holds
    rule: str
    alert_class: AlertClass
    title: str
    detail: str
    at: datetime  # when it was raised
    metric: str | None = None
    value: float | None = None  # the latest value while active (the last one seen once resolved)
    resolved_at: datetime | None = None
    onset_value: float | None = None  # the value when it was raised

    @property
    def value_at_onset(self) -> float | None:
        return self.value if self.onset_value is None else self.onset_value

    @property
    def active(self) -> bool:
        return self.resolved_at is None


RESPONSE_TIME_THRESHOLDS = ("query_avg_ms", "db_response_ms", "api_p95_ms", "function_avg_duration_ms")
ERROR_RATE_THRESHOLDS = ("db_error_rate_pct", "function_error_rate_pct", "api_error_rate_pct")
RESOURCE_THRESHOLDS = ("cpu_pct", "memory_pct", "disk_pct", "storage_quota_pct", "backup_age_h")
TRAFFIC_METRICS = ("api.requests_per_min", "fn.invocations_per_min")


def metric_value_text(value: float | None, metric: str) -> str:
    """The value as the Metrics pane shows it: "366/min", "13.6%", "174 ms" (not "366.2 /min")."""
    if value is None:
        return "n/a"
    unit = METRIC_BY_KEY[metric].unit if metric in METRIC_BY_KEY else ""
    return format_value(value, unit)


def _label(metric: str) -> str:
    return METRIC_BY_KEY[metric].label if metric in METRIC_BY_KEY else metric


def conditions(
    health: HealthReport | None,
    states: dict[str, StateEntry],
    snapshot: MetricsSnapshot | None,
    history: MetricHistory | None,
    thresholds_desc: dict[str, str],
) -> list[tuple[str, str, AlertClass, str, str, str | None, float | None]]:
    """Every alert condition that holds now: (id, rule, class, title, detail, metric, value)."""
    out: list[tuple[str, str, AlertClass, str, str, str | None, float | None]] = []
    if health is not None:
        for comp in health.components:
            if comp.name == "Database" and comp.status == HealthStatus.DOWN:
                out.append(("database-down", "database-down", AlertClass.CRITICAL, "Database down", comp.detail or "database unreachable", None, None))
            elif comp.name == "Auth" and comp.status == HealthStatus.DOWN:
                out.append(("auth-down", "authentication-failures", AlertClass.CRITICAL, "Authentication service down", comp.detail or "auth unreachable", None, None))
            elif comp.status == HealthStatus.DOWN:
                out.append((f"component-down:{comp.name}", "component-down", AlertClass.WARNING, f"{comp.name} down", comp.detail, None, None))
    for name, entry in states.items():
        if entry.state not in (MetricState.WARNING, MetricState.CRITICAL):
            continue
        crit = entry.state == MetricState.CRITICAL
        desc = thresholds_desc.get(name, "")

        def detail_for(cls: AlertClass) -> str:
            # The alert's own class, not the metric's state: a response time past its
            # critical level still raises a WARNING-class alert (the manual's classes).
            return f"{_label(entry.metric)} {metric_value_text(entry.value, entry.metric)} ({cls.value.upper()}; manual: {desc})"

        if name == "auth_failures_per_min":
            cls = AlertClass.CRITICAL if crit else AlertClass.WARNING
            out.append((f"auth-failures", "authentication-failures", cls, "Authentication failures", detail_for(cls), entry.metric, entry.value))
        elif name == "connections_pct":
            cls = AlertClass.CRITICAL if crit else AlertClass.WARNING
            out.append(("connections", "connection-pool-exhaustion", cls, "Connection pool near exhaustion", detail_for(cls), entry.metric, entry.value))
        elif name in RESPONSE_TIME_THRESHOLDS:
            out.append((f"response-time:{name}", "high-response-times", AlertClass.WARNING, f"High response time: {_label(entry.metric)}", detail_for(AlertClass.WARNING), entry.metric, entry.value))
        elif name in ERROR_RATE_THRESHOLDS:
            out.append((f"error-rate:{name}", "elevated-error-rates", AlertClass.WARNING, f"Elevated error rate: {_label(entry.metric)}", detail_for(AlertClass.WARNING), entry.metric, entry.value))
        elif name in RESOURCE_THRESHOLDS:
            cls = AlertClass.WARNING if crit else AlertClass.INFO
            out.append((f"resource:{name}", "resource-usage-trends", cls, f"Resource usage: {_label(entry.metric)}", detail_for(cls), entry.metric, entry.value))
    if snapshot is not None and history is not None:
        for metric in TRAFFIC_METRICS:
            value = snapshot.value(metric)
            base = history.baseline(metric)
            if is_spike(value, base, factor=3.0, floor=10.0):
                out.append((f"traffic:{metric}", "unusual-traffic", AlertClass.INFO, f"Unusual traffic: {_label(metric)}",
                            f"{metric_value_text(value, metric)} vs baseline {metric_value_text(base, metric)} (x{(value or 0) / (base or 1):.1f})", metric, value))
        for fn in snapshot.functions:
            key = f"fn.invocations_per_min:{fn.slug}"
            vals = history.values(key)
            base = sorted(vals[:-1])[len(vals[:-1]) // 2] if len(vals) >= 6 else None
            if is_spike(fn.invocations_per_min, base, factor=3.0, floor=10.0):
                out.append((f"traffic:fn:{fn.slug}", "unusual-traffic", AlertClass.INFO, f"Invocation spike: {fn.slug}",
                            f"{fn.invocations_per_min:,.0f}/min vs baseline {base:,.0f}/min", key, fn.invocations_per_min))
    return out


class AlertEngine:
    """Raises an alert when its condition starts and resolves it when it clears."""

    def __init__(self) -> None:
        self.active: dict[str, Alert] = {}

    def evaluate(self, at: datetime, found: list[tuple[str, str, AlertClass, str, str, str | None, float | None]]) -> tuple[list[Alert], list[Alert]]:
        """Returns (raised, resolved) since the previous evaluation."""
        raised: list[Alert] = []
        seen: set[str] = set()
        for aid, rule, cls, title, detail, metric, value in found:
            seen.add(aid)
            current = self.active.get(aid)
            if current is None or cls.rank > current.alert_class.rank:
                onset = value if current is None else current.value_at_onset
                alert = Alert(aid, rule, cls, title, detail, at, metric, value, onset_value=onset)
                self.active[aid] = alert
                raised.append(alert)
            else:
                self.active[aid] = replace(current, detail=detail, value=value)
        resolved = [replace(a, resolved_at=at) for aid, a in self.active.items() if aid not in seen]
        for a in resolved:
            del self.active[a.id]
        return raised, resolved
