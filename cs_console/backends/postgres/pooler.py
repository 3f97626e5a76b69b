"""Which way the console reaches PostgreSQL: directly, or through a pooler and in which mode.

Why it matters: a transaction-mode pooler (Supavisor on 6543, PgBouncer with
`pool_mode = transaction`) hands each transaction to whichever server connection is
free. Session settings then apply to someone else's connection (and stay there), and
a prepared statement made in one transaction is gone in the next. So through any
pooler the console sends no startup parameter but `application_name`, keeps no
statement cache, and applies its safety settings with `SET LOCAL` inside each
read-only transaction, never with a session `SET` that could leak to the
application's connections.

How it is detected, on one short connection before the pool opens:
- pooled at all: the backend pid the connection was given at startup
  (BackendKeyData) is not the pid the server reports (`pg_backend_pid()`); a pooler
  hands out its own cancel key. Directly, they are always equal.
- Supavisor: the host is `*.pooler.supabase.com`; port 6543 is transaction mode,
  5432 session mode (Supabase's documented ports).
- PgBouncer: its admin database `pgbouncer` answers (with `SHOW DATABASES` when the
  role may read it, else with PgBouncer's own "not allowed").
- the mode, where nothing says it: two clients ask for their backend pids in turn,
  several times. Only a transaction (or statement) pooler moves a client to another
  server connection or gives it the other client's. Session mode is said only when
  each client kept one server connection of its own over every try, or when a second
  client kept waiting (a full pool, in either mode, as under load) is given the first
  one's server the moment the first disconnects (a session pool frees it only then). Unknown is treated as transaction mode: settings stay
  per transaction and the cache stays off, which is right in both modes.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import asyncpg

from cs_console.backends.postgres.target import DbTarget

SUPAVISOR_SUFFIX = ".pooler.supabase.com"
SUPAVISOR_TRANSACTION_PORT = 6543
MODE_TRIES = 5
SECOND_CLIENT_WAIT_S = 1.0


class PoolMode(StrEnum):
    DIRECT = "direct"
    SESSION = "session"
    TRANSACTION = "transaction"
    STATEMENT = "statement"
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class Route:
    pooler: str | None  # "PgBouncer", "Supavisor", "a connection pooler"; None when direct
    mode: PoolMode
    how: str = ""  # how the mode was found, for the help and the logs

    @property
    def pooled(self) -> bool:
        return self.mode is not PoolMode.DIRECT

    @property
    def label(self) -> str:
        """"direct" or "via PgBouncer, transaction mode", for the Database component."""
        if not self.pooled:
            return "direct"
        if self.mode is PoolMode.UNKNOWN:
            return f"via {self.pooler}, mode unknown (treated as transaction mode)"
        return f"via {self.pooler}, {self.mode.value} mode"


DIRECT = Route(None, PoolMode.DIRECT, "backend pid matches the startup key")


def supavisor_mode(target: DbTarget) -> PoolMode | None:
    """Supavisor's mode from the host and port alone; None for any other host."""
    if not target.host.lower().endswith(SUPAVISOR_SUFFIX):
        return None
    return PoolMode.TRANSACTION if target.port == SUPAVISOR_TRANSACTION_PORT else PoolMode.SESSION


def pooled_connection(conn: asyncpg.Connection, backend_pid: int) -> bool:
    return conn.get_server_pid() != backend_pid


ConnectArgs = dict[str, Any]


async def _connect(dsn: str, kwargs: ConnectArgs, **extra: Any) -> asyncpg.Connection:
    return await asyncpg.connect(dsn, statement_cache_size=0, **{**kwargs, **extra})


async def _pgbouncer_admin(dsn: str, kwargs: ConnectArgs, database: str) -> tuple[bool, PoolMode | None]:
    """(is PgBouncer, its pool mode for `database` when the role may read it)."""
    try:
        admin = await _connect(dsn, kwargs, database="pgbouncer")
    except asyncpg.ProtocolViolationError as exc:  # PgBouncer's own refusal of its console
        return "not allowed" in str(exc), None
    except (asyncpg.PostgresError, OSError, asyncio.TimeoutError):
        return False, None
    try:
        # The admin console speaks the simple protocol only.
        rows = await admin.fetch("SHOW DATABASES")
    except asyncpg.PostgresError:
        return True, None
    finally:
        admin.terminate()
    for row in rows:
        if row["name"] == database and row.get("pool_mode"):
            try:
                return True, PoolMode(row["pool_mode"])
            except ValueError:
                return True, None
    return True, None


async def _mode_from_behaviour(dsn: str, kwargs: ConnectArgs, first: asyncpg.Connection) -> PoolMode:
    """Transaction mode on proof (a client moved between server connections, or given
    another client's); session mode when both clients kept their own server connection
    over every try, or when a full pool served the waiting second client with the first
    one's server as soon as the first let go. Anything else is UNKNOWN, which the
    console treats as transaction mode. `first` is closed on the way."""
    second = await _connect(dsn, kwargs)
    try:
        mine: list[int] = []
        theirs: set[int] = set()
        for _ in range(MODE_TRIES):
            mine.append(await first.fetchval("select pg_backend_pid()"))
            asking = asyncio.ensure_future(second.fetchval("select pg_backend_pid()"))
            done, _ = await asyncio.wait({asking}, timeout=SECOND_CLIENT_WAIT_S)
            if not done:
                return await _after_the_first_lets_go(first, asking, mine)
            theirs.add(asking.result())
            if len(set(mine)) > 1 or len(theirs) > 1 or theirs & set(mine):
                return PoolMode.TRANSACTION  # a session pooler never moves or shares a client's server
        return PoolMode.SESSION
    finally:
        second.terminate()


async def _after_the_first_lets_go(first: asyncpg.Connection, asking: asyncio.Future, mine: list[int]) -> PoolMode:
    """The second client waits for a server (a full pool, in either mode). A session pool
    frees the first client's server only when it disconnects, and hands it to the next
    waiting client; a transaction pool freed it already."""
    if len(set(mine)) > 1:
        asking.cancel()
        return PoolMode.TRANSACTION
    first.terminate()
    done, _ = await asyncio.wait({asking}, timeout=SECOND_CLIENT_WAIT_S)
    if not done:
        asking.cancel()
        return PoolMode.UNKNOWN
    try:
        return PoolMode.SESSION if asking.result() == mine[-1] else PoolMode.UNKNOWN
    except (asyncpg.PostgresError, OSError):
        return PoolMode.UNKNOWN


async def detect_route(dsn: str, target: DbTarget, kwargs: ConnectArgs) -> Route:
    """The route to `dsn`; raises what asyncpg.connect raises when it cannot connect."""
    first = await _connect(dsn, kwargs)
    try:
        pid = await first.fetchval("select pg_backend_pid()")
        if not pooled_connection(first, pid):
            return DIRECT
        supavisor = supavisor_mode(target)
        if supavisor is not None:
            return Route("Supavisor", supavisor, f"Supabase pooler host, port {target.port}")
        is_pgbouncer, mode = await _pgbouncer_admin(dsn, kwargs, target.database)
        name = "PgBouncer" if is_pgbouncer else "a connection pooler"
        if mode is not None:
            return Route(name, mode, "SHOW DATABASES on the pgbouncer console")
        try:
            mode = await _mode_from_behaviour(dsn, kwargs, first)
        except (asyncpg.PostgresError, OSError, asyncio.TimeoutError):
            return Route(name, PoolMode.UNKNOWN, "a second test connection failed")
        how = {PoolMode.TRANSACTION: "a client was moved to another server connection or given another's",
               PoolMode.SESSION: "each client kept a server connection of its own until it disconnected"}.get(
                   mode, "a second client was kept waiting for a server connection (pool full)")
        return Route(name, mode, how)
    finally:
        first.terminate()
