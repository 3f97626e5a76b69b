"""Team mode: the drain in the team PostgreSQL (a real server), NOTIFY-driven tails, 503 while it is down."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

import httpx
import pytest

from cs_console.stores.drain_team import PgDrainSink, PgDrainSource
from cs_console.backends.drain.receiver import DrainReceiver, ReceiverSettings, start_site
from tests.drain_sender import batches, body_of, mixed_events, post_until_killed

pytestmark = pytest.mark.postgres
SECRET = "team-secret-0123456789abcdef"
HEADERS = {"X-Drain-Secret": SECRET}


@pytest.fixture
def team_dsn(pg) -> str:
    name = f"drain_{uuid.uuid4().hex[:10]}"
    pg.psql(f"CREATE DATABASE {name}")
    return pg.dsn_for(name)


async def _post(port: int, events, *, gzipped: bool = True) -> httpx.Response:
    data, h = body_of(events, gzipped=gzipped)
    async with httpx.AsyncClient() as client:
        return await client.post(f"http://127.0.0.1:{port}/", content=data, headers={**h, **HEADERS}, timeout=15)


async def _read(source: PgDrainSource, since=None, tail=None) -> list:
    out = []
    async for batch in source.records(since, False, tail=tail):
        out.extend(batch)
    return out


async def test_batches_land_once_and_two_consoles_tail_them_by_notify(team_dsn: str, monkeypatch: pytest.MonkeyPatch) -> None:
    import cs_console.stores.drain_team as drain_team

    # No safety poll within the test's time: only NOTIFY can wake the readers.
    monkeypatch.setattr(drain_team, "SAFETY_POLL_S", 300.0)
    sink = PgDrainSink(team_dsn, None)
    receiver = DrainReceiver(sink, ReceiverSettings(secret=SECRET))
    runner, port = await start_site(receiver.app(), "127.0.0.1", 0)
    first, second = PgDrainSource(team_dsn, None), PgDrainSource(team_dsn, None, "postgres")
    seen_all: list = []
    seen_pg: list = []

    async def tail(source, into) -> None:
        async for batch in source.records(None, True):
            into.extend(batch)

    tasks = [asyncio.create_task(tail(first, seen_all)), asyncio.create_task(tail(second, seen_pg))]
    try:
        events = mixed_events(600)
        await asyncio.sleep(0.5)  # both are listening
        for chunk in batches(events):
            assert (await _post(port, chunk)).status_code == 200
        posted = time.monotonic()
        while (len(seen_all) < 600 or len(seen_pg) < 120) and time.monotonic() - posted < 60:
            await asyncio.sleep(0.01)
        assert [r.id for r in seen_all] == [e["id"] for e in events]
        assert {r.source for r in seen_pg} == {"postgres"} and len(seen_pg) == 120
        # A retry of a stored batch (the receiver restarted, its memory gone): stored once still.
        fresh = DrainReceiver(sink, ReceiverSettings(secret=SECRET))
        runner2, port2 = await start_site(fresh.app(), "127.0.0.1", 0)
        try:
            assert (await _post(port2, events[:250])).status_code == 200
        finally:
            await runner2.cleanup()
        assert len(await _read(PgDrainSource(team_dsn, None), tail=10_000)) == 600
    finally:
        for t in tasks:
            t.cancel()
        await runner.cleanup()
        await sink.close()


async def test_since_tail_and_retention(team_dsn: str) -> None:
    sink = PgDrainSink(team_dsn, None, retention_hours=1)
    now_us = int(time.time() * 1e6)
    old = mixed_events(10, seed=1, now_us=now_us - 3 * 3600 * 10**6)
    new = mixed_events(30, seed=2, now_us=now_us)
    from cs_console.domain.drain_events import table_of
    import json

    await sink.put([(e["id"], table_of(e), e["timestamp"], json.dumps(e)) for e in old + new])
    since = datetime.now(timezone.utc) - timedelta(hours=1)
    assert [r.id for r in await _read(PgDrainSource(team_dsn, None), since=since)] == [e["id"] for e in new]
    reader = PgDrainSource(team_dsn, None)
    assert reader.quiet_seconds() is None
    assert [r.id for r in await _read(reader, tail=5)] == [e["id"] for e in new[-5:]]
    assert reader.quiet_seconds() is not None and reader.quiet_seconds() < 10  # the newest event is seconds old
    oldest = await PgDrainSource(team_dsn, None).oldest_stored()
    assert oldest is not None and oldest < since
    assert await sink.prune() == 10
    assert len(await _read(PgDrainSource(team_dsn, None), tail=1000)) == 30
    await sink.close()


async def test_team_database_down_is_503_and_both_sides_recover_without_restart(pg_factory) -> None:
    server = pg_factory()
    dsn = server.dsn_for("postgres")
    sink = PgDrainSink(dsn, None)
    receiver = DrainReceiver(sink, ReceiverSettings(secret=SECRET))
    runner, port = await start_site(receiver.app(), "127.0.0.1", 0)
    reader = PgDrainSource(dsn, None)
    seen: list = []

    async def tail() -> None:
        async for batch in reader.records(None, True):
            seen.extend(batch)

    task = asyncio.create_task(tail())
    try:
        before = mixed_events(50, seed=1)
        assert (await _post(port, before)).status_code == 200
        server.stop()
        during = mixed_events(50, seed=2)
        started = time.monotonic()
        r = await _post(port, during)
        assert r.status_code == 503 and r.headers["Retry-After"]
        assert time.monotonic() - started < 5.0, "within the platform's 5 s client timeout (connect timeout 3 s)"
        r = await _post(port, during)  # fast-failing while it is away
        assert r.status_code == 503
        for _ in range(100):
            if reader.status().state.name == "DOWN":
                break
            await asyncio.sleep(0.05)
        assert reader.status().state.name == "DOWN" and "team database" in reader.status().detail
        server.start()
        await asyncio.sleep(1.1)
        r = await _post(port, during)  # the platform's retry
        assert r.status_code == 200 and r.json() == {"accepted": 50, "duplicates": 0}
        for _ in range(400):
            if len(seen) >= 100:
                break
            await asyncio.sleep(0.05)
        assert [x.id for x in seen] == [e["id"] for e in before + during]
        assert reader.status().state.name == "UP"
        assert receiver.rejected[503] == 2
    finally:
        task.cancel()
        await runner.cleanup()
        await sink.close()


def _team_drain_config(team_dsn: str, tmp_path: Path) -> tuple[int, Path, dict[str, str], Path]:
    """A profile whose drain is the team table, on a free loopback port: (port, config, env, repo)."""
    from tests.pg_server import free_port

    repo = Path(__file__).resolve().parents[1]
    port = free_port()
    config = tmp_path / "config.toml"
    config.write_text(f'[profiles.team]\ndrain = "team"\nteam_dsn = "{team_dsn}"\ndrain_listen = "127.0.0.1:{port}"\n')
    config.chmod(0o600)
    return port, config, {**os.environ, "CS_CONSOLE_DRAIN_SECRET": SECRET, "PYTHONPATH": str(repo)}, repo


def _serve(config: Path, env: dict[str, str], repo: Path, port: int) -> subprocess.Popen:
    """`cs-console drain serve` on that profile, listening."""
    from tests.pg_server import listening

    proc = subprocess.Popen([sys.executable, "-m", "cs_console", "--config", str(config), "drain", "serve"],
                            env=env, cwd=repo, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    assert listening(port, 30)
    return proc


def test_drain_serve_store_team_from_the_command_line(team_dsn: str, tmp_path) -> None:
    port, config, env, repo = _team_drain_config(team_dsn, tmp_path)
    proc = _serve(config, env, repo, port)
    try:
        data, h = body_of(mixed_events(30))
        r = httpx.post(f"http://127.0.0.1:{port}/", content=data, headers={**h, **HEADERS}, timeout=15)
        assert r.json() == {"accepted": 30, "duplicates": 0}
        out = subprocess.run([sys.executable, "-m", "cs_console", "--config", str(config), "logs", "--source", "postgres", "--json"],
                             env=env, cwd=repo, capture_output=True, timeout=60)
        assert out.returncode == 0, out.stderr
        assert len(out.stdout.splitlines()) == 6
    finally:
        proc.terminate()
        proc.wait(10)
    err = proc.stderr.read().decode()
    assert "team PostgreSQL (cs_console.drain_events)" in err and SECRET not in err


def test_sigkill_mid_stream_loses_nothing_acknowledged_in_the_team_table(team_dsn: str, tmp_path) -> None:
    import asyncio as aio

    import asyncpg

    port, config, env, repo = _team_drain_config(team_dsn, tmp_path)
    proc = _serve(config, env, repo, port)
    events = mixed_events(250 * 40)
    acknowledged, failed = post_until_killed(port, events, HEADERS, proc, kill_after=250 * 12)
    assert len(acknowledged) >= 250 * 12 and failed > 0

    async def stored() -> list[str]:
        conn = await asyncpg.connect(team_dsn)
        try:
            return [r["id"] for r in await conn.fetch("SELECT id FROM cs_console.drain_events")]
        finally:
            await conn.close()

    ids = aio.run(stored())
    assert set(acknowledged) <= set(ids) and len(ids) == len(set(ids))
    proc = _serve(config, env, repo, port)
    try:
        data, h = body_of(events[:250])
        r = httpx.post(f"http://127.0.0.1:{port}/", content=data, headers={**h, **HEADERS}, timeout=10)
        assert r.status_code == 200  # a retry after the restart: the table keeps one row per id
        after = aio.run(stored())
        assert len(after) == len(set(after)) and set(events[i]["id"] for i in range(250)) <= set(after)
    finally:
        proc.terminate()
        proc.wait(10)
    assert SECRET not in proc.stderr.read().decode()
