"""Team mode: runbook run state in the team PostgreSQL (``cs_console.runbook_runs``).

The same protocol as the local :class:`~cs_console.stores.run_store.RunStore`, with the same
crash safety, so every console of the team sees a run and can finish it:

- Liveness: the console running a run holds a session advisory lock keyed on
  ``hashtextextended('cs-console run <run_id>', 0)`` on a connection of its own, for as
  long as it runs it. The lock dies with the session (SIGKILL, a dropped SSH link that
  takes the process, a closed laptop), so "the owner is gone" is a fact the server knows
  (``pg_locks``), never a guess from timestamps.
- Save = one upsert of the whole run (jsonb) in one transaction, *on that connection*,
  awaited before the engine goes on: the row holds the previous or the new state,
  never a torn one. The step's ``running`` is saved before it runs, so a crash leaves
  it ``running`` with nobody holding the lock: whoever resumes (or takes over) marks it
  ``unknown``.
- Fencing: claiming a run writes a fresh ``claim_token``; a save only lands while the
  row's token is the saver's. A console whose lock connection died and whose run was
  taken over cannot write (its next save fails, so its next step never starts).
- Every save NOTIFYs ``cs_console_runs`` with {"run_id", "status"}: the Runbooks panes
  of the team refresh their list of runs in progress.
- A run's ``{{run.dir}}`` stays on the machine that ran the step, under the local runs
  directory, like the local store's; its ``{{paths.backups}}`` is saved with the run (``paths``),
  so a take-over uses the same (team-shared, ``backups_dir``) directory.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import asyncpg

from cs_console.domain.redaction import redact
from cs_console.domain.runbooks.run_state import Run, RunStatus, StepState
from cs_console.stores.incident_store_pg import SCHEMA, migrate
from cs_console.stores.pg_listen import listen
from cs_console.stores.run_store import RunStoreError

COMPONENT = "runbook_runs"
CHANNEL = "cs_console_runs"
OPEN_STATUSES = (RunStatus.RUNNING.value, RunStatus.WAITING.value, RunStatus.REFUSED.value)

# (version, SQL). Append new versions; never edit a released one.
MIGRATIONS: tuple[tuple[int, str], ...] = (
    (1, f"""
    CREATE TABLE {SCHEMA}.runbook_runs (
        run_id text PRIMARY KEY,
        runbook_id text NOT NULL,
        profile text NOT NULL,
        environment text NOT NULL DEFAULT '',
        status text NOT NULL,
        owner_user text NOT NULL DEFAULT '',
        owner_ssh_client text NOT NULL DEFAULT '',
        current_step text,
        current_since timestamptz,
        started_at timestamptz NOT NULL,
        updated_at timestamptz NOT NULL DEFAULT now(),
        claim_token text NOT NULL DEFAULT '',
        saves bigint NOT NULL DEFAULT 1,
        state jsonb NOT NULL
    );
    CREATE INDEX runbook_runs_open ON {SCHEMA}.runbook_runs (profile, status);
    CREATE TABLE {SCHEMA}.runbook_approvals (
        id bigserial PRIMARY KEY,
        run_id text NOT NULL,
        step_id text NOT NULL,
        runbook_id text NOT NULL DEFAULT '',
        profile text NOT NULL DEFAULT '',
        environment text NOT NULL DEFAULT '',
        target text NOT NULL,
        phrase text NOT NULL,
        what text NOT NULL DEFAULT '',
        requested_by jsonb NOT NULL,
        requested_at timestamptz NOT NULL DEFAULT now(),
        status text NOT NULL DEFAULT 'pending'
            CHECK (status IN ('pending', 'approved', 'rejected', 'used', 'expired')),
        decided_by jsonb NOT NULL DEFAULT '{{}}'::jsonb,
        decided_at timestamptz,
        reason text NOT NULL DEFAULT '',
        reported_at timestamptz,
        used_at timestamptz
    );
    CREATE UNIQUE INDEX runbook_approvals_one_open ON {SCHEMA}.runbook_approvals (run_id, step_id)
        WHERE status IN ('pending', 'approved');
    CREATE INDEX runbook_approvals_pending ON {SCHEMA}.runbook_approvals (status) WHERE status = 'pending';
    """),
)

_DB_ERRORS = (asyncpg.PostgresError, asyncpg.InterfaceError, OSError, asyncio.TimeoutError)
# Whether an advisory lock on the run's key is granted to some session right now.
_LIVE_SQL = (
    "EXISTS (SELECT 1 FROM pg_locks l WHERE l.locktype = 'advisory' AND l.granted"
    " AND ((l.classid::bigint << 32) | l.objid::bigint) = hashtextextended('cs-console run ' || {col}, 0))"
)


def team_store_error(exc: BaseException, password: str | None) -> RunStoreError:
    text = redact(str(exc).strip().splitlines()[0], [password]) if str(exc).strip() else ""
    return RunStoreError(f"team run store unavailable: {type(exc).__name__}" + (f": {text[:200]}" if text else ""))


def current_step(run: Run) -> tuple[str | None, str | None]:
    """(step, since): the step running, else the first not done; since when (ISO)."""
    for sid, rec in run.steps.items():
        if rec.state is StepState.RUNNING:
            return sid, rec.started_at
    for sid, rec in run.steps.items():
        if not rec.state.done and not (rec.passed_over and rec.state is StepState.FAILED):
            return sid, (rec.history[-1]["at"] if rec.history else run.updated_at)
    return None, run.updated_at


def owner_of(run: Run) -> dict[str, Any]:
    """Who runs it now: the last take-over's engineer, else the one who started it."""
    return dict(run.owner or run.operator)


@dataclass(frozen=True)
class TeamRun:
    """One run of the team, as the Runbooks pane and `runbook runs --team` list it."""

    run_id: str
    runbook_id: str
    profile: str
    environment: str
    status: str
    owner_user: str
    owner_ssh_client: str
    current_step: str | None
    since: datetime | None
    started_at: datetime
    live: bool  # the owner's console holds the run right now
    pending_approvals: tuple[str, ...] = ()  # steps waiting for a second person

    @property
    def owner(self) -> str:
        return self.owner_user + (f"@{self.owner_ssh_client}" if self.owner_ssh_client else "")

    def as_dict(self) -> dict[str, Any]:
        d = dict(self.__dict__)
        d["since"] = self.since.isoformat() if self.since else None
        d["started_at"] = self.started_at.isoformat()
        d["pending_approvals"] = list(self.pending_approvals)
        return d


async def init_json(conn: asyncpg.Connection) -> None:
    await conn.set_type_codec("jsonb", encoder=lambda v: json.dumps(v, default=str), decoder=json.loads, schema="pg_catalog")


class PgRunStore:
    kind = "postgres"

    def __init__(self, dsn: str, password: str | None = None, *, local_root: Path, holder: str = "") -> None:
        self.dsn = dsn
        self.password = password
        self.root = local_root  # artifacts only
        self.holder = holder  # user@ssh-client, in the lock connection's application_name
        self._held: dict[str, tuple[asyncpg.Connection, str]] = {}  # run_id -> (lock connection, claim token)
        self._save_lock = asyncio.Lock()
        self._migrated = False

    # ---------------------------------------------------------------- connections

    async def _connect(self, app: str = "cs-console runs") -> asyncpg.Connection:
        kwargs: dict[str, Any] = {"timeout": 10, "command_timeout": 15, "server_settings": {"application_name": app[:63]}}
        if self.password:
            kwargs["password"] = self.password
        conn = await asyncpg.connect(self.dsn, **kwargs)
        await init_json(conn)
        if not self._migrated:
            await migrate(conn, COMPONENT, MIGRATIONS)
            self._migrated = True
        return conn

    async def _with(self, op: Callable[[asyncpg.Connection], Awaitable[Any]]) -> Any:
        try:
            conn = await self._connect()
        except _DB_ERRORS as exc:
            raise team_store_error(exc, self.password) from None
        try:
            return await op(conn)
        except _DB_ERRORS as exc:
            raise team_store_error(exc, self.password) from None
        finally:
            with contextlib.suppress(Exception):
                await conn.close()

    def path(self, run_id: str) -> str:
        if not run_id or "/" in run_id or run_id.startswith("."):
            raise RunStoreError(f"not a run id: {run_id!r}")
        return run_id

    def artifacts_dir(self, run_id: str) -> Path:
        d = self.root / self.path(run_id)
        d.mkdir(parents=True, exist_ok=True, mode=0o700)
        return d

    # ---------------------------------------------------------------- liveness

    async def claim_async(self, run_id: str) -> bool:
        """Take the run's advisory lock on a connection kept until release; False if a live session holds it."""
        self.path(run_id)
        if run_id in self._held:
            return True
        try:
            conn = await self._connect(f"cs-console run {self.holder} {run_id}")
        except _DB_ERRORS as exc:
            raise team_store_error(exc, self.password) from None
        try:
            got = await conn.fetchval("SELECT pg_try_advisory_lock(hashtextextended('cs-console run ' || $1, 0))", run_id)
            if not got:
                await conn.close()
                return False
            token = secrets.token_hex(12)
            # Fences off a console that lost its lock: its saves carry the old token and land nowhere.
            await conn.execute(f"UPDATE {SCHEMA}.runbook_runs SET claim_token = $2 WHERE run_id = $1", run_id, token)
        except _DB_ERRORS as exc:
            with contextlib.suppress(Exception):
                await conn.close()
            raise team_store_error(exc, self.password) from None
        self._held[run_id] = (conn, token)
        return True

    async def release_async(self, run_id: str) -> None:
        held = self._held.pop(run_id, None)
        if held is None:
            return
        conn, _token = held
        with contextlib.suppress(Exception):
            await conn.execute("SELECT pg_advisory_unlock(hashtextextended('cs-console run ' || $1, 0))", run_id)
        with contextlib.suppress(Exception):
            await asyncio.wait_for(conn.close(), 5)

    async def is_live_elsewhere_async(self, run_id: str) -> bool:
        if run_id in self._held:
            return False

        async def op(conn: asyncpg.Connection) -> bool:
            return bool(await conn.fetchval("SELECT " + _LIVE_SQL.format(col="$1::text"), run_id))

        return await self._with(op)

    # ---------------------------------------------------------------- state

    async def save(self, run: Run) -> None:
        held = self._held.get(run.run_id)
        if held is None:
            raise RunStoreError(f"run {run.run_id} is not held by this console: claim it first")
        conn, token = held
        state = run.to_dict()  # encoded now: the row holds the run as it was at this transition
        owner = owner_of(run)
        step, since = current_step(run)
        async with self._save_lock:
            try:
                async with conn.transaction():
                    saved = await conn.fetchval(
                        f"INSERT INTO {SCHEMA}.runbook_runs AS r (run_id, runbook_id, profile, environment, status, owner_user,"
                        " owner_ssh_client, current_step, current_since, started_at, updated_at, claim_token, state)"
                        " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9::text::timestamptz, $10::text::timestamptz, now(), $11, $12::jsonb)"
                        " ON CONFLICT (run_id) DO UPDATE SET status = EXCLUDED.status, owner_user = EXCLUDED.owner_user,"
                        " owner_ssh_client = EXCLUDED.owner_ssh_client, current_step = EXCLUDED.current_step,"
                        " current_since = EXCLUDED.current_since, updated_at = now(), state = EXCLUDED.state, saves = r.saves + 1"
                        " WHERE r.claim_token = EXCLUDED.claim_token RETURNING saves",
                        run.run_id, run.runbook_id, run.profile, run.environment, run.status.value, str(owner.get("user", "")),
                        str(owner.get("ssh_client", "")), step, since, run.started_at, token, state,
                    )
                    if saved is None:
                        raise RunStoreError(f"run {run.run_id} was taken over by another console: this console stops here")
                    await conn.execute("SELECT pg_notify($1, $2)", CHANNEL,
                                       json.dumps({"run_id": run.run_id, "status": run.status.value}))
            except _DB_ERRORS as exc:
                raise team_store_error(exc, self.password) from None

    async def load_async(self, run_id: str) -> Run:
        self.path(run_id)

        async def op(conn: asyncpg.Connection) -> Any:
            return await conn.fetchval(f"SELECT state FROM {SCHEMA}.runbook_runs WHERE run_id = $1", run_id)

        raw = await self._with(op)
        if raw is None:
            raise RunStoreError(f"no run {run_id!r} in the team store")
        try:
            return Run.from_dict(raw)
        except (TypeError, ValueError, KeyError) as exc:
            raise RunStoreError(f"team run {run_id} is not a run ({exc})") from None

    async def team_runs(self, profile: str | None = None, *, open_only: bool = True) -> list[TeamRun]:
        """The team's runs (in progress by default), newest first, each with its owner's liveness."""

        async def op(conn: asyncpg.Connection) -> list[Any]:
            return await conn.fetch(
                "SELECT r.run_id, r.runbook_id, r.profile, r.environment, r.status, r.owner_user, r.owner_ssh_client,"
                " r.current_step, r.current_since, r.started_at, " + _LIVE_SQL.format(col="r.run_id") + " AS live,"
                f" ARRAY(SELECT a.step_id FROM {SCHEMA}.runbook_approvals a WHERE a.run_id = r.run_id AND a.status = 'pending'"
                "  ORDER BY a.id) AS pending"
                f" FROM {SCHEMA}.runbook_runs r WHERE ($1::text IS NULL OR r.profile = $1)"
                " AND (NOT $2 OR r.status = ANY($3::text[])) ORDER BY r.started_at DESC LIMIT 200",
                profile, open_only, list(OPEN_STATUSES),
            )

        rows = await self._with(op)
        return [TeamRun(r["run_id"], r["runbook_id"], r["profile"], r["environment"], r["status"], r["owner_user"],
                        r["owner_ssh_client"], r["current_step"], r["current_since"], r["started_at"], bool(r["live"]),
                        tuple(r["pending"] or ())) for r in rows]

    async def interrupted_runs(self, runbook_id: str | None = None, profile: str | None = None) -> list[Run]:
        """Runs in progress that no live console holds (cut off, or stopped at a gate), newest first."""
        out = []
        for t in await self.team_runs(profile):
            if not t.live and t.run_id not in self._held and (runbook_id is None or t.runbook_id == runbook_id):
                with contextlib.suppress(RunStoreError):
                    out.append(await self.load_async(t.run_id))
        return out

    async def subscribe(self, callback: Callable[[str | None], Any], *,
                        on_problem: Callable[[str], None] | None = None) -> Callable[[], Awaitable[None]]:
        """Calls back with the run id of every saved run (None after a reconnect)."""

        def payload(text: str | None) -> Any:
            if text is None:
                return callback(None)
            try:
                rid = json.loads(text).get("run_id")
            except (ValueError, AttributeError):
                rid = None
            return callback(rid if isinstance(rid, str) else None)

        with contextlib.suppress(RunStoreError):
            await self._with(lambda conn: asyncio.sleep(0))  # migrate first: LISTEN needs no table, but the pane's first read does
        return await listen(self.dsn, self.password, CHANNEL, payload, on_problem=on_problem)

    async def close(self) -> None:
        for run_id in list(self._held):
            await self.release_async(run_id)
