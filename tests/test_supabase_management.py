"""The Management API metrics source over loopback HTTP."""

from __future__ import annotations

import asyncio
from datetime import datetime, timezone

import pytest

from cs_console.backends.supabase.management_source import Cadence, ManagementMetricsSource
from cs_console.backends.supabase import log_endpoint
from cs_console.backends.supabase.rate_budget import EndpointClass, RateBudget
from cs_console.domain.clock import FixedClock
from cs_console.domain.sources import SourceState
from tests.fake_supabase import (
    API_COUNTS,
    BACKUPS,
    COMBINED_STATS,
    FUNCTIONS,
    LOGS_ALL,
    LOGS_CLICKHOUSE,
    FakeSupabase,
    RecordedRequest,
    Reply,
    edge_aggregate,
    fixture,
    in_flight_at_once,
)

NOW = datetime(2026, 6, 10, 9, 5, tzinfo=timezone.utc)


class Mono:
    def __init__(self) -> None:
        self.t = 100.0

    def __call__(self) -> float:
        return self.t


def make(fake: FakeSupabase, *, timeout_s: float = 2.0, budget_clock: bool = False, **kw) -> tuple[ManagementMetricsSource, Mono]:
    """The source on a fake monotonic clock; budget_clock: the rate budget runs on it too."""
    mono = Mono()
    budget = RateBudget(clock=mono) if budget_clock else None
    client = fake.client(timeout_s=timeout_s, log_dialect=kw.pop("log_dialect", "auto"), budget=budget)
    return ManagementMetricsSource(client, clock=FixedClock(NOW), monotonic=mono, **kw), mono


def edge_rows() -> list[dict]:
    # 100 requests, origin times 1..100 ms; 3 are 5xx, 7 are 4xx.
    rows = [{"status_code": 200, "origin_time": float(i)} for i in range(1, 101)]
    for i in range(3):
        rows[i]["status_code"] = 503
    for i in range(3, 10):
        rows[i]["status_code"] = 404
    # Password sign-ins: 6 rejected, 2 accepted; a failed refresh is not a sign-in.
    for i in range(10, 18):
        rows[i].update(path="/auth/v1/token", search="?grant_type=password", status_code=400 if i < 16 else 200)
    rows[18].update(path="/auth/v1/token", search="?grant_type=refresh_token", status_code=400)  # not a sign-in
    return rows


async def test_normal_answers(fake_supabase: FakeSupabase) -> None:
    fake_supabase.edge_log_rows = edge_rows()
    src, _ = make(fake_supabase)
    snap = await src.collect()
    await src.close()
    assert src.status().state is SourceState.UP

    # functions.combined-stats fixture: two minute buckets inside the 15-minute window.
    rows = fixture("functions_combined_stats.json")["result"]
    reqs = sum(r["requests_count"] for r in rows)
    errs = sum(r["server_err_count"] for r in rows)
    avg = sum(r["avg_execution_time"] * r["requests_count"] for r in rows) / reqs
    listed = fixture("functions_list.json")
    assert [f.slug for f in snap.functions] == sorted(f["slug"] for f in listed)
    fn = {f.slug: f for f in snap.functions}
    assert fn["ingest-signal"].invocations_per_min == pytest.approx(reqs / 15, abs=0.01)
    assert fn["ingest-signal"].error_rate_pct == pytest.approx(100 * errs / reqs, abs=0.001)
    assert fn["ingest-signal"].avg_duration_ms == pytest.approx(avg, abs=0.1)
    assert fn["send-digest"].status == "THROTTLED" and fn["ingest-signal"].version == 42
    assert snap.value("fn.invocations_per_min") == pytest.approx(3 * reqs / 15, abs=0.01)
    assert snap.value("fn.error_rate_pct") == pytest.approx(100 * errs / reqs, abs=0.001)

    # Edge aggregate over the last 5 minutes.
    assert snap.value("api.requests_per_min") == pytest.approx(100 / 5)
    assert snap.value("api.status_5xx_per_min") == pytest.approx(3 / 5)
    assert snap.value("api.status_4xx_per_min") == pytest.approx(14 / 5)
    assert snap.value("api.error_rate_pct") == pytest.approx(3.0)
    assert snap.value("auth.failures_per_min") == pytest.approx(6 / 5)
    assert snap.value("auth.signins_per_min") == pytest.approx(2 / 5)
    sql = fake_supabase.requests_to(LOGS_ALL)[0].param("sql") or ""
    assert "cross join unnest(m.request) as request" in sql and "grant_type=password" in sql
    assert snap.value("api.p95_ms") == 95.0
    req = fake_supabase.requests_to(LOGS_ALL)[0]
    assert req.param("iso_timestamp_start") == "2026-06-10T09:00:00.000Z"
    assert req.param("iso_timestamp_end") == "2026-06-10T09:05:00.000Z"
    assert log_endpoint.current(src.client) == "bigquery"  # /logs answered 404: switched, shared with the log sources
    assert "using logs.all" in src.status().detail

    # Last COMPLETED backup: 2026-06-10T03:12:44Z, 5.87 h before NOW.
    assert snap.value("backup.age_h") == pytest.approx((NOW - datetime(2026, 6, 10, 3, 12, 44, 201000, tzinfo=timezone.utc)).total_seconds() / 3600, abs=0.01)
    disk = fixture("disk_util.json")["metrics"]
    assert snap.value("host.disk_pct") == pytest.approx(100 * disk["fs_used_bytes"] / disk["fs_size_bytes"], abs=0.01)
    # Every combined-stats call names its function and an interval.
    ids = {r.param("function_id") for r in fake_supabase.requests_to(COMBINED_STATS)}
    assert ids == {f["id"] for f in listed}


async def test_per_function_stats_differ_by_id(fake_supabase: FakeSupabase) -> None:
    def stats(req: RecordedRequest) -> Reply:
        bad = req.param("function_id") == "8a2e6b71-1c3d-4f5a-8b9c-0d1e2f3a4b5c"  # score-customer
        row = {"timestamp": "2026-06-10T09:03:00.000Z", "requests_count": 150, "server_err_count": 30 if bad else 0, "avg_execution_time": 2500.0 if bad else 100.0}
        old = {"timestamp": "2026-06-10T08:00:00.000Z", "requests_count": 9999, "server_err_count": 9999, "avg_execution_time": 1.0}
        return Reply.json({"result": [old, row]})

    fake_supabase.route(COMBINED_STATS, stats)
    src, _ = make(fake_supabase)
    snap = await src.collect()
    await src.close()
    fn = {f.slug: f for f in snap.functions}
    assert fn["score-customer"].error_rate_pct == 20.0 and fn["score-customer"].avg_duration_ms == 2500.0
    assert fn["ingest-signal"].error_rate_pct == 0.0 and fn["ingest-signal"].invocations_per_min == 10.0
    assert snap.value("fn.error_rate_pct") == pytest.approx(100 * 30 / 450, abs=0.001)  # the 08:00 bucket is outside the window


async def test_cadence_keeps_far_inside_the_limits(fake_supabase: FakeSupabase) -> None:
    src, mono = make(fake_supabase)
    await src.collect()
    first = len(fake_supabase.requests)
    # functions + 3 stats + edge (/logs answers 404 once on this self-hosted fake, then logs.all) + usage + backups + disk
    assert first == 1 + 3 + 2 + 1 + 1 + 1
    for _ in range(10):  # the UI refreshing every 2 s
        mono.t += 2.0
        await src.collect()
    assert len(fake_supabase.requests) == first
    mono.t = 100.0 + 61.0
    await src.collect()
    later = [r.path.rsplit("/", 1)[-1] for r in fake_supabase.requests[first:]]
    assert sorted(later) == sorted(["functions", "functions.combined-stats", "functions.combined-stats", "functions.combined-stats", "logs.all"])
    await src.close()


async def test_429_on_logs_keeps_figures_blocks_then_recovers(fake_supabase: FakeSupabase) -> None:
    fake_supabase.edge_log_rows = edge_rows()
    src, mono = make(fake_supabase, cadence=Cadence(edge_s=1.0), budget_clock=True)
    snap = await src.collect()
    assert snap.value("api.requests_per_min") == 20.0
    fake_supabase.rate_limit(LOGS_ALL, reset_s=1)
    mono.t += 1.0
    snap = await src.collect()
    assert src.status().state is SourceState.DEGRADED and "429" in src.status().detail
    assert snap.value("api.p95_ms") == 95.0  # last figures kept while rate limited
    assert src.client.budget.state("logs.all").blocked_for_s > 0
    sent = len(fake_supabase.requests_to(LOGS_ALL))
    mono.t += 0.5
    await src.collect()  # not due yet: reset not over
    assert len(fake_supabase.requests_to(LOGS_ALL)) == sent
    mono.t += 1.0  # the budget shares the source's clock: the block is over
    await src.collect()
    assert len(fake_supabase.requests_to(LOGS_ALL)) == sent + 1
    assert src.status().state is SourceState.UP
    await src.close()


async def test_500_on_functions_is_partial(fake_supabase: FakeSupabase) -> None:
    fake_supabase.server_error(FUNCTIONS, 500)
    src, _ = make(fake_supabase)
    snap = await src.collect()
    await src.close()
    status = src.status()
    assert status.state is SourceState.DEGRADED
    assert status.detail.startswith("functions: 500 server error")
    assert snap.value("fn.error_rate_pct") is None and "functions: 500" in snap.samples["fn.error_rate_pct"].note
    assert snap.value("backup.age_h") is not None  # the rest keeps working


async def test_analytics_error_in_combined_stats(fake_supabase: FakeSupabase) -> None:
    fake_supabase.analytics_error(COMBINED_STATS, form="string", times=3)
    src, _ = make(fake_supabase)
    snap = await src.collect()
    await src.close()
    assert src.status().state is SourceState.DEGRADED
    assert "Unrecognized name" in src.status().detail
    assert snap.value("fn.invocations_per_min") is None


async def test_everything_timing_out_is_down_and_bounded(fake_supabase: FakeSupabase) -> None:
    for path in (FUNCTIONS, LOGS_ALL, API_COUNTS, BACKUPS, "/v1/projects/{ref}/config/disk/util"):
        fake_supabase.delay(path, 3.0)
    src, _ = make(fake_supabase, timeout_s=0.3)
    out = in_flight_at_once(src.client)
    snap = await src.collect()
    # Bounded by one timeout, not their sum: the five parts wait at once.
    assert max(out) == 5, out
    assert src.status().state is SourceState.DOWN
    assert "no answer within 0.3s" in src.status().detail
    assert all(s.value is None for s in snap.samples.values())
    await src.close()


async def test_wrong_token_is_down_and_never_shown(fake_supabase: FakeSupabase) -> None:
    bad = "sbp_thisISwrong0000000000000000000000000000"
    src = ManagementMetricsSource(fake_supabase.client(access_token=bad), clock=FixedClock(NOW))
    snap = await src.collect()
    await src.close()
    status = src.status()
    assert status.state is SourceState.DOWN and "401" in status.detail
    assert bad not in status.detail and all(bad not in s.note for s in snap.samples.values())


async def test_p95_rejected_falls_back_and_sticks(fake_supabase: FakeSupabase) -> None:
    rows = edge_rows()

    def store(req: RecordedRequest) -> Reply:
        sql = req.param("sql") or ""
        if "approx_quantiles" in sql:
            return Reply.json({"result": [], "error": "Function not found: approx_quantiles"}, 400)
        return Reply.json({"result": [edge_aggregate(rows, False)], "error": None})

    fake_supabase.route(LOGS_ALL, store)
    src, mono = make(fake_supabase, log_dialect="bigquery", cadence=Cadence(edge_s=1.0))
    snap = await src.collect()
    assert snap.value("api.p95_ms") is None
    assert "rejected the p95 query" in snap.samples["api.p95_ms"].note
    assert snap.value("api.error_rate_pct") == 3.0
    assert src.status().state is SourceState.UP
    assert len(fake_supabase.requests_to(LOGS_ALL)) == 2
    mono.t += 1.0
    await src.collect()
    assert len(fake_supabase.requests_to(LOGS_ALL)) == 3  # sticks to the working query
    await src.close()


async def test_clickhouse_project_is_detected(fake_supabase: FakeSupabase) -> None:
    rows = edge_rows()
    fake_supabase.route(LOGS_ALL, lambda req: Reply.json({"result": [], "error": {"code": 400, "message": "Table edge_logs not found", "errors": [], "status": "INVALID_ARGUMENT"}}, 400))

    def clickhouse(req: RecordedRequest) -> Reply:
        sql = req.param("sql") or ""
        assert "count(*)" not in sql and "source = 'edge_logs'" in sql and "limit" in sql
        agg = edge_aggregate(rows, "p95_ms" in sql)
        return Reply.json({"result": [{k: (str(v) if k != "p95_ms" else v) for k, v in agg.items()}], "error": None})

    fake_supabase.route(LOGS_CLICKHOUSE, clickhouse)
    src, _ = make(fake_supabase)
    snap = await src.collect()
    await src.close()
    assert log_endpoint.current(src.client) == "clickhouse"
    assert not fake_supabase.requests_to(LOGS_ALL), "ClickHouse first: logs.all is never asked"
    assert snap.value("api.requests_per_min") == 20.0 and snap.value("api.p95_ms") == 95.0


async def test_usage_counts_fill_volume_when_edge_logs_fail(fake_supabase: FakeSupabase) -> None:
    fake_supabase.server_error(LOGS_ALL, 500, times=None)
    src, _ = make(fake_supabase, log_dialect="bigquery")
    snap = await src.collect()
    await src.close()
    # The 09:00 bucket is still running at 09:05, so the complete 08:00 bucket counts.
    row = fixture("usage_api_counts.json")["result"][0]
    total = sum(row[k] for k in ("total_auth_requests", "total_rest_requests", "total_storage_requests", "total_realtime_requests"))
    assert snap.value("api.requests_per_min") == pytest.approx(total / 60, abs=0.01)
    assert "08:00 UTC bucket" in snap.samples["api.requests_per_min"].note
    assert snap.value("api.error_rate_pct") is None


async def test_backups_newest_failed_and_none_completed(fake_supabase: FakeSupabase) -> None:
    body = fixture("backups_list.json")
    body["backups"].append({"id": 1, "inserted_at": "2026-06-11T03:00:00.000Z", "is_physical_backup": True, "status": "FAILED"})
    fake_supabase.route(BACKUPS, lambda req: Reply.json(body))
    src, mono = make(fake_supabase, cadence=Cadence(backups_s=1.0))
    snap = await src.collect()
    assert "newest backup FAILED" in snap.samples["backup.age_h"].note
    none_ok = dict(body, backups=[b for b in body["backups"] if b["status"] != "COMPLETED"])
    fake_supabase.route(BACKUPS, lambda req: Reply.json(none_ok))
    mono.t += 1.0
    snap = await src.collect()
    await src.close()
    assert snap.value("backup.age_h") is None and snap.samples["backup.age_h"].note == "no completed backup listed"


async def test_a_slow_part_is_cut_at_its_deadline(fake_supabase: FakeSupabase) -> None:
    # The stats calls would answer within the request timeout (a minute away), one after
    # another: only the part's deadline can end the part.
    fake_supabase.delay(COMBINED_STATS, 60.0, times=3)
    src = ManagementMetricsSource(
        fake_supabase.client(timeout_s=120.0), clock=FixedClock(NOW), monotonic=Mono(), part_deadline_s=0.4, max_parallel_stats=1,
    )
    snap = await asyncio.wait_for(src.collect(), 30)  # a hang guard: the deadline is 0.4 s, without it 3 min
    await src.close()
    assert len(fake_supabase.requests_to(COMBINED_STATS)) == 1  # one at a time, and the first never finished
    assert "functions: not done within 0.4s" in src.status().detail
    assert snap.value("fn.invocations_per_min") is None
    assert snap.value("backup.age_h") is not None
