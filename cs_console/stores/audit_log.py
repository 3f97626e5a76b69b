"""The audit log: every executed runbook step and every refusal, before and after.

Records are flat JSON objects (see :func:`audit_record`): time, OS user, SSH
client address, profile, runbook id + file sha256, run, step, risk, phase
(``before`` / ``after`` / ``refused`` / ``mark``), what ran (already redacted
by the engine), outcome, exit code / HTTP status / rows affected, duration.

- :class:`LocalAuditLog` (always): ``state_dir()/audit.jsonl``, mode 0600,
  one line per record, appended with O_APPEND and fsync'd before returning, so
  a record written "before" survives the process being killed mid-step. The
  write and its fsync run in a thread: the console's event loop never waits on
  the disk, and the caller still waits for the record to be down.

Who the operator is (OS user, SSH client) is ``stores/operator_identity.py``'s.
- :class:`PgAuditLog` (team mode, ``store = "postgres"``): table
  ``cs_console.runbook_audit`` (component ``runbooks`` in
  ``cs_console.schema_version``, migrated with the incidents store's
  ``migrate``), append-only by trigger.
- :class:`AuditTrail` writes to both: the local write must succeed (else the
  step does not run); a team-store failure is kept locally as a warning.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections import deque
from collections.abc import Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

AUDIT_FILE = "audit.jsonl"

# Ordered for display; anything else in a record is kept too.
FIELDS: tuple[str, ...] = (
    "time", "phase", "user", "ssh_client", "host", "profile", "environment", "runbook_id", "runbook_sha256",
    "run_id", "step_id", "risk", "what", "outcome", "detail", "exit_code", "http_status", "rows_affected",
    "duration_ms", "incident_ref", "dry_run",
)


class AuditWriteError(OSError):
    pass


def audit_record(**fields: Any) -> dict[str, Any]:
    rec: dict[str, Any] = {"time": datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")}
    rec.update({k: v for k, v in fields.items() if v is not None})
    return rec


class LocalAuditLog:
    kind = "local"

    def __init__(self, path: Path) -> None:
        self.path = path

    @classmethod
    def in_state_dir(cls, state_dir: Path) -> "LocalAuditLog":
        return cls(state_dir / AUDIT_FILE)

    async def append(self, record: dict[str, Any]) -> None:
        """Raises AuditWriteError when the record is not on disk (then the step must not run)."""
        # Encoded here, on the caller's side: the record is what it was when appended.
        line = json.dumps(record, ensure_ascii=False, separators=(",", ":"), default=str) + "\n"
        await asyncio.to_thread(self._write_line, line)

    def _write_line(self, line: str) -> None:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                data = line.encode("utf-8")
                written = os.write(fd, data)
                if written != len(data):
                    raise AuditWriteError(f"short write to {self.path}")
                os.fsync(fd)
            finally:
                os.close(fd)
        except OSError as exc:
            raise AuditWriteError(f"cannot write the audit log {self.path}: {exc.strerror or exc}") from None

    def read(self, limit: int | None = None) -> list[dict[str, Any]]:
        """Newest last; a torn or garbage line is skipped (and counted in `skipped`)."""
        self.skipped = 0
        if not self.path.exists():
            return []
        keep: deque[dict[str, Any]] | list[dict[str, Any]] = deque(maxlen=limit) if limit else []
        with open(self.path, "rb") as fh:
            for raw in fh:
                try:
                    rec = json.loads(raw)
                except ValueError:
                    self.skipped += 1
                    continue
                if isinstance(rec, dict):
                    keep.append(rec)
        return list(keep)


AUDIT_COMPONENT = "runbooks"
AUDIT_MIGRATIONS: tuple[tuple[int, str], ...] = (
    (1, """
    CREATE TABLE cs_console.runbook_audit (
        id bigserial PRIMARY KEY,
        at timestamptz NOT NULL DEFAULT now(),
        phase text NOT NULL,
        user_name text NOT NULL,
        ssh_client text NOT NULL DEFAULT '',
        host text NOT NULL DEFAULT '',
        profile text NOT NULL DEFAULT '',
        runbook_id text NOT NULL DEFAULT '',
        run_id text NOT NULL DEFAULT '',
        step_id text NOT NULL DEFAULT '',
        risk text NOT NULL DEFAULT '',
        outcome text NOT NULL DEFAULT '',
        record jsonb NOT NULL
    );
    CREATE INDEX runbook_audit_at ON cs_console.runbook_audit (at DESC);
    CREATE INDEX runbook_audit_run ON cs_console.runbook_audit (run_id);
    CREATE FUNCTION cs_console.runbook_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        RAISE EXCEPTION 'cs_console.runbook_audit is append-only';
    END $$;
    CREATE TRIGGER runbook_audit_append_only BEFORE UPDATE OR DELETE ON cs_console.runbook_audit
        FOR EACH ROW EXECUTE FUNCTION cs_console.runbook_audit_append_only();
    CREATE TRIGGER runbook_audit_no_truncate BEFORE TRUNCATE ON cs_console.runbook_audit
        FOR EACH STATEMENT EXECUTE FUNCTION cs_console.runbook_audit_append_only();
    """),
)


class PgAuditLog:
    """The team's audit table. One short connection per write: audits are rare and must not share a failing pool."""

    kind = "postgres"

    def __init__(self, dsn: str, password: str | None = None) -> None:
        self.dsn = dsn
        self.password = password
        self._migrated = False

    async def _connect(self) -> Any:
        import asyncpg

        kwargs: dict[str, Any] = {"timeout": 10, "server_settings": {"application_name": "cs-console audit"}}
        if self.password:
            kwargs["password"] = self.password
        conn = await asyncpg.connect(self.dsn, **kwargs)
        if not self._migrated:
            from cs_console.stores.incident_store_pg import migrate

            await migrate(conn, AUDIT_COMPONENT, AUDIT_MIGRATIONS)
            self._migrated = True
        return conn

    async def ping(self) -> None:
        """Raises when the team audit table cannot be reached (connect, migrate, close)."""
        conn = await self._connect()
        await conn.close()

    async def append(self, record: dict[str, Any]) -> None:
        conn = await self._connect()
        try:
            await conn.execute(
                "INSERT INTO cs_console.runbook_audit (phase, user_name, ssh_client, host, profile, runbook_id, run_id, step_id, risk, outcome, record)"
                " VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11::jsonb)",
                str(record.get("phase", "")), str(record.get("user", "")), str(record.get("ssh_client", "")),
                str(record.get("host", "")), str(record.get("profile", "")), str(record.get("runbook_id", "")),
                str(record.get("run_id", "")), str(record.get("step_id", "")), str(record.get("risk", "")),
                str(record.get("outcome", "")), json.dumps(record, default=str),
            )
        finally:
            await conn.close()

    async def read(self, limit: int | None = None) -> list[dict[str, Any]]:
        conn = await self._connect()
        try:
            rows = await conn.fetch(
                "SELECT record FROM (SELECT id, record FROM cs_console.runbook_audit ORDER BY id DESC LIMIT $1) t ORDER BY id",
                limit or 1_000_000,
            )
        finally:
            await conn.close()
        return [json.loads(r["record"]) if isinstance(r["record"], str) else r["record"] for r in rows]


class AuditTrail:
    """What the engine writes to: local (required) + team store (best effort, noted)."""

    def __init__(self, local: LocalAuditLog, team: PgAuditLog | None = None, *, team_expected: bool | None = None) -> None:
        self.local = local
        self.team = team
        # The profile asked for team mode (store = "postgres"), even if it gave no team_dsn.
        self.team_expected = team is not None if team_expected is None else team_expected
        self.warnings: list[str] = []

    async def team_problem(self) -> str:
        """Why the team audit cannot be written right now ("" when it can, or when there is no team mode)."""
        if not self.team_expected:
            return ""
        if self.team is None:
            return "the team store is not configured (store = \"postgres\" without team_dsn)"
        try:
            await self.team.ping()
        except Exception as exc:
            return f"the team store is unreachable ({type(exc).__name__})"
        return ""

    async def append(self, record: dict[str, Any]) -> None:
        await self.local.append(record)  # raises AuditWriteError: the caller must not run the step
        if self.team is not None:
            try:
                await self.team.append(record)
            except Exception as exc:  # the team store being down must not hide what we did
                note = f"team audit store unavailable: {type(exc).__name__}"
                self.warnings.append(note)
                await self.local.append({**audit_record(phase="team-store-error", detail=note), "for_time": record.get("time")})

    async def read(self, limit: int | None = None) -> list[dict[str, Any]]:
        if self.team is not None:
            try:
                return await self.team.read(limit)
            except Exception as exc:
                self.warnings.append(f"team audit store unavailable ({type(exc).__name__}); showing the local audit")
        return await asyncio.to_thread(self.local.read, limit)


def format_record(rec: dict[str, Any]) -> str:
    """One line for `cs-console audit` (values are already redacted)."""
    parts = [str(rec.get("time", ""))[:19].replace("T", " "), str(rec.get("phase", "")).ljust(7)]
    who = str(rec.get("user", ""))
    if rec.get("ssh_client"):
        who += f"@{rec['ssh_client']}"
    parts.append(who)
    if rec.get("profile"):
        parts.append(f"[{rec['profile']}]")
    target = str(rec.get("runbook_id", ""))
    if rec.get("step_id"):
        target += f"/{rec['step_id']}"
    parts.append(target)
    if rec.get("risk"):
        parts.append(str(rec["risk"]))
    if rec.get("outcome"):
        parts.append(f"-> {rec['outcome']}")
    extras: list[str] = []
    for key, label in (("exit_code", "exit"), ("http_status", "http"), ("rows_affected", "rows"), ("duration_ms", "ms")):
        if rec.get(key) is not None:
            extras.append(f"{label}={rec[key]}")
    if extras:
        parts.append(" ".join(extras))
    if rec.get("detail"):
        parts.append(f"({rec['detail']})")
    return " ".join(p for p in parts if p)


def records_sorted(records: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(records, key=lambda r: str(r.get("time", "")))
