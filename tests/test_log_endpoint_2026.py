"""The logs endpoint as the platform has it in December 2026, against the fake's modes.

"2026": `logs.all` is gone (410/404), only the ClickHouse `/logs` answers.
"self-hosted": only `logs.all`. `auto` must work on both, switch at most once,
say so, and never turn Logs or the edge metrics DOWN.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from cs_console.backends.supabase import log_endpoint
from cs_console.backends.supabase.log_source import SupabaseLogHub
from cs_console.backends.supabase.log_sql import DETAIL_IDS_MAX
from cs_console.backends.supabase.management_source import ManagementMetricsSource
from cs_console.domain.clock import FixedClock
from cs_console.domain.log_record import Level, LogRecord
from cs_console.domain.sources import SourceState
from tests.fake_supabase import LOGS_ALL, LOGS_CLICKHOUSE, FakeSupabase, Reply

# The fixtures' records lie between 09:01 and 09:02 on 2026-06-10.
NOW = datetime(2026, 6, 10, 9, 30, tzinfo=timezone.utc)
SINCE = NOW - timedelta(hours=1)


@pytest.fixture(params=[410, 404])
def fake_2026(request: pytest.FixtureRequest) -> Any:
    log_endpoint.forget_all()
    with FakeSupabase(mode="2026", retired_status=request.param) as fake:
        yield fake


@pytest.fixture
def fake_self_hosted() -> Any:
    log_endpoint.forget_all()
    with FakeSupabase(mode="self-hosted") as fake:
        yield fake


async def read_all(hub: SupabaseLogHub, name: str = "all") -> list[LogRecord]:
    out: list[LogRecord] = []
    async for batch in hub.source(name).records(SINCE, False):
        out.extend(batch)
    return out


async def test_2026_logs_and_edge_metrics_work_with_no_down(fake_2026: FakeSupabase) -> None:
    client = fake_2026.client()
    hub = SupabaseLogHub(client, FixedClock(NOW))
    listed = await read_all(hub)
    assert len(listed) == 7
    status = hub.tracker.status()
    assert status.state is SourceState.UP and status.detail.startswith("clickhouse logs") and "logs 12/min" in status.detail
    shown = await hub.source("all").fetch_details(listed)
    by_id = {r.id: r for r in shown}
    assert by_id["7c1e0a9b-8d7f-4e6a-b5c4-d3e2f1a0b9c8"].status == 201
    assert {r.function for r in shown if r.source == "function"} == {"score-customer", "ingest-signal"}
    assert any(r.level is Level.ERROR and r.status == 500 for r in shown), "the 500 in the edge fixture"

    metrics = ManagementMetricsSource(client, clock=FixedClock(NOW))
    snap = await metrics.collect()
    await metrics.close()
    assert metrics.status().state is SourceState.UP, metrics.status()
    assert snap.value("api.requests_per_min") == pytest.approx(len(fake_2026.edge_log_rows) / 5)
    assert not fake_2026.requests_to(LOGS_ALL), "auto goes to /logs first: the retired endpoint is never asked"
    assert all(r.status == 200 for r in fake_2026.requests_to(LOGS_CLICKHOUSE))


async def test_a_profile_that_says_bigquery_is_never_switched(fake_2026: FakeSupabase) -> None:
    hub = SupabaseLogHub(fake_2026.client(log_dialect="bigquery"), FixedClock(NOW))
    with pytest.raises(Exception, match="logs.all"):
        await read_all(hub)
    assert not fake_2026.requests_to(LOGS_CLICKHOUSE)


async def test_self_hosted_switches_once_says_so_and_remembers_per_project(fake_self_hosted: FakeSupabase) -> None:
    hub = SupabaseLogHub(fake_self_hosted.client(), FixedClock(NOW))
    got = await read_all(hub, "edge")
    assert sorted(r.status or 0 for r in got) == [201, 400, 500]  # logs.all rows carry everything: no detail fetch
    assert hub.dialect == "bigquery"
    assert "/logs answered 404: using logs.all (bigquery)" in hub.tracker.status().detail
    assert hub.tracker.status().state is SourceState.UP
    assert await hub.fetch_details(got) == got
    # A new console part on the same project (the metrics, another client) does not ask /logs again.
    metrics = ManagementMetricsSource(fake_self_hosted.client(), clock=FixedClock(NOW))
    await metrics.collect()
    await metrics.close()
    assert metrics.status().state is SourceState.UP and "using logs.all" in metrics.status().detail
    assert len(fake_self_hosted.requests_to(LOGS_CLICKHOUSE)) == 1, "switched once, remembered"


async def test_a_deprecation_body_switches_too(fake_self_hosted: FakeSupabase) -> None:
    fake_self_hosted.route(LOGS_CLICKHOUSE, lambda req: Reply.json({"result": [], "error": "this endpoint is deprecated"}, 200))
    hub = SupabaseLogHub(fake_self_hosted.client(), FixedClock(NOW))
    assert await read_all(hub, "edge")
    assert hub.dialect == "bigquery" and "query error" in hub.tracker.status().detail


async def test_bad_sql_is_not_a_missing_endpoint(fake_2026: FakeSupabase) -> None:
    fake_2026.route(LOGS_CLICKHOUSE, lambda req: Reply.json({"result": [], "error": "Unknown identifier levle"}, 400))
    hub = SupabaseLogHub(fake_2026.client(), FixedClock(NOW))
    with pytest.raises(Exception, match="levle"):
        await read_all(hub, "edge")
    assert hub.dialect == "clickhouse" and not fake_2026.requests_to(LOGS_ALL)


async def test_both_endpoints_failing_is_degraded_not_down_and_does_not_flap(fake_2026: FakeSupabase) -> None:
    fake_2026.server_error(LOGS_CLICKHOUSE, 503, times=None)
    client = fake_2026.client()
    metrics = ManagementMetricsSource(client, clock=FixedClock(NOW))
    await metrics.collect()
    await metrics.close()
    assert metrics.status().state is SourceState.DEGRADED
    hub = SupabaseLogHub(client, FixedClock(NOW))
    hub.source("edge")
    with pytest.raises(Exception):
        await read_all(hub, "edge")
    assert hub.tracker.status().state is SourceState.DEGRADED, hub.tracker.status()
    # One switch (503 on /logs -> logs.all), and no way back and forth after it.
    assert len(fake_2026.requests_to(LOGS_CLICKHOUSE)) == 1


async def test_attributes_only_for_the_shown_rows_bracketed(fake_2026: FakeSupabase) -> None:
    hub = SupabaseLogHub(fake_2026.client(), FixedClock(NOW))
    listed = await read_all(hub)
    listing = fake_2026.requests_to(LOGS_CLICKHOUSE)[-1].param("sql") or ""
    assert listing.startswith("select id, timestamp, event_message, source, severity_text as level from logs")
    assert "log_attributes" not in listing
    shown = [r for r in listed if r.source == "edge"][:2]
    fake_2026.clear_requests()
    await hub.fetch_details(shown)
    (req,) = fake_2026.requests_to(LOGS_CLICKHOUSE)
    sql = req.param("sql") or ""
    assert sql.startswith("select id, log_attributes from logs where source in ('edge_logs') ")
    assert set(re.findall(r"'([0-9a-f-]{36})'", sql)) == {r.id for r in shown}
    low, high = min(r.ts for r in shown), max(r.ts for r in shown)
    assert f"timestamp >= toDateTime64('{low:%Y-%m-%d %H:%M:%S.%f}', 6, 'UTC')" in sql
    assert f"timestamp <= toDateTime64('{high:%Y-%m-%d %H:%M:%S.%f}', 6, 'UTC')" in sql
    assert (req.param("iso_timestamp_start") or "").endswith(":00.000Z"), "the window starts on the endpoint's minute"
    # Already fetched records cost nothing more.
    fake_2026.clear_requests()
    done = await hub.fetch_details(await hub.fetch_details(shown))
    assert len(fake_2026.requests_to(LOGS_CLICKHOUSE)) == 1 and all("log_attributes" in r.raw for r in done)


async def test_a_big_page_is_fetched_in_chunks(fake_2026: FakeSupabase) -> None:
    hub = SupabaseLogHub(fake_2026.client(), FixedClock(NOW))
    one = (await read_all(hub, "edge"))[0]
    many = [LogRecord(ts=one.ts, level=one.level, source=one.source, message=one.message, id=f"id-{i}", raw={**one.raw, "id": f"id-{i}"}) for i in range(DETAIL_IDS_MAX + 1)]
    fake_2026.clear_requests()
    await hub.fetch_details(many)
    assert len(fake_2026.requests_to(LOGS_CLICKHOUSE)) == 2


def test_cheap_rows_take_status_and_function_from_the_message() -> None:
    """A ClickHouse list reads no attributes: an edge 500 is still an error, with its function."""
    from cs_console.domain.log_record import Level
    from cs_console.domain.supabase_log_rows import parse_supabase_row

    at = "2026-12-03T09:34:06.215000"
    edge = parse_supabase_row({"id": "1", "timestamp": at, "source": "edge_logs", "level": "INFO",
                               "event_message": "GET | 500 | 203.0.113.9 | 8e5f | https://ref.supabase.co/rest/v1/t | curl/8"})
    assert (edge.level, edge.status) == (Level.ERROR, 500)
    fn = parse_supabase_row({"id": "2", "timestamp": at, "source": "function_edge_logs", "level": "",
                             "event_message": "POST | 503 | https://ref.supabase.co/functions/v1/monitor-keywords"})
    assert (fn.level, fn.status, fn.function) == (Level.ERROR, 503, "monitor-keywords")
    auth = parse_supabase_row({"id": "3", "timestamp": at, "source": "auth_logs", "level": "info",
                               "event_message": '{"level":"info","msg":"Invalid login credentials","status":400}'})
    assert (auth.level, auth.status) == (Level.WARN, 400)
    plain = parse_supabase_row({"id": "4", "timestamp": at, "source": "edge_logs", "level": "INFO", "event_message": "not the usual layout"})
    assert (plain.level, plain.status) == (Level.INFO, None)
