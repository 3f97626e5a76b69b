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
- the mode, where nothing says it: a second client asks for its backend pid while
  the first is still connected. Only a transaction (or statement) pooler can give
  it the first client's server connection. A different pid is taken as session
  mode only when that is consistent over several tries, or when the second client
  is kept waiting (a full session pool); it changes nothing unsafe (settings stay
  per transaction, the cache stays off).
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
MODE_TRIES = 3
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
    second = await _connect(dsn, kwargs)
    try:
        for _ in range(MODE_TRIES):
            mine = await first.fetchval("select pg_backend_pid()")
            try:
                theirs = await second.fetchval("select pg_backend_pid()", timeout=SECOND_CLIENT_WAIT_S)
            except asyncio.TimeoutError:
                # Kept waiting for a server connection while the first client's sat idle:
                # a transaction pooler would have lent it; a full session pool cannot.
                return PoolMode.SESSION
            if mine == theirs:
                return PoolMode.TRANSACTION
        return PoolMode.SESSION
    finally:
        second.terminate()


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
        how = ("a second client was given the same server connection" if mode is PoolMode.TRANSACTION
               else f"a second client never shared the server connection in {MODE_TRIES} tries")
        return Route(name, mode, how)
    finally:
        first.terminate()
