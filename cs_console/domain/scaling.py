"""The manual's scaling advisor (pure): which vertical-scaling trigger is crossed, for how
long, and what the manual says to do."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from cs_console.domain.metric_history import MetricHistory, StateEntry
from cs_console.domain.thresholds import MetricState

# "Consistently" above 80 % CPU: the state must have held this long.
SUSTAINED = timedelta(minutes=5)


@dataclass(frozen=True, slots=True)
class ScalingTrigger:
    name: str
    manual: str  # the manual's trigger wording
    crossed: bool
    sustained: bool
    since: datetime | None
    value: str
    actions: tuple[str, ...]  # the manual's scaling actions for this trigger


DB_ACTIONS = (
    "Upgrade compute tier via dashboard",
    "Add read replicas for analytics",
    "Implement connection pooling",
)
FUNCTION_ACTIONS = ("Optimize function code", "Increase memory limits", "Implement caching")
STORAGE_ACTIONS = ("Monitor storage usage", "Implement data archiving", "Optimize file storage")


def _entry_trigger(name: str, manual: str, entry: StateEntry | None, now: datetime, actions: tuple[str, ...], fmt: str) -> ScalingTrigger:
    if entry is None or entry.value is None:
        return ScalingTrigger(name, manual, False, False, None, "n/a", actions)
    crossed = entry.state in (MetricState.WARNING, MetricState.CRITICAL)
    since = entry.since if crossed else None
    sustained = crossed and entry.duration(now) >= SUSTAINED
    return ScalingTrigger(name, manual, crossed, sustained, since, fmt.format(entry.value), actions)


def response_degrading(history: MetricHistory, key: str, now: datetime, factor: float = 1.5) -> tuple[bool, str]:
    """Last 3 minutes' mean against the 15-minute window's earlier mean."""
    points = history.points(key)
    recent = [v for at, v in points if (now - at) <= timedelta(minutes=3)]
    earlier = [v for at, v in points if (now - at) > timedelta(minutes=3)]
    if len(recent) < 2 or len(earlier) < 5:
        return False, "not enough history"
    r, e = sum(recent) / len(recent), sum(earlier) / len(earlier)
    if e <= 0:
        return False, f"{r:.0f} ms"
    return r >= e * factor, f"{r:.0f} ms vs {e:.0f} ms earlier (x{r / e:.1f})"


def advise(states: dict[str, StateEntry], history: MetricHistory, now: datetime) -> list[ScalingTrigger]:
    triggers = [
        _entry_trigger("CPU", "CPU usage consistently > 80%", states.get("cpu_pct"), now, DB_ACTIONS, "{:.0f}%"),
        _entry_trigger("Memory", "Memory usage > 85%", states.get("memory_pct"), now, DB_ACTIONS, "{:.0f}%"),
        _entry_trigger("Connections", "Database connections > 80% of limit", states.get("connections_pct"), now, DB_ACTIONS, "{:.0f}%"),
    ]
    # CPU must hold "consistently"; the others count as soon as they are crossed.
    cpu = triggers[0]
    triggers[0] = ScalingTrigger(cpu.name, cpu.manual, cpu.crossed and cpu.sustained, cpu.sustained, cpu.since, cpu.value + ("" if cpu.sustained or not cpu.crossed else " (not yet 5 min)"), cpu.actions)
    degrading = []
    for key, label in (("api.p95_ms", "API p95"), ("db.query_avg_ms", "query avg"), ("fn.avg_duration_ms", "function duration")):
        bad, text = response_degrading(history, key, now)
        if bad:
            degrading.append(f"{label} {text}")
    entry = states.get("api_p95_ms")
    crossed = bool(degrading) or bool(entry and entry.state in (MetricState.WARNING, MetricState.CRITICAL))
    since = entry.since if entry and entry.state in (MetricState.WARNING, MetricState.CRITICAL) else None
    value = "; ".join(degrading) or (f"p95 {entry.value:.0f} ms" if entry and entry.value is not None else "n/a")
    triggers.append(ScalingTrigger("Response times", "Response times degrading", crossed, crossed, since, value, DB_ACTIONS + FUNCTION_ACTIONS))
    fn = states.get("function_avg_duration_ms")
    triggers.append(_entry_trigger("Edge Function concurrency", "Edge Function duration above 2 s", fn, now, FUNCTION_ACTIONS, "{:.0f} ms"))
    triggers.append(_entry_trigger("Storage capacity", "Storage capacity (quota)", states.get("storage_quota_pct"), now, STORAGE_ACTIONS, "{:.0f}%"))
    return triggers
