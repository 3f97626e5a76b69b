"""The manual's morning health check as one result: components, connections, alerts, exit code.

"Expected results: all components showing ✅ HEALTHY, database response time
< 100 ms, Edge Functions responding normally, no critical alerts in the past
24 hours." `run_health_check(env)` asks every health probe and metrics source
of an environment once; `combine_health(...)` (pure) turns what they said into
lines and an overall state, so the TUI Overview can build the same result from
the live state it already has.

States follow monitoring plugins: OK 0, WARNING 1, CRITICAL 2, UNKNOWN 3.
A component line keeps its own word (HEALTHY / DEGRADED / DOWN / UNKNOWN)
and maps to a state (DOWN is CRITICAL); threshold lines use the state words.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from cs_console.domain.health import COMPONENTS, PLATFORM_STATUS, ComponentHealth, HealthStatus
from cs_console.domain.metrics import MetricsSnapshot, merge_snapshots
from cs_console.domain.safe_text import safe_text
from cs_console.domain.thresholds import DEFAULT_THRESHOLDS, MetricState, Threshold

PROBE_TIMEOUT_S = 10.0
CONNECTIONS_LINE = "Database connections"
AUTH_FAILURES_LINE = "Auth failures"
ALERTS_LINE = "Critical alerts (24 h)"

EXIT_CODES: dict[MetricState, int] = {
    MetricState.OK: 0,
    MetricState.WARNING: 1,
    MetricState.CRITICAL: 2,
    MetricState.UNKNOWN: 3,
}

COMPONENT_STATE: dict[HealthStatus, MetricState] = {
    HealthStatus.HEALTHY: MetricState.OK,
    HealthStatus.DEGRADED: MetricState.WARNING,
    HealthStatus.DOWN: MetricState.CRITICAL,
    HealthStatus.UNKNOWN: MetricState.UNKNOWN,
}

_STATE_SYMBOL: dict[MetricState, str] = {
    MetricState.OK: "✅",
    MetricState.WARNING: "⚠️",
    MetricState.CRITICAL: "❌",
    MetricState.UNKNOWN: "❔",
}

# Display order: the project and the platform's status page first, then the manual's
# components, the connections line right under Database; unknown names after; alerts last.
_ORDER: tuple[str, ...] = ("Project", PLATFORM_STATUS, "Database", CONNECTIONS_LINE, "Auth", AUTH_FAILURES_LINE, *COMPONENTS[2:])


class _AlertLike(Protocol):
    title: str
    at: datetime


@dataclass(frozen=True, slots=True)
class CheckLine:
    name: str
    status: str  # HEALTHY/DEGRADED/DOWN/UNKNOWN for components, OK/WARNING/CRITICAL/UNKNOWN for threshold lines
    state: MetricState
    detail: str = ""
    latency_ms: float | None = None

    @property
    def symbol(self) -> str:
        return _STATE_SYMBOL[self.state]

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "status": self.status,
            "state": self.state.value,
            "detail": self.detail,
            "latency_ms": None if self.latency_ms is None else round(self.latency_ms, 2),
        }


@dataclass(frozen=True)
class HealthCheckResult:
    checked_at: datetime
    components: tuple[CheckLine, ...]
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def status(self) -> MetricState:
        """Plugin rule: any CRITICAL, else any WARNING, else any UNKNOWN (or nothing checked), else OK.

        A status page that could not be read is left out: it says nothing about the
        project (a bastion without internet access would otherwise never be OK)."""
        states = {c.state for c in self.components if not (c.name == PLATFORM_STATUS and c.state is MetricState.UNKNOWN)}
        if not self.components:
            return MetricState.UNKNOWN
        for state in (MetricState.CRITICAL, MetricState.WARNING, MetricState.UNKNOWN):
            if state in states:
                return state
        return MetricState.OK

    @property
    def exit_code(self) -> int:
        return EXIT_CODES[self.status]

    def line(self, name: str) -> CheckLine | None:
        return next((c for c in self.components if c.name == name), None)

    def to_json(self) -> dict[str, Any]:
        return {
            "status": self.status.value,
            "exit_code": self.exit_code,
            "checked_at": self.checked_at.isoformat(),
            "components": [c.to_json() for c in self.components],
            "notes": list(self.notes),
        }


def _clean(text: str) -> str:
    return safe_text(text, max_len=300)


def component_line(comp: ComponentHealth) -> CheckLine:
    return CheckLine(comp.name, comp.status.value, COMPONENT_STATE[comp.status], _clean(comp.detail), comp.latency_ms)


def connections_line(snapshot: MetricsSnapshot | None, threshold: Threshold) -> CheckLine | None:
    """Connections against the profile's connections_pct threshold; None when no source reports them."""
    if snapshot is None or "db.connections.pct" not in snapshot.samples:
        return None
    sample = snapshot.samples["db.connections.pct"]
    state = threshold.state(sample.value)
    limits = f"warning {threshold.warning:g} %, critical {threshold.critical:g} %"
    if sample.value is None:
        return CheckLine(CONNECTIONS_LINE, state.value, state, _clean(sample.note or "not reported"))
    used, cap = snapshot.value("db.connections.used"), snapshot.value("db.connections.max")
    counts = f"{used:.0f} of {cap:.0f} " if used is not None and cap is not None else ""
    detail = f"{counts}({sample.value:.0f} % of the limit; {limits})"
    if sample.note and used is None:
        detail += f"; {sample.note}"
    return CheckLine(CONNECTIONS_LINE, state.value, state, _clean(detail))


def auth_failures_line(snapshot: MetricsSnapshot | None, threshold: Threshold) -> CheckLine | None:
    """Failed sign-ins against auth_failures_per_min: the manual puts authentication failures
    in the Critical alert class, so a brute-force wave is CRITICAL even while Auth answers.
    None when no source reports them (a database-only check)."""
    value = snapshot.value("auth.failures_per_min") if snapshot is not None else None
    if value is None:
        return None
    state = threshold.state(value)
    detail = f"{value:,.0f} failed sign-ins/min (warning {threshold.warning:g}, critical {threshold.critical:g}; Critical alert class)"
    return CheckLine(AUTH_FAILURES_LINE, state.value, state, _clean(detail))


# The manual's Critical class: database down, authentication failures; the console also raises
# one for a connection pool at its critical threshold (domain/alerts.py says the same).
_CRITICAL_NOW: dict[str, str] = {
    "Database": "Database down", "Auth": "Authentication service down",
    AUTH_FAILURES_LINE: "Authentication failures", CONNECTIONS_LINE: "Connection pool near exhaustion",
}


def critical_now(lines: Sequence[CheckLine]) -> list[str]:
    """The critical alerts the lines just checked raise right now (titles)."""
    return [_CRITICAL_NOW[line.name] for line in lines
            if line.name in _CRITICAL_NOW and line.state is MetricState.CRITICAL]


def alerts_line(alerts: Sequence[_AlertLike] | None, active_now: Sequence[str] = ()) -> CheckLine | None:
    """The manual wants none in the last 24 h: those active now count first (CRITICAL), then the
    history's (a WARNING: past, the live lines carry the present)."""
    if alerts is None:
        return None
    past = f"{len(alerts)} in the history" if alerts else "none in the history"
    if active_now:
        n = len(active_now)
        detail = f"{n} active now: {', '.join(active_now)}; {past}"
        return CheckLine(ALERTS_LINE, MetricState.CRITICAL.value, MetricState.CRITICAL, _clean(detail))
    if not alerts:
        return CheckLine(ALERTS_LINE, MetricState.OK.value, MetricState.OK, "none in the last 24 h")
    latest = max(alerts, key=lambda a: a.at)
    when = latest.at.strftime("%Y-%m-%d %H:%M UTC")
    n = len(alerts)
    detail = f"{n} critical alert{'s' if n != 1 else ''}; latest: {latest.title} ({when})"
    return CheckLine(ALERTS_LINE, MetricState.WARNING.value, MetricState.WARNING, _clean(detail))


def combine_health(
    components: Sequence[ComponentHealth],
    snapshot: MetricsSnapshot | None,
    thresholds: Mapping[str, Threshold] | None,
    critical_alerts: Sequence[_AlertLike] | None,
    checked_at: datetime,
    notes: Sequence[str] = (),
) -> HealthCheckResult:
    """Pure: probe components + metrics thresholds + recent critical alerts → the check result."""
    thr = dict(DEFAULT_THRESHOLDS)
    thr.update(thresholds or {})
    best: dict[str, ComponentHealth] = {}
    for comp in components:
        previous = best.get(comp.name)
        if previous is None or comp.status.rank > previous.status.rank:
            best[comp.name] = comp
    lines = [component_line(c) for c in best.values()]
    for extra in (connections_line(snapshot, thr["connections_pct"]), auth_failures_line(snapshot, thr["auth_failures_per_min"])):
        if extra is not None:
            lines.append(extra)
    rank = {name: i for i, name in enumerate(_ORDER)}
    lines.sort(key=lambda line: rank.get(line.name, len(_ORDER)))
    alert = alerts_line(critical_alerts, critical_now(lines))
    if alert is not None:
        lines.append(alert)
    return HealthCheckResult(checked_at, tuple(lines), tuple(_clean(n) for n in notes))


# ---------------------------------------------------------------- running it


async def _probe(probe: Any, timeout_s: float) -> tuple[list[ComponentHealth], str]:
    try:
        return list(await asyncio.wait_for(probe.check(), timeout_s)), ""
    except asyncio.TimeoutError:
        return [], f"{probe.name}: no answer within {timeout_s:g} s"
    except Exception as exc:  # a probe bug must not hide the other components
        return [], f"{probe.name}: {type(exc).__name__}: {exc}"


async def _collect(source: Any, timeout_s: float) -> tuple[MetricsSnapshot | None, str]:
    try:
        return await asyncio.wait_for(source.collect(), timeout_s), ""
    except asyncio.TimeoutError:
        return None, f"{source.name}: metrics: no answer within {timeout_s:g} s"
    except Exception as exc:
        return None, f"{source.name}: metrics: {type(exc).__name__}: {exc}"


async def _critical_alerts(env: Any, now: datetime) -> tuple[list[Any] | None, str]:
    from cs_console.stores.alert_history_team import alert_history_for

    history = alert_history_for(env)
    try:
        alerts, note = await history.recent(hours=24, alert_class="critical", now=now)
    except OSError as exc:
        return None, f"alert history unreadable: {exc.strerror or exc}"
    return list(alerts), note


async def run_health_check(
    env: Any, *, timeout_s: float = PROBE_TIMEOUT_S, include_alerts: bool = True, note_unchecked: bool = True
) -> HealthCheckResult:
    """Ask every probe, then every metrics source, once; combine.

    Probes run first and metrics after, so a database at its connection limit
    is asked over one connection at a time.
    """
    notes: list[str] = []
    probe_results = await asyncio.gather(*(_probe(p, timeout_s) for p in env.health_probes))
    components = [c for found, _ in probe_results for c in found]
    notes += [err for _, err in probe_results if err]
    snaps_results = await asyncio.gather(*(_collect(s, timeout_s) for s in env.metrics_sources))
    snaps = [s for s, _ in snaps_results if s is not None]
    notes += [err for _, err in snaps_results if err]
    now = env.clock.now()
    snapshot = merge_snapshots(snaps, now) if snaps else None
    alerts = None
    if include_alerts:
        alerts, err = await _critical_alerts(env, now)
        if err:
            notes.append(err)
    checked = {c.name for c in components}
    if note_unchecked and components and env.session.demo is None:
        missing = [n for n in COMPONENTS if n not in checked]
        if missing:
            notes.append("not checked (no source configured): " + ", ".join(missing))
    if not env.health_probes and not env.metrics_sources:
        notes.append("nothing to check: configure db_dsn or project_ref in a profile, or use --dsn / --demo")
    return combine_health(components, snapshot, env.session.profile.thresholds, alerts, now, notes)
