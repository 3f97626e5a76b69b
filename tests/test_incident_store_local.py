"""The local store: append-only JSON lines, fsync, torn tails, writers killed mid-write."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from cs_console.domain.clock import FixedClock
from cs_console.domain.incidents import EventType, Severity, Status, UnknownIncident
from cs_console.services.incidents import IncidentService
from cs_console.stores.incident_store_local import LocalIncidentStore, encode_event

ROOT_DIR = Path(__file__).resolve().parent.parent

WRITER = r"""
import asyncio, os, sys, time
sys.path.insert(0, sys.argv[3])
from pathlib import Path
if sys.argv[7] == "slow":
    # A slow device: every write() moves at most 8 KiB, and between two of them the
    # writer waits for the test's go-ahead, so the SIGKILL lands inside an append
    # (what a power cut does to a big write) every time, not by luck.
    _write = os.write
    def _slow_write(fd, data):
        n = _write(fd, bytes(data[:8192]))
        if n < len(data):
            print("W", flush=True)  # a chunk of an append is out, more to come
            sys.stdin.buffer.read(1)
        return n
    os.write = _slow_write
from cs_console.services.incidents import IncidentService
from cs_console.stores.incident_store_local import LocalIncidentStore

async def main(root, ref, payload_kb, tag, count):
    svc = IncidentService(LocalIncidentStore(Path(root)), actor=tag)
    metrics = {f"m{i:06d}": "x" * 100 for i in range(payload_kb * 1024 // 110)}
    n = 0
    while count < 0 or n < count:
        n += 1
        inc = await svc.attach_snapshot(ref, metrics, label=f"{tag}-{n}")
        # Only reported once append() returned, i.e. after fsync.
        print(inc.last_seq, flush=True)

asyncio.run(main(sys.argv[1], sys.argv[2], int(sys.argv[4]), sys.argv[5], int(sys.argv[6])))
"""


def _spawn(root: Path, ref: str, payload_kb: int, tag: str, count: int = -1, *, slow: bool = False) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", WRITER, str(root), ref, str(ROOT_DIR), str(payload_kb), tag, str(count), "slow" if slow else "fast"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )


async def _new_incident(root: Path) -> str:
    svc = IncidentService(LocalIncidentStore(root), actor="alice")
    inc = await svc.open(title="crash test", severity=Severity.P2)
    return inc.ref


def _check_reopened(events, confirmed: int, round_no: int) -> None:
    seqs = [e.seq for e in events]
    assert seqs == list(range(1, len(seqs) + 1))
    assert len(seqs) >= confirmed, f"round {round_no}: fsynced event {confirmed} lost"
    for e in events[1:]:
        assert e.type is EventType.METRIC_SNAPSHOT and len(e.data["metrics"]) > 2000  # whole, not cut


async def test_writer_killed_mid_write_loses_nothing_complete(tmp_path: Path) -> None:
    root = tmp_path / "incidents"
    ref = await _new_incident(root)
    rng = random.Random(5)
    confirmed = 1
    torn_rounds = 0
    # Rounds 0-2: a real single write() killed at a random moment (rarely torn: the
    # kernel finishes most writes). Rounds 3-5: a slow device, killed inside the append.
    for round_no in range(6):
        slow = round_no >= 3
        proc = _spawn(root, ref, payload_kb=512, tag=f"w{round_no}", slow=slow)
        assert proc.stdout is not None
        chunks_before_kill = rng.randint(1, 30)  # of the ~67 chunks of one append
        appended = False
        while True:
            line = proc.stdout.readline().strip()
            assert line, proc.stderr.read() if proc.stderr else ""
            if line.isdigit():
                confirmed = max(confirmed, int(line))
                appended = True
                if not slow:
                    time.sleep(rng.uniform(0.0, 0.05))
                    break
            elif slow:  # "W": a chunk is out; the writer waits for a go-ahead
                if appended:  # the append after a confirmed one is under way
                    chunks_before_kill -= 1
                    if chunks_before_kill == 0:
                        break
                assert proc.stdin is not None
                proc.stdin.write("g")
                proc.stdin.flush()
        os.kill(proc.pid, signal.SIGKILL)
        out, _ = proc.communicate(timeout=30)
        for token in out.split():
            if token.isdigit():
                confirmed = max(confirmed, int(token))
        if not (root / f"{ref}.jsonl").read_bytes().endswith(b"\n"):
            torn_rounds += 1
        # Reopen as a fresh console would.
        fresh = LocalIncidentStore(root)
        _check_reopened(await fresh.load(ref), confirmed, round_no)
        if slow:
            assert any("torn last line skipped" in w for w in fresh.warnings), f"round {round_no}: the kill missed the write"
    assert torn_rounds >= 3
    # The next writer after a crash appends cleanly after whatever was whole.
    svc = IncidentService(LocalIncidentStore(root), actor="bob")
    before = (await svc.get(ref)).last_seq
    inc = await svc.add_note(ref, "after the crashes")
    assert inc.last_seq == before + 1 and inc.events[-1].data["text"] == "after the crashes"
    _check_reopened((await LocalIncidentStore(root).load(ref))[:-1], confirmed, 99)


async def test_torn_last_line_is_skipped_with_a_warning_then_set_aside(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    root = tmp_path / "incidents"
    svc = IncidentService(LocalIncidentStore(root), actor="alice")
    inc = await svc.open(title="torn", severity=Severity.P1)
    for n in range(3):
        inc = await svc.add_note(inc.ref, f"note {n}")
    path = root / f"{inc.ref}.jsonl"
    good = path.read_bytes()
    # What a power cut leaves: the first half of the next line.
    next_line = encode_event(inc.events[-1].placed(5))
    with open(path, "ab") as fh:
        fh.write(next_line[: len(next_line) // 2])
    caplog.set_level(logging.WARNING)
    fresh = LocalIncidentStore(root)
    events = await fresh.load(inc.ref)
    assert [e.seq for e in events] == [1, 2, 3, 4]
    assert any("torn last line skipped" in r.getMessage() for r in caplog.records)
    assert fresh.warnings and "the 4 events before it are intact" in fresh.warnings[0]
    # Appending sets the torn bytes aside and continues at seq 5.
    svc2 = IncidentService(fresh, actor="bob")
    inc = await svc2.add_note(inc.ref, "after the cut")
    assert inc.last_seq == 5
    assert path.read_bytes().startswith(good) and path.read_bytes().endswith(b"\n")
    aside = list(root.glob(f"{inc.ref}.jsonl.torn-*"))
    assert len(aside) == 1 and aside[0].read_bytes() == next_line[: len(next_line) // 2]
    caplog.clear()
    clean = LocalIncidentStore(root)
    assert [e.seq for e in await clean.load(inc.ref)] == [1, 2, 3, 4, 5] and clean.warnings == []


async def test_whole_event_missing_only_its_newline_is_kept(tmp_path: Path) -> None:
    root = tmp_path / "incidents"
    svc = IncidentService(LocalIncidentStore(root), actor="alice")
    inc = await svc.open(title="no newline", severity=Severity.P3)
    path = root / f"{inc.ref}.jsonl"
    note = (await svc.add_note(inc.ref, "whole")).events[-1]
    data = path.read_bytes()
    path.write_bytes(data[:-1])  # cut exactly before the newline
    store = LocalIncidentStore(root)
    assert [e.seq for e in await store.load(inc.ref)] == [1, 2] and store.warnings == []
    inc = await IncidentService(store, actor="bob").add_note(inc.ref, "next")
    assert [e.seq for e in inc.events] == [1, 2, 3] and inc.events[1].id == note.id
    assert all(json.loads(line) for line in path.read_text().splitlines())


async def test_two_processes_appending_to_one_incident_lose_nothing(tmp_path: Path) -> None:
    root = tmp_path / "incidents"
    ref = await _new_incident(root)
    procs = [_spawn(root, ref, payload_kb=1, tag=tag, count=25) for tag in ("a", "b")]
    for p in procs:
        _, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
    events = await LocalIncidentStore(root).load(ref)
    assert [e.seq for e in events] == list(range(1, 52))
    labels = [e.data["label"] for e in events[1:]]
    assert sorted(labels) == sorted([f"a-{n}" for n in range(1, 26)] + [f"b-{n}" for n in range(1, 26)])
    # Each writer's own events stay in its order.
    for tag in ("a", "b"):
        mine = [int(label.split("-")[1]) for label in labels if label.startswith(tag)]
        assert mine == sorted(mine)


async def test_references_are_sequential_per_year_and_unknown_ones_refused(tmp_path: Path) -> None:
    from datetime import datetime, timezone

    clock = FixedClock(datetime(2025, 12, 31, 23, 59, tzinfo=timezone.utc))
    svc = IncidentService(LocalIncidentStore(tmp_path / "i"), clock=clock, actor="a")
    refs = [(await svc.open(title=f"t{n}", severity=Severity.P3)).ref for n in range(3)]
    clock.advance(120)
    refs.append((await svc.open(title="new year", severity=Severity.P3)).ref)
    assert refs == ["INC-2025-0001", "INC-2025-0002", "INC-2025-0003", "INC-2026-0001"]
    with pytest.raises(UnknownIncident, match="no incident INC-2025-0009"):
        await svc.get("INC-2025-0009")
    with pytest.raises(UnknownIncident):
        await svc.add_note("INC-2025-0009", "x")


async def test_index_is_a_cache_rebuilt_from_the_logs(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    root = tmp_path / "i"
    svc = IncidentService(LocalIncidentStore(root), actor="a")
    a = await svc.open(title="a", severity=Severity.P2)
    b = await svc.open(title="b", severity=Severity.P0)
    await svc.set_status(a.ref, Status.INVESTIGATING)
    index = json.loads((root / "index.json").read_text())
    assert index["incidents"][a.ref]["status"] == "investigating"
    assert [i.ref for i in await svc.list()] == [b.ref, a.ref]  # P0 first
    (root / "index.json").write_text("{ torn")
    caplog.set_level(logging.WARNING)
    fresh = IncidentService(LocalIncidentStore(root), actor="a")
    assert [i.ref for i in await fresh.list()] == [b.ref, a.ref]
    assert any("index.json: unreadable" in w for w in fresh.warnings)
    assert json.loads((root / "index.json").read_text())["incidents"][a.ref]["status"] == "investigating"
    assert not list(root.glob(".index.json.*.tmp"))


async def test_local_subscribers_see_other_consoles(tmp_path: Path) -> None:
    root = tmp_path / "i"
    watcher = IncidentService(LocalIncidentStore(root), actor="w")
    writer = IncidentService(LocalIncidentStore(root), actor="x")
    inc = await writer.open(title="watched", severity=Severity.P2)
    seen: list[str | None] = []
    got = asyncio.Event()

    def cb(ref: str | None) -> None:
        seen.append(ref)
        got.set()

    unsubscribe = await watcher.subscribe(cb)
    await writer.add_note(inc.ref, "from another console")
    await asyncio.wait_for(got.wait(), 5)
    assert inc.ref in seen
    await unsubscribe()
