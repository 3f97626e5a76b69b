"""Demo log sources: shapes, determinism, history speed and order, follow mode, and scenario content."""

from __future__ import annotations

import asyncio
import re
from datetime import datetime, timedelta, timezone

import pytest

from cs_console.backends.demo.log_source import DemoLogSource
from cs_console.backends.demo.model.project import DemoProject
from cs_console.domain.log_record import Level, LogRecord

ANCHOR = datetime(2026, 6, 10, 14, 30, tzinfo=timezone.utc)
SOURCES = ("function", "edge", "auth", "postgres", "all")


def project(scenario: str = "calm", seed: int = 7, *, one_shot: bool = True) -> DemoProject:
    return DemoProject(scenario, seed, one_shot=one_shot, anchor=ANCHOR, real_time=False)


async def history(p: DemoProject, source: str, minutes: float) -> list[LogRecord]:
    src = DemoLogSource(p, source)
    out: list[LogRecord] = []
    async for batch in src.records(p.now() - timedelta(minutes=minutes), False):
        assert batch, "no empty batches"
        out.extend(batch)
    return out


def fingerprint(records: list[LogRecord]) -> list[tuple]:
    return [(r.ts, r.level, r.source, r.function, r.status, r.request_id, r.id, r.message) for r in records]


@pytest.mark.parametrize("source", SOURCES)
async def test_records_are_well_formed(source: str) -> None:
    p = project("security-breach" if source == "auth" else "connection-exhaustion")
    records = await history(p, source, 5)
    assert records
    start, end = p.now() - timedelta(minutes=5), p.now()
    ids = set()
    previous = None
    for r in records:
        assert r.ts.tzinfo is not None and r.ts.utcoffset() == timedelta(0)
        assert start <= r.ts < end
        assert previous is None or r.ts >= previous
        previous = r.ts
        assert isinstance(r.level, Level) and r.message and r.id and r.id not in ids
        ids.add(r.id)
        # (was `id == and ts == or ts close`: a wrong id passed when the timestamps were close)
        assert r.raw["id"] == r.id and abs(r.raw["timestamp"] - r.ts.timestamp() * 1_000_000) < 2
        assert "event_message" in r.raw
        if source != "all":
            assert r.source == source


async def test_function_records_carry_the_function_and_supabase_fields() -> None:
    records = await history(project(), "function", 3)
    invocations = [r for r in records if "execution_time_ms" in r.raw]
    console = [r for r in records if "event_type" in r.raw]
    assert invocations and console
    assert {r.function for r in records} >= {"monitor-keywords", "process-conversations", "send-alerts", "sync-integrations"}
    inv = invocations[0]
    assert set(inv.raw) >= {"status_code", "method", "pathname", "function_id", "execution_id", "deployment_id", "version"}
    assert inv.raw["pathname"].endswith("/" + inv.function) and inv.status == inv.raw["status_code"]
    line = console[0]
    assert set(line.raw) >= {"event_type", "function_id", "execution_id", "level"}
    assert any(c.request_id == i.request_id for c in console for i in invocations)
    rate = len(records) / 180.0
    assert 4.0 <= rate <= 25.0, rate


async def test_edge_auth_postgres_shapes() -> None:
    p = project("security-breach")
    edge = await history(p, "edge", 2)
    r = edge[0]
    assert re.match(r"^(GET|POST|PATCH|DELETE|PUT) \| \d{3} \| [\d.]+ \| [0-9a-f]{16} \| https://\S+ \| .+$", r.message)
    assert {"method", "path", "search", "status_code", "origin_time", "x_real_ip"} <= set(r.raw)
    auth = await history(p, "auth", 2)
    a = next(x for x in auth if x.status == 400)
    assert a.level is Level.WARN and a.raw["status"] == "400" and a.raw["msg"] and a.raw["remote_addr"]
    assert any(x.raw["path"] == "/token" for x in auth)
    pg = await history(project("connection-exhaustion"), "postgres", 2)
    assert all(x.raw["error_severity"] in {"LOG", "WARNING", "ERROR", "FATAL", "PANIC"} for x in pg)
    assert any(x.level is Level.FATAL for x in pg)


async def test_same_seed_same_logs_and_different_seed_differs() -> None:
    a = await history(project("function-failures", 7), "all", 3)
    b = await history(project("function-failures", 7), "all", 3)
    c = await history(project("function-failures", 8), "all", 3)
    assert fingerprint(a) == fingerprint(b)
    assert [r.raw for r in a] == [r.raw for r in b]
    assert fingerprint(a) != fingerprint(c)


async def test_windows_are_consistent_whatever_the_split() -> None:
    p = project("traffic-spike")
    src = DemoLogSource(p, "all", batch_s=7)
    now = int(p.clock.epoch())
    whole = src.window(now - 120, now)
    parts = src.window(now - 120, now - 50) + src.window(now - 50, now)
    assert fingerprint(whole) == fingerprint(parts)


async def test_an_hour_of_all_sources_is_generated() -> None:
    # How fast (goal < 2 s) is tests/benchmarks/demo_sim.py's figure, not an assertion here.
    records = await history(project("calm"), "all", 60)
    assert len(records) == 62_054  # the seeded demo's hour, the same on every run


async def test_history_ends_without_follow_and_future_since_is_empty() -> None:
    p = project()
    src = DemoLogSource(p, "edge")
    batches = [b async for b in src.records(p.now() + timedelta(minutes=5), False)]
    assert batches == []
    assert [b async for b in DemoLogSource(p, "postgres").records(None, False)]  # default: the last 15 minutes
    assert src.lag_seconds() is not None and src.lag_seconds() < 1.0


async def test_follow_yields_new_records_as_the_clock_moves() -> None:
    p = project("connection-exhaustion", one_shot=False)
    src = DemoLogSource(p, "all", poll_s=0.01)
    since = p.now() - timedelta(seconds=30)
    seen: list[LogRecord] = []

    async def consume() -> None:
        async for batch in src.records(since, True):
            seen.extend(batch)

    task = asyncio.create_task(consume())
    try:
        for _ in range(1000):  # until the 30 s of backlog are out (the simulated clock stands still)
            if seen and (src.lag_seconds() or 0.0) < 1.0:
                break
            await asyncio.sleep(0.01)
        caught_up = len(seen)
        assert caught_up > 0 and src.lag_seconds() is not None and src.lag_seconds() < 1.0
        last = seen[-1].ts
        p.clock.advance(10.0)
        for _ in range(100):
            await asyncio.sleep(0.02)
            if len(seen) > caught_up and seen[-1].ts >= last + timedelta(seconds=8):
                break
        assert len(seen) > caught_up
        new = seen[caught_up:]
        assert all(r.ts > last for r in new) and new[-1].ts < p.now()
        assert len({r.id for r in seen}) == len(seen)  # nothing emitted twice
        # the leak has begun: the worker's sessions show up as it unfolds
        p.clock.advance(60.0)
        for _ in range(200):
            await asyncio.sleep(0.02)
            if any("remaining connection slots" in r.message for r in seen):
                break
        assert any("remaining connection slots" in r.message for r in seen)
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task


async def test_connection_exhaustion_logs() -> None:
    records = await history(project("connection-exhaustion"), "all", 3)
    messages = [r.message for r in records]
    assert sum("remaining connection slots are reserved" in m for m in messages) == 627  # seeded: the same on every run
    assert any("sorry, too many clients already" in m for m in messages)
    assert any("still waiting for ShareLock" in m for m in messages)
    fn = [r for r in records if r.source == "function" and r.level >= Level.ERROR]
    assert any("connection timeout" in r.message for r in fn) and any("remaining connection slots" in r.message for r in fn)
    assert any(r.source == "edge" and r.status == 504 for r in records)


async def test_function_failures_logs() -> None:
    records = await history(project("function-failures"), "function", 3)
    bad = [r for r in records if r.function == "process-conversations"]
    assert any(r.raw.get("event_type") == "UncaughtException" and "TypeError" in r.message for r in bad)
    assert any("timed out" in r.message for r in bad)
    statuses = [r.status for r in bad if r.status is not None]
    assert (sum(s >= 500 for s in statuses), len(statuses)) == (150, 429)  # 35 % 5xx, seeded
    assert all(r.raw["version"] == "58" for r in bad if "version" in r.raw)


async def test_traffic_spike_logs() -> None:
    p = project("traffic-spike")
    before = await history(p, "edge", 1)
    assert sum(r.raw["x_real_ip"] == "203.0.113.50" for r in before) > len(before) / 2
    p.enable_rate_limiting()
    p.clock.advance(61.0)
    after = await history(p, "edge", 1)
    assert sum(r.status == 429 for r in after) == 1840  # seeded


async def test_security_breach_logs_and_containment() -> None:
    p = project("security-breach")
    auth = await history(p, "auth", 2)
    stuffing = [r for r in auth if "Invalid login credentials" in r.message]
    assert len(stuffing) == 684  # seeded
    assert {r.raw["remote_addr"] for r in stuffing} >= {"203.0.113.77", "198.51.100.23"}
    edge = await history(p, "edge", 2)
    assert any(r.raw.get("apikey_role") == "service_role" and r.raw["x_real_ip"] == "198.51.100.201" for r in edge)
    assert any("/rest/v1/conversations" in r.raw["path"] and "limit=1000" in r.raw["search"] for r in edge)

    p.ban_user("dana.whitfield@brightpath.health", "24h")
    p.enable_captcha()
    p.clock.advance(60.0)
    auth = await history(p, "auth", 1)
    assert any("User is banned" in r.message for r in auth)
    assert any("captcha" in r.message for r in auth)
    p.clock.advance(300.0)
    auth = await history(p, "auth", 1)
    assert sum(r.raw["remote_addr"] in {"203.0.113.77", "198.51.100.23"} for r in auth) == 0
    edge = await history(p, "edge", 1)
    assert not any("limit=1000&offset" in r.raw["search"] for r in edge)


async def test_actions_show_in_postgres_logs() -> None:
    p = project("connection-exhaustion")
    pid = next(b.pid for b in p.list_backends() if b.state == "idle in transaction")
    p.terminate_backend(pid)
    p.vacuum_analyze("signal_queue")
    p.clock.advance(2.0)
    pg = await history(p, "postgres", 0.1)
    assert any(r.message == "terminating connection due to administrator command" and r.raw["process_id"] == pid for r in pg)
    assert any("VACUUM (ANALYZE) public.signal_queue" in r.message for r in pg)
