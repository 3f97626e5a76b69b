"""The drain's figures: accepted events/s on one core, POST -> pane lag, bytes/event, logs-endpoint requests/hour.

    python -m tests.benchmarks.drain [--events 50000] [--lag-seconds 20]

1. Throughput: `cs-console drain serve` in its own process pinned to one CPU
   (local ring, fsync per batch, on the state dir's disk), a sender pinned to
   the other posting gzip'd batches of 250 real-shaped events
   (tests/drain_sender.py) on 8 connections. Prints events/s wall clock and
   per CPU second of the receiver (the one-core figure, free of the sender).
2. Lag: the sender posts 2,000 events/s (8 batches of 250 a second, as the
   platform would at that rate); the Logs pane (headless Textual, source
   `drain`) paints; lag = paint time - the time the event's POST started.
3. Storage: ring bytes per event, and team-table bytes per event (a real
   PostgreSQL from tests/pg_server.py, table + indexes).
4. Logs endpoint: requests per hour of a 1-hour live tail, from the polling
   schedule (log_cadence.poll_interval with a fresh budget), and checked
   against the fake for 12 s with and without a drain.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SECRET = "benchmark-secret-0123456789"


def _cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as fh:
        fields = fh.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _start_receiver(state: Path, port: int, cpu: int | None) -> subprocess.Popen:
    from tests.pg_server import listening

    env = {**os.environ, "CS_CONSOLE_DRAIN_SECRET": SECRET, "XDG_STATE_HOME": str(state / "state"),
           "XDG_CONFIG_HOME": str(state / "config"), "PYTHONPATH": str(REPO)}
    cmd = [sys.executable, "-m", "cs_console", "drain", "serve", "--listen", f"127.0.0.1:{port}"]
    if cpu is not None:
        cmd = ["taskset", "-c", str(cpu), *cmd]
    proc = subprocess.Popen(cmd, env=env, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    if not listening(port, 30):
        proc.kill()
        raise SystemExit("the receiver did not start")
    return proc


def _bodies(n_events: int, seed: int) -> list[bytes]:
    from tests.drain_sender import batches, body_of, mixed_events

    return [body_of(chunk)[0] for chunk in batches(mixed_events(n_events, seed=seed))]


async def _post_all(port: int, bodies: list[bytes], connections: int) -> tuple[float, int]:
    import aiohttp

    headers = {"X-Drain-Secret": SECRET, "Content-Type": "application/json", "Content-Encoding": "gzip"}
    queue = list(reversed(bodies))
    ok = 0

    async def worker(session) -> None:
        nonlocal ok
        while queue:
            body = queue.pop()
            async with session.post(f"http://127.0.0.1:{port}/", data=body, headers=headers) as r:
                await r.read()
                ok += r.status == 200

    async with aiohttp.ClientSession() as session:
        started = time.perf_counter()
        await asyncio.gather(*(worker(session) for _ in range(connections)))
        return time.perf_counter() - started, ok


def throughput(n_events: int) -> None:
    from tests.pg_server import free_port

    bodies = _bodies(n_events, seed=11)
    wire = sum(len(b) for b in bodies)
    with tempfile.TemporaryDirectory(prefix="drain-bench-", dir=str(Path.home())) as tmp:
        port = free_port()
        proc = _start_receiver(Path(tmp), port, cpu=0)
        try:
            os.sched_setaffinity(0, {1})
            asyncio.run(_post_all(port, _bodies(500, seed=99), 2))  # warm-up
            cpu0 = _cpu_seconds(proc.pid)
            elapsed, ok = asyncio.run(_post_all(port, bodies, 8))
            cpu = _cpu_seconds(proc.pid) - cpu0
        finally:
            os.sched_setaffinity(0, set(range(os.cpu_count() or 1)))
            proc.terminate()
            proc.wait(10)
        ring = Path(tmp) / "state" / "cs-console" / "drain" / "default"
        stored = sum(p.stat().st_size for p in ring.glob("seg-*.log"))
    events = ok * 250
    print("\n## 1. accepted events/s (receiver on CPU 0, sender on CPU 1, gzip batches of 250, fsync per batch)")
    print(f"batches {ok}/{len(bodies)} answered 200; {events:,} events, {wire / len(bodies) / 1024:.1f} KiB gzip per batch")
    print(f"wall clock: {events / elapsed:,.0f} events/s ({elapsed:.2f} s)")
    print(f"receiver CPU: {cpu:.2f} s -> {events / cpu:,.0f} events per CPU second (goal >= 20,000 on one core)")
    print(f"\n## 3a. storage, local ring: {stored / max(1, n_events + 500):,.0f} bytes/event "
          f"(JSON as received, compact, plus a ~60-byte prefix; {wire / n_events:,.0f} bytes/event gzip'd on the wire)")


def lag(seconds: float) -> None:
    """2,000 events/s into a running receiver; the Logs pane paints them; lag per event."""
    from tests.pg_server import free_port

    with tempfile.TemporaryDirectory(prefix="drain-lag-", dir=str(Path.home())) as tmp:
        port = free_port()
        proc = _start_receiver(Path(tmp), port, cpu=None)
        try:
            lags = asyncio.run(_pane_lag(Path(tmp), port, seconds))
        finally:
            proc.terminate()
            proc.wait(10)
    lags.sort()
    print("\n## 2. POST -> Logs pane lag at 2,000 events/s (8 batches of 250 per second)")
    if not lags:
        print("no events painted")
        return
    print(f"events painted: {len(lags):,}; median {statistics.median(lags):.3f} s, "
          f"p95 {lags[int(len(lags) * 0.95)]:.3f} s, max {lags[-1]:.3f} s (goal: median <= 0.3 s)")


async def _pane_lag(tmp: Path, port: int, seconds: float) -> list[float]:
    from cs_console.services.session import session_from_args
    from cs_console.tui.app import ConsoleApp
    from cs_console.tui.panes.logs import LogsPane
    from cs_console.tui.panes.registry import PANES
    from cs_console.tui import app as app_module
    from cs_console.wiring.live import build_live_environment
    from tests.sessions import session_args

    os.environ["XDG_STATE_HOME"] = str(tmp / "state")
    os.environ["XDG_CONFIG_HOME"] = str(tmp / "config")
    config = tmp / "config.toml"
    config.write_text('[profiles.default]\ndrain = "local"\n')
    config.chmod(0o600)
    app_module.PANES = tuple(spec for spec in PANES if spec.pane_id in ("overview", "logs"))
    session = session_from_args(session_args(config=config))
    env = build_live_environment(session)
    app = ConsoleApp(session, env, initial_pane="logs", pane_options={"source": "drain"}, poll=False)
    sender = subprocess.Popen([sys.executable, "-m", "tests.benchmarks.drain", "--send-rate", str(port), str(seconds)], cwd=REPO,
                              env={**os.environ, "PYTHONPATH": str(REPO)})
    lags: list[float] = []
    async with app.run_test(size=(120, 40)) as pilot:
        pane = app.query_one(LogsPane)
        original_paint, original_append = pane._paint, pane._append
        pending: list = []

        def timed_append(batch) -> None:
            pending.extend(batch)
            original_append(batch)

        def timed_paint() -> None:
            original_paint()  # the rows are on screen from here
            now = time.time()
            for r in pending:
                parts = r.message.split(" sent=", 1)
                if len(parts) == 2:
                    lags.append(now - float(parts[1]))
            pending.clear()

        pane._append = timed_append
        pane._paint = timed_paint
        while sender.poll() is None:
            await pilot.pause(0.1)
        await pilot.pause(1.0)
    return lags


def send_rate(port: int, seconds: float) -> None:
    """(Subprocess) 8 batches of 250 a second; each event says when its POST started."""
    import httpx

    from tests.drain_sender import body_of, mixed_events

    headers = {"X-Drain-Secret": SECRET}
    end = time.time() + seconds
    n = 0
    with httpx.Client(timeout=10) as client:
        tick = time.time()
        while time.time() < end:
            events = mixed_events(250, seed=1000 + n)
            sent = time.time()
            for e in events:
                e["event_message"] = f"bench {n} sent={sent:.6f}"
            data, h = body_of(events)
            client.post(f"http://127.0.0.1:{port}/", content=data, headers={**h, **headers})
            n += 1
            tick += 0.125
            time.sleep(max(0.0, tick - time.time()))


def team_bytes(n_events: int) -> None:
    from cs_console.domain.drain_events import table_of
    from cs_console.stores.drain_team import PgDrainSink
    from tests.drain_sender import batches, mixed_events
    from tests.pg_server import PgServer

    server = PgServer()
    try:
        sink = PgDrainSink(server.dsn, None)

        async def fill() -> None:
            for chunk in batches(mixed_events(n_events, seed=5)):
                await sink.put([(e["id"], table_of(e), e["timestamp"], json.dumps(e, separators=(",", ":"))) for e in chunk])
            await sink.close()

        asyncio.run(fill())
        server.psql("VACUUM ANALYZE cs_console.drain_events")
        size = int(server.psql("SELECT pg_total_relation_size('cs_console.drain_events')").split()[-1])
        print(f"## 3b. storage, team table: {size / n_events:,.0f} bytes/event (heap + TOAST + 4 indexes, {n_events:,} events)")
    finally:
        server.destroy()


def endpoint_requests() -> None:
    from cs_console.backends.supabase.log_cadence import poll_interval
    from cs_console.backends.supabase.rate_budget import RateBudget

    interval = poll_interval(RateBudget(), "logs", 5.0)
    print("\n## 4. logs-endpoint requests per hour of a 1-hour live tail")
    print(f"without a drain: 1 listing + 3600/{interval:g} s polls = {1 + 3600 / interval:,.0f} requests/hour (the 'all' tail: one query per poll for every source)")
    print("with a drain: 0 polls; 1 listing (plus its pages) only when since= reaches before the drain's oldest event")
    polled, drained = asyncio.run(_endpoint_check(12.0))
    print(f"checked against the fake for 12 s at the default 5 s interval: polling tail {polled} requests, drain tail {drained}")


async def _endpoint_check(seconds: float) -> tuple[int, int]:
    from datetime import datetime, timedelta, timezone

    from cs_console.backends.drain.combined import DrainFirstSource
    from cs_console.backends.drain.ring import RingStore
    from cs_console.backends.drain.ring_source import RingLogSource
    from cs_console.backends.supabase import log_endpoint
    from cs_console.backends.supabase.log_source import SupabaseLogHub
    from cs_console.domain.clock import SystemClock
    from cs_console.domain.drain_events import table_of
    from tests.drain_sender import mixed_events
    from tests.fake_supabase import LOGS_CLICKHOUSE, FakeSupabase

    async def run(source, fake) -> int:
        fake.clear_requests()

        async def tail() -> None:
            async for _ in source.records(datetime.now(timezone.utc) - timedelta(minutes=30), True):
                pass

        task = asyncio.create_task(tail())
        await asyncio.sleep(seconds)
        task.cancel()
        return len(fake.requests_to(LOGS_CLICKHOUSE))

    with tempfile.TemporaryDirectory() as tmp, FakeSupabase(mode="2026") as fake:
        ring = RingStore(Path(tmp))
        ring.open()
        events = mixed_events(100, spread_us=3600 * 10**6)  # the drain holds the last hour
        await ring.put([(e["id"], table_of(e), e["timestamp"], json.dumps(e)) for e in events])
        ring.close()
        log_endpoint.forget_all()
        polled = await run(SupabaseLogHub(fake.client(), SystemClock(), interval_s=5.0).source("all"), fake)
        log_endpoint.forget_all()
        hub = SupabaseLogHub(fake.client(), SystemClock(), interval_s=5.0)
        drained = await run(DrainFirstSource(RingLogSource(Path(tmp), "all"), hub.source("all")), fake)
    return polled, drained


def main() -> None:
    if len(sys.argv) == 4 and sys.argv[1] == "--send-rate":
        send_rate(int(sys.argv[2]), float(sys.argv[3]))
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=50_000)
    parser.add_argument("--lag-seconds", type=float, default=20.0)
    args = parser.parse_args()
    throughput(args.events)
    team_bytes(20_000)
    lag(args.lag_seconds)
    endpoint_requests()


if __name__ == "__main__":
    main()
