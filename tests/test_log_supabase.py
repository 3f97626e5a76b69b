"""Supabase log sources against the loopback fake, in both dialects, with 429s and errors."""

from __future__ import annotations

import asyncio
import json
import re
import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from cs_console.backends.supabase.errors import AnalyticsError
from cs_console.backends.supabase.log_source import SupabaseLogHub
from cs_console.backends.supabase.rate_budget import ClassLimit, EndpointClass, RateBudget
from cs_console.domain.clock import FixedClock
from cs_console.domain.log_buffer import Backfill
from cs_console.domain.log_filter import parse_filter
from cs_console.domain.log_record import Level, LogRecord
from cs_console.domain.sources import SourceState
from tests.fake_supabase import LOGS_ALL, LOGS_CLICKHOUSE, FakeSupabase, RecordedRequest, Reply, parse_iso

NOW = datetime(2026, 6, 10, 9, 30, tzinfo=timezone.utc)
SCORE = "8a2e6b71-1c3d-4f5a-8b9c-0d1e2f3a4b5c"  # score-customer in functions_list.json
INGEST = "3f0c1a52-7d4e-4b8a-9a61-2c5e8f1b7d01"  # ingest-signal


@dataclass
class Row:
    id: str
    table: str
    ts: datetime
    message: str
    attrs: dict[str, Any] = field(default_factory=dict)


class LogStore:
    """The log store behind both endpoints: answers the console's queries from rows.

    It reads what the console's SQL asks for (tables, `timestamp <=` paging
    bound, limit) and answers in each dialect's shape; the window comes from
    iso_timestamp_start/end, widened to whole minutes as Supabase does.
    """

    def __init__(self) -> None:
        self.rows: list[Row] = []
        self.reject_union = False
        self.lock = threading.Lock()
        self.sqls: list[str] = []

    def add(self, table: str, ts: datetime, message: str, **attrs: Any) -> Row:
        with self.lock:
            row = Row(f"{table}-{len(self.rows)}", table, ts, message, attrs)
            self.rows.append(row)
            return row

    def _select(self, req: RecordedRequest, tables: set[str], before: datetime | None) -> tuple[list[Row], Reply | None]:
        start, end = parse_iso(req.param("iso_timestamp_start") or ""), parse_iso(req.param("iso_timestamp_end") or "")
        if end - start > timedelta(hours=24):
            return [], Reply.json({"result": [], "error": {"code": 400, "message": "Timestamp range exceeds 24 hours", "errors": [], "status": "INVALID_ARGUMENT"}}, 400)
        start = start.replace(second=0, microsecond=0)
        if end.second or end.microsecond:
            end = end.replace(second=0, microsecond=0) + timedelta(minutes=1)
        sql = req.param("sql") or ""
        limit = int(re.search(r"limit (\d+)\s*$", sql).group(1))  # type: ignore[union-attr]
        with self.lock:
            self.sqls.append(sql)
            hits = [r for r in self.rows if r.table in tables and start <= r.ts <= end and (before is None or r.ts <= before)]
        hits.sort(key=lambda r: r.ts, reverse=True)
        return hits[:limit], None

    def bigquery(self, req: RecordedRequest) -> Reply:
        sql = req.param("sql") or ""
        if self.reject_union and "union all" in sql:
            return Reply.json({"result": [], "error": {"code": 400, "message": "UNION ALL is not supported", "errors": [], "status": "INVALID_ARGUMENT"}}, 400)
        tables = set(re.findall(r"from (\w+_logs) cross join", sql))
        m = re.search(r"timestamp <= TIMESTAMP\('([^']+)\+00'\)", sql)
        before = datetime.fromisoformat(m.group(1)).replace(tzinfo=timezone.utc) if m else None
        rows, error = self._select(req, tables, before)
        if error:
            return error
        out = []
        for r in rows:
            a = r.attrs
            out.append({
                "id": r.id, "timestamp": int((r.ts - datetime(1970, 1, 1, tzinfo=timezone.utc)) / timedelta(microseconds=1)),
                "event_message": r.message, "source": r.table, "level": a.get("level"), "error_severity": a.get("error_severity"),
                "status_code": None if a.get("status_code") is None else str(a["status_code"]),
                "status": None if a.get("status") is None else str(a["status"]),
                "function_id": a.get("function_id"), "execution_id": a.get("execution_id"), "path": a.get("path"), "event_type": a.get("event_type"),
            })
        return Reply.json({"result": out, "error": None})

    def clickhouse(self, req: RecordedRequest) -> Reply:
        """Like the platform: a listing answers what it selects (plain columns, the
        map only if asked); `id in (...)` fetches are bracketed by time and source."""
        sql = req.param("sql") or ""
        if re.search(r"select \*|count\(\*\)", sql):
            return Reply.json({"result": [], "error": "select * and count(*) are not allowed"}, 400)
        tables = set(re.findall(r"'(\w+_logs)'", sql.split(" from logs where ", 1)[1]))
        ids = re.search(r"\bid in \(([^)]*)\)", sql)
        if ids:
            low, high = (datetime.fromisoformat(t).replace(tzinfo=timezone.utc) for t in re.findall(r"toDateTime64\('([^']+)', 6, 'UTC'\)", sql))
            wanted = set(re.findall(r"'([^']+)'", ids.group(1)))
            with self.lock:
                self.sqls.append(sql)
                hits = [r for r in self.rows if r.id in wanted and r.table in tables and low <= r.ts <= high]
            return Reply.json({"result": [{"id": r.id, "log_attributes": {k: str(v) for k, v in self._ch_map(r).items()}} for r in hits], "error": None})
        m = re.search(r"toDateTime64\('([^']+)', 6, 'UTC'\)", sql)
        before = datetime.fromisoformat(m.group(1)).replace(tzinfo=timezone.utc) if m else None
        rows, error = self._select(req, tables, before)
        if error:
            return error
        out = []
        for r in rows:
            out.append({
                "id": r.id, "timestamp": r.ts.strftime("%Y-%m-%dT%H:%M:%S.%f"), "event_message": r.message, "source": r.table,
                "level": str(r.attrs.get("level") or r.attrs.get("error_severity") or "info").upper(),
            })
        return Reply.json({"result": out, "error": None})

    @staticmethod
    def _ch_map(r: Row) -> dict[str, Any]:
        names = {"status_code": "response.status_code", "path": "request.path", "error_severity": "parsed.error_severity"}
        return {names.get(k, k): v for k, v in r.attrs.items() if v is not None}


def standard_rows(store: LogStore, at: datetime = NOW) -> None:
    m = timedelta(minutes=1)
    store.add("function_logs", at - 50 * m, "scored customer", level="info", function_id=SCORE, execution_id="e1")
    store.add("function_logs", at - 40 * m, "Error: upstream CRM returned 503", level="error", function_id=SCORE, execution_id="e2", event_type="UncaughtException")
    store.add("function_edge_logs", at - 40 * m, "POST | 500 | /functions/v1/score-customer", status_code=500, function_id=SCORE, execution_id="e2", path="/functions/v1/score-customer")
    store.add("function_edge_logs", at - 30 * m, "POST | 200 | /functions/v1/brand-new", status_code=200, function_id="99999999-0000-4000-8000-000000000000", path="/functions/v1/brand-new")
    store.add("edge_logs", at - 20 * m, "GET | 500 | /rest/v1/rpc/customer_score", status_code=500, path="/rest/v1/rpc/customer_score")
    store.add("auth_logs", at - 10 * m, '{"msg":"invalid login"}', level="info", status=400, path="/token")
    store.add("postgres_logs", at - 5 * m, "deadlock detected", error_severity="ERROR")
    store.add("edge_logs", at - 2 * timedelta(hours=1), "too old for the default hour", status_code=200)


@pytest.fixture
def store(fake_supabase: FakeSupabase) -> LogStore:
    s = LogStore()
    fake_supabase.route(LOGS_ALL, s.bigquery)
    fake_supabase.route(LOGS_CLICKHOUSE, s.clickhouse)
    return s


def hub_for(fake: FakeSupabase, *, dialect: str = "auto", clock: Any = None, budget: RateBudget | None = None, **kw: Any) -> SupabaseLogHub:
    client = fake.client(log_dialect=dialect, budget=budget)
    return SupabaseLogHub(client, clock or FixedClock(NOW), **kw)


async def history(hub: SupabaseLogHub, name: str, since: datetime | None = None, **kw: Any) -> list[LogRecord]:
    out: list[LogRecord] = []
    async for batch in hub.source(name).records(since, False, **kw):
        out.extend(batch)
    return out


def log_requests(fake: FakeSupabase) -> list[RecordedRequest]:
    return fake.requests_to(LOGS_ALL) + fake.requests_to(LOGS_CLICKHOUSE)


# ----------------------------------------------------------------- history, both dialects


@pytest.mark.parametrize("dialect", ["bigquery", "clickhouse"])
async def test_history_of_all_sources_in_both_dialects(fake_supabase: FakeSupabase, store: LogStore, dialect: str) -> None:
    standard_rows(store)
    hub = hub_for(fake_supabase, dialect=dialect)
    got = await history(hub, "all")
    if dialect == "clickhouse":
        assert "log_attributes" not in (log_requests(fake_supabase)[0].param("sql") or ""), "the listing reads no map"
        got = await hub.source("all").fetch_details(got)  # what the Logs pane shows
        fake_supabase.requests.pop()  # one more request, counted in its own test
    assert [r.message for r in got] == [
        "scored customer", "Error: upstream CRM returned 503", "POST | 500 | /functions/v1/score-customer",
        "POST | 200 | /functions/v1/brand-new", "GET | 500 | /rest/v1/rpc/customer_score", '{"msg":"invalid login"}', "deadlock detected",
    ]
    assert [(r.source, r.level, r.function, r.status) for r in got] == [
        ("function", Level.INFO, "score-customer", None),
        ("function", Level.ERROR, "score-customer", None),
        ("function", Level.ERROR, "score-customer", 500),
        ("function", Level.INFO, "brand-new", 200),
        ("edge", Level.ERROR, None, 500),
        ("auth", Level.WARN, None, 400),
        ("postgres", Level.ERROR, None, None),
    ]
    assert got[1].request_id == got[2].request_id == "e2"
    assert len(log_requests(fake_supabase)) == 1, "one request serves five tables"
    assert all(r.ts.tzinfo is timezone.utc for r in got)


async def test_dialect_is_detected_and_shared(fake_supabase: FakeSupabase, store: LogStore) -> None:
    standard_rows(store)
    fake_supabase.route(LOGS_ALL, lambda req: Reply.json({"message": "Not Found"}, 404))
    hub = hub_for(fake_supabase)
    got = await history(hub, "edge")
    assert [r.message for r in got] == ["GET | 500 | /rest/v1/rpc/customer_score"]
    assert hub.dialect == "clickhouse" and not fake_supabase.requests_to(LOGS_ALL), "ClickHouse first"
    fake_supabase.clear_requests()
    await history(hub, "auth")
    assert not fake_supabase.requests_to(LOGS_ALL)


async def test_union_rejected_falls_back_to_one_table_per_request(fake_supabase: FakeSupabase, store: LogStore) -> None:
    standard_rows(store)
    store.reject_union = True
    hub = hub_for(fake_supabase, dialect="bigquery")
    got = await history(hub, "function")
    assert len(got) == 4 and hub._union_ok is False
    fake_supabase.clear_requests()
    await history(hub, "function")
    sqls = [r.param("sql") or "" for r in fake_supabase.requests_to(LOGS_ALL)]
    assert len(sqls) == 2 and not any("union all" in s for s in sqls)


async def test_pushdown_narrows_the_query_and_the_filter_still_applies(fake_supabase: FakeSupabase, store: LogStore) -> None:
    standard_rows(store)
    hub = hub_for(fake_supabase, dialect="bigquery")
    source = hub.source("all")
    flt = parse_filter("level=error function=score-customer")
    source.set_pushdown(flt.pushdown(NOW))
    got = []
    async for batch in source.records(None, False):
        got.extend(batch)
    sql = store.sqls[-1]
    assert f"metadata.function_id in ('{SCORE}')" in sql and f"m.function_id in ('{SCORE}')" in sql
    assert "from edge_logs" not in sql and "from auth_logs" not in sql and "from postgres_logs" not in sql
    assert "metadata.level in ('error', 'fatal')" in sql and "response.status_code >= 500" in sql
    m = flt.compile(NOW)
    assert [r.message for r in got if m.match(r)] == ["Error: upstream CRM returned 503", "POST | 500 | /functions/v1/score-customer"]


async def test_long_history_is_read_in_windows_of_at_most_24h(fake_supabase: FakeSupabase, store: LogStore) -> None:
    for hours in range(0, 70, 6):
        store.add("edge_logs", NOW - timedelta(hours=hours, minutes=1), f"h{hours}", status_code=200)
    got = await history(hub_for(fake_supabase, dialect="bigquery"), "edge", NOW - timedelta(days=3))
    assert sorted(r.message for r in got) == sorted(f"h{h}" for h in range(0, 70, 6))
    windows = [(parse_iso(r.param("iso_timestamp_start") or ""), parse_iso(r.param("iso_timestamp_end") or "")) for r in log_requests(fake_supabase)]
    assert len(windows) == 3 and all(end - start <= timedelta(hours=24) for start, end in windows)
    assert min(s for s, _ in windows) == NOW - timedelta(days=3)


async def test_big_history_pages_by_timestamp(fake_supabase: FakeSupabase, store: LogStore) -> None:
    for i in range(250):
        store.add("edge_logs", NOW - timedelta(seconds=10 * i), f"r{i}", status_code=200)
    hub = hub_for(fake_supabase, dialect="clickhouse", page_rows=100)
    got = await history(hub, "edge", tail=220)
    assert len(got) == 220 and len({r.id for r in got}) == 220
    assert got[-1].message == "r0" and got[0].message == "r219"
    assert len(log_requests(fake_supabase)) == 3
    assert "toDateTime64(" in (log_requests(fake_supabase)[-1].param("sql") or "")


async def test_backfill_yields_newest_window_first(fake_supabase: FakeSupabase, store: LogStore) -> None:
    store.add("edge_logs", NOW - timedelta(hours=30), "older day", status_code=200)
    store.add("edge_logs", NOW - timedelta(hours=1), "today", status_code=200)
    batches = []
    async for b in hub_for(fake_supabase, dialect="bigquery").source("edge").records(NOW - timedelta(hours=40), False, backfill=True):
        batches.append(b)
    assert [[r.message for r in b] for b in batches] == [["today"], ["older day"]]
    assert not isinstance(batches[0], Backfill) and isinstance(batches[1], Backfill)


async def test_history_errors_surface_without_follow(fake_supabase: FakeSupabase, store: LogStore) -> None:
    fake_supabase.analytics_error(LOGS_ALL, status=400)
    hub = hub_for(fake_supabase, dialect="bigquery")
    with pytest.raises(AnalyticsError, match="Unrecognized name"):
        await history(hub, "edge")
    assert hub.tracker.status().state is SourceState.DEGRADED


# ----------------------------------------------------------------- following


class Clock:
    def __init__(self, at: datetime) -> None:
        self.at = at

    def now(self) -> datetime:
        return self.at


async def eventually(check: Any, timeout: float = 15.0) -> None:
    """Wait for a condition (the machine may be slow: no fixed sleeps)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not check():
        if loop.time() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.02)


def polled(fake: FakeSupabase) -> Any:
    return lambda: any(r.status == 200 for r in log_requests(fake))


async def stop(it: Any, *tasks: "asyncio.Task[Any]") -> None:
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    await it.aclose()


async def take(it: Any, n: int, timeout: float = 10.0) -> list[LogRecord]:
    got: list[LogRecord] = []

    async def run() -> None:
        while len(got) < n:
            got.extend(await it.__anext__())

    await asyncio.wait_for(run(), timeout)
    return got


async def test_follow_dedupes_over_overlapping_windows(fake_supabase: FakeSupabase, store: LogStore) -> None:
    clock = Clock(NOW)
    hub = hub_for(fake_supabase, dialect="bigquery", clock=clock, interval_s=0.05)
    source = hub.source("edge")
    store.add("edge_logs", NOW - timedelta(seconds=20), "before start", status_code=200)
    it = source.records(NOW - timedelta(minutes=5), True)
    try:
        assert [r.message for r in await take(it, 1)] == ["before start"]
        for i in range(5):
            clock.at += timedelta(seconds=5)
            store.add("edge_logs", clock.at - timedelta(seconds=1), f"live {i}", status_code=200)
        got = await take(it, 5)
        clock.at += timedelta(seconds=5)
        # arrives late: stamped before the newest record, inside the overlap
        store.add("edge_logs", clock.at - timedelta(seconds=12), "late arrival", status_code=503)
        got += await take(it, 1)
        polls = len(log_requests(fake_supabase))
        await eventually(lambda: len(log_requests(fake_supabase)) >= polls + 5)  # several more polls over the same rows
        assert [r.message for r in got] == [f"live {i}" for i in range(5)] + ["late arrival"]
        assert got[-1].level is Level.ERROR
        assert len(log_requests(fake_supabase)) > 4
        windows = [(parse_iso(r.param("iso_timestamp_start") or ""), parse_iso(r.param("iso_timestamp_end") or "")) for r in log_requests(fake_supabase)[1:]]
        assert all(end - start < timedelta(minutes=2) for start, end in windows), "follow reads short overlapping windows"
        assert source.lag_seconds() is not None and source.lag_seconds() < 1.0
    finally:
        await it.aclose()
    assert hub._task is None, "the poller stops with its last follower"


async def test_two_followers_share_one_request_per_poll(fake_supabase: FakeSupabase, store: LogStore) -> None:
    clock = Clock(NOW)
    hub = hub_for(fake_supabase, dialect="clickhouse", clock=clock, interval_s=0.05)
    a = hub.source("function").records(NOW, True)
    b = hub.source("auth").records(NOW, True)
    try:
        first_a = asyncio.create_task(take(a, 1, timeout=20))
        first_b = asyncio.create_task(take(b, 1, timeout=20))
        # Both followers are in: a poll that reads both tables (then every poll does).
        await eventually(lambda: any("'function_logs'" in (r.param("sql") or "") and "'auth_logs'" in (r.param("sql") or "")
                                     for r in log_requests(fake_supabase) if r.status == 200))
        fake_supabase.clear_requests()
        clock.at += timedelta(seconds=5)
        store.add("function_logs", clock.at - timedelta(seconds=1), "fn says hi", level="log", function_id=INGEST)
        store.add("auth_logs", clock.at - timedelta(seconds=1), "auth says hi", level="error")
        got_a, got_b = await asyncio.gather(first_a, first_b)
        assert [r.message for r in got_a] == ["fn says hi"]
        assert (await hub.fetch_details(got_a))[0].function == "ingest-signal", "the name comes with the attributes"
        assert [r.message for r in got_b] == ["auth says hi"]
        sql = log_requests(fake_supabase)[0].param("sql") or ""
        assert "'function_logs'" in sql and "'auth_logs'" in sql and "log_attributes" not in sql
    finally:
        await a.aclose()
        await b.aclose()


async def test_follow_waits_out_a_429_and_recovers(fake_supabase: FakeSupabase, store: LogStore) -> None:
    clock = Clock(NOW)
    hub = hub_for(fake_supabase, dialect="bigquery", clock=clock, interval_s=0.05)
    it = hub.source("edge").records(NOW, True)
    try:
        waiter = asyncio.create_task(take(it, 1, timeout=30))
        await eventually(polled(fake_supabase))
        fake_supabase.rate_limit(LOGS_ALL, reset_s=1)
        await eventually(lambda: "429" in hub.tracker.status().detail)
        assert hub.tracker.status().state is SourceState.DEGRADED
        blocked_at = max(r.at for r in fake_supabase.requests_to(LOGS_ALL) if r.status == 429)
        clock.at += timedelta(seconds=5)
        store.add("edge_logs", clock.at - timedelta(seconds=1), "after the limit", status_code=200)
        got = await waiter
        assert [r.message for r in got] == ["after the limit"]
        after = [r.at for r in fake_supabase.requests_to(LOGS_ALL) if r.at > blocked_at]
        assert after and min(after) - blocked_at >= 0.9, "nothing is sent before X-RateLimit-Reset"
        assert hub.tracker.status().state is SourceState.UP
    finally:
        await stop(it, waiter)


async def test_follow_spreads_what_is_left_of_the_budget(fake_supabase: FakeSupabase, store: LogStore) -> None:
    budget = RateBudget({EndpointClass.LOGS: ClassLimit(4, reserve=0), EndpointClass.GENERAL: ClassLimit(120, reserve=0)})
    budget.spend("logs.all")  # another pane already used one
    hub = hub_for(fake_supabase, dialect="bigquery", clock=Clock(NOW), interval_s=0.02, budget=budget)
    it = hub.source("edge").records(NOW, True)
    task = asyncio.create_task(take(it, 1, timeout=60))
    try:
        await eventually(lambda: len(fake_supabase.requests_to(LOGS_ALL)) == 1)
        # Two requests left of four: the poller spreads them over the minute, not 0.02 s apart.
        await eventually(lambda: "logs 2/min" in hub.tracker.status().detail)
        await asyncio.sleep(0.5)
        assert len(fake_supabase.requests_to(LOGS_ALL)) == 1
        assert hub.poll_interval() == pytest.approx(30.0)
        assert budget.state("logs.all").used == 2
        assert budget.state("logs").used == 0, "the /logs endpoint has a budget of its own"
    finally:
        await stop(it, task)


async def test_degraded_quota_slows_the_tail_and_says_so(fake_supabase: FakeSupabase, store: LogStore) -> None:
    # Over its logs quota, the account gets about 10/min; Supabase says so in X-RateLimit-Limit.
    def degraded(req: RecordedRequest) -> Reply:
        reply = store.clickhouse(req)
        reply.headers["X-RateLimit-Limit"] = "10"
        return reply

    fake_supabase.route(LOGS_CLICKHOUSE, degraded)
    hub = hub_for(fake_supabase, clock=Clock(NOW), interval_s=0.02)
    it = hub.source("edge").records(NOW, True)
    task = asyncio.create_task(take(it, 1, timeout=60))
    try:
        await eventually(lambda: "logs 5/min, quota degraded" in hub.tracker.status().detail)
        assert hub.poll_interval() == pytest.approx(12.0)
        assert hub.client.budget.limit("logs").per_window == 10
        assert hub.client.budget.limit("logs.all").per_window == 30, "only the endpoint that said so"
        assert hub.tracker.status().state is SourceState.UP
    finally:
        await stop(it, task)


async def test_follow_reports_server_errors_and_keeps_going(fake_supabase: FakeSupabase, store: LogStore) -> None:
    clock = Clock(NOW)
    hub = hub_for(fake_supabase, dialect="bigquery", clock=clock, interval_s=0.05)
    it = hub.source("postgres").records(NOW, True)
    try:
        waiter = asyncio.create_task(take(it, 1, timeout=30))
        await eventually(polled(fake_supabase))
        fake_supabase.server_error(LOGS_ALL, 503, times=2)
        await eventually(lambda: "503" in hub.tracker.status().detail)
        assert hub.tracker.status().state is SourceState.DOWN
        lag_before = hub.source("postgres").lag_seconds()
        clock.at += timedelta(seconds=30)
        assert lag_before is not None and hub.source("postgres").lag_seconds() == pytest.approx(lag_before + 30), "lag grows while failing"
        store.add("postgres_logs", clock.at - timedelta(seconds=2), "connection reset", error_severity="LOG")
        got = await waiter
        assert [r.message for r in got] == ["connection reset"]
    finally:
        await stop(it, waiter)


# ----------------------------------------------------------------- through the CLI, with a profile


def test_cli_with_a_profile(fake_supabase: FakeSupabase, store: LogStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    from cs_console import cli

    now = datetime.now(timezone.utc)
    standard_rows(store, now)
    config = tmp_path / "config.toml"
    config.write_text(
        "[profiles.prod]\n"
        f'project_ref = "{fake_supabase.ref}"\n'
        f'management_api_url = "{fake_supabase.url}"\n'
        f'project_url = "{fake_supabase.url}"\n'
        'access_token_env = "TEST_SB_TOKEN"\n'
        'log_dialect = "bigquery"\n'
    )
    config.chmod(0o600)
    monkeypatch.setenv("TEST_SB_TOKEN", fake_supabase.token)
    code = cli.main(["logs", "--config", str(config), "--profile", "prod", "--source", "function", "--filter", "level=error function=score-customer", "--since", "1h", "--json"])
    out = capsys.readouterr()
    assert code == 0, out.err
    lines = [json.loads(line) for line in out.out.splitlines()]
    assert [(o["function"], o["level"], o["message"]) for o in lines] == [
        ("score-customer", "error", "Error: upstream CRM returned 503"),
        ("score-customer", "error", "POST | 500 | /functions/v1/score-customer"),
    ]
    code = cli.main(["logs", "--config", str(config), "--profile", "prod", "--source", "all", "--limit", "2", "--json"])
    out = capsys.readouterr()
    assert code == 0 and [json.loads(line)["message"] for line in out.out.splitlines()] == ['{"msg":"invalid login"}', "deadlock detected"]
    fake_supabase.server_error(LOGS_ALL, 500, times=10)
    code = cli.main(["logs", "--config", str(config), "--profile", "prod", "--source", "edge"])
    out = capsys.readouterr()
    assert code == 1 and out.err.startswith("logs: edge: ") and out.err.count("\n") == 1
