"""Team mode against a real PostgreSQL: schema migration, two consoles, LISTEN/NOTIFY."""

from __future__ import annotations

import asyncio
import uuid

import asyncpg
import pytest

from cs_console.domain.incidents import EventType, Severity, Status, StoreUnavailable, TransitionError, UnknownIncident
from cs_console.services.incidents import IncidentService
from cs_console.stores.incident_store_pg import LATEST, PgIncidentStore, migrate

pytestmark = pytest.mark.postgres


@pytest.fixture
def team_dsn(pg) -> str:
    """A fresh database per test: the console creates its schema from nothing."""
    name = f"team_{uuid.uuid4().hex[:10]}"
    pg.psql(f"CREATE DATABASE {name}")
    return pg.dsn_for(name)


async def _console(dsn: str, actor: str) -> IncidentService:
    return IncidentService(await PgIncidentStore.connect(dsn), actor=actor, environment="PRODUCTION")


async def test_schema_created_and_migrated_once(team_dsn: str, pg) -> None:
    a = await _console(team_dsn, "alice")
    b = await _console(team_dsn, "bob")  # second console: nothing to migrate
    db = team_dsn.rsplit("/", 1)[1]
    assert pg.psql("SELECT component || '=' || version FROM cs_console.schema_version", db=db) == f"incidents={LATEST}"
    tables = pg.psql("SELECT string_agg(table_name, ',' ORDER BY table_name) FROM information_schema.tables WHERE table_schema = 'cs_console'", db=db)
    assert tables == "incident_events,incident_ref_counters,incidents,schema_version"
    inc = await a.open(title="x", severity=Severity.P2)
    conn = await asyncpg.connect(team_dsn)
    try:
        for sql in ("UPDATE cs_console.incident_events SET actor = 'mallory'", "DELETE FROM cs_console.incident_events",
                    "TRUNCATE cs_console.incident_events CASCADE"):
            with pytest.raises(asyncpg.RaiseError, match="append-only"):
                await conn.execute(sql)
    finally:
        await conn.close()
    assert (await b.get(inc.ref)).events[0].actor == "alice"
    # A database migrated by a newer console is refused with a clear message.
    pg.psql("UPDATE cs_console.schema_version SET version = 99 WHERE component = 'incidents'", db=db)
    with pytest.raises(StoreUnavailable, match="version 99, newer than this console"):
        await PgIncidentStore.connect(team_dsn)
    for svc in (a, b):
        await svc.close()


async def test_concurrent_migrations_do_not_race(team_dsn: str) -> None:
    conns = [await asyncpg.connect(team_dsn) for _ in range(3)]
    try:
        versions = await asyncio.gather(*(migrate(c) for c in conns))
        assert versions == [LATEST] * 3
    finally:
        for c in conns:
            await c.close()


async def test_two_consoles_concurrent_writers_lose_no_event(team_dsn: str) -> None:
    a = await _console(team_dsn, "alice")
    b = await _console(team_dsn, "bob")
    inc = await a.open(title="API 5xx", severity=Severity.P1)

    async def writer(svc: IncidentService, tag: str) -> None:
        for n in range(40):
            await svc.add_note(inc.ref, f"{tag}-{n}")

    await asyncio.gather(writer(a, "a"), writer(b, "b"), writer(a, "a2"), writer(b, "b2"))
    seen_by_a = await a.get(inc.ref)
    seen_by_b = await b.get(inc.ref)
    assert [e.id for e in seen_by_a.events] == [e.id for e in seen_by_b.events]  # one order for all
    assert [e.seq for e in seen_by_a.events] == list(range(1, 162))
    notes = [e.data["text"] for e in seen_by_a.events if e.type is EventType.NOTE]
    for tag in ("a", "b", "a2", "b2"):
        mine = [t for t in notes if t.rsplit("-", 1)[0] == tag]
        assert mine == [f"{tag}-{n}" for n in range(40)]  # none lost, each writer's order kept
    assert all(x.ts <= y.ts for x, y in zip(seen_by_a.events, seen_by_a.events[1:]))
    for svc in (a, b):
        await svc.close()


async def test_concurrent_status_changes_respect_the_workflow(team_dsn: str) -> None:
    a = await _console(team_dsn, "alice")
    b = await _console(team_dsn, "bob")
    inc = await a.open(title="race", severity=Severity.P2)
    results = await asyncio.gather(
        a.set_status(inc.ref, Status.INVESTIGATING), b.set_status(inc.ref, Status.INVESTIGATING),
        return_exceptions=True,
    )
    # Exactly one wins; the other re-read the incident and was refused by the workflow.
    assert sum(isinstance(r, TransitionError) for r in results) == 1
    final = await b.get(inc.ref)
    assert [e.data["to"] for e in final.events if e.type is EventType.STATUS_CHANGED] == ["investigating"]
    assert len([e for e in final.events if e.type is EventType.ACKNOWLEDGED]) == 1
    for svc in (a, b):
        await svc.close()


async def test_references_allocated_by_the_database(team_dsn: str) -> None:
    consoles = [await _console(team_dsn, f"u{n}") for n in range(3)]
    opened = await asyncio.gather(*(c.open(title=f"t{i}", severity=Severity.P3) for i in range(4) for c in consoles))
    refs = sorted(i.ref for i in opened)
    year = opened[0].declared_at.year
    assert refs == [f"INC-{year}-{n:04d}" for n in range(1, 13)]
    assert [r["ref"] for r in await consoles[0].store.index()] == refs
    with pytest.raises(UnknownIncident):
        await consoles[1].add_note(f"INC-{year}-0999", "x")
    for c in consoles:
        await c.close()


async def test_notify_reaches_the_other_console(team_dsn: str) -> None:
    a = await _console(team_dsn, "alice")
    b = await _console(team_dsn, "bob")
    inc = await a.open(title="live", severity=Severity.P1)
    got: asyncio.Queue[str | None] = asyncio.Queue()
    unsubscribe = await b.subscribe(got.put_nowait)
    await a.add_note(inc.ref, "alice was here")
    ref = await asyncio.wait_for(got.get(), 5)
    assert ref == inc.ref
    assert (await b.get(inc.ref)).events[-1].data["text"] == "alice was here"
    await unsubscribe()
    for svc in (a, b):
        await svc.close()


async def test_listener_reconnects_after_its_connection_is_killed(team_dsn: str, pg) -> None:
    a = await _console(team_dsn, "alice")
    b = await _console(team_dsn, "bob")
    inc = await a.open(title="reconnect", severity=Severity.P2)
    got: asyncio.Queue[str | None] = asyncio.Queue()
    unsubscribe = await b.subscribe(got.put_nowait)
    db = team_dsn.rsplit("/", 1)[1]
    pg.psql(f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{db}' AND query ILIKE 'LISTEN%'")
    # After reconnecting it says "anything may have changed" (None), then live again.
    assert await asyncio.wait_for(got.get(), 10) is None
    assert b.health() == ""
    await a.add_note(inc.ref, "after the reconnect")
    seen = [await asyncio.wait_for(got.get(), 5)]
    while seen[-1] != inc.ref:  # our own reload notices may come first
        seen.append(await asyncio.wait_for(got.get(), 5))
    await unsubscribe()
    for svc in (a, b):
        await svc.close()


async def test_unreachable_team_store_is_one_clear_error(pg_factory) -> None:
    server = pg_factory()
    dsn = server.dsn
    server.stop()
    with pytest.raises(StoreUnavailable, match="team store unavailable"):
        await PgIncidentStore.connect(dsn, timeout=2)


async def test_database_going_away_mid_session_is_reported_not_raised_raw(pg_factory) -> None:
    server = pg_factory()
    svc = await _console(server.dsn, "alice")
    inc = await svc.open(title="db dies", severity=Severity.P1)
    server.stop()  # a clean restart (the test servers run with fsync off: a crash would lose data)
    with pytest.raises(StoreUnavailable):
        await svc.add_note(inc.ref, "lost?")
    assert "team store unavailable" in svc.health()
    server.start()
    for _ in range(50):
        try:
            await svc.add_note(inc.ref, "back")
            break
        except StoreUnavailable:
            await asyncio.sleep(0.1)
    assert (await svc.get(inc.ref)).events[-1].data["text"] == "back" and svc.health() == ""
    await svc.close()
