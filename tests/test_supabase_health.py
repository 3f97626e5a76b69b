"""The Supabase health probe over loopback HTTP, and its wiring from a profile."""

from __future__ import annotations

import asyncio
from datetime import datetime, timezone
from pathlib import Path

import pytest

from cs_console.backends.supabase.health_probe import SupabaseHealthProbe
from cs_console.backends.supabase.management_source import ManagementMetricsSource
from cs_console.domain.clock import FixedClock
from cs_console.domain.health import HealthStatus
from cs_console.domain.sources import SourceState
from tests.fake_supabase import COMBINED_STATS, FUNCTIONS, HEALTH, PROJECT, FakeSupabase, RecordedRequest, Reply, fixture
from tests.sessions import session_args

NOW = datetime(2026, 6, 10, 9, 5, tzinfo=timezone.utc)


def by_name(components) -> dict:
    return {c.name: c for c in components}


async def test_fixture_health_maps_every_component(fake_supabase: FakeSupabase) -> None:
    probe = SupabaseHealthProbe(fake_supabase.client(), clock=FixedClock(NOW))
    comps = by_name(await probe.check())
    await probe.client.aclose()
    assert list(comps) == ["Project", "Auth", "REST", "Storage", "Realtime", "Edge Functions"]
    assert comps["Project"].status is HealthStatus.HEALTHY
    assert "customersignal-prod (us-east-1)" in comps["Project"].detail
    assert comps["Auth"].status is HealthStatus.HEALTHY and "GoTrue v2.170.0" in comps["Auth"].detail
    assert comps["Storage"].status is HealthStatus.DOWN
    assert comps["Storage"].detail == "UNHEALTHY: timeout of 2000ms exceeded"
    assert comps["Edge Functions"].status is HealthStatus.DEGRADED
    assert "THROTTLED: send-digest" in comps["Edge Functions"].detail
    assert all(c.latency_ms is not None and c.latency_ms >= 0 for c in comps.values())
    assert probe.last_project is not None and probe.last_project["status"] == "ACTIVE_HEALTHY"
    req = fake_supabase.requests_to(HEALTH)[0]
    assert set(req.query["services"]) == {"auth", "rest", "storage", "realtime", "db"}
    assert req.param("timeout_ms") == "2000"


async def test_coming_up_and_project_states(fake_supabase: FakeSupabase) -> None:
    rows = fixture("health.json")
    for row in rows:
        if row["name"] == "realtime":
            row["status"] = "COMING_UP"
    fake_supabase.route(HEALTH, lambda req: Reply.json(rows))
    project = fixture("project.json")
    fake_supabase.route(PROJECT, lambda req: Reply.json(project))
    probe = SupabaseHealthProbe(fake_supabase.client(), clock=FixedClock(NOW), report_database=True)
    for raw, expected in (("RESTARTING", HealthStatus.DEGRADED), ("INACTIVE", HealthStatus.DOWN), ("ACTIVE_HEALTHY", HealthStatus.HEALTHY)):
        project["status"] = raw
        comps = by_name(await probe.check())
        assert comps["Project"].status is expected, raw
        assert comps["Realtime"].status is HealthStatus.DEGRADED
        assert comps["Database"].status is HealthStatus.HEALTHY
    await probe.client.aclose()


async def test_function_error_rate_from_the_stats_source(fake_supabase: FakeSupabase) -> None:
    def stats(req: RecordedRequest) -> Reply:
        bad = req.param("function_id") == "3f0c1a52-7d4e-4b8a-9a61-2c5e8f1b7d01"  # ingest-signal
        return Reply.json({"result": [{"timestamp": "2026-06-10T09:04:00Z", "requests_count": 100, "server_err_count": 90 if bad else 0, "avg_execution_time": 50.0}]})

    fake_supabase.route(COMBINED_STATS, stats)
    fns = [f for f in fixture("functions_list.json") if f["status"] == "ACTIVE"]
    fake_supabase.route(FUNCTIONS, lambda req: Reply.json(fns))
    client = fake_supabase.client()
    api = ManagementMetricsSource(client, clock=FixedClock(NOW))
    probe = SupabaseHealthProbe(client, clock=FixedClock(NOW), stats_source=api, fn_error_down_pct=40.0)
    await api.collect()
    listed = len(fake_supabase.requests_to(FUNCTIONS))
    comps = by_name(await probe.check())
    await client.aclose()
    edge = comps["Edge Functions"]
    assert edge.status is HealthStatus.DOWN  # 90 of 200 invocations failed: 45 %
    assert "5xx 45.00%" in edge.detail and "erroring: ingest-signal" in edge.detail
    assert len(fake_supabase.requests_to(FUNCTIONS)) == listed  # reused the source's fresh list


async def test_management_api_faults_make_components_unknown_not_down(fake_supabase: FakeSupabase) -> None:
    fake_supabase.delay(HEALTH, 60.0)  # only the client's 0.3 s timeout can end it
    fake_supabase.server_error(PROJECT, 503)
    probe = SupabaseHealthProbe(fake_supabase.client(timeout_s=0.3), clock=FixedClock(NOW), service_timeout_ms=100)
    comps = by_name(await asyncio.wait_for(probe.check(), 30))  # a hang guard, not a timing
    assert len(fake_supabase.requests_to(HEALTH)) == 1
    for name in ("Auth", "REST", "Storage", "Realtime"):
        assert comps[name].status is HealthStatus.UNKNOWN
        assert "health check failed: health: no answer within" in comps[name].detail
    assert comps["Project"].status is HealthStatus.UNKNOWN and "503" in comps["Project"].detail
    assert comps["Edge Functions"].status is HealthStatus.DEGRADED  # the list still answered
    await probe.client.aclose()


async def test_wrong_token_never_reaches_the_report(fake_supabase: FakeSupabase) -> None:
    bad = "sbp_nottherighttoken000000000000000000000000"
    probe = SupabaseHealthProbe(fake_supabase.client(access_token=bad), clock=FixedClock(NOW))
    comps = await probe.check()
    await probe.client.aclose()
    assert all(c.status is HealthStatus.UNKNOWN for c in comps)
    assert all("401" in c.detail and bad not in c.detail for c in comps)


def _write_config(tmp_path: Path, url: str, *, with_dsn: bool = False) -> Path:
    dsn = '\ndb_dsn = "postgresql://cs@127.0.0.1:5/postgres"' if with_dsn else ""
    path = tmp_path / "config.toml"
    path.write_text(
        'default_profile = "prod"\n[profiles.prod]\nenvironment = "production"\n'
        f'project_ref = "csgnlprodabcdefghijk"\nmanagement_api_url = "{url}"\nproject_url = "{url}"\n'
        f'access_token_env = "CS_TEST_SB_TOKEN"\nservice_role_key_env = "CS_TEST_SB_KEY"{dsn}\n'
    )
    path.chmod(0o600)
    return path


def _args(config: Path):
    return session_args(config=config)


async def test_profile_wires_sources_and_probe(fake_supabase: FakeSupabase, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from cs_console.wiring.environment import build_environment
    from cs_console.services.session import session_from_args

    monkeypatch.setenv("CS_TEST_SB_TOKEN", fake_supabase.token)
    monkeypatch.setenv("CS_TEST_SB_KEY", fake_supabase.service_key)
    env = build_environment(session_from_args(_args(_write_config(tmp_path, fake_supabase.url))))
    names = [s.name for s in env.metrics_sources]
    assert "prom" in names and "api" in names
    sb = [p for p in env.health_probes if p.name == "supabase"]
    assert len(sb) == 1
    snaps = [await s.collect() for s in env.metrics_sources if s.name in ("prom", "api")]
    comps = by_name(await sb[0].check())
    await env.aclose()
    assert snaps[0].value("host.memory_pct") is not None and snaps[1].value("backup.age_h") is not None
    assert comps["Database"].status is HealthStatus.HEALTHY  # no db_dsn: /health's db stands in
    # One client, one budget: every request of every part used the same token.
    assert {r.headers.get("authorization") for r in fake_supabase.requests if r.path.startswith("/v1/")} == {f"Bearer {fake_supabase.token}"}


async def test_profile_without_secrets_says_so(fake_supabase: FakeSupabase, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from cs_console.wiring.environment import build_environment
    from cs_console.services.session import session_from_args

    monkeypatch.delenv("CS_TEST_SB_TOKEN", raising=False)
    monkeypatch.delenv("CS_TEST_SB_KEY", raising=False)
    env = build_environment(session_from_args(_args(_write_config(tmp_path, fake_supabase.url, with_dsn=True))))
    sources = {s.name: s for s in env.metrics_sources}
    for name in ("prom", "api"):
        await sources[name].collect()
        assert sources[name].status().state is SourceState.DOWN
    assert "set $CS_TEST_SB_TOKEN" in sources["api"].status().detail
    assert "set $CS_TEST_SB_KEY" in sources["prom"].status().detail
    probe = next(p for p in env.health_probes if p.name == "supabase")
    comps = by_name(await probe.check())
    assert "Database" not in comps  # the PostgreSQL probe owns it when a DSN is set
    assert fake_supabase.requests == []
    await env.aclose()


async def test_one_shot_check_measures_functions_once_with_the_source(fake_supabase: FakeSupabase) -> None:
    client = fake_supabase.client()
    api = ManagementMetricsSource(client, clock=FixedClock(NOW))
    probe = SupabaseHealthProbe(client, clock=FixedClock(NOW), stats_source=api)
    import asyncio

    comps, _snap = await asyncio.gather(probe.check(), api.collect())
    await client.aclose()
    edge = by_name(comps)["Edge Functions"]
    # Fixture stats: 7 server errors in 789 invocations.
    assert "5xx 0.89% over 15 min" in edge.detail
    assert len(fake_supabase.requests_to(FUNCTIONS)) == 1  # the probe and the source shared one poll
    assert len(fake_supabase.requests_to(COMBINED_STATS)) == 3
