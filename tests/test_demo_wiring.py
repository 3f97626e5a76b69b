"""The demo wired into an Environment: sources, log factories, inspector, runbook calls, anchor."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from cs_console.backends.demo.inspector import DemoInspector
from cs_console.backends.demo.log_source import DemoLogSource
from cs_console.backends.demo.model.project import DemoProject
from cs_console.backends.executors.demo import DemoExecutor
from cs_console.domain.db_inspect import INSPECT_VIEWS, InspectTable
from cs_console.domain.health import COMPONENTS, PLATFORM_STATUS, HealthStatus
from cs_console.domain.metrics import METRICS
from cs_console.domain.runbooks.calls import DemoCall
from cs_console.domain.sources import HealthProbe, LogSource, MetricsSource, SourceState
from cs_console.services.environment import UnknownLogSource
from cs_console.services.session import session_from_args
from cs_console.wiring.demo import ANCHOR_ENV, build_demo_environment
from cs_console.wiring.environment import build_environment
from tests.sessions import session_args

ANCHOR = datetime(2026, 6, 10, 14, 30, tzinfo=timezone.utc)


def session(scenario: str = "calm", seed: int = 7, speed: float | None = None):
    return session_from_args(session_args(demo=True, scenario=scenario, seed=seed, speed=speed))


async def test_environment_for_a_one_shot_command(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ANCHOR_ENV, "2026-06-10T14:30:00Z")
    env = build_environment(session("connection-exhaustion"), one_shot=True)
    assert env.is_demo and isinstance(env.demo, DemoProject)
    assert env.clock.now() >= ANCHOR and env.clock.now() < ANCHOR + timedelta(seconds=30)
    [source] = env.metrics_sources
    assert isinstance(source, MetricsSource)
    snap = await source.collect()
    assert set(snap.samples) == {m.key for m in METRICS}
    assert snap.value("db.connections.pct") >= 90.0
    probe, platform = env.health_probes
    assert isinstance(probe, HealthProbe) and isinstance(platform, HealthProbe)
    comps = await probe.check()
    assert tuple(c.name for c in comps) == COMPONENTS
    assert comps[0].status is HealthStatus.DOWN
    [page] = await platform.check()  # the simulated status page: no platform incident in this scenario
    assert page.name == PLATFORM_STATUS and page.status is HealthStatus.HEALTHY
    [status] = env.source_statuses()
    assert status.name == "demo" and status.state is SourceState.UP and "connection-exhaustion" in status.detail
    for name in ("function", "edge", "auth", "postgres", "all"):
        log = env.log_source(name)
        assert isinstance(log, LogSource) and isinstance(log, DemoLogSource) and log.name == name
    with pytest.raises(UnknownLogSource):
        env.log_source("nope")
    await env.aclose()


def test_interactive_environment_starts_before_the_onset() -> None:
    env = build_demo_environment(session("connection-exhaustion", speed=30.0), False, anchor=ANCHOR, real_time=False)
    assert env.demo is not None and env.demo.speed == 30.0
    assert env.demo.onset is not None and env.demo.onset > env.clock.now()
    assert env.demo.health()[0].status is HealthStatus.HEALTHY


def test_fixed_anchor_makes_runs_identical(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ANCHOR_ENV, "2026-06-10T14:30:00Z")
    a = build_demo_environment(session("traffic-spike"), True, real_time=False).demo
    b = build_demo_environment(session("traffic-spike"), True, real_time=False).demo
    assert a is not None and b is not None
    assert a.metrics_snapshot().samples == b.metrics_snapshot().samples
    monkeypatch.setenv(ANCHOR_ENV, "yesterday")
    with pytest.raises(ValueError, match=ANCHOR_ENV):
        build_demo_environment(session(), True)


@pytest.mark.parametrize("scenario", ["calm", "connection-exhaustion"])
async def test_inspector_answers_every_view_with_its_columns(scenario: str) -> None:
    project = DemoProject(scenario, 7, one_shot=True, anchor=ANCHOR, real_time=False)
    inspector = DemoInspector(project)
    assert [v.id for v in inspector.views()] == [v.id for v in INSPECT_VIEWS]
    for view in inspector.views():
        table = await inspector.run(view.id)
        assert isinstance(table, InspectTable) and table.ok, (view.id, table.error)
        assert all(len(row) == len(view.columns) for row in table.rows)
    long_running = await inspector.run("long_running")
    blocking = await inspector.run("blocking")
    if scenario == "connection-exhaustion":
        assert (len(long_running.rows), len(blocking.rows)) == (33, 6)  # seeded
        assert set(long_running.column("application")) >= {"signal-worker"}
    else:
        assert not blocking.rows


async def test_inspector_follows_actions_and_restarts() -> None:
    project = DemoProject("connection-exhaustion", 7, one_shot=True, anchor=ANCHOR, real_time=False)
    inspector = DemoInspector(project)
    project.restart_worker()
    project.clock.advance(5.0)
    assert not (await inspector.run("blocking")).rows
    vacuum = await inspector.run("vacuum_stats")
    assert vacuum.as_dicts()[0]["table"] == "public.signal_queue"
    project.vacuum_analyze("signal_queue")
    vacuum = await inspector.run("vacuum_stats")
    assert next(r for r in vacuum.as_dicts() if r["table"] == "public.signal_queue")["due"] is False
    project.scale_compute("small")
    project.clock.advance(5.0)
    assert "starting up" in (await inspector.run("locks")).error


async def test_runbook_calls_reach_the_simulation() -> None:
    project = DemoProject("connection-exhaustion", 7, one_shot=True, anchor=ANCHOR, real_time=False)
    executor = DemoExecutor(project)
    assert executor.supports("terminate_backends") and executor.supports("redeploy_function")
    assert not executor.supports("load_at") and not executor.supports("_record")
    leaked = [b.pid for b in project.list_backends() if b.state == "idle in transaction" and (b.xact_age_s or 0) > 60]
    result = await executor.execute(DemoCall("terminate_backends", {"pids": leaked}), timeout_s=5)
    assert result.ok and result.rows_affected == len(leaked) == 31  # seeded
    project.clock.advance(1.0)
    assert project.metrics_snapshot().value("db.connections.pct") < 80.0
    refused = await executor.execute(DemoCall("add_network_ban", {"ip": "203.0.113.77"}), timeout_s=5)
    assert not refused.ok and "no 'add network ban' verb" in refused.error
    bad = await executor.execute(DemoCall("ban_user", {"user": "dana.whitfield@brightpath.health", "duration": "2d"}), timeout_s=5)
    assert not bad.ok and "invalid format for ban duration" in bad.error
    for name in DemoProject.RUNBOOK_CALLS:
        assert callable(getattr(project, name)), name
