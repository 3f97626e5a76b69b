"""The metrics-endpoint source over loopback HTTP: values, rates, faults."""

from __future__ import annotations

import asyncio
from datetime import datetime, timezone

import pytest

from cs_console.backends.supabase.prometheus_metrics import WARMING_UP, parse_scrape
from cs_console.backends.supabase.prometheus_source import PROM_KEYS, PrometheusMetricsSource
from cs_console.backends.supabase.errors import BadResponse
from cs_console.domain.clock import FixedClock
from cs_console.domain.sources import SourceState
from tests.fake_supabase import METRICS, FakeSupabase, Reply, fixture_text, prom_bump

LABELS = 'supabase_project_ref="csgnlprodabcdefghijk",supabase_identifier="csgnlprodabcdefghijk",service_type="postgresql",server="localhost:5432"'
CLOCK = FixedClock(datetime(2026, 6, 10, 9, 5, tzinfo=timezone.utc))


class Mono:
    def __init__(self) -> None:
        self.t = 500.0

    def __call__(self) -> float:
        return self.t


def source(fake: FakeSupabase, **kw) -> PrometheusMetricsSource:
    kw.setdefault("min_interval_s", 0.0)
    return PrometheusMetricsSource(fake.client(timeout_s=kw.pop("timeout_s", 2.0)), clock=CLOCK, **kw)


def gauge(text: str, name: str, **labels: str) -> float:
    """Read a value straight from the fixture text (independent of the parser under test)."""
    for line in text.splitlines():
        if line.startswith(name + "{") and all(f'{k}="{v}"' in line for k, v in labels.items()):
            return float(line.rsplit(" ", 1)[1])
    raise KeyError(name)


async def test_gauges_on_first_scrape_and_cpu_after_the_second(fake_supabase: FakeSupabase) -> None:
    base = fixture_text("metrics.prom")
    # 40 s of CPU time pass between scrapes, 30 of them idle: 25 % busy.
    later = prom_bump(base, "node_cpu_seconds_total", 15.0, cpu="0", mode="idle")
    later = prom_bump(later, "node_cpu_seconds_total", 15.0, cpu="1", mode="idle")
    later = prom_bump(later, "node_cpu_seconds_total", 6.0, cpu="0", mode="user")
    later = prom_bump(later, "node_cpu_seconds_total", 4.0, cpu="1", mode="system")
    fake_supabase.set_metrics(base, later)
    src = source(fake_supabase)

    first = await src.collect()
    assert first.value("host.cpu_pct") is None
    assert first.samples["host.cpu_pct"].note == WARMING_UP
    mem = 100 * (1 - gauge(base, "node_memory_MemAvailable_bytes") / gauge(base, "node_memory_MemTotal_bytes"))
    assert first.value("host.memory_pct") == pytest.approx(mem, abs=0.01)
    disk = 100 * (1 - gauge(base, "node_filesystem_avail_bytes", mountpoint="/data") / gauge(base, "node_filesystem_size_bytes", mountpoint="/data"))
    assert first.value("host.disk_pct") == pytest.approx(disk, abs=0.01)
    assert first.value("db.connections.used") == gauge(base, "pg_stat_database_num_backends")
    assert first.value("db.connections.max") == gauge(base, "max_connections_connection_count")
    assert first.value("db.connections.pct") == pytest.approx(100 * 37 / 90, abs=0.01)
    assert first.value("db.size_bytes") == gauge(base, "pg_database_size_bytes")
    assert first.value("storage.used_bytes") == gauge(base, "storage_storage_size_mb") * 1024 * 1024
    assert first.samples["db.replication_lag_s"].note == "no read replica reported"
    assert set(first.samples) == set(PROM_KEYS)

    second = await src.collect()
    assert second.value("host.cpu_pct") == pytest.approx(25.0)
    assert src.status().state is SourceState.UP
    assert len(fake_supabase.requests_to(METRICS)) == 2
    await src.close()


async def test_query_time_and_transaction_rates(fake_supabase: FakeSupabase) -> None:
    base = fixture_text("metrics.prom") + (
        f"pg_stat_database_xact_commit_total{{{LABELS}}} 100000\n"
        f"pg_stat_database_deadlocks_total{{{LABELS}}} 3\n"
    )
    later = prom_bump(base, "pg_stat_statements_total_queries", 1000)
    later = prom_bump(later, "pg_stat_statements_total_time_seconds", 2.5)
    later = prom_bump(later, "pg_stat_database_xact_commit_total", 600)
    later = prom_bump(later, "pg_stat_database_xact_rollback_total", 60)
    later = prom_bump(later, "pg_stat_database_deadlocks_total", 2)
    fake_supabase.set_metrics(base, later)
    mono = Mono()
    src = source(fake_supabase, monotonic=mono)
    first = await src.collect()
    assert first.value("db.query_avg_ms") is None and first.value("db.commits_per_s") is None
    mono.t += 60.0
    second = await src.collect()
    assert second.value("db.query_avg_ms") == pytest.approx(2.5)
    assert second.value("db.commits_per_s") == pytest.approx(10.0)
    assert second.value("db.rollbacks_per_s") == pytest.approx(1.0)
    assert second.value("db.error_rate_pct") == pytest.approx(100 / 11, abs=0.01)
    assert second.value("db.deadlocks") == 2
    await src.close()


async def test_counter_reset_is_not_a_negative_rate(fake_supabase: FakeSupabase) -> None:
    base = fixture_text("metrics.prom")
    fake_supabase.set_metrics(base, prom_bump(base, "node_cpu_seconds_total", -800000.0))
    src = source(fake_supabase)
    await src.collect()
    snap = await src.collect()
    assert snap.value("host.cpu_pct") is None
    assert "counter reset" in snap.samples["host.cpu_pct"].note
    await src.close()


async def test_scrapes_no_more_often_than_min_interval(fake_supabase: FakeSupabase) -> None:
    mono = Mono()
    src = source(fake_supabase, min_interval_s=15.0, monotonic=mono)
    a = await src.collect()
    b = await src.collect()
    assert len(fake_supabase.requests_to(METRICS)) == 1
    assert b.value("host.memory_pct") == a.value("host.memory_pct")
    mono.t += 15.0
    await src.collect()
    assert len(fake_supabase.requests_to(METRICS)) == 2
    await src.close()


async def test_wrong_key_is_down_and_secret_free(fake_supabase: FakeSupabase) -> None:
    src = PrometheusMetricsSource(fake_supabase.client(service_role_key="sb_secret_NOTtheRIGHTkey99"), clock=CLOCK, min_interval_s=0)
    snap = await src.collect()
    status = src.status()
    assert status.state is SourceState.DOWN
    assert "401" in status.detail and "SUPABASE_SERVICE_ROLE_KEY" in status.detail
    assert "NOTtheRIGHT" not in status.detail
    assert all(s.value is None and "401" in s.note for s in snap.samples.values())
    await src.close()


async def test_missing_key_sends_nothing(fake_supabase: FakeSupabase) -> None:
    src = PrometheusMetricsSource(fake_supabase.client(service_role_key=None), clock=CLOCK, min_interval_s=0)
    await src.collect()
    assert src.status().state is SourceState.DOWN
    assert "set $SUPABASE_SERVICE_ROLE_KEY" in src.status().detail
    assert fake_supabase.requests == []


async def test_timeout_500_and_garbage_then_recovery(fake_supabase: FakeSupabase) -> None:
    src = source(fake_supabase, timeout_s=0.3)
    fake_supabase.delay(METRICS, 60.0)  # only the client's 0.3 s timeout can end it
    snap = await asyncio.wait_for(src.collect(), 30)  # a hang guard, not a timing
    assert len(fake_supabase.requests_to(METRICS)) == 1  # given up, not retried
    assert src.status().state is SourceState.DOWN and "no answer within 0.3s" in src.status().detail
    assert snap.samples["host.memory_pct"].note == "metrics endpoint: timeout"

    fake_supabase.server_error(METRICS, 502)
    await src.collect()
    assert src.status().state is SourceState.DOWN and "502" in src.status().detail

    fake_supabase.fail(METRICS, Reply.text("<html>maintenance</html>", content_type="text/html"))
    await src.collect()
    assert src.status().state is SourceState.DEGRADED
    assert "not Prometheus text" in src.status().detail

    snap = await src.collect()
    assert src.status().state is SourceState.UP
    assert snap.value("host.memory_pct") is not None
    await src.close()


async def test_pg_up_zero_degrades_the_source(fake_supabase: FakeSupabase) -> None:
    base = fixture_text("metrics.prom")
    fake_supabase.set_metrics(prom_bump(base, "pg_up", -1))
    src = source(fake_supabase)
    await src.collect()
    assert src.status().state is SourceState.DEGRADED
    assert "pg_up = 0" in src.status().detail
    await src.close()


def test_parser_keeps_the_primary_and_rejects_garbage() -> None:
    text = fixture_text("metrics.prom") + 'pg_stat_database_num_backends{supabase_identifier="csgnlprodabcdefghijk-rr-1"} 500\n'
    scrape = parse_scrape(text, 0.0, identifier="csgnlprodabcdefghijk")
    assert scrape.total("pg_stat_database_num_backends") == 37  # the replica's 500 is not ours
    with pytest.raises(BadResponse):
        parse_scrape("{{{ not prometheus", 0.0)
    with pytest.raises(BadResponse):
        parse_scrape("", 0.0)


def test_a_series_repeated_with_the_same_labels_is_taken_once_not_summed() -> None:
    from cs_console.backends.supabase.prometheus_metrics import parse_scrape

    text = (
        '# TYPE pg_stat_database_num_backends gauge\n'
        'pg_stat_database_num_backends{datname="postgres",supabase_identifier="ref"} 12\n'
        'pg_stat_database_num_backends{datname="postgres",supabase_identifier="ref"} 12\n'
        'pg_stat_database_num_backends{datname="app",supabase_identifier="ref"} 5\n'
    )
    scrape = parse_scrape(text, 0.0, identifier="ref")
    assert scrape.total("pg_stat_database_num_backends") == 17
    assert scrape.total("pg_stat_database_num_backends", datname="postgres") == 12
