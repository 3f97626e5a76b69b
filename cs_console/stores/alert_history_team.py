"""Team mode: the alert history in the team PostgreSQL, one row per event for the whole team.

Consoles on different machines watching one project must record an event once,
as consoles on one machine do through the local file. A partial unique index
allows one open event per (profile, alert id): the first console's INSERT opens
it, the others' INSERT ... ON CONFLICT DO NOTHING adopt it, and only the first
UPDATE that finds it open resolves it. An open event older than ORPHAN_AFTER
(a console that died before it saw the clear) is closed as orphaned before a
new onset, so it cannot swallow later events.

The local file is always written first (it is what the console can rely on);
the team write follows in the background: events the team store could not take
wait in memory, in order, and go once it answers (the Overview says how many
wait). Both writes are idempotent, so a retried event is never doubled.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from datetime import datetime, timedelta, timezone
from typing import Any

from cs_console.domain.alerts import Alert, AlertClass
from cs_console.domain.redaction import redact
from cs_console.stores.alert_history import ORPHAN_AFTER, AlertHistory

log = logging.getLogger(__name__)

COMPONENT = "alerts"
MIGRATIONS: tuple[tuple[int, str], ...] = (
    (1, """
    CREATE TABLE cs_console.alert_events (
        id bigserial PRIMARY KEY,
        profile text NOT NULL,
        alert_id text NOT NULL,
        rule text NOT NULL,
        class text NOT NULL,
        title text NOT NULL,
        detail text NOT NULL,
        metric text,
        value double precision,
        onset timestamptz NOT NULL,
        resolved_at timestamptz,
        orphaned boolean NOT NULL DEFAULT false,
        raised_by text NOT NULL DEFAULT '',
        recorded_at timestamptz NOT NULL DEFAULT now()
    );
    CREATE UNIQUE INDEX alert_events_one_open ON cs_console.alert_events (profile, alert_id) WHERE resolved_at IS NULL;
    CREATE INDEX alert_events_recent ON cs_console.alert_events (profile, onset DESC);
    """),
)
MAX_PENDING = 500  # events kept for the team store while it is away; the local file has them all
CONNECT_TIMEOUT_S = 5.0
RETRY_S = 15.0


class PgAlertHistory:
    """One profile's alert events in `cs_console.alert_events`. One short connection per call:
    alerts are rare, and a failing team store must not hold a pool."""

    def __init__(self, dsn: str, profile: str, password: str | None = None, *, raised_by: str = "") -> None:
        self.dsn = dsn
        self.profile = profile
        self._password = password
        self.raised_by = raised_by
        self._migrated = False

    async def _connect(self) -> Any:
        import asyncpg

        from cs_console.stores.incident_store_pg import migrate

        kwargs: dict[str, Any] = {"timeout": CONNECT_TIMEOUT_S, "server_settings": {"application_name": "cs-console alerts"}}
        if self._password:
            kwargs["password"] = self._password
        conn = await asyncpg.connect(self.dsn, **kwargs)
        if not self._migrated:
            try:
                await migrate(conn, COMPONENT, MIGRATIONS)
            except BaseException:
                await conn.close()
                raise
            self._migrated = True
        return conn

    async def record(self, alert: Alert, event: str) -> bool:
        """Open or resolve the team's event; True when this console was the one that wrote it."""
        conn = await self._connect()
        try:
            async with conn.transaction():
                if event == "raised":
                    await conn.execute(
                        "UPDATE cs_console.alert_events SET resolved_at = $3, orphaned = true"
                        " WHERE profile = $1 AND alert_id = $2 AND resolved_at IS NULL AND onset < $3::timestamptz - $4::interval",
                        self.profile, alert.id, alert.at, ORPHAN_AFTER,
                    )
                    row = await conn.fetchrow(
                        "INSERT INTO cs_console.alert_events (profile, alert_id, rule, class, title, detail, metric, value, onset, raised_by)"
                        " VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10)"
                        " ON CONFLICT (profile, alert_id) WHERE resolved_at IS NULL DO NOTHING RETURNING id",
                        self.profile, alert.id, alert.rule, alert.alert_class.value, redact(alert.title),
                        redact(alert.detail), alert.metric, alert.value, alert.at, self.raised_by,
                    )
                else:
                    row = await conn.fetchrow(
                        "UPDATE cs_console.alert_events SET resolved_at = $3"
                        " WHERE profile = $1 AND alert_id = $2 AND resolved_at IS NULL RETURNING id",
                        self.profile, alert.id, alert.resolved_at or alert.at,
                    )
        finally:
            await conn.close()
        return row is not None

    async def recent(self, hours: float = 24, alert_class: str | None = None, now: datetime | None = None) -> list[Alert]:
        now = now or datetime.now(timezone.utc)
        conn = await self._connect()
        try:
            rows = await conn.fetch(
                "SELECT alert_id, rule, class, title, detail, metric, value, onset, resolved_at"
                " FROM cs_console.alert_events WHERE profile = $1 AND onset >= $2 AND ($3::text IS NULL OR class = $3)"
                " ORDER BY onset DESC LIMIT 1000",
                self.profile, now - timedelta(hours=hours), alert_class,
            )
        finally:
            await conn.close()
        out: list[Alert] = []
        for r in rows:
            try:
                cls = AlertClass(r["class"])
            except ValueError:
                continue  # a class written by a newer console
            out.append(Alert(r["alert_id"], r["rule"], cls, r["title"], r["detail"], r["onset"], r["metric"], r["value"], r["resolved_at"]))
        return out


class ProfileAlertHistory:
    """What the monitor and `health` use: the profile's local file, and the team table in team mode."""

    def __init__(self, local: AlertHistory, team: PgAlertHistory | None = None, *, clock: Any = time.monotonic) -> None:
        self.local = local
        self.team = team
        self._pending: deque[tuple[Alert, str]] = deque(maxlen=MAX_PENDING)
        self._clock = clock
        self._failed_at = float("-inf")
        self.team_error = ""  # why the team store did not answer, "" when it did

    @property
    def waiting(self) -> int:
        """Events the team store has not taken yet."""
        return len(self._pending)

    def record(self, alert: Alert, event: str) -> bool:
        """Write the local file now (raises OSError when it cannot) and queue the team write."""
        written = self.local.record(alert, event)
        if self.team is not None:
            self._pending.append((alert, event))
        return written

    async def sync_team(self, *, force: bool = False) -> None:
        """Hand the queued events to the team store, in order; after a failure, wait RETRY_S
        before the next try (unless forced) so a store that is away does not slow every refresh."""
        if self.team is None or not self._pending:
            return
        if not force and self._clock() - self._failed_at < RETRY_S:
            return
        while self._pending:
            alert, event = self._pending[0]
            try:
                await self.team.record(alert, event)
            except Exception as exc:  # asyncpg/OS errors: keep it for the next try
                self.team_error = _reason(exc)
                self._failed_at = self._clock()
                return
            self._pending.popleft()
        self.team_error = ""

    async def recent(self, hours: float = 24, alert_class: str | None = None, now: datetime | None = None) -> tuple[list[Alert], str]:
        """The events, and a note when they are only this machine's (the team store did not answer)."""
        if self.team is not None:
            try:
                await self.sync_team(force=True)
                if not self._pending:
                    return await self.team.recent(hours, alert_class, now), ""
            except Exception as exc:
                self.team_error = _reason(exc)
        local = self.local.recent(hours, alert_class, now)
        note = f"team store unreachable ({self.team_error}): alerts seen on this machine only" if self.team is not None else ""
        return local, note


def alert_history_for(env: Any) -> ProfileAlertHistory:
    """The environment's history as the wiring built it, or this profile's local file alone
    (an Environment built without the wiring, as tests and tools do)."""
    return env.alert_history or ProfileAlertHistory(AlertHistory(env.alert_state_dir, env.session.profile.name))


def _reason(exc: BaseException) -> str:
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return redact(text)[:160]
