"""Team mode: two-person approvals in ``cs_console.runbook_approvals`` (migrated with the runs).

One open request (pending or approved) per run and step, by a partial unique index.
A decision locks its row (``FOR UPDATE``) and applies only to a pending request, so two
approvers racing leave one decision; consuming an approval is one conditional UPDATE
(approved -> used), so it authorises one execution. Every change NOTIFYs the runs
channel: the Runbooks panes show requests as they come and go.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg

from cs_console.domain.runbooks.approval import APPROVED, PENDING, REJECTED, ApprovalRequest, same_person
from cs_console.stores.incident_store_pg import SCHEMA, migrate
from cs_console.stores.run_store_pg import CHANNEL, COMPONENT, MIGRATIONS, init_json, team_store_error

_DB_ERRORS = (asyncpg.PostgresError, asyncpg.InterfaceError, OSError, asyncio.TimeoutError)
_COLUMNS = ("id, run_id, step_id, runbook_id, profile, environment, target, phrase, what, requested_by, requested_at,"
            " status, decided_by, decided_at, reason, reported_at IS NOT NULL AS reported")


class ApprovalRefused(Exception):
    """str() says why this decision cannot be recorded (self-approval, not pending, wrong phrase)."""


def _row(r: Any) -> ApprovalRequest:
    return ApprovalRequest(
        id=r["id"], run_id=r["run_id"], step_id=r["step_id"], runbook_id=r["runbook_id"], profile=r["profile"],
        environment=r["environment"], target=r["target"], phrase=r["phrase"], what=r["what"],
        requested_by=dict(r["requested_by"] or {}), requested_at=r["requested_at"], status=r["status"],
        decided_by=dict(r["decided_by"] or {}), decided_at=r["decided_at"], reason=r["reason"], reported=bool(r["reported"]),
    )


class PgApprovalStore:
    kind = "postgres"

    def __init__(self, dsn: str, password: str | None = None) -> None:
        self.dsn = dsn
        self.password = password
        self._migrated = False

    async def _with(self, op: Callable[[asyncpg.Connection], Awaitable[Any]]) -> Any:
        kwargs: dict[str, Any] = {"timeout": 10, "command_timeout": 15, "server_settings": {"application_name": "cs-console approvals"}}
        if self.password:
            kwargs["password"] = self.password
        try:
            conn = await asyncpg.connect(self.dsn, **kwargs)
        except _DB_ERRORS as exc:
            raise team_store_error(exc, self.password) from None
        try:
            await init_json(conn)
            if not self._migrated:
                await migrate(conn, COMPONENT, MIGRATIONS)
                self._migrated = True
            return await op(conn)
        except _DB_ERRORS as exc:
            raise team_store_error(exc, self.password) from None
        finally:
            with contextlib.suppress(Exception):
                await conn.close()

    @staticmethod
    async def _notify(conn: asyncpg.Connection, run_id: str, what: str) -> None:
        await conn.execute("SELECT pg_notify($1, $2)", CHANNEL, json.dumps({"run_id": run_id, "approval": what}))

    async def latest(self, run_id: str, step_id: str) -> ApprovalRequest | None:
        async def op(conn: asyncpg.Connection) -> Any:
            return await conn.fetchrow(
                f"SELECT {_COLUMNS} FROM {SCHEMA}.runbook_approvals WHERE run_id = $1 AND step_id = $2 ORDER BY id DESC LIMIT 1",
                run_id, step_id)

        row = await self._with(op)
        return _row(row) if row is not None else None

    async def request(self, *, run_id: str, step_id: str, runbook_id: str, profile: str, environment: str, target: str,
                      phrase: str, what: str, requested_by: dict[str, Any]) -> ApprovalRequest:
        """A new pending request (or the open one already there for this run and step)."""

        async def op(conn: asyncpg.Connection) -> Any:
            async with conn.transaction():
                row = await conn.fetchrow(
                    f"INSERT INTO {SCHEMA}.runbook_approvals (run_id, step_id, runbook_id, profile, environment, target, phrase,"
                    " what, requested_by) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9::jsonb)"
                    f" ON CONFLICT (run_id, step_id) WHERE status IN ('pending', 'approved') DO NOTHING RETURNING {_COLUMNS}",
                    run_id, step_id, runbook_id, profile, environment, target, phrase, what, dict(requested_by))
                if row is None:
                    row = await conn.fetchrow(
                        f"SELECT {_COLUMNS} FROM {SCHEMA}.runbook_approvals WHERE run_id = $1 AND step_id = $2"
                        " AND status IN ('pending', 'approved')", run_id, step_id)
                await self._notify(conn, run_id, "requested")
                return row

        return _row(await self._with(op))

    async def decide(self, run_id: str, step_id: str, *, approve: bool, by: dict[str, Any], typed: str = "",
                     reason: str = "", phrase_matches: Callable[[str, str], bool] | None = None) -> ApprovalRequest:
        """Record a second person's decision on the pending request; raises ApprovalRefused."""

        async def op(conn: asyncpg.Connection) -> Any:
            async with conn.transaction():
                row = await conn.fetchrow(
                    f"SELECT {_COLUMNS} FROM {SCHEMA}.runbook_approvals WHERE run_id = $1 AND step_id = $2"
                    " AND status = 'pending' FOR UPDATE", run_id, step_id)
                if row is None:
                    raise ApprovalRefused(f"no pending approval request for step {step_id} of run {run_id}")
                req = _row(row)
                problem = same_person(req.requested_by, by)
                if problem:
                    raise ApprovalRefused(f"{problem} as the engineer who asked: a second person must decide")
                if approve and phrase_matches is not None and not phrase_matches(req.phrase, typed):
                    raise ApprovalRefused(f"the phrase does not match: type {req.phrase!r} to approve")
                done = await conn.fetchrow(
                    f"UPDATE {SCHEMA}.runbook_approvals SET status = $2, decided_by = $3::jsonb, decided_at = now(), reason = $4"
                    f" WHERE id = $1 RETURNING {_COLUMNS}",
                    req.id, APPROVED if approve else REJECTED, dict(by), reason)
                await self._notify(conn, run_id, APPROVED if approve else REJECTED)
                return done

        return _row(await self._with(op))

    async def consume(self, request_id: int) -> bool:
        """approved -> used, once: True when this call used it."""

        async def op(conn: asyncpg.Connection) -> Any:
            async with conn.transaction():
                rid = await conn.fetchval(
                    f"UPDATE {SCHEMA}.runbook_approvals SET status = 'used', used_at = now() WHERE id = $1 AND status = 'approved'"
                    " RETURNING run_id", request_id)
                if rid is not None:
                    await self._notify(conn, rid, "used")
                return rid

        return await self._with(op) is not None

    async def expire(self, request_id: int) -> None:
        async def op(conn: asyncpg.Connection) -> None:
            await conn.execute(f"UPDATE {SCHEMA}.runbook_approvals SET status = 'expired' WHERE id = $1 AND status = 'approved'",
                               request_id)

        await self._with(op)

    async def mark_reported(self, request_id: int) -> None:
        async def op(conn: asyncpg.Connection) -> None:
            await conn.execute(f"UPDATE {SCHEMA}.runbook_approvals SET reported_at = now() WHERE id = $1", request_id)

        await self._with(op)

    async def pending(self, profile: str | None = None) -> list[ApprovalRequest]:
        """Requests waiting for a second person, oldest first."""

        async def op(conn: asyncpg.Connection) -> list[Any]:
            return await conn.fetch(
                f"SELECT {_COLUMNS} FROM {SCHEMA}.runbook_approvals WHERE status = $1 AND ($2::text IS NULL OR profile = $2)"
                " ORDER BY id", PENDING, profile)

        return [_row(r) for r in await self._with(op)]
