"""Incident stores: what an append, a load and a list cost, locally and in team mode.

    python -m tests.benchmarks.incident_store [--appends 300] [--events 5000] [--incidents 200]

Local (JSON lines, fsync on every append) in a temporary directory on the same
disk as the state dir; team mode against a throw-away PostgreSQL 15
(tests/pg_server.py; note: it runs with fsync off, so team figures are the
protocol's cost, not the disk's). Two "consoles" are two IncidentServices with
their own connection pools appending notes to one incident at once; every
event must be there afterwards, in one order for both.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from cs_console.domain.incidents import Severity
from cs_console.services.incidents import IncidentService
from cs_console.stores.incident_store_local import LocalIncidentStore


def _ms(values: list[float]) -> str:
    values = sorted(values)
    p95 = values[min(len(values) - 1, int(len(values) * 0.95))]
    return f"p50 {statistics.median(values) * 1000:.2f} ms, p95 {p95 * 1000:.2f} ms"


async def _append_latency(svc: IncidentService, ref: str, n: int) -> list[float]:
    out = []
    for i in range(n):
        t = time.perf_counter()
        await svc.add_note(ref, f"note {i}")
        out.append(time.perf_counter() - t)
    return out


async def _two_consoles(a: IncidentService, b: IncidentService, ref: str, n: int) -> tuple[float, int]:
    async def writer(svc: IncidentService, tag: str) -> None:
        for i in range(n):
            await svc.add_note(ref, f"{tag}-{i}")

    before = (await a.get(ref)).last_seq
    t = time.perf_counter()
    await asyncio.gather(writer(a, "a"), writer(b, "b"))
    elapsed = time.perf_counter() - t
    after_a, after_b = await a.get(ref), await b.get(ref)
    assert [e.id for e in after_a.events] == [e.id for e in after_b.events], "consoles disagree on the order"
    lost = 2 * n - (after_a.last_seq - before)
    return elapsed, lost


async def local(args: argparse.Namespace) -> None:
    root = Path(tempfile.mkdtemp(prefix="cs-inc-bench-"))
    svc = IncidentService(LocalIncidentStore(root), actor="bench")
    inc = await svc.open(title="bench", severity=Severity.P1)
    lat = await _append_latency(svc, inc.ref, args.appends)
    print(f"local  append (read-check-write-fsync, index rename): {_ms(lat)} over {args.appends}")
    big = await svc.open(title="big", severity=Severity.P2)
    lines = [f"event {i}" for i in range(args.events)]
    for text in lines:
        await svc.add_note(big.ref, text)
    t = time.perf_counter()
    events = await LocalIncidentStore(root).load(big.ref)
    cold = time.perf_counter() - t
    t = time.perf_counter()
    await svc.get(big.ref)
    warm = time.perf_counter() - t
    print(f"local  load {len(events)} events: cold {cold * 1000:.1f} ms (parse), warm {warm * 1000:.1f} ms (cached parse + fold)")
    for n in range(args.incidents):
        await svc.open(title=f"list {n}", severity=Severity.P3)
    fresh = IncidentService(LocalIncidentStore(root), actor="bench")
    t = time.perf_counter()
    listed = await fresh.list()
    first = time.perf_counter() - t
    t = time.perf_counter()
    await fresh.list()
    again = time.perf_counter() - t
    print(f"local  list {len(listed)} open incidents: first {first * 1000:.0f} ms, again {again * 1000:.0f} ms")
    b = IncidentService(LocalIncidentStore(root), actor="bench-b")
    elapsed, lost = await _two_consoles(svc, b, inc.ref, 100)
    print(f"local  two consoles x 100 notes on one incident: {200 / elapsed:.0f} events/s, lost {lost}")
    shutil.rmtree(root, ignore_errors=True)


async def team(args: argparse.Namespace) -> None:
    from cs_console.stores.incident_store_pg import PgIncidentStore
    from tests.pg_server import PgServer

    server = PgServer()
    try:
        t = time.perf_counter()
        a = IncidentService(await PgIncidentStore.connect(server.dsn), actor="a")
        print(f"team   connect + create/migrate schema: {(time.perf_counter() - t) * 1000:.0f} ms")
        b = IncidentService(await PgIncidentStore.connect(server.dsn), actor="b")
        inc = await a.open(title="bench", severity=Severity.P1)
        lat = await _append_latency(a, inc.ref, args.appends)
        print(f"team   append (load, decide, locked insert, NOTIFY): {_ms(lat)} over {args.appends}")
        seen: list[str | None] = []
        unsubscribe = await b.subscribe(seen.append)
        t = time.perf_counter()
        await a.add_note(inc.ref, "ping")
        while not seen:
            await asyncio.sleep(0.001)
        print(f"team   NOTIFY seen by the other console after {(time.perf_counter() - t) * 1000:.1f} ms")
        await unsubscribe()
        elapsed, lost = await _two_consoles(a, b, inc.ref, 200)
        print(f"team   two consoles x 200 notes on one incident: {400 / elapsed:.0f} events/s, lost {lost}")
        await a.close()
        await b.close()
    finally:
        server.destroy()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--appends", type=int, default=300)
    parser.add_argument("--events", type=int, default=5000)
    parser.add_argument("--incidents", type=int, default=200)
    parser.add_argument("--skip-team", action="store_true")
    args = parser.parse_args()
    asyncio.run(local(args))
    if not args.skip_team:
        asyncio.run(team(args))


if __name__ == "__main__":
    main()
