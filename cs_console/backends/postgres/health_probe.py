"""The "Database" component of the health check: reachable, fast, not saturated.

HEALTHY: `select 1` answers under the db_response_ms warning (the manual's
100 ms) and connections are under the connections_pct warning (80 %).
DEGRADED: slower than that, or more connections. DOWN: no answer, with the
one-line reason (never a password). Through a pooler the detail starts with the
route ("via PgBouncer, transaction mode"); a refusal by the pooler itself, or a
safety setting found not in force, is DEGRADED with that said, never DOWN: the
database behind the pooler was not heard from.
"""

from __future__ import annotations

from collections.abc import Mapping

import asyncpg

from cs_console.backends.postgres.connector import DatabaseUnavailable, PgConnector
from cs_console.backends.postgres.failure import FailureKind
from cs_console.domain.clock import Clock, SystemClock
from cs_console.domain.health import ComponentHealth, HealthStatus
from cs_console.domain.safe_text import safe_text
from cs_console.domain.thresholds import DEFAULT_THRESHOLDS, Threshold

# $1: the console's own other backends (direct connections), left out like its own.
_CONNECTIONS_SQL = """select count(*) filter (where backend_type = 'client backend' and pid <> pg_backend_pid()
                                   and pid <> all($1::int[])) as used,
       (select sum(pg_stat_get_db_numbackends(oid)) from pg_database)::int - 1
         - (select count(*) from pg_stat_activity where pid = any($1::int[]) and pid <> pg_backend_pid())::int as backends_all_dbs,
       pg_has_role('pg_read_all_stats', 'USAGE') as exact,
       current_setting('max_connections')::int - current_setting('superuser_reserved_connections')::int
         - coalesce(nullif(current_setting('reserved_connections', true), '')::int, 0) as max_conn
  from pg_stat_activity"""


class PostgresHealthProbe:
    name = "db"

    def __init__(self, connector: PgConnector, *, thresholds: Mapping[str, Threshold] | None = None, clock: Clock | None = None) -> None:
        self.connector = connector
        self.thresholds = dict(DEFAULT_THRESHOLDS)
        self.thresholds.update(thresholds or {})
        self.clock = clock or SystemClock()

    async def check(self) -> list[ComponentHealth]:
        now = self.clock.now()
        try:
            async with self.connector.session() as db:
                rtt = await db.ping()
                rows = await db.fetch_readonly(_CONNECTIONS_SQL, self.connector.own_pids)
        except DatabaseUnavailable as exc:
            status = HealthStatus.DEGRADED if exc.kind is FailureKind.POOLER else HealthStatus.DOWN
            return [ComponentHealth("Database", status, exc.reason, None, now)]
        except asyncpg.PostgresError as exc:
            reason = safe_text(self.connector.scrub(str(exc).splitlines()[0] if str(exc) else type(exc).__name__), 200)
            return [ComponentHealth("Database", HealthStatus.DEGRADED, f"answers, but the check query failed: {reason}", None, now)]
        row = rows[0]
        resp = self.thresholds["db_response_ms"]
        conn_t = self.thresholds["connections_pct"]
        max_conn = int(row["max_conn"])
        used = int(row["used"]) if row["exact"] else max(0, int(row["backends_all_dbs"] or 0))
        pct = used / max_conn * 100 if max_conn > 0 else 0.0
        problems: list[str] = []
        if rtt >= resp.warning:
            problems.append(f"slow: round trip {rtt:.0f} ms (warning at {resp.warning:.0f} ms)")
        if pct >= conn_t.warning:
            problems.append(f"{used} of {max_conn} connections ({pct:.0f} %, warning at {conn_t.warning:.0f} %)")
        if self.connector.settings_problems:
            problems.append("safety settings not in force: " + ", ".join(self.connector.settings_problems))
        route = self.connector.route
        via = f"{route.label}; " if route is not None and route.pooled else ""
        approx = "" if row["exact"] else " (approx.)"
        detail = f"{via}round trip {rtt:.1f} ms (< {resp.warning:.0f} ms); {used} of {max_conn} connections{approx}"
        if problems:
            problems = [via.rstrip("; ")] + problems if via else problems
            return [ComponentHealth("Database", HealthStatus.DEGRADED, "; ".join(problems), round(rtt, 2), now)]
        return [ComponentHealth("Database", HealthStatus.HEALTHY, detail, round(rtt, 2), now)]
