"""SupabaseClient against the loopback fake: auth, errors, budget, log windows."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cs_console.backends.supabase.errors import (
    AnalyticsError,
    BadResponse,
    NotConfigured,
    RateLimited,
    ServerError,
    Timeout,
    Unauthorized,
    Unreachable,
    safe_detail,
)
from cs_console.backends.supabase.http_client import SupabaseClient, iso_utc
from cs_console.backends.supabase.rate_budget import EndpointClass, Priority, RateBudget, bucket_for
from tests.fake_supabase import (
    API_COUNTS,
    FUNCTIONS,
    HEALTH,
    LOGS_ALL,
    LOGS_CLICKHOUSE,
    METRICS,
    PROJECT,
    FakeSupabase,
    Reply,
)

NOW = datetime(2026, 6, 10, 9, 5, tzinfo=timezone.utc)


async def test_bearer_token_and_fixture_answers(fake_supabase: FakeSupabase) -> None:
    client = fake_supabase.client()
    project = await client.project()
    functions = await client.functions()
    await client.aclose()
    assert project["status"] == "ACTIVE_HEALTHY"
    assert [f["slug"] for f in functions] == ["ingest-signal", "score-customer", "send-digest"]
    req = fake_supabase.requests_to(PROJECT)[0]
    assert req.headers["authorization"] == f"Bearer {fake_supabase.token}"
    assert client.latency_ms("project") is not None


async def test_health_sends_repeated_services_and_timeout(fake_supabase: FakeSupabase) -> None:
    client = fake_supabase.client()
    rows = await client.health(timeout_ms=1500)
    await client.aclose()
    req = fake_supabase.requests_to(HEALTH)[0]
    assert req.query["services"] == ["auth", "rest", "storage", "realtime", "db"]
    assert req.param("timeout_ms") == "1500"
    assert {r["name"]: r["status"] for r in rows}["storage"] == "UNHEALTHY"


async def test_metrics_endpoint_uses_basic_auth(fake_supabase: FakeSupabase) -> None:
    client = fake_supabase.client()
    text = await client.metrics_text()
    await client.aclose()
    assert "node_cpu_seconds_total" in text
    auth = fake_supabase.requests_to(METRICS)[0].headers["authorization"]
    assert auth.startswith("Basic ") and fake_supabase.token not in auth


async def test_wrong_token_is_unauthorized_and_never_echoed(fake_supabase: FakeSupabase) -> None:
    bad = "sbp_WRONGwrongWRONGwrong000000000000000000"
    client = fake_supabase.client(access_token=bad, service_role_key="sb_secret_WRONGkey_123456")
    with pytest.raises(Unauthorized) as info:
        await client.functions()
    with pytest.raises(Unauthorized) as info2:
        await client.metrics_text()
    await client.aclose()
    for exc in (info.value, info2.value):
        text = str(exc)
        assert bad not in text and "WRONGkey" not in text and "\n" not in text
    assert "SUPABASE_ACCESS_TOKEN" in str(info.value)
    assert "SUPABASE_SERVICE_ROLE_KEY" in str(info2.value)


async def test_missing_token_sends_nothing(fake_supabase: FakeSupabase) -> None:
    client = fake_supabase.client(access_token=None)
    with pytest.raises(NotConfigured):
        await client.project()
    assert fake_supabase.requests == []


async def test_server_echoing_the_token_is_redacted(fake_supabase: FakeSupabase) -> None:
    fake_supabase.fail(PROJECT, Reply.json({"message": f"bad header Bearer {fake_supabase.token}\nline two"}, 500))
    client = fake_supabase.client()
    with pytest.raises(ServerError) as info:
        await client.project()
    await client.aclose()
    text = str(info.value)
    assert info.value.status == 500
    assert fake_supabase.token not in text and "\n" not in text and "500" in text


def test_safe_detail_known_shapes() -> None:
    line = safe_detail("k=sb_secret_abcDEF123 jwt=eyJhbGciOi.eyJzdWIi.sig tok sbp_deadbeef\tx", ["custom-secret-value"])
    assert "sb_secret_abc" not in line and "eyJhbG" not in line and "sbp_dead" not in line and "\t" not in line
    assert safe_detail("use custom-secret-value", ["custom-secret-value"]) == "use ***"


async def test_429_blocks_the_class_then_recovers(fake_supabase: FakeSupabase) -> None:
    mono = [100.0]  # the budget's clock: the block runs out when the test says so
    client = fake_supabase.client(budget=RateBudget(clock=lambda: mono[0]))
    fake_supabase.rate_limit(API_COUNTS, reset_s=1)
    with pytest.raises(RateLimited) as info:
        await client.api_counts()
    assert info.value.reset_s == 1 and not info.value.local
    # Blocked locally: nothing is sent while the reset runs.
    with pytest.raises(RateLimited) as info2:
        await client.api_counts()
    assert info2.value.local
    assert len(fake_supabase.requests_to(API_COUNTS)) == 1
    # Supabase counts per endpoint: another logs-class endpoint and a general one go on.
    now = datetime.now(timezone.utc)
    assert await client.query_logs("select id from edge_logs", now - timedelta(minutes=5), now, dialect="bigquery")
    await client.functions()
    mono[0] += 0.9  # not over yet
    with pytest.raises(RateLimited):
        await client.api_counts()
    assert len(fake_supabase.requests_to(API_COUNTS)) == 1
    mono[0] += 0.15
    rows = await client.api_counts()
    await client.aclose()
    assert rows[0]["total_rest_requests"] == 18833


async def test_500_timeout_malformed_and_unreachable(fake_supabase: FakeSupabase) -> None:
    client = fake_supabase.client(timeout_s=0.3)
    fake_supabase.server_error(FUNCTIONS, 503)
    with pytest.raises(ServerError) as info:
        await client.functions()
    assert info.value.status == 503
    fake_supabase.delay(FUNCTIONS, 60.0)  # only the client's 0.3 s timeout can end it
    with pytest.raises(Timeout) as tinfo:
        await asyncio.wait_for(client.functions(), 30)  # a hang guard, not a timing
    assert len(fake_supabase.requests_to(FUNCTIONS)) == 2  # the 503, then one try that timed out
    assert "0.3s" in str(tinfo.value)
    fake_supabase.malformed(FUNCTIONS)
    with pytest.raises(BadResponse):
        await client.functions()
    fake_supabase.fail(FUNCTIONS, Reply.json({"not": "a list"}))
    with pytest.raises(BadResponse):
        await client.functions()
    assert len(await client.functions()) == 3  # back to normal
    await client.aclose()
    gone = SupabaseClient(project_ref=fake_supabase.ref, access_token="sbp_x", management_url="http://127.0.0.1:9", timeout_s=0.5)
    with pytest.raises(Unreachable):
        await gone.project()
    await gone.aclose()


@pytest.mark.parametrize("form,status", [("object", 200), ("string", 200), ("object", 400)])
async def test_error_in_analytics_body_is_a_failure(fake_supabase: FakeSupabase, form: str, status: int) -> None:
    fake_supabase.analytics_error(LOGS_ALL, form=form, status=status)
    client = fake_supabase.client(log_dialect="bigquery")
    with pytest.raises(AnalyticsError) as info:
        await client.query_logs("select levle from edge_logs", NOW - timedelta(hours=1), NOW)
    await client.aclose()
    assert "Unrecognized name: levle" in str(info.value)
    assert info.value.status == status


async def test_query_logs_windows_and_dialects(fake_supabase: FakeSupabase) -> None:
    client = fake_supabase.client(log_dialect="bigquery")
    rows = await client.query_logs("select id, timestamp from function_logs", NOW - timedelta(hours=24), NOW)
    assert len(rows) == 3
    req = fake_supabase.requests_to(LOGS_ALL)[0]
    assert req.param("iso_timestamp_start") == "2026-06-09T09:05:00.000Z"
    assert req.param("iso_timestamp_end") == iso_utc(NOW)
    assert req.param("sql") == "select id, timestamp from function_logs"
    with pytest.raises(ValueError, match="longer than 24 h"):
        await client.query_logs("select 1", NOW - timedelta(hours=24, seconds=1), NOW)
    with pytest.raises(ValueError, match="not after"):
        await client.query_logs("select 1", NOW, NOW)
    with pytest.raises(ValueError, match="timezone"):
        await client.query_logs("select 1", datetime(2026, 6, 10), datetime(2026, 6, 10, 1))
    assert len(fake_supabase.requests_to(LOGS_ALL)) == 1  # bad windows sent nothing

    fake_supabase.route(LOGS_CLICKHOUSE, lambda req: Reply.json({"result": [{"count": 7}], "error": None}))
    rows = await client.query_logs("select count() as count from logs where source = 'edge_logs' limit 1", NOW - timedelta(minutes=5), NOW, dialect="clickhouse")
    assert rows == [{"count": 7}]
    await client.aclose()


async def test_budget_shared_by_two_callers_never_exceeds_30_per_minute(fake_supabase: FakeSupabase) -> None:
    budget = RateBudget()
    tail = fake_supabase.client(budget=budget, log_dialect="bigquery")
    metrics = fake_supabase.client(budget=budget, log_dialect="bigquery")
    now = datetime.now(timezone.utc)

    async def hammer(client: SupabaseClient, priority: Priority, n: int) -> tuple[int, int]:
        ok = refused = 0
        for _ in range(n):
            try:
                await client.query_logs("select id from edge_logs", now - timedelta(minutes=1), now, priority=priority)
                ok += 1
            except RateLimited as exc:
                assert exc.local  # refused by our budget, never by Supabase
                refused += 1
        return ok, refused

    (tail_ok, _), (metrics_ok, _) = await asyncio.gather(hammer(tail, Priority.HIGH, 25), hammer(metrics, Priority.LOW, 25))
    await tail.aclose()
    await metrics.aclose()
    sent = fake_supabase.requests_to(LOGS_ALL)
    assert tail_ok + metrics_ok == len(sent) == 30
    assert all(r.status == 200 for r in sent)
    assert metrics_ok <= 20  # the low-priority caller left the reserve
    assert budget.state("logs.all").used == 30


async def test_remaining_zero_on_success_stops_before_a_429(fake_supabase: FakeSupabase) -> None:
    # Another tool with the same user's token spent the shared limit.
    fake_supabase.fail(API_COUNTS, Reply.json({"result": []}, 200, {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "7"}))
    client = fake_supabase.client()
    assert await client.api_counts() == []
    with pytest.raises(RateLimited) as info:
        await client.api_counts()
    await client.aclose()
    assert info.value.local and 6 <= info.value.reset_s <= 7
    assert info.value.short == "waiting for budget"
    assert len(fake_supabase.requests_to(API_COUNTS)) == 1


async def test_429_with_retry_after_only(fake_supabase: FakeSupabase) -> None:
    fake_supabase.fail(FUNCTIONS, Reply.json({"message": "slow down"}, 429, {"Retry-After": "4"}))
    client = fake_supabase.client()
    with pytest.raises(RateLimited) as info:
        await client.functions()
    await client.aclose()
    assert info.value.reset_s == 4
    assert client.budget.state(bucket_for(FUNCTIONS)).blocked_for_s == pytest.approx(4, abs=0.5)
    assert client.budget.state(bucket_for(HEALTH)).blocked_for_s == 0  # only that endpoint


SECRETS = st.text(alphabet=st.characters(min_codepoint=33, max_codepoint=126), min_size=8, max_size=40)


@settings(max_examples=100, deadline=None)
@given(st.text(max_size=300), SECRETS, st.text(max_size=300))
def test_safe_detail_never_leaks_a_known_secret(before: str, secret: str, after: str) -> None:
    line = safe_detail(before + secret + after, [secret])
    assert secret not in line
    assert all(ch.isprintable() for ch in line)
    assert len(line) <= 200
