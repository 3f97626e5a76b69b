"""The team store blinks; nothing typed is lost (real PostgreSQL, stopped and started)."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from cs_console.domain.incidents import EventType, Severity, Status
from cs_console.domain.incidents.errors import QueuedForSync
from cs_console.services.incidents import IncidentService
from cs_console.stores.incident_outbox import IncidentOutbox
from cs_console.stores.incident_store_pg import PgIncidentStore

pytestmark = pytest.mark.postgres


async def console(dsn: str, actor: str, state: Path | None = None) -> IncidentService:
    outbox = IncidentOutbox(state, "team") if state is not None else None
    return IncidentService(await PgIncidentStore.connect(dsn), actor=actor, environment="PRODUCTION", outbox=outbox)


def notes(events) -> list[str]:  # noqa: ANN001
    return [e.data["text"] for e in events if e.type is EventType.NOTE]


async def eventually(check, timeout: float = 10.0) -> float:  # noqa: ANN001
    start = time.monotonic()
    while not await check():
        if time.monotonic() - start > timeout:
            raise AssertionError("not in time")
        await asyncio.sleep(0.05)
    return time.monotonic() - start


async def test_a_note_typed_during_an_outage_is_kept_and_synced_once(pg_factory, tmp_path: Path) -> None:
    server = pg_factory()
    alice = await console(server.dsn, "alice", tmp_path)
    bob = await console(server.dsn, "bob")
    inc = await alice.open(title="db blinks", severity=Severity.P1)
    heard: list[str | None] = []
    unsubscribe = await bob.subscribe(lambda ref: heard.append(ref))
    server.stop()
    with pytest.raises(QueuedForSync, match="1 note waiting to sync"):
        await alice.add_note(inc.ref, "restarted pgbouncer at 04:10")
    with pytest.raises(QueuedForSync, match="2 notes waiting to sync"):
        await alice.add_note(inc.ref, "second, in order")
    assert alice.outbox_summary() == "2 notes waiting to sync"
    assert "restarted pgbouncer" in (tmp_path / "outbox" / "team.jsonl").read_text()

    server.start()
    returned = time.monotonic()

    async def synced() -> bool:
        try:
            return notes((await bob.get(inc.ref)).events) == ["restarted pgbouncer at 04:10", "second, in order"]
        except Exception:
            return False

    await eventually(synced)
    assert time.monotonic() - returned < 5
    assert alice.outbox_summary() == ""
    # bob's live updates came back by themselves, within 2 s of the server's return
    heard.clear()
    await alice.add_note(inc.ref, "after")
    took = await eventually(lambda: asyncio.sleep(0, result=inc.ref in heard), timeout=5)
    assert took < 2
    assert notes((await bob.get(inc.ref)).events).count("restarted pgbouncer at 04:10") == 1
    await unsubscribe()
    for svc in (alice, bob):
        await svc.close()


async def test_a_sync_whose_answer_was_lost_is_not_written_twice(pg, tmp_path: Path) -> None:
    name = f"team_ob_{int(time.time() * 1000) % 10**9}"
    pg.psql(f"CREATE DATABASE {name}")
    alice = await console(pg.dsn_for(name), "alice", tmp_path)
    inc = await alice.open(title="lost ack", severity=Severity.P2)
    entry = {"id": "c0ffee" * 5, "ref": inc.ref, "action": "note", "args": {"text": "once"}, "at": "2026-12-03T04:00:00.000000Z", "actor": "alice"}
    alice.outbox.add(entry)
    # the first sync committed, then the link dropped before the answer came back
    await alice._apply(inc.ref, "note", entry["args"], entry["id"], inc.declared_at, "alice")
    assert await alice.flush_outbox() == 0
    assert notes((await alice.get(inc.ref)).events) == ["once"]
    assert alice.outbox.pending() == []
    await alice.close()


async def test_a_queued_change_the_store_refuses_later_is_kept_with_the_reason(pg_factory, tmp_path: Path) -> None:
    server = pg_factory()
    alice = await console(server.dsn, "alice", tmp_path)
    bob = await console(server.dsn, "bob")
    inc = await alice.open(title="raced", severity=Severity.P2)
    await bob.acknowledge(inc.ref)
    await bob.set_status(inc.ref, Status.INVESTIGATING)
    server.stop()
    with pytest.raises(QueuedForSync):
        await alice.set_status(inc.ref, Status.INVESTIGATING, reason="looking")  # bob already did
    server.start()
    await eventually(lambda: asyncio.sleep(0, result=not alice.outbox.pending()))
    assert "refused when synced" in alice.outbox_summary()
    [kept] = alice.outbox.rejected()
    assert kept["args"]["reason"] == "looking" and kept["reason"]
    for svc in (alice, bob):
        await svc.close()


async def test_what_waits_when_the_console_exits_syncs_in_the_next_session(pg_factory, tmp_path: Path) -> None:
    server = pg_factory()
    alice = await console(server.dsn, "alice", tmp_path)
    inc = await alice.open(title="quit mid-outage", severity=Severity.P3)
    server.stop()
    with pytest.raises(QueuedForSync):
        await alice.add_note(inc.ref, "typed before quitting")
    await alice.close()
    server.start()
    again = await console(server.dsn, "alice", tmp_path)
    unsubscribe = await again.subscribe(lambda ref: None)
    await eventually(lambda: asyncio.sleep(0, result=again.outbox_summary() == ""))
    assert notes((await again.get(inc.ref)).events) == ["typed before quitting"]
    await unsubscribe()
    await again.close()
