"""Team mode for the drain: one table in the team PostgreSQL that every engineer's console tails.

`cs_console.drain_events`: one row per event, `seq` in commit order (the
insert takes a transaction-level advisory lock, so two receivers cannot
commit seq out of order and a reader following `seq > last` never skips a
row), `id` unique (a retried batch is stored once: ON CONFLICT DO NOTHING),
`ts` indexed for `since=` and pruning (rows older than the retention are
deleted by `drain serve` every minute). Each insert announces the newest seq
with NOTIFY cs_console_drain; readers LISTEN and then read in batches, with a
slow poll as a safety net for a notification lost to a reconnect.

The receiver's sink answers SinkDown (-> 503, Supabase retries) while the
database is away and reconnects on the next request: no restart needed.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import AsyncIterator
from datetime import datetime, timedelta, timezone
from typing import Any

from cs_console.domain.backoff import Backoff
from cs_console.domain.drain_events import DEFAULT_TAIL, TABLES_OF_SOURCE, SinkDown, event_record, quiet_since
from cs_console.domain.log_record import LogRecord
from cs_console.domain.safe_text import safe_text
from cs_console.domain.sources import SourceState, SourceStatus

log = logging.getLogger("cs_console.drain")

COMPONENT = "drain"
CHANNEL = "cs_console_drain"
_LOCK_KEY = 0x6373_6472  # 'csdr': serialises inserts so seq commits in order
MIGRATIONS: tuple[tuple[int, str], ...] = (
    (1, """
    CREATE TABLE cs_console.drain_events (
        seq bigserial PRIMARY KEY,
        id text NOT NULL,
        ts timestamptz NOT NULL,
        source text NOT NULL,
        received_at timestamptz NOT NULL DEFAULT now(),
        event text NOT NULL
    );
    CREATE UNIQUE INDEX drain_events_id ON cs_console.drain_events (id);
    CREATE INDEX drain_events_ts ON cs_console.drain_events (ts);
    CREATE INDEX drain_events_source_seq ON cs_console.drain_events (source, seq);
    """),
)
CONNECT_TIMEOUT_S = 3.0
READ_BATCH = 2000
SAFETY_POLL_S = 2.0

_COLUMNS = "seq, source, (extract(epoch from ts) * 1000000)::bigint AS ts_us, event"


async def _connect(dsn: str, password: str | None, purpose: str) -> Any:
    import asyncpg

    from cs_console.stores.incident_store_pg import migrate

    kwargs: dict[str, Any] = {"timeout": CONNECT_TIMEOUT_S, "server_settings": {"application_name": f"cs-console drain {purpose}"}}
    if password:
        kwargs["password"] = password
    conn = await asyncpg.connect(dsn, **kwargs)
    try:
        await migrate(conn, COMPONENT, MIGRATIONS)
    except BaseException:
        await conn.close()
        raise
    return conn


def _problem(exc: BaseException) -> str:
    return safe_text(str(exc) or type(exc).__name__, 160)


class PgDrainSink:
    """The receiver's sink in team mode: one connection, re-opened on the next batch after a failure."""

    kind = "postgres"

    def __init__(self, dsn: str, password: str | None, *, retention_hours: float = 24.0) -> None:
        if not dsn:
            raise ValueError("drain = \"team\" needs team_dsn in the profile")
        self.dsn = dsn
        self._password = password
        self.retention = timedelta(hours=retention_hours)
        self._conn: Any = None
        self._lock = asyncio.Lock()
        self._failed_at = 0.0
        self.problem = ""

    async def _connection(self) -> Any:
        if self._conn is not None and not self._conn.is_closed():
            return self._conn
        if time.monotonic() - self._failed_at < 1.0:
            raise SinkDown(self.problem or "team database unavailable")  # fail fast between attempts
        try:
            self._conn = await _connect(self.dsn, self._password, "receiver")
        except Exception as exc:  # noqa: BLE001 - every connect failure is "down" to the sender
            self._failed_at = time.monotonic()
            self.problem = f"team database: {_problem(exc)}"
            raise SinkDown(self.problem) from None
        if self.problem:
            log.warning("drain: team database back")
        self.problem = ""
        return self._conn

    async def put(self, events: list[tuple[str, str, int, str]]) -> None:
        ids = [e[0] for e in events]
        sources = [e[1] for e in events]
        stamps = [datetime.fromtimestamp(e[2] / 1e6, timezone.utc) for e in events]
        texts = [e[3] for e in events]
        async with self._lock:
            conn = await self._connection()
            try:
                async with conn.transaction():
                    await conn.execute("SELECT pg_advisory_xact_lock($1)", _LOCK_KEY)
                    await conn.execute(
                        "INSERT INTO cs_console.drain_events (id, ts, source, event)"
                        " SELECT * FROM unnest($1::text[], $2::timestamptz[], $3::text[], $4::text[])"
                        " ON CONFLICT (id) DO NOTHING",
                        ids, stamps, sources, texts,
                    )
                    await conn.execute("SELECT pg_notify($1, currval('cs_console.drain_events_seq_seq')::text)", CHANNEL)
            except Exception as exc:  # noqa: BLE001 - connection lost mid-batch: nothing committed, 503
                await self._drop()
                self._failed_at = time.monotonic()
                self.problem = f"team database: {_problem(exc)}"
                raise SinkDown(self.problem) from None

    async def prune(self) -> int:
        """Delete rows past the retention; returns how many."""
        async with self._lock:
            try:
                conn = await self._connection()
                result = await conn.execute("DELETE FROM cs_console.drain_events WHERE ts < now() - $1::interval", self.retention)
            except SinkDown:
                return 0
            except Exception:  # noqa: BLE001 - pruning waits for the next minute
                await self._drop()
                return 0
        return int(result.split()[-1]) if result else 0

    async def _drop(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                conn.terminate()
            except Exception:  # noqa: BLE001
                pass

    async def close(self) -> None:
        await self._drop()


class PgDrainSource:
    """The team table as a LogSource: the tail (or since=), then LISTEN and read new rows in batches."""

    name = "drain"
    lag_label = "drain lag"

    def __init__(self, dsn: str, password: str | None, source: str = "drain") -> None:
        self.dsn = dsn
        self._password = password
        tables = TABLES_OF_SOURCE.get(source)
        self.tables = sorted(tables) if tables is not None else None
        self._lag: float | None = None
        self._caught_up = False
        self._problem = ""
        self.queries = 0
        self._newest_us = 0
        self._started: float | None = None

    def lag_seconds(self) -> float | None:
        """Event time to display of the newest live row (None until one arrives after the backfill)."""
        return self._lag

    def stored_up_to(self) -> datetime | None:
        """Time of the newest event read so far (the backfill's end before a live one came)."""
        return datetime.fromtimestamp(self._newest_us / 1e6, timezone.utc) if self._newest_us else None

    def quiet_seconds(self) -> float | None:
        """How old the newest event read is (since the tail began, when none was)."""
        return quiet_since(self._newest_us, self._started, time.time())

    def caught_up(self) -> bool:
        return self._caught_up

    def status(self) -> SourceStatus:
        if self._problem:
            return SourceStatus("drain", SourceState.DOWN, self._problem)
        return SourceStatus("drain", SourceState.UP, "team drain table")

    async def oldest_stored(self) -> datetime | None:
        """Time of the oldest event in the table (None: empty, or the database is away)."""
        try:
            conn = await _connect(self.dsn, self._password, "reader")
        except Exception:  # noqa: BLE001 - the tail will say the database is away
            return None
        try:
            return await conn.fetchval("SELECT min(ts) FROM cs_console.drain_events")
        finally:
            conn.terminate()

    async def _fetch(self, conn: Any, after: int, since: datetime | None) -> list[Any]:
        self.queries += 1
        return await conn.fetch(
            f"SELECT {_COLUMNS} FROM cs_console.drain_events WHERE seq > $1"
            " AND ($2::text[] IS NULL OR source = ANY($2)) AND ($3::timestamptz IS NULL OR ts >= $3)"
            " ORDER BY seq LIMIT $4",
            after, self.tables, since, READ_BATCH,
        )

    async def _start(self, conn: Any, since: datetime | None, tail: int) -> int:
        if since is not None:
            return 0
        self.queries += 1
        floor = await conn.fetchval(
            "SELECT min(seq) FROM (SELECT seq FROM cs_console.drain_events"
            " WHERE ($1::text[] IS NULL OR source = ANY($1)) ORDER BY seq DESC LIMIT $2) t",
            self.tables, tail,
        )
        return int(floor) - 1 if floor is not None else 0

    def _records(self, rows: list[Any]) -> list[LogRecord]:
        out: list[LogRecord] = []
        newest = 0
        for row in rows:
            try:
                event = json.loads(row["event"])
            except ValueError:
                continue
            if isinstance(event, dict):
                out.append(event_record(event, row["source"], row["event"]))
                newest = max(newest, row["ts_us"])
        if newest:
            if self._caught_up:  # rows announced after the backfill: live, their lag is meaningful
                self._lag = max(0.0, time.time() - newest / 1e6)
            self._newest_us = max(self._newest_us, newest)
        return out

    async def records(self, since: datetime | None, follow: bool, tail: int | None = None) -> AsyncIterator[list[LogRecord]]:
        last: int | None = None
        if self._started is None:
            self._started = time.time()
        backoff = Backoff(initial=0.5, cap=15.0)
        while True:
            conn = None
            try:
                conn = await _connect(self.dsn, self._password, "reader")
                wake = asyncio.Event()
                await conn.add_listener(CHANNEL, lambda *_: wake.set())
                if last is None:
                    last = await self._start(conn, since, tail or DEFAULT_TAIL)
                self._problem = ""
                backoff.reset()
                while True:
                    wake.clear()
                    rows = await self._fetch(conn, last, since)
                    if rows:
                        last = rows[-1]["seq"]
                        batch = self._records(rows)
                        if batch:
                            yield batch
                        if len(rows) == READ_BATCH:
                            continue
                    self._caught_up = True
                    if not follow:
                        return
                    try:
                        await asyncio.wait_for(wake.wait(), SAFETY_POLL_S)
                    except asyncio.TimeoutError:
                        pass
            except asyncio.CancelledError:
                raise
            except (OSError, asyncio.TimeoutError) as exc:
                self._problem = f"team database: {_problem(exc)}"
            except Exception as exc:  # noqa: BLE001 - asyncpg's errors: say it, retry, keep the position
                if type(exc).__module__.startswith("asyncpg"):
                    self._problem = f"team database: {_problem(exc)}"
                else:
                    raise
            finally:
                if conn is not None:
                    try:
                        conn.terminate()
                    except Exception:  # noqa: BLE001
                        pass
            if not follow:
                raise ConnectionError(self._problem)
            await asyncio.sleep(backoff.next())
