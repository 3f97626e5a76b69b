"""The console's one small connection pool to a PostgreSQL database.

- One connection, a second only while two readers overlap (min 1, max 2; an idle
  second closes after IDLE_EXTRA_S). `application_name = cs-console` is the only
  startup parameter (poolers refuse others); a short `statement_timeout`,
  read-only transactions, no JIT and, directly, generic plans are applied after
  connecting and read back (safety_settings.py).
- Directly or through a pooler (pooler.py): through one, every statement runs in a
  read-only transaction that starts with its `SET LOCAL`s, and there is no
  prepared-statement cache.
- Never hangs: connects time out, queries time out on the server and, as a last
  resort, on the client.
- Lost connection: fail fast with a one-line reason and retry with capped
  exponential backoff; callers see `DatabaseUnavailable` meanwhile.
- Keeps count of its own transactions, `select 1` pings and the query ids of its
  own statements, so the metrics can leave the console's own load out.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import asyncpg

from cs_console.backends.postgres.failure import CONNECTION_ERRORS, FailureKind, describe_failure
from cs_console.backends.postgres.pooler import Route, detect_route
from cs_console.backends.postgres.safety_settings import CHECK_SQL, SafetySettings, settings_problems
from cs_console.backends.postgres.target import DbTarget, parse_target
from cs_console.domain.backoff import Backoff
from cs_console.domain.redaction import Redactor

APPLICATION_NAME = "cs-console"
IDLE_EXTRA_S = 30.0  # a pooled connection unused this long is closed (longer than any refresh cadence)
NOTE_NEEDS_STATS = "n/a: needs pg_read_all_stats"


class DatabaseUnavailable(Exception):
    """The database cannot be reached now; `reason` is one line, without secrets."""

    def __init__(self, kind: FailureKind, reason: str, retry_in_s: float | None = None) -> None:
        self.kind = kind
        self.reason = reason
        self.retry_in_s = retry_in_s
        super().__init__(reason)


@dataclass(frozen=True, slots=True)
class Capabilities:
    """What this role on this server lets the console see (probed on every new connection)."""

    server_version: int  # server_version_num, e.g. 150004
    database: str
    db_oid: int
    read_all_stats: bool  # pg_read_all_stats (or superuser): other roles' sessions and query text
    superuser: bool
    pgss_schema: str | None  # where pg_stat_statements lives, if installed
    pgss_problem: str  # "" when pg_stat_statements is usable, else the "n/a: ..." note
    pgss_track_utility: bool = False  # it counts utility statements (ROLLBACK) too

    @property
    def pgss_ok(self) -> bool:
        return self.pgss_schema is not None and not self.pgss_problem

    @property
    def counts_rollback_calls(self) -> bool:
        return self.pgss_ok and self.pgss_track_utility

    @property
    def has_query_id(self) -> bool:  # pg_stat_activity.query_id, pgss toplevel, pg_locks.waitstart
        return self.server_version >= 140000

    @property
    def missing(self) -> list[str]:
        """One phrase per missing privilege/extension, for the source status line."""
        out: list[str] = []
        if not self.read_all_stats:
            out.append(f"{NOTE_NEEDS_STATS} (session states, ages, other roles' queries)")
        if self.pgss_problem:
            out.append(self.pgss_problem + " (query avg, top queries)")
        return out


def quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def own_query_id_expr(caps: Capabilities) -> str:
    """SQL for the query id of the statement that evaluates it (null before PG 14)."""
    if caps.has_query_id:
        return "(select query_id from pg_stat_get_activity(pg_backend_pid()))"
    return "null::bigint"


_CAPS_SQL = """/* cs-console capabilities */
select current_setting('server_version_num')::int as version,
       current_database() as database,
       (select oid from pg_database where datname = current_database()) as db_oid,
       pg_has_role('pg_read_all_stats', 'USAGE') as read_all_stats,
       coalesce((select rolsuper from pg_roles where rolname = current_user), false) as superuser,
       (select n.nspname from pg_extension e join pg_namespace n on n.oid = e.extnamespace
         where e.extname = 'pg_stat_statements') as pgss_schema,
       coalesce(current_setting('pg_stat_statements.track_utility', true), 'off') = 'on' as track_utility"""


async def probe_capabilities(conn: asyncpg.Connection) -> Capabilities:
    row = await conn.fetchrow(_CAPS_SQL)
    schema = row["pgss_schema"]
    problem = ""
    if schema is None:
        problem = "n/a: pg_stat_statements not installed (create extension pg_stat_statements)"
    else:
        try:  # must really call the function: a constant-false filter would skip it
            await conn.fetchval(f"/* cs-console capabilities */ select 1 from {quote_ident(schema)}.pg_stat_statements(false) limit 1")
        except asyncpg.ObjectNotInPrerequisiteStateError:
            problem = "n/a: pg_stat_statements not loaded (add it to shared_preload_libraries)"
        except asyncpg.InsufficientPrivilegeError:
            problem = f"n/a: no access to pg_stat_statements (needs USAGE on schema {schema})"
        except asyncpg.PostgresError as exc:
            problem = f"n/a: pg_stat_statements unusable ({str(exc).splitlines()[0][:80]})"
    return Capabilities(
        server_version=row["version"], database=row["database"], db_oid=row["db_oid"],
        read_all_stats=bool(row["read_all_stats"]), superuser=bool(row["superuser"]),
        pgss_schema=schema, pgss_problem=problem, pgss_track_utility=bool(row["track_utility"]),
    )


async def _initialised(pool: asyncpg.Pool) -> None:
    await pool  # an asyncpg Pool connects its min_size connections when awaited


async def _keep_session(conn: asyncpg.Connection) -> None:
    """Pool release hook: the console never changes session state (settings are
    only SET LOCAL inside transactions), so skip asyncpg's reset query, which
    would otherwise add a round trip and a statement to every refresh."""


class PgConnector:
    def __init__(
        self,
        dsn: str,
        *,
        password: str | None = None,
        password_source: str = "",
        connect_timeout: float = 3.0,
        statement_timeout_ms: int = 2000,
        max_size: int = 2,
        backoff_initial_s: float = 1.0,
        backoff_cap_s: float = 30.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.target: DbTarget = parse_target(dsn)  # raises InvalidDsn before anything connects
        self._dsn = dsn
        self._password = password
        # Where the password was meant to come from, said after an authentication failure
        # (e.g. "$PGPASSWORD, which is not set"); never the password itself.
        self.password_source = password_source
        self.connect_timeout = connect_timeout
        self.statement_timeout_ms = statement_timeout_ms
        self.safety = SafetySettings(statement_timeout_ms=statement_timeout_ms)
        self.max_size = max(1, min(2, max_size))
        self._backoff = Backoff(backoff_initial_s, backoff_cap_s)
        self._monotonic = monotonic
        self.scrub = Redactor([password, self.target.password, os.environ.get("PGPASSWORD")])
        self._pool: asyncpg.Pool | None = None
        self._pool_lock = asyncio.Lock()
        self._next_attempt = 0.0
        self.failure: DatabaseUnavailable | None = None  # set while down
        self.capabilities: Capabilities | None = None
        self.route: Route | None = None  # found once, before the pool opens
        self.settings_problems: list[str] = []  # safety settings found not in force
        self.own_pids: list[int] = []  # the console's own backends (direct only), newest last
        self.connected_once = False
        # The console's own load, so metrics can subtract it.
        self.own_commits = 0
        self.own_rollbacks = 0
        self.own_pings = 0
        self.own_query_ids: set[int] = set()
        self.connections_opened = 0
        self.recoveries = 0  # back after a failure: counters may have been reset meanwhile
        self._closed = False

    # ------------------------------------------------------------ state

    @property
    def label(self) -> str:
        return self.target.label

    @property
    def is_down(self) -> bool:
        return self.failure is not None

    def retry_in(self) -> float:
        return max(0.0, self._next_attempt - self._monotonic())

    @property
    def pooled(self) -> bool:
        return self.route is not None and self.route.pooled

    def _fail(self, exc: BaseException) -> DatabaseUnavailable:
        pooler = self.route.pooler if self.route is not None and self.route.pooled else None
        kind, reason = describe_failure(exc, self.label, self.scrub, self.connect_timeout, pooler=pooler)
        if kind is FailureKind.AUTH and self.password_source:
            reason = f"{reason} (password from {self.password_source})"
        delay = self._backoff.next()
        self._next_attempt = self._monotonic() + delay
        self.failure = DatabaseUnavailable(kind, reason, delay)
        return self.failure

    def _succeed(self) -> None:
        self._backoff.reset()
        self._next_attempt = 0.0
        self.failure = None

    # ------------------------------------------------------------ pool

    def _connect_kwargs(self) -> dict[str, Any]:
        return {"password": self._password, "timeout": self.connect_timeout,
                "server_settings": {"application_name": APPLICATION_NAME}}

    async def _on_new_connection(self, conn: asyncpg.Connection) -> None:
        self.connections_opened += 1
        self.capabilities = await probe_capabilities(conn)
        self.own_commits += 2
        if self.pooled:
            # Proof that SET LOCAL holds through this pooler: read the settings back in such a transaction.
            await conn.execute(self.safety.begin_sql(pooled=True))
            try:
                rows = await conn.fetch(CHECK_SQL)
            finally:
                await conn.execute("commit")
        else:
            await conn.execute(self.safety.session_sql())
            rows = await conn.fetch(CHECK_SQL + " union all select 'pid', pg_backend_pid()::text")
        seen = {r["name"]: r["setting"] for r in rows}
        if "pid" in seen:
            self.own_pids = [*self.own_pids[-3:], int(seen["pid"])]
        self.own_commits += 2
        self.settings_problems = settings_problems(self.safety, seen)
        self.connected_once = True

    async def _find_route(self) -> Route:
        if self.route is None:
            # One short connection (two for an unknown pooler's mode), once per console.
            self.route = await asyncio.wait_for(
                detect_route(self._dsn, self.target, self._connect_kwargs()), timeout=self.connect_timeout * 3 + 1)
            self.own_commits += 1
        return self.route

    async def _get_pool(self) -> asyncpg.Pool:
        if self._closed:
            raise DatabaseUnavailable(FailureKind.CONFIG, "connection closed")
        if self._pool is not None:
            return self._pool
        async with self._pool_lock:
            if self._pool is not None:
                return self._pool
            if self.failure is not None and self.retry_in() > 0:
                raise DatabaseUnavailable(self.failure.kind, self.failure.reason, self.retry_in())
            try:
                route = await self._find_route()
            except (Exception, asyncio.CancelledError) as exc:
                if isinstance(exc, asyncio.CancelledError):
                    raise
                raise self._fail(exc) from None
            pool = asyncpg.create_pool(
                self._dsn,
                min_size=1,
                max_size=self.max_size,
                max_inactive_connection_lifetime=IDLE_EXTRA_S,  # min_size's one reconnects on demand
                command_timeout=self.statement_timeout_ms / 1000 + 1.5,
                # A pooler may run the next statement on another server connection.
                statement_cache_size=0 if route.pooled else 100,
                init=self._on_new_connection,
                reset=_keep_session,
                **self._connect_kwargs(),
            )
            try:
                await asyncio.wait_for(_initialised(pool), timeout=self.connect_timeout * 2 + 1)
            except (Exception, asyncio.CancelledError) as exc:
                pool.terminate()
                if isinstance(exc, asyncio.CancelledError):
                    raise
                raise self._fail(exc) from None
            self._pool = pool
            return pool

    @asynccontextmanager
    async def session(self) -> AsyncIterator["DbHandle"]:
        """One pooled connection for a unit of work. Raises DatabaseUnavailable
        when the database cannot be reached (and during the backoff after that);
        a failing statement on a healthy connection raises asyncpg.PostgresError."""
        if self.failure is not None and self.retry_in() > 0:
            raise DatabaseUnavailable(self.failure.kind, self.failure.reason, self.retry_in())
        pool = await self._get_pool()
        try:
            conn = await asyncio.wait_for(pool.acquire(), timeout=self.connect_timeout * 2 + 1)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            raise self._fail(exc) from None
        if self.failure is not None:
            self.recoveries += 1  # a connection again after a failure
        handle = DbHandle(conn, self)
        broken = False
        try:
            yield handle
        except CONNECTION_ERRORS as exc:
            if isinstance(exc, asyncpg.PostgresError) and not _is_connection_level(exc):
                raise
            broken = True
            conn.terminate()
            raise self._fail(exc) from None
        else:
            self._succeed()
        finally:
            try:
                if broken or conn.is_closed():
                    await pool.release(conn, timeout=1.0)
                else:
                    await pool.release(conn, timeout=2.0)
            except Exception:
                conn.terminate()

    async def close(self) -> None:
        self._closed = True
        pool, self._pool = self._pool, None
        if pool is not None:
            try:
                await asyncio.wait_for(pool.close(), timeout=2.0)
            except Exception:
                pool.terminate()


def _is_connection_level(exc: asyncpg.PostgresError) -> bool:
    return isinstance(
        exc,
        (
            asyncpg.PostgresConnectionError, asyncpg.CannotConnectNowError, asyncpg.AdminShutdownError,
            asyncpg.CrashShutdownError, asyncpg.TooManyConnectionsError,
            asyncpg.InvalidAuthorizationSpecificationError, asyncpg.InvalidCatalogNameError,
        ),
    )


# A `select 1` slower than this is measured again (see DbHandle.ping).
REPING_MS = 20.0


class DbHandle:
    """A connection lent by the connector, with the few operations the console needs."""

    def __init__(self, conn: asyncpg.Connection, connector: PgConnector) -> None:
        self.conn = conn
        self.connector = connector

    @property
    def capabilities(self) -> Capabilities:
        caps = self.connector.capabilities
        assert caps is not None  # set by the pool's init on every new connection
        return caps

    async def ping(self) -> float:
        """Round trip of `select 1`, in milliseconds.

        The first `select 1` on a connection also prepares it (one more round trip),
        and a busy event loop adds its own delay to any reading: a reading over
        REPING_MS is taken once more and the faster one counts. A slow server is
        slow twice; a cold statement or a UI hiccup no longer raises a "High
        response time" alert at every start (measured: 62-173 ms first readings,
        0.5 ms after, on this machine).
        """
        elapsed = await self._ping_once()
        if elapsed >= REPING_MS:
            elapsed = min(elapsed, await self._ping_once())
        return elapsed

    async def _ping_once(self) -> float:
        t0 = time.perf_counter()
        await self.conn.fetchval("select 1")
        elapsed = (time.perf_counter() - t0) * 1000
        self.connector.own_pings += 1
        self.connector.own_commits += 1
        return elapsed

    @property
    def pooled(self) -> bool:
        return self.connector.pooled

    @asynccontextmanager
    async def _readonly(self, timeout_ms: int | None = None) -> AsyncIterator[None]:
        """A READ ONLY transaction begun with its SET LOCALs in one round trip."""
        await self.conn.execute(self.connector.safety.begin_sql(pooled=self.pooled, statement_timeout_ms=timeout_ms))
        try:
            yield
        except BaseException:
            if not self.conn.is_closed():
                try:
                    await asyncio.wait_for(self.conn.execute("rollback"), timeout=2.0)
                except Exception:
                    self.conn.terminate()
            raise
        await self.conn.execute("commit")

    async def fetchrow(self, sql: str, *args: Any, timeout: float | None = None) -> asyncpg.Record | None:
        try:
            if self.pooled:  # no session settings hold through a pooler: this transaction carries them
                async with self._readonly():
                    row = await self.conn.fetchrow(sql, *args, timeout=timeout)
            else:
                row = await self.conn.fetchrow(sql, *args, timeout=timeout)
        except asyncpg.PostgresError:
            self.connector.own_rollbacks += 1
            raise
        self.connector.own_commits += 1
        return row

    async def fetch_readonly(self, sql: str, *args: Any, timeout_ms: int | None = None) -> list[asyncpg.Record]:
        """Rows of `sql` run in a READ ONLY transaction with its own statement timeout.

        The statement is wrapped so its first column `_cs_qid` carries its own
        query id (registered so pg_stat_statements deltas can leave it out) and
        `_cs_row` tells a real row from the placeholder an empty result gives.
        """
        caps = self.capabilities
        wrapped = (
            f"select q._cs_qid, v.* from (select {own_query_id_expr(caps)} as _cs_qid) q "
            f"left join lateral (select true as _cs_row, x.* from ({sql}) x) v on true"
        )
        ms = int(timeout_ms or self.connector.statement_timeout_ms)
        try:
            async with self._readonly(ms):
                rows = await self.conn.fetch(wrapped, *args, timeout=ms / 1000 + 2.0)
        except asyncpg.PostgresError:
            self.connector.own_rollbacks += 1
            raise
        self.connector.own_commits += 1
        if rows and rows[0]["_cs_qid"] is not None:
            self.connector.own_query_ids.add(int(rows[0]["_cs_qid"]))
        return [r for r in rows if r["_cs_row"]]
