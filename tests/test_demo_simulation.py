"""The demo project: determinism, each scenario's developed state, and actions that change it."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from cs_console.backends.demo.model.auth import ban_duration_s
from cs_console.backends.demo.model.project import DemoProject
from cs_console.backends.demo.model.results import DemoActionError
from cs_console.domain.health import COMPONENTS, HealthStatus
from cs_console.domain.metrics import METRICS
from cs_console.domain.thresholds import DEFAULT_THRESHOLDS, MetricState

ANCHOR = datetime(2026, 6, 10, 14, 30, tzinfo=timezone.utc)
NIGHT = datetime(2026, 6, 11, 3, 40, tzinfo=timezone.utc)


def project(scenario: str = "calm", seed: int = 7, *, one_shot: bool = True, anchor: datetime = ANCHOR) -> DemoProject:
    return DemoProject(scenario, seed, one_shot=one_shot, anchor=anchor, real_time=False)


def values(p: DemoProject) -> dict[str, float | None]:
    snap = p.metrics_snapshot()
    return {k: s.value for k, s in snap.samples.items()}


def health(p: DemoProject) -> dict[str, HealthStatus]:
    return {c.name: c.status for c in p.health()}


def test_snapshot_has_every_metric_and_the_four_named_functions() -> None:
    snap = project().metrics_snapshot()
    assert set(snap.samples) == {m.key for m in METRICS}
    assert all(s.value is not None for s in snap.samples.values())
    slugs = {f.slug for f in snap.functions}
    assert {"monitor-keywords", "process-conversations", "send-alerts", "sync-integrations"} <= slugs
    assert snap.source == "demo"


def test_health_lists_exactly_the_manual_components() -> None:
    comps = project().health()
    assert tuple(c.name for c in comps) == COMPONENTS
    assert all(c.latency_ms is not None and c.detail for c in comps)


@pytest.mark.parametrize("scenario", ["calm", "connection-exhaustion", "traffic-spike", "security-breach"])
def test_same_seed_same_numbers_different_seed_differs(scenario: str) -> None:
    a, b, c = project(scenario, 7, one_shot=False), project(scenario, 7, one_shot=False), project(scenario, 8, one_shot=False)
    for p in (a, b, c):
        p.clock.advance(95.0)
    assert values(a) == values(b)
    assert [(x.name, x.status, x.detail, x.latency_ms) for x in a.health()] == [
        (x.name, x.status, x.detail, x.latency_ms) for x in b.health()
    ]
    assert values(a) != values(c)


def test_determinism_does_not_depend_on_how_often_it_is_sampled() -> None:
    a = project("connection-exhaustion", one_shot=False)
    b = project("connection-exhaustion", one_shot=False)
    for _ in range(60):
        a.clock.advance(2.0)
        a.metrics_snapshot()
    b.clock.advance(120.0)
    assert values(a) == values(b)


@pytest.mark.parametrize("anchor", [ANCHOR, NIGHT])
def test_calm_is_inside_every_threshold_all_day(anchor: datetime) -> None:
    p = project("calm", anchor=anchor)
    for _ in range(48):  # a day, every half hour
        snap = p.metrics_snapshot()
        for threshold in DEFAULT_THRESHOLDS.values():
            value = snap.value(threshold.metric)
            assert threshold.state(value) is MetricState.OK, (threshold.name, value, p.now())
        assert set(health(p).values()) == {HealthStatus.HEALTHY}
        p.clock.advance(1800.0)


@pytest.mark.parametrize("anchor", [ANCHOR, NIGHT])
def test_connection_exhaustion_developed_is_critical_and_database_down(anchor: datetime) -> None:
    p = project("connection-exhaustion", anchor=anchor)
    v = values(p)
    assert v["db.connections.pct"] >= 90.0
    assert DEFAULT_THRESHOLDS["connections_pct"].state(v["db.connections.pct"]) is MetricState.CRITICAL
    assert v["db.connections.idle_in_tx"] >= 20
    assert v["db.longest_tx_s"] > 600
    assert v["db.blocked"] >= 1
    assert health(p)["Database"] is HealthStatus.DOWN


def test_connection_exhaustion_unfolds_within_a_minute_interactively() -> None:
    p = project("connection-exhaustion", one_shot=False)
    assert health(p)["Database"] is HealthStatus.HEALTHY
    crossed_80 = None
    for second in range(1, 121):
        p.clock.advance(1.0)
        pct = p.metrics_snapshot().value("db.connections.pct")
        if crossed_80 is None and pct >= 80.0:
            crossed_80 = second
    assert crossed_80 is not None and crossed_80 <= 60
    assert values(p)["db.connections.pct"] >= 90.0
    assert health(p)["Database"] is HealthStatus.DOWN


@pytest.mark.parametrize("anchor", [ANCHOR, NIGHT])
def test_function_failures_developed(anchor: datetime) -> None:
    p = project("function-failures", anchor=anchor)
    snap = p.metrics_snapshot()
    assert snap.value("fn.error_rate_pct") > 5.0
    failing = next(f for f in snap.functions if f.slug == "process-conversations")
    assert failing.error_rate_pct > 20.0 and failing.avg_duration_ms > 2000.0
    assert health(p)["Edge Functions"] is HealthStatus.DEGRADED
    assert health(p)["Database"] is HealthStatus.HEALTHY


@pytest.mark.parametrize("anchor", [ANCHOR, NIGHT])
def test_traffic_spike_developed(anchor: datetime) -> None:
    v = values(project("traffic-spike", anchor=anchor))
    calm = values(project("calm", anchor=anchor))
    assert v["api.p95_ms"] > 500.0 and calm["api.p95_ms"] < 300.0
    assert v["host.cpu_pct"] > 80.0
    assert v["api.requests_per_min"] > 5 * calm["api.requests_per_min"]
    assert v["db.connections.pct"] >= 80.0


@pytest.mark.parametrize("anchor", [ANCHOR, NIGHT])
def test_security_breach_developed(anchor: datetime) -> None:
    p = project("security-breach", anchor=anchor)
    v = values(p)
    assert v["auth.failures_per_min"] > 100.0
    assert health(p)["Auth"] is HealthStatus.DEGRADED
    hot = p.auth_failures_by_ip(600)
    assert hot[0].failures > 500 and hot[0].ip in {"203.0.113.77", "198.51.100.23", "192.0.2.181", "203.0.113.145"}


def test_terminating_idle_in_transaction_backends_relieves_then_the_leak_returns_until_the_worker_restarts() -> None:
    p = project("connection-exhaustion")
    leaked = [b.pid for b in p.list_backends() if b.state == "idle in transaction" and b.application_name == "signal-worker"]
    before = values(p)["db.connections.used"]
    assert p.terminate_backends(leaked) == len(leaked)
    assert values(p)["db.connections.used"] <= before - len(leaked) + 3
    assert health(p)["Database"] is HealthStatus.HEALTHY
    assert not any(b.pid in leaked for b in p.list_backends())
    p.clock.advance(240.0)
    assert values(p)["db.connections.idle_in_tx"] >= 10  # the worker keeps leaking
    result = p.restart_worker()
    assert result.ok and result.detail["closed"] >= 10
    p.clock.advance(600.0)
    v = values(p)
    assert v["db.connections.idle_in_tx"] <= 1 and v["db.connections.pct"] < 80.0
    assert health(p)["Database"] is HealthStatus.HEALTHY


def test_idle_in_transaction_timeout_caps_the_leak() -> None:
    p = project("connection-exhaustion")
    p.set_idle_in_transaction_timeout(30)
    p.clock.advance(60.0)
    v = values(p)
    assert v["db.idle_in_tx.max_age_s"] <= 31.0
    assert v["db.connections.pct"] < 80.0


def test_terminate_unknown_pid_is_false_and_cancel_leaves_idle_transaction() -> None:
    p = project("connection-exhaustion")
    assert p.terminate_backend(1) is False
    pid = next(b.pid for b in p.list_backends() if b.state == "idle in transaction")
    assert p.cancel_backend(pid) is True
    assert any(b.pid == pid for b in p.list_backends())


def test_redeploy_fixes_function_failures_and_other_redeploys_do_not() -> None:
    p = project("function-failures")
    p.redeploy_function("send-alerts")
    p.clock.advance(60.0)
    assert values(p)["fn.error_rate_pct"] > 5.0
    versions = {f.slug: f.version for f in p.list_functions()}
    result = p.redeploy_function("process-conversations")
    assert result.detail["version"] == versions["process-conversations"] + 1
    p.clock.advance(60.0)
    assert values(p)["fn.error_rate_pct"] < 1.0
    assert health(p)["Edge Functions"] is HealthStatus.HEALTHY
    with pytest.raises(DemoActionError, match="no function"):
        p.redeploy_function("nope")


def test_rate_limiting_and_scaling_relieve_the_spike() -> None:
    p = project("traffic-spike")
    p.enable_rate_limiting()
    p.clock.advance(30.0)
    v = values(p)
    assert v["api.p95_ms"] < 500.0 and v["host.cpu_pct"] < 80.0
    assert v["api.status_4xx_per_min"] > 1000.0  # the client's 429s

    q = project("traffic-spike")
    q.scale_compute("large")
    q.clock.advance(10.0)
    assert health(q)["Database"] is HealthStatus.DOWN  # the resize restarts the database
    q.clock.advance(120.0)
    v = values(q)
    assert health(q)["Database"] is not HealthStatus.DOWN
    assert v["db.connections.max"] == 157 and v["host.cpu_pct"] < 80.0
    assert v["api.p95_ms"] < 500.0


def test_containment_stops_the_breach() -> None:
    p = project("security-breach")
    before = p.metrics_snapshot().value("api.requests_per_min")
    user = p.ban_user("dana.whitfield@brightpath.health", "24h")
    assert user.banned
    p.enable_captcha()
    p.rotate_api_key("service_role")
    p.clock.advance(300.0)
    v = values(p)
    assert v["auth.failures_per_min"] < 10.0
    assert health(p)["Auth"] is HealthStatus.HEALTHY
    assert v["api.requests_per_min"] < before
    assert p.unban_user(user.id).banned is False


def test_ban_duration_parsing_and_network_bans() -> None:
    assert ban_duration_s("24h") == 86400.0
    assert ban_duration_s("1h30m") == 5400.0
    with pytest.raises(DemoActionError, match="invalid format for ban duration"):
        ban_duration_s("1d")
    p = project("security-breach")
    bans = {b.banned_address for b in p.list_network_bans()}
    assert "203.0.113.77" in bans
    with pytest.raises(DemoActionError, match="no 'add network ban' verb"):
        p.add_network_ban("198.51.100.23")
    p.remove_network_ban("192.0.2.44")
    assert "192.0.2.44" not in {b.banned_address for b in p.list_network_bans()}
    with pytest.raises(DemoActionError, match="User not found"):
        p.ban_user("nobody@example.com")


def test_vacuum_and_reindex_change_the_statistics() -> None:
    p = project("calm")
    queue = next(t for t in p.table_stats() if t.name == "public.signal_queue")
    assert queue.dead_pct > 20.0
    result = p.vacuum_analyze("signal_queue")
    assert result.detail["dead_tuples_removed"] == queue.dead_tuples
    after = next(t for t in p.table_stats() if t.name == "public.signal_queue")
    assert after.dead_tuples < 100 and after.last_vacuum is not None and after.last_analyze is not None
    idx = next(i for i in p.index_stats() if i.name.endswith("signal_queue_status_created_at_idx"))
    assert idx.bloat_pct > 50.0
    r = p.reindex("signal_queue_status_created_at_idx")
    assert r.detail["bytes_after"] < r.detail["bytes_before"]
    with pytest.raises(DemoActionError):
        p.vacuum_analyze("no_such_table")


def test_inspection_views() -> None:
    p = project("connection-exhaustion")
    pairs = p.blocking()
    assert pairs and all(pair.blocking_state == "idle in transaction" for pair in pairs)
    waiting = [lock for lock in p.list_locks() if not lock.granted]
    assert len(waiting) == len(pairs)
    top = p.top_queries(limit=5)
    assert len(top) == 5 and top[0].total_ms >= top[-1].total_ms
    backups = p.list_backups()
    assert len({b.inserted_at.date() for b in backups.backups}) == 7  # a week of dailies
    assert any(b.status == "FAILED" for b in backups.backups)
    assert backups.latest_completed() is not None
    assert p.storage_usage().used_pct < 80.0
    assert {f.slug for f in p.list_functions()} >= {"monitor-keywords", "sync-integrations"}
