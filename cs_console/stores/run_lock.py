"""Who may run a destructive runbook on a profile right now: one operator at a time.

- Local: an exclusive ``flock`` on ``state_dir()/locks/<runbook>@<profile>.lock``
  (stops two consoles on the same bastion); the file holds who has it.
- Team mode: ``pg_try_advisory_lock`` keyed on ``hashtextextended('cs-console
  runbook <runbook>@<profile>')`` on a dedicated connection held for the whole
  run. Its ``application_name`` says who holds it (user@ssh-client run id),
  so a refused operator is told who to talk to.

Both are released when the holding process ends, however it ends.
"""

from __future__ import annotations

import fcntl
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any


class LockHeld(Exception):
    """str() names the holder."""


@dataclass
class Holder:
    user: str
    ssh_client: str
    host: str
    run_id: str
    since: str

    def describe(self) -> str:
        who = self.user + (f"@{self.ssh_client}" if self.ssh_client else "") + (f" on {self.host}" if self.host else "")
        return f"{who} (run {self.run_id}, since {self.since})"


def lock_key(runbook_id: str, profile: str) -> str:
    return f"cs-console runbook {runbook_id}@{profile}"


class LocalRunLock:
    def __init__(self, root: Path, runbook_id: str, profile: str) -> None:
        safe = f"{runbook_id}@{profile}".replace("/", "_")
        self.path = root / f"{safe}.lock"
        self._fd: int | None = None

    async def acquire(self, holder: Holder) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            try:
                info = json.loads(os.pread(fd, 4096, 0) or b"{}")
                who = Holder(**{k: str(info.get(k, "")) for k in Holder.__dataclass_fields__}).describe()
            except (ValueError, TypeError):
                who = "another process on this machine"
            os.close(fd)
            raise LockHeld(f"runbook is being run by {who}") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(holder.__dict__).encode(), 0)
        self._fd = fd

    async def release(self) -> None:
        if self._fd is not None:
            try:
                os.ftruncate(self._fd, 0)
                fcntl.flock(self._fd, fcntl.LOCK_UN)
            finally:
                os.close(self._fd)
                self._fd = None


class PgRunLock:
    """Team-mode advisory lock, held on its own connection until release()."""

    def __init__(self, dsn: str, runbook_id: str, profile: str, password: str | None = None) -> None:
        self.dsn = dsn
        self.password = password
        self.key = lock_key(runbook_id, profile)
        self._conn: Any = None

    async def acquire(self, holder: Holder) -> None:
        import asyncpg

        app = f"cs-console lock {holder.user}@{holder.ssh_client or holder.host} run {holder.run_id}"[:63]
        kwargs: dict[str, Any] = {"timeout": 10, "server_settings": {"application_name": app}}
        if self.password:
            kwargs["password"] = self.password
        conn = await asyncpg.connect(self.dsn, **kwargs)
        got = await conn.fetchval("SELECT pg_try_advisory_lock(hashtextextended($1, 0))", self.key)
        if got:
            self._conn = conn
            return
        try:
            who = await conn.fetchval(
                "SELECT a.application_name || ' since ' || to_char(a.backend_start AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI') || ' UTC'"
                " FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid"
                " WHERE l.locktype = 'advisory' AND l.granted"
                " AND ((l.classid::bigint << 32) | l.objid::bigint) = hashtextextended($1, 0) LIMIT 1",
                self.key,
            )
        finally:
            await conn.close()
        holder_text = (who or "another operator").removeprefix("cs-console lock ")
        raise LockHeld(f"runbook is being run by {holder_text}")

    async def release(self) -> None:
        if self._conn is not None:
            try:
                await self._conn.execute("SELECT pg_advisory_unlock(hashtextextended($1, 0))", self.key)
            except Exception:
                pass
            try:
                await self._conn.close()
            except Exception:
                pass
            self._conn = None
