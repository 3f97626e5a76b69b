"""Combining probes, connection thresholds and recent critical alerts into the health check result."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from cs_console.config import load_config
from cs_console.domain.alerts import Alert, AlertClass
from cs_console.domain.clock import FixedClock
from cs_console.domain.health import ComponentHealth, HealthStatus
from cs_console.domain.metrics import MetricSample, MetricsSnapshot
from cs_console.domain.sources import SourceState, SourceStatus
from cs_console.domain.thresholds import DEFAULT_THRESHOLDS, MetricState, Threshold
from cs_console.services.environment import Environment
from cs_console.services.health_check import ALERTS_LINE, CONNECTIONS_LINE, combine_health, run_health_check
from cs_console.services.session import Session
from cs_console.stores.alert_history import AlertHistory

NOW = datetime(2026, 3, 2, 7, 30, tzinfo=timezone.utc)
H, D, DN, U = HealthStatus.HEALTHY, HealthStatus.DEGRADED, HealthStatus.DOWN, HealthStatus.UNKNOWN


def comp(name: str, status: HealthStatus, latency: float | None = 12.0, detail: str = "") -> ComponentHealth:
    return ComponentHealth(name, status, detail or status.value.lower(), latency, NOW)


def snap(pct: float | None, used: float | None = None, cap: float | None = None, note: str = "") -> MetricsSnapshot:
    samples = {"db.connections.pct": MetricSample("db.connections.pct", pct, note)}
    if used is not None:
        samples["db.connections.used"] = MetricSample("db.connections.used", used)
    if cap is not None:
        samples["db.connections.max"] = MetricSample("db.connections.max", cap)
    return MetricsSnapshot("db", NOW, samples)


ALL_HEALTHY = [comp(n, H) for n in ("Database", "Auth", "REST", "Storage", "Edge Functions", "Realtime")]


@pytest.mark.parametrize(
    ("statuses", "pct", "expected", "code"),
    [
        ((H, H, H), 40.0, MetricState.OK, 0),
        ((H, D, H), 40.0, MetricState.WARNING, 1),
        ((H, H, H), 85.0, MetricState.WARNING, 1),
        ((H, H, H), 95.0, MetricState.CRITICAL, 2),
        ((DN, H, H), 40.0, MetricState.CRITICAL, 2),
        ((H, U, H), 40.0, MetricState.UNKNOWN, 3),
        ((H, U, D), 40.0, MetricState.WARNING, 1),  # a known problem outranks an unknown
        ((DN, U, H), None, MetricState.CRITICAL, 2),
    ],
)
def test_overall_state_and_exit_code(statuses: tuple[HealthStatus, ...], pct: float | None, expected: MetricState, code: int) -> None:
    comps = [comp(n, s) for n, s in zip(("Database", "Auth", "Edge Functions"), statuses)]
    result = combine_health(comps, snap(pct, 10, 97), None, [], NOW)
    assert result.status is expected and result.exit_code == code


@pytest.mark.parametrize(("platform", "expected"), [(U, MetricState.OK), (D, MetricState.WARNING), (H, MetricState.OK)])
def test_an_unreadable_status_page_does_not_make_the_project_unknown(platform: HealthStatus, expected: MetricState) -> None:
    comps = [comp("Database", H), comp("Platform status", platform)]
    result = combine_health(comps, snap(40.0, 10, 97), None, [], NOW)
    assert result.status is expected
    assert result.line("Platform status") is not None  # still shown, with its reason


def test_connections_line_uses_profile_thresholds_and_order() -> None:
    thresholds = dict(DEFAULT_THRESHOLDS)
    thresholds["connections_pct"] = Threshold("connections_pct", "db.connections.pct", 50.0, 70.0, "custom")
    result = combine_health(list(reversed(ALL_HEALTHY)), snap(60.0, 58, 97), thresholds, [], NOW)
    line = result.line(CONNECTIONS_LINE)
    assert line is not None and line.status == "WARNING" and line.state is MetricState.WARNING
    assert "58 of 97" in line.detail and "warning 50 %" in line.detail
    names = [c.name for c in result.components]
    assert names == ["Database", CONNECTIONS_LINE, "Auth", "REST", "Storage", "Edge Functions", "Realtime", ALERTS_LINE]
    critical = combine_health(ALL_HEALTHY, snap(90.0, 87, 97), None, [], NOW).line(CONNECTIONS_LINE)
    assert critical is not None and critical.status == "CRITICAL"


def test_connections_unknown_when_not_seen_and_absent_when_no_source() -> None:
    result = combine_health([comp("Database", DN, None, "connection refused")], snap(None, note="n/a: database unreachable"), None, None, NOW)
    line = result.line(CONNECTIONS_LINE)
    assert line is not None and line.state is MetricState.UNKNOWN and "unreachable" in line.detail
    assert result.exit_code == 2
    assert combine_health(ALL_HEALTHY, None, None, None, NOW).line(CONNECTIONS_LINE) is None
    assert combine_health(ALL_HEALTHY, None, None, None, NOW).line(ALERTS_LINE) is None


def test_two_probes_on_one_component_worst_wins() -> None:
    result = combine_health([comp("Database", H), comp("Database", D, detail="slow")], None, None, None, NOW)
    assert [c.status for c in result.components] == ["DEGRADED"]


def test_critical_alerts_in_last_day_warn() -> None:
    alerts = [
        Alert("db_down:db", "db_down", AlertClass.CRITICAL, "Database down", "", NOW - timedelta(hours=5)),
        Alert("db_down:db", "db_down", AlertClass.CRITICAL, "Database down again", "", NOW - timedelta(hours=1)),
    ]
    result = combine_health(ALL_HEALTHY, snap(10.0), None, alerts, NOW)
    line = result.line(ALERTS_LINE)
    assert line is not None and line.state is MetricState.WARNING and "2 critical alerts" in line.detail
    assert "Database down again" in line.detail and result.exit_code == 1


def test_untrusted_detail_is_made_visible_and_json_shape() -> None:
    evil = comp("Auth", D, detail="bad\x1b[31m red\nsecond line")
    result = combine_health([evil], None, None, [], NOW)
    data = json.loads(json.dumps(result.to_json()))
    assert set(data) >= {"status", "checked_at", "components", "exit_code"}
    assert data["status"] == "WARNING" and data["checked_at"] == NOW.isoformat()
    auth = data["components"][0]
    assert set(auth) >= {"name", "status", "detail", "latency_ms"}
    assert "\x1b" not in auth["detail"] and "\n" not in auth["detail"]


# ---------------------------------------------------------------- run_health_check


@dataclass
class StaticProbe:
    name: str
    components: list[ComponentHealth]
    delay: float = 0.0
    error: Exception | None = None
    meet: asyncio.Barrier | None = None  # answer only once every probe sharing it was asked

    async def check(self) -> list[ComponentHealth]:
        if self.meet is not None:
            await self.meet.wait()
        await asyncio.sleep(self.delay)
        if self.error:
            raise self.error
        return self.components


class StaticSource:
    name = "static"

    def __init__(self, snapshot: MetricsSnapshot) -> None:
        self.snapshot = snapshot

    async def collect(self) -> MetricsSnapshot:
        return self.snapshot

    def status(self) -> SourceStatus:
        return SourceStatus(self.name, SourceState.UP)

    async def close(self) -> None:
        pass


def make_env(tmp_path: Path, probes: list[Any], sources: list[Any]) -> Environment:
    config = load_config(None)  # the isolated XDG dir has none: defaults
    session = Session(config, config.profile("default"), None, tmp_path / "state")
    return Environment(session=session, clock=FixedClock(NOW), metrics_sources=sources, health_probes=probes)


async def test_run_health_check_survives_broken_and_hanging_probes(tmp_path: Path) -> None:
    env = make_env(tmp_path, [
        StaticProbe("db", [comp("Database", H)]),
        StaticProbe("broken", [], error=RuntimeError("boom")),
        StaticProbe("slow", [comp("Auth", H)], delay=5.0),
    ], [StaticSource(snap(20.0, 19, 97))])
    result = await run_health_check(env, timeout_s=0.3)
    assert [c.name for c in result.components] == ["Database", CONNECTIONS_LINE, ALERTS_LINE]
    assert any("broken: RuntimeError: boom" in n for n in result.notes)
    assert any("slow: no answer within 0.3 s" in n for n in result.notes)
    assert any(n.startswith("not checked") and "Auth" in n for n in result.notes)
    assert result.exit_code == 0


async def test_run_health_check_reads_the_alert_history(tmp_path: Path) -> None:
    env = make_env(tmp_path, [StaticProbe("db", [comp("Database", H)])], [])
    history = AlertHistory(env.session.state_dir, env.session.profile.name)
    history.record(Alert("db_down:db", "db_down", AlertClass.CRITICAL, "Database down", "refused", NOW - timedelta(hours=3)), "raised")
    history.record(Alert("old", "db_down", AlertClass.CRITICAL, "Old outage", "", NOW - timedelta(hours=30)), "raised")
    history.record(Alert("p95", "api_p95", AlertClass.WARNING, "Slow API", "", NOW - timedelta(hours=1)), "raised")
    result = await run_health_check(env)
    line = result.line(ALERTS_LINE)
    assert line is not None and "1 critical alert;" in line.detail and "Database down" in line.detail
    assert result.exit_code == 1


async def test_nothing_configured_is_unknown(tmp_path: Path) -> None:
    result = await run_health_check(make_env(tmp_path, [], []), include_alerts=False)
    assert result.exit_code == 3 and any("nothing to check" in n for n in result.notes)


@pytest.mark.parametrize(("failures", "expected"), [(3.0, MetricState.OK), (25.0, MetricState.WARNING), (332.0, MetricState.CRITICAL)])
def test_auth_failures_are_a_critical_class_line_even_while_auth_answers(failures: float, expected: MetricState) -> None:
    samples = {"auth.failures_per_min": MetricSample("auth.failures_per_min", failures), **snap(40.0, 8, 20).samples}
    result = combine_health(ALL_HEALTHY, MetricsSnapshot("api", NOW, samples), None, [], NOW)
    names = [c.name for c in result.components]
    assert names.index("Auth failures") == names.index("Auth") + 1
    line = result.line("Auth failures")
    assert line is not None and line.state is expected and f"{failures:,.0f} failed sign-ins/min" in line.detail
    assert result.status is expected


def test_no_auth_failures_line_when_no_source_reports_them() -> None:
    result = combine_health(ALL_HEALTHY, snap(40.0, 8, 20), None, [], NOW)
    assert result.line("Auth failures") is None


async def test_console_monitor_asks_probes_at_once_and_survives_a_hanging_one(tmp_path: Path) -> None:
    from cs_console.services import monitor as monitor_mod

    # db and api answer only once db, api and hung have all been asked: asked one after
    # another, db would wait for the others until its timeout and be missing below.
    meet = asyncio.Barrier(3)
    env = make_env(tmp_path, [
        StaticProbe("db", [comp("Database", H)], meet=meet),
        StaticProbe("api", [comp("Auth", H)], meet=meet),
        StaticProbe("hung", [comp("REST", H)], delay=30.0, meet=meet),
        StaticProbe("broken", [], error=RuntimeError("boom")),
    ], [])
    monitor_mod.SOURCE_TIMEOUT_S, saved = 0.6, monitor_mod.SOURCE_TIMEOUT_S
    try:
        live = await asyncio.wait_for(monitor_mod.Monitor(env, persist_alerts=False).refresh_health(), 30)  # a hang guard
    finally:
        monitor_mod.SOURCE_TIMEOUT_S = saved
    assert [c.name for c in live.health.components] == ["Database", "Auth"]
    assert "hung: no answer within 0.6 s" in live.health_error and "broken: RuntimeError: boom" in live.health_error


def test_critical_alert_line_counts_the_criticals_active_now() -> None:
    """`❌ DOWN Database` is never followed by "Critical alerts (24 h): none"."""
    down = combine_health([comp("Database", DN, None, "connection refused")], snap(96.0, 93, 97), None, [], NOW)
    line = down.line(ALERTS_LINE)
    assert line is not None and line.state is MetricState.CRITICAL, line
    assert "2 active now" in line.detail and "Database down" in line.detail and "Connection pool near exhaustion" in line.detail
    calm = combine_health(ALL_HEALTHY, snap(40.0, 39, 97), None, [], NOW).line(ALERTS_LINE)
    assert calm is not None and calm.state is MetricState.OK and calm.detail == "none in the last 24 h"
