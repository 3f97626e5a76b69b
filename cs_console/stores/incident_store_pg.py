"""Team mode: incidents in PostgreSQL, shared by every console on the team.

The console creates and migrates its own `cs_console` schema. Versions are kept
per component in `cs_console.schema_version(component, version)` so other parts
of the console (audit, run locks) can migrate their own tables beside ours;
migrations run under an advisory lock, so two consoles starting at once do
not race.

Events are append-only (a trigger refuses UPDATE, DELETE and TRUNCATE) with a
per-incident `seq`; an append locks the incident row, checks the seq the
writer read and inserts after it, in one transaction, so concurrent writers
serialise and none loses an event. References come from a per-year counter
row updated in the same transaction (unique across the team). Every commit
NOTIFYs `cs_console_incidents` with {"ref", "seq"}; subscribers LISTEN on a
dedicated connection that reconnects by itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import asyncpg

from cs_console.domain.incidents.errors import ConcurrentAppend, StoreUnavailable, UnknownIncident
from cs_console.domain.incidents.events import IncidentEvent
from cs_console.domain.incidents.model import fold
from cs_console.domain.incidents.reference import format_ref, normalize_ref
from cs_console.domain.incidents.store import ChangeCallback
from cs_console.domain.redaction import redact
from cs_console.stores.pg_listen import listen

log = logging.getLogger(__name__)

SCHEMA = "cs_console"
COMPONENT = "incidents"
CHANNEL = "cs_console_incidents"
_MIGRATE_LOCK = "cs_console.schema"

# (version, SQL). Append new versions; never edit a released one.
MIGRATIONS: tuple[tuple[int, str], ...] = (
    (1, f"""
    CREATE TABLE {SCHEMA}.incident_ref_counters (
        year integer PRIMARY KEY,
        last_number integer NOT NULL
    );
    CREATE TABLE {SCHEMA}.incidents (
        ref text PRIMARY KEY,
        year integer NOT NULL,
        number integer NOT NULL,
        last_seq integer NOT NULL,
        status text NOT NULL,
        severity text NOT NULL,
        summary jsonb NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        UNIQUE (year, number)
    );
    CREATE TABLE {SCHEMA}.incident_events (
        ref text NOT NULL REFERENCES {SCHEMA}.incidents(ref),
        seq integer NOT NULL CHECK (seq >= 1),
        id text NOT NULL UNIQUE,
        ts timestamptz NOT NULL,
        type text NOT NULL,
        actor text NOT NULL,
        body jsonb NOT NULL,
        recorded_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (ref, seq)
    );
    CREATE FUNCTION {SCHEMA}.refuse_event_change() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        RAISE EXCEPTION 'cs_console.incident_events is append-only';
    END $$;
    CREATE TRIGGER incident_events_append_only BEFORE UPDATE OR DELETE ON {SCHEMA}.incident_events
        FOR EACH ROW EXECUTE FUNCTION {SCHEMA}.refuse_event_change();
    CREATE TRIGGER incident_events_no_truncate BEFORE TRUNCATE ON {SCHEMA}.incident_events
        FOR EACH STATEMENT EXECUTE FUNCTION {SCHEMA}.refuse_event_change();
    CREATE INDEX incidents_status ON {SCHEMA}.incidents (status);
    """),
)
LATEST = MIGRATIONS[-1][0]

_DB_ERRORS = (asyncpg.PostgresError, asyncpg.InterfaceError, OSError, asyncio.TimeoutError)


def _unavailable(exc: BaseException, password: str | None = None) -> StoreUnavailable:
    # The server's words may quote the DSN or the password: scrubbed like every other error line.
    text = redact(str(exc).strip().splitlines()[0], [password]) if str(exc).strip() else ""
    return StoreUnavailable(f"team store unavailable: {type(exc).__name__}" + (f": {text[:200]}" if text else ""))


async def _init_connection(conn: asyncpg.Connection) -> None:
    await conn.set_type_codec("jsonb", encoder=json.dumps, decoder=json.loads, schema="pg_catalog")


async def migrate(conn: asyncpg.Connection, component: str = COMPONENT, migrations: Sequence[tuple[int, str]] = MIGRATIONS) -> int:
    """Bring `component`'s tables to the latest version; returns the version now in place.

    Reusable by other components of the console with their own migration list.
    """
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock(hashtext($1))", _MIGRATE_LOCK)
        await conn.execute(f"CREATE SCHEMA IF NOT EXISTS {SCHEMA}")
        await conn.execute(
            f"CREATE TABLE IF NOT EXISTS {SCHEMA}.schema_version ("
            " component text PRIMARY KEY, version integer NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())"
        )
        current = await conn.fetchval(f"SELECT version FROM {SCHEMA}.schema_version WHERE component = $1", component) or 0
        latest = migrations[-1][0] if migrations else 0
        if current > latest:
            raise StoreUnavailable(
                f"team store schema for {component} is version {current}, newer than this console knows ({latest}): upgrade cs-console"
            )
        for version, sql in migrations:
            if version > current:
                await conn.execute(sql)
                current = version
        await conn.execute(
            f"INSERT INTO {SCHEMA}.schema_version (component, version) VALUES ($1, $2)"
            " ON CONFLICT (component) DO UPDATE SET version = EXCLUDED.version, applied_at = now()"
            f" WHERE {SCHEMA}.schema_version.version <> EXCLUDED.version",
            component, current,
        )
    return current


class PgIncidentStore:
    kind = "postgres"

    def __init__(self, pool: asyncpg.Pool, dsn: str, password: str | None) -> None:
        self._pool = pool
        self._dsn = dsn
        self._password = password
        self._problem = ""
        self._warnings: list[str] = []

    @classmethod
    async def connect(cls, dsn: str, *, password: str | None = None, timeout: float = 5.0, max_size: int = 4) -> "PgIncidentStore":
        try:
            pool = await asyncpg.create_pool(
                dsn, password=password, min_size=1, max_size=max_size, timeout=timeout,
                command_timeout=15, init=_init_connection,
            )
            assert pool is not None
            async with pool.acquire() as conn:
                await migrate(conn)
        except StoreUnavailable:
            raise
        except _DB_ERRORS as exc:
            raise _unavailable(exc, password) from None
        return cls(pool, dsn, password)

    @property
    def warnings(self) -> list[str]:
        return list(self._warnings)

    def health(self) -> str:
        return self._problem

    async def _run(self, op: Callable[[asyncpg.Connection], Awaitable[Any]]) -> Any:
        try:
            async with self._pool.acquire() as conn:
                result = await op(conn)
        except (ConcurrentAppend, UnknownIncident, StoreUnavailable):
            raise
        except _DB_ERRORS as exc:
            self._problem = str(_unavailable(exc, self._password))
            raise _unavailable(exc, self._password) from None
        if self._problem.startswith("team store unavailable"):
            self._problem = ""
        return result

    async def create(self, year: int, first: IncidentEvent) -> tuple[str, IncidentEvent]:
        placed = first.placed(1)

        async def op(conn: asyncpg.Connection) -> str:
            async with conn.transaction():
                number = await conn.fetchval(
                    f"INSERT INTO {SCHEMA}.incident_ref_counters AS c (year, last_number) VALUES ($1, 1)"
                    " ON CONFLICT (year) DO UPDATE SET last_number = c.last_number + 1 RETURNING last_number",
                    year,
                )
                ref = format_ref(year, number)
                row = fold(ref, [placed]).summary_row()
                await conn.execute(
                    f"INSERT INTO {SCHEMA}.incidents (ref, year, number, last_seq, status, severity, summary)"
                    " VALUES ($1, $2, $3, 1, $4, $5, $6)",
                    ref, year, number, row["status"], row["severity"], row,
                )
                await self._insert_events(conn, ref, [placed])
                await conn.execute("SELECT pg_notify($1, $2)", CHANNEL, json.dumps({"ref": ref, "seq": 1}))
                return ref

        ref = await self._run(op)
        return ref, placed

    @staticmethod
    async def _insert_events(conn: asyncpg.Connection, ref: str, events: Sequence[IncidentEvent]) -> None:
        await conn.executemany(
            f"INSERT INTO {SCHEMA}.incident_events (ref, seq, id, ts, type, actor, body) VALUES ($1, $2, $3, $4, $5, $6, $7)",
            [(ref, ev.seq, ev.id, ev.ts, ev.type.value, ev.actor, ev.to_json()) for ev in events],
        )

    async def load(self, ref: str, after_seq: int = 0) -> list[IncidentEvent]:
        ref = normalize_ref(ref)

        async def op(conn: asyncpg.Connection) -> list[Any]:
            return await conn.fetch(
                f"SELECT body FROM {SCHEMA}.incident_events WHERE ref = $1 AND seq > $2 ORDER BY seq", ref, after_seq,
            )

        rows = await self._run(op)
        if not rows and after_seq == 0:
            raise UnknownIncident(f"no incident {ref}")
        return [IncidentEvent.from_json(r["body"]) for r in rows]

    async def append(self, ref: str, events: Sequence[IncidentEvent], expected_seq: int, row: dict[str, Any]) -> list[IncidentEvent]:
        ref = normalize_ref(ref)
        placed = [ev.placed(expected_seq + i) for i, ev in enumerate(events, start=1)]

        async def op(conn: asyncpg.Connection) -> None:
            async with conn.transaction():
                last = await conn.fetchval(f"SELECT last_seq FROM {SCHEMA}.incidents WHERE ref = $1 FOR UPDATE", ref)
                if last is None:
                    raise UnknownIncident(f"no incident {ref}")
                if last != expected_seq:
                    raise ConcurrentAppend(f"{ref}: at seq {last}, expected {expected_seq}")
                await self._insert_events(conn, ref, placed)
                new_last = placed[-1].seq
                await conn.execute(
                    f"UPDATE {SCHEMA}.incidents SET last_seq = $2, status = $3, severity = $4, summary = $5,"
                    " updated_at = now() WHERE ref = $1",
                    ref, new_last, row["status"], row["severity"], row,
                )
                await conn.execute("SELECT pg_notify($1, $2)", CHANNEL, json.dumps({"ref": ref, "seq": new_last}))

        await self._run(op)
        return placed

    async def index(self) -> list[dict[str, Any]]:
        async def op(conn: asyncpg.Connection) -> list[Any]:
            return await conn.fetch(f"SELECT ref, summary FROM {SCHEMA}.incidents ORDER BY ref")

        return [dict(r["summary"], ref=r["ref"]) for r in await self._run(op)]

    async def subscribe(self, callback: ChangeCallback) -> Callable[[], Awaitable[None]]:
        """LISTEN on a connection of its own (stores/pg_listen.py); reconnects with backoff and then
        calls back with None (anything may have changed while deaf)."""

        def on_payload(payload: str | None) -> Any:
            ref = None
            if payload is not None:
                try:
                    ref = json.loads(payload).get("ref")
                except (ValueError, AttributeError):
                    ref = None
            return callback(ref if isinstance(ref, str) else None)

        def on_problem(text: str) -> None:
            self._problem = text

        return await listen(self._dsn, self._password, CHANNEL, on_payload, on_problem=on_problem)

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self._pool.close(), 5)
