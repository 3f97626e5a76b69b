"""PostgreSQL implementation of DatabaseInspector (the `inspect db` detail views).

Each view runs on demand in a READ ONLY transaction with its own statement
timeout, through the same small pool as the metrics. Faults come back inside
the table (`error`), missing privileges as a `note`; nothing raises but an
unknown view id.
"""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta
from decimal import Decimal
from typing import Any

import asyncpg

import cs_console.backends.postgres.inspect_sql as inspect_sql
from cs_console.backends.postgres.connector import NOTE_NEEDS_STATS, Capabilities, DatabaseUnavailable, PgConnector
from cs_console.domain.clock import Clock, SystemClock
from cs_console.domain.db_inspect import INSPECT_VIEWS, NEEDS_STATS, Cell, InspectTable, InspectView, view_by_id
from cs_console.domain.safe_text import safe_text

STATIC_NOTES: dict[str, str] = {
    "bloat": "estimate from planner statistics; tables never analyzed are not listed",
    "cache_hit": "cumulative since statistics were reset",
    "outliers": "since pg_stat_statements was reset; the console's own statements left out",
    "calls": "since pg_stat_statements was reset; the console's own statements left out",
    "unused_indexes": "fewer than 50 scans since statistics were reset; constraint indexes left out",
}


def _cell(value: Any) -> Cell:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() and abs(value) < 2**63 else float(value)
    if isinstance(value, timedelta):
        return value.total_seconds()
    if value is None or isinstance(value, (int, float, str, bool)):
        return value
    if hasattr(value, "isoformat"):
        return value  # datetime
    return str(value)


class PostgresInspector:
    name = "postgres"

    def __init__(self, connector: PgConnector, *, clock: Clock | None = None, long_running_min_s: float = 5.0) -> None:
        self.connector = connector
        self.clock = clock or SystemClock()
        self.long_running_min_s = long_running_min_s

    def views(self) -> list[InspectView]:
        return list(INSPECT_VIEWS)

    def _build(self, view_id: str, caps: Capabilities) -> inspect_sql.Built:
        if view_id == "long_running":
            return inspect_sql.long_running(caps, min_seconds=self.long_running_min_s)
        if view_id in inspect_sql.NEEDS_OWN_QIDS:
            return inspect_sql.NEEDS_OWN_QIDS[view_id](caps, sorted(self.connector.own_query_ids))
        return inspect_sql.SIMPLE[view_id](caps)

    def _notes(self, view: InspectView, caps: Capabilities) -> list[str]:
        notes: list[str] = []
        if view.needs == NEEDS_STATS and not caps.read_all_stats:
            notes.append(f"{NOTE_NEEDS_STATS}: other roles' sessions show no query text")
        if view.id == "long_running":
            notes.append(f"busy or in a transaction for more than {self.long_running_min_s:g} s")
        if view.id in STATIC_NOTES:
            notes.append(STATIC_NOTES[view.id])
        return notes

    async def run(self, view_id: str) -> InspectTable:
        view = view_by_id(view_id)  # raises UnknownInspectView
        now = self.clock.now()
        t0 = time.perf_counter()
        try:
            async with self.connector.session() as db:
                caps = db.capabilities
                if view_id in inspect_sql.NEEDS_OWN_QIDS and not caps.pgss_ok:
                    return InspectTable(view, (), note=caps.pgss_problem, at=now)
                sql, params, timeout_ms = self._build(view_id, caps)
                records = await db.fetch_readonly(sql, *params, timeout_ms=timeout_ms)
        except DatabaseUnavailable as exc:
            return InspectTable(view, (), error=f"database unreachable: {exc.reason}", at=now)
        except asyncpg.QueryCanceledError:
            return InspectTable(view, (), error="stopped by the statement timeout (the server is busy or the catalog is large)", at=now)
        except asyncpg.PostgresError as exc:
            reason = safe_text(self.connector.scrub(str(exc).splitlines()[0] if str(exc) else type(exc).__name__), 200)
            return InspectTable(view, (), error=f"query failed: {reason}", at=now)
        except asyncio.TimeoutError:
            return InspectTable(view, (), error="no answer in time", at=now)
        names = [c.name for c in view.columns]
        rows = tuple(tuple(_cell(r[n]) for n in names) for r in records)
        return InspectTable(
            view, rows, note="; ".join(self._notes(view, caps)), at=now,
            elapsed_ms=round((time.perf_counter() - t0) * 1000, 1),
        )
